"""The ``local`` executor behind :mod:`zsbench.plugins.executors` (imported only when one is built), and
the worker-thread limits it shares with ``dask`` (:mod:`zsbench.plugins._dask`)."""

from __future__ import annotations

import concurrent.futures
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from zsbench.plugin import ZsbenchError, usable_cores

# Read by OpenMP, OpenBLAS, MKL, Accelerate, numexpr and numba when they load.
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)


def check_workers(workers: Any, what: str) -> int | None:
    if workers is None:
        return None
    ok = (isinstance(workers, int) and not isinstance(workers, bool)) or (
        isinstance(workers, str) and workers.strip().isdigit()
    )
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

            # numba.config sets NUMBA_NUM_THREADS at import (from the environment), so its stub cannot name it
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
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
        threading.Thread(
            target=_exit_when_closed, args=(parent.sentinel,), daemon=True, name="zsbench-parent-watch"
        ).start()
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
        self.workers = check_workers(workers, "executor 'local'") or cores
        self.in_process = self.workers == 1
        # In-process tasks share the parent's libraries, already configured; leave them be.
        self.threads_per_worker = None if self.in_process else max(1, cores // self.workers)
        self.start_method = None if self.in_process else _start_method()
        self._closed = False
        # made at the first task: a run with nothing left to compute starts no process, not even
        # multiprocessing's resource tracker (the pool's queues would)
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def _started(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            assert self.threads_per_worker is not None  # submit() starts a pool only when not in process
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context(self.start_method),
                initializer=_worker_start,
                initargs=(self.threads_per_worker,),
            )
        return self._pool

    def submit(
        self, fn: Callable[..., Any], *args: Any, resources: Mapping[str, float] | None = None
    ) -> concurrent.futures.Future:
        """Run ``fn(*args)``; ``resources`` is accepted and ignored (every worker is alike)."""
        if self._closed:
            raise RuntimeError("executor 'local' is closed")
        if not self.in_process:
            return self._started().submit(fn, *args)
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
        if self.in_process:  # each finished at submit, so submission order is completion order
            return iter(list(futures))
        return concurrent.futures.as_completed(futures)

    def describe(self) -> dict[str, Any]:
        return {
            "executor": self.name,
            "workers": self.workers,
            "in_process": self.in_process,
            "threads_per_worker": self.threads_per_worker,
            "start_method": self.start_method,
        }

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
        assert self._pool is not None  # close() calls this only with a pool started
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
