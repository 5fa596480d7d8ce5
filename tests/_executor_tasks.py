"""Module-level tasks for tests/test_executors.py: worker processes import them by name."""

from __future__ import annotations

import os
import time


def square(x: int) -> tuple[int, int]:
    """``(x * x, pid)`` after a short sleep, so that a pool spreads the tasks over its workers."""
    time.sleep(0.2)
    return x * x, os.getpid()


def fail(message: str) -> None:
    raise ValueError(message)


def pid() -> int:
    return os.getpid()


def thread_settings() -> dict:
    """The thread variables this worker sees, and the BLAS threads numpy actually uses."""
    import numpy  # noqa: F401 - loads BLAS, after the executor's limits were set
    from threadpoolctl import threadpool_info

    blas = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    return {
        "env": {
            var: os.environ.get(var)
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
        },
        "blas": blas,
    }
