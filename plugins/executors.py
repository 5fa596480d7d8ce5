"""Executors: where a grid's stages run. ``local`` (a process pool sized to the machine, the default)
and ``dask`` (``dask.distributed``: a LocalCluster, or an existing scheduler).

Only ``zsbench.plugin`` is imported here: the executors live in :mod:`zsbench.plugins._executors`
(local) and :mod:`zsbench.plugins._dask`, which the factories import when an executor is built, so
listing plugins never imports dask. Each is a third-party executor as far as the core knows: it
implements :class:`zsbench.plugin.Executor` and nothing more is read from it.
"""

from __future__ import annotations

from zsbench.plugin import hookimpl


def local(workers: int | None = None):
    """A pool of ``workers`` processes (default: one per usable core); ``workers=1`` runs in-process."""
    from zsbench.plugins._executors import LocalExecutor

    return LocalExecutor(workers)


def dask(scheduler: str | None = None, workers: int | None = None, timeout: float = 10.0):
    """``dask.distributed``: a private LocalCluster of ``workers`` single-threaded processes, or a
    client of the scheduler at ``scheduler`` (``tcp://host:port``), waiting up to ``timeout`` seconds
    to connect (and, when ``workers`` is given, for that many workers to join)."""
    from zsbench.plugins._dask import DaskExecutor

    return DaskExecutor(scheduler=scheduler, workers=workers, timeout=timeout)


@hookimpl
def register_executors(register):
    register(
        "local",
        local,
        description="Process pool on this machine, one worker per core (workers=N; "
        "workers=1 runs in-process); BLAS/numba threads split between workers",
    )
    register(
        "dask",
        dask,
        description="dask.distributed: a LocalCluster on 127.0.0.1 (workers=N), or "
        "scheduler=tcp://host:port to use a running cluster; honours resources such as GPU=1",
    )
