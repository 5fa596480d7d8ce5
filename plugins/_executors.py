"""The executors behind :mod:`zsbench.plugins.executors` (imported only when one is built)."""

from __future__ import annotations

import concurrent.futures
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from zsbench.plugin import ZsbenchError

# Read by OpenMP, OpenBLAS, MKL, Accelerate, numexpr and numba when they load.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
               "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS")


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask, which containers and taskset narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _check_workers(workers: Any, what: str) -> int | None:
    if workers is None:
        return None
    ok = (isinstance(workers, int) and not isinstance(workers, bool)) or (
        isinstance(workers, str) and workers.strip().isdigit())
    n = int(workers) if ok else 0
    if n < 1:
        raise ZsbenchError(f"{what}: workers must be a whole number of at least 1, not {workers!r}")
    return n


def limit_threads(threads: int) -> None:
    """Worker initializer: cap BLAS/OpenMP/numba threads so workers x threads fits the cores.

    Why here and not in the parent: the thread variables are read once, when a library loads, so
    they must be in the worker's environment before it imports numpy. Setting them in the parent's
    ``os.environ`` around pool creation does not reach the workers reliably: ProcessPoolExecutor
    starts workers lazily (at ``submit``, not at creation), and forkserver children inherit the
    environment of the fork server, which is started once per parent and then reused. The
    initializer runs in every worker before its first task is unpickled, so libraries that tasks
    import see the variables. A worker may already have loaded numpy before this runs (spawn and
    forkserver re-import the parent's ``__main__``, e.g. the ``zsbench`` script), so libraries that
    are already loaded are capped at run time as well (threadpoolctl, numba, torch).
    """
    value = str(threads)
    for var in THREAD_VARS:
        os.environ[var] = value
    if "numpy" in sys.modules or "scipy" in sys.modules:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            pass
        else:
            threadpool_limits(limits=threads)  # applies now and stays (never exited)
    if "numba" in sys.modules:
        try:
            import numba

            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        except Exception:  # noqa: BLE001 - a threading layer that cannot start: leave it alone
            pass
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)


def _worker_start(threads: int) -> None:
    """Pool worker initializer: die with the pool's owner, then cap threads."""
    die_with_parent()
    limit_threads(threads)


def die_with_parent() -> None:
    """End this worker when the process that owns the pool ends, however it ends (kill -9 too).

    Why: orphaned workers are re-parented to init and live on (hundreds of MB each), and with them
    the fork server and the resource tracker, which exit only once every process holding their
    pipes has: the workers hold both. Two guards:

    - everywhere: a daemon thread blocks on multiprocessing's parent sentinel, the read end of a
      pipe whose write end only the owner holds, so it reads EOF the moment the owner is gone
      (already gone: at once). No polling, no PID reuse; it covers forkserver workers, whose
      direct parent is the fork server, not the owner.
    - on Linux: PR_SET_PDEATHSIG kills the worker when its direct parent dies, even while a task
      holds the GIL; getppid() right after catches a parent that died before the call.
    """
    parent = multiprocessing.parent_process()
    if parent is not None and isinstance(parent.sentinel, int):
        threading.Thread(target=_exit_when_closed, args=(parent.sentinel,), daemon=True,
                         name="zsbench-parent-watch").start()
    if sys.platform.startswith("linux"):
        before = os.getppid()
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            done = libc.prctl(1, int(signal.SIGKILL)) == 0  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):  # no libc or no prctl: the sentinel thread still watches
            done = False
        if done and os.getppid() != before:
            os._exit(1)


def _exit_when_closed(fd: int) -> None:
    try:
        while os.read(fd, 4096):  # the owner never writes here; only EOF (b"") ends the loop
            pass
    except OSError:  # the descriptor was closed under us (the worker is exiting): nothing to watch
        return
    os._exit(1)  # no clean-up: nobody is left to receive results, and atexit could hang


def _start_method() -> str:
    # Never fork: the parent may hold threads (torch, numba, BLAS, dask's event loop) whose locks a
    # forked child would inherit in whatever state they were.
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


