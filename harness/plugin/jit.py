"""numba kernels compiled once per machine, not once per process.

umap-learn decorates most of its kernels with ``@numba.njit`` without ``cache=True``, so every new
process (each run, each pool worker) compiles them again: about 10 s before the first UMAP fit.
pynndescent already caches its own. :func:`cached_jit` wraps the import of such a library so that the
kernels it defines at import time are cached on disk, where numba caches: ``NUMBA_CACHE_DIR`` when
set, else beside the library's source (``__pycache__``) when writable, else numba's user-wide cache
folder. numba keys each entry by the source file's size and modification time, its own version and
the CPU, so an upgraded library or another machine compiles afresh.

Only the decorations made inside the ``with`` block are changed: nothing else in the process
(a user's own numba code) is affected. Kernels numba cannot cache (closures over dynamic globals, ones
a library builds at call time) compile as before; numba's warning about them is silenced.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def cached_jit() -> Iterator[None]:
    """Inside the block, ``numba.njit`` and ``numba.jit`` default to ``cache=True``.

    >>> with cached_jit():
    ...     import umap  # its kernels compile once per machine
    """
    try:
        import numba
    except ImportError:  # nothing to cache
        yield
        return
    originals = {name: getattr(numba, name) for name in ("njit", "jit")}

    def caching(decorator: Any) -> Any:
        def decorate(*args: Any, **options: Any) -> Any:
            if len(args) == 1 and callable(args[0]) and not options:  # bare @numba.njit
                return decorator(cache=True)(args[0])
            options.setdefault("cache", True)
            return decorator(*args, **options)

        return decorate

    for name, original in originals.items():
        setattr(numba, name, caching(original))
    try:
        with warnings.catch_warnings():
            # "cannot cache function ... as it uses dynamic globals": compiled per process, as before
            warnings.filterwarnings("ignore", category=numba.NumbaWarning, message=".*[Cc]annot cache.*")
            yield
    finally:
        for name, original in originals.items():
            setattr(numba, name, original)
