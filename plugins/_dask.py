"""The ``dask`` executor behind :mod:`zsbench.plugins.executors` (imported only when one is built)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from zsbench.plugin import ZsbenchError, usable_cores
from zsbench.plugins._executors import THREAD_VARS, check_workers


class DaskExecutor:
    """Tasks on a ``dask.distributed`` cluster: a private LocalCluster, or a running scheduler's."""

    name = "dask"
    runs_embedding = True  # embedding tasks go to workers, asking for a GPU when the encoder wants one
    RESOURCE_REFRESH_S = 2.0  # how stale the workers' advertised resources may be

    def __init__(self, scheduler: str | None = None, workers: int | None = None, timeout: float = 10.0):
        try:
            import distributed
        except ImportError as exc:
            raise ZsbenchError("executor 'dask' needs dask.distributed: pip install \"zsbench[dask]\"") from exc
        self._distributed = distributed
        n = check_workers(workers, "executor 'dask'")
        self.timeout = float(timeout)
        self.cluster = None
        self.owned = scheduler is None
        self._warned: set[frozenset] = set()
        self._offered: list[dict[str, float]] = []
        self._offered_at = float("-inf")
        self._closed = False
        if self.owned:
            n = n or usable_cores()
            threads = str(max(1, usable_cores() // n))
            # One thread per worker process; its BLAS/numba threads share the cores with the others
            # (the nanny sets these variables before the worker process starts).
            env = {var: threads for var in THREAD_VARS}
            # No dashboard. The scheduler still serves its small HTTP API (health, metrics), by default
            # on port 8787; an ephemeral port on 127.0.0.1 avoids clashing with other clusters.
            self.cluster = distributed.LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                env=env,
                scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            )
            try:
                self.client = distributed.Client(self.cluster, timeout=self.timeout, set_as_default=False)
            except BaseException:
                self.cluster.close()
                raise
        else:
            self.client = self._connect(distributed, str(scheduler), n)
        self.scheduler = self.client.scheduler.address
        self.workers = n if self.owned else self._count_workers()

    def _connect(self, distributed, address: str, n: int | None):
        try:
            client = distributed.Client(address, timeout=self.timeout, set_as_default=False)
        except Exception as exc:
            raise ZsbenchError(
                f"cannot reach a dask scheduler at {address} within {self.timeout:g} s "
                f"({type(exc).__name__}); start one with `dask scheduler` (and workers with "
                f"`dask worker {address}`), or drop --scheduler to run a local cluster"
            ) from None
        if n:
            try:
                client.wait_for_workers(n, timeout=self.timeout)
            except Exception:
                have = len(client.scheduler_info()["workers"])
                client.close()
                raise ZsbenchError(
                    f"the dask scheduler at {address} has {have} worker(s), not the {n} asked for, after "
                    f"{self.timeout:g} s; start more with `dask worker {address}` or lower workers"
                ) from None
        return client

    def _count_workers(self) -> int:
        """Task slots: the threads of all workers (one per worker on the private cluster)."""
        return int(sum(self.client.nthreads().values()))

    def _resources_offered(self) -> list[dict[str, float]]:
        now = time.monotonic()
        if now - self._offered_at > self.RESOURCE_REFRESH_S:
            info = self.client.scheduler_info()
            self._offered = [dict(w.get("resources") or {}) for w in info.get("workers", {}).values()]
            self._offered_at = now
        return self._offered

    def _usable(self, resources: Mapping[str, float] | None) -> dict[str, float] | None:
        """The hint, if some worker can satisfy it; else None (the scheduler would wait forever)."""
        if not resources:
            return None
        wanted = dict(resources)
        if any(all(w.get(k, 0) >= v for k, v in wanted.items()) for w in self._resources_offered()):
            return wanted
        key = frozenset(wanted.items())
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(
                f"no dask worker at {self.scheduler} offers resources {wanted}; running those tasks on any "
                "worker (start workers with e.g. `dask worker ADDRESS --resources GPU=1` to honour it)",
                RuntimeWarning,
                stacklevel=3,
            )
        return None

    def submit(self, fn: Callable[..., Any], *args: Any, resources: Mapping[str, float] | None = None):
        if self._closed:
            raise RuntimeError("executor 'dask' is closed")
        return self.client.submit(fn, *args, pure=False, resources=self._usable(resources))

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        return self._distributed.as_completed(futures, loop=self.client.loop)

    def describe(self) -> dict[str, Any]:
        if not self._closed:
            self.workers = self._count_workers()
        return {
            "executor": self.name,
            "workers": self.workers,
            "scheduler": self.scheduler,
            "owned_cluster": self.owned,
            "dask_version": self._distributed.__version__,
        }

    def close(self, cancel: bool = False) -> None:
        """Close the client, and the cluster if this executor started it. Closing the client releases
        its futures, so the scheduler drops their tasks whether or not ``cancel`` is set."""
        if self._closed:
            return
        self._closed = True
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(cancel=exc_type is not None)

    def __repr__(self) -> str:
        return f"<DaskExecutor scheduler={self.scheduler} workers={self.workers} owned={self.owned}>"