class LocalExecutor:
    """A process pool on this machine, or (``workers=1``) in-process, synchronous execution."""

    name = "local"
    # Embedding stays in the calling process: pool workers get a share of the cores, a model
    # wants them all (and the GPU, if any, is this machine's).
    runs_embedding = False

    def __init__(self, workers: int | None = None):
        cores = usable_cores()
        self.workers = _check_workers(workers, "executor 'local'") or cores
        self.in_process = self.workers == 1
        # In-process tasks share the parent's libraries, already configured; leave them be.
        self.threads_per_worker = None if self.in_process else max(1, cores // self.workers)
        self.start_method = None if self.in_process else _start_method()
        self._closed = False
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        if not self.in_process:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context(self.start_method),
                initializer=_worker_start, initargs=(self.threads_per_worker,))

    def submit(self, fn: Callable[..., Any], *args: Any,
               resources: Mapping[str, float] | None = None) -> concurrent.futures.Future:
        """Run ``fn(*args)``; ``resources`` is accepted and ignored (every worker is alike)."""
        if self._closed:
            raise RuntimeError("executor 'local' is closed")
        if self._pool is not None:
            return self._pool.submit(fn, *args)
        future: concurrent.futures.Future = concurrent.futures.Future()
        future.set_running_or_notify_cancel()
        try:
            result = fn(*args)
        except Exception as exc:  # the task's error, raised again by future.result()
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future

    def as_completed(self, futures: Iterable[concurrent.futures.Future]) -> Iterator[concurrent.futures.Future]:
        return concurrent.futures.as_completed(futures)

    def describe(self) -> dict[str, Any]:
        return {"executor": self.name, "workers": self.workers, "in_process": self.in_process,
                "threads_per_worker": self.threads_per_worker, "start_method": self.start_method}

    def close(self, cancel: bool = False) -> None:
        """Shut the pool down, waiting for running tasks; ``cancel`` drops queued tasks and stops
        running ones."""
        if self._closed:
            return
        self._closed = True
        if self._pool is not None:
            if cancel:
                self._stop_now()
                return
            try:
                self._pool.shutdown(wait=True)
            except KeyboardInterrupt:
                self._stop_now()
                raise

    def _stop_now(self) -> None:
        """Drop queued tasks and stop the running ones: the user asked to stop. Finished stages are
        already in the cache and the store, so nothing finished is lost."""
        processes = list(getattr(self._pool, "_processes", {}).values())  # the pool's own workers
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=5)

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # An error or Ctrl-C in the parent: do not start the tasks still queued.
        self.close(cancel=exc_type is not None)

    def __repr__(self) -> str:
        return f"<LocalExecutor workers={self.workers} in_process={self.in_process}>"


class DaskExecutor:
    """Tasks on a ``dask.distributed`` cluster: a private LocalCluster, or a running scheduler's."""

    name = "dask"
    in_process = False
    runs_embedding = True  # embedding tasks go to workers, asking for a GPU when the encoder wants one
    RESOURCE_REFRESH_S = 2.0  # how stale the workers' advertised resources may be

    def __init__(self, scheduler: str | None = None, workers: int | None = None, timeout: float = 10.0):
        try:
            import distributed
        except ImportError as exc:
            raise ZsbenchError('executor \'dask\' needs dask.distributed: pip install "zsbench[dask]"') from exc
        self._distributed = distributed
        n = _check_workers(workers, "executor 'dask'")
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
                n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, env=env,
                scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
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
                f"`dask worker {address}`), or drop --scheduler to run a local cluster") from None
        if n:
            try:
                client.wait_for_workers(n, timeout=self.timeout)
            except Exception:
                have = len(client.scheduler_info()["workers"])
                client.close()
                raise ZsbenchError(
                    f"the dask scheduler at {address} has {have} worker(s), not the {n} asked for, after "
                    f"{self.timeout:g} s; start more with `dask worker {address}` or lower workers") from None
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
                RuntimeWarning, stacklevel=3)
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
        return {"executor": self.name, "workers": self.workers, "scheduler": self.scheduler,
                "owned_cluster": self.owned, "dask_version": self._distributed.__version__}

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
