"""Why the results store could not be written, in one line: the store, the free space of its folder,
and what to do."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path


def not_a_database(exc: BaseException) -> bool:
    return "not a database" in str(exc) or "encrypted" in str(exc)


def free_space(path: Path) -> tuple[str, Path]:
    """Free space of the folder that holds (or would hold) ``path``, in words."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = float(shutil.disk_usage(folder).free)
    except OSError:
        return "unknown space", folder
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if free < 1024 or unit == "TiB":
            return (f"{free:.0f} {unit}" if unit == "B" else f"{free:.1f} {unit}"), folder
        free /= 1024
    raise AssertionError("unreachable")


def write_problem(path: Path, exc: BaseException) -> str:
    text = str(exc) if not isinstance(exc, OSError) else (exc.strerror or str(exc))
    free, folder = free_space(path)
    low = text.lower()
    code = getattr(exc, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT) or "full" in low or "disk i/o" in low or "no space" in low:
        todo = "free space on that disk (nothing stored was lost) or pass --store with a file on another disk"
    elif (
        code in (errno.EACCES, errno.EPERM, errno.EROFS)
        or "readonly" in low
        or "read-only" in low
        or "permission" in low
        or "unable to open" in low
    ):
        todo = "make the file and its folder writable or pass --store with a writable file"
    elif "locked" in low or "busy" in low:
        todo = "another process holds it; try again when it is done or pass --store with another file"
    else:
        todo = f"see `zsbench store check --store {path}` or pass --store with another file"
    return f"cannot write results store {path}: {text} ({free} free in {folder}); {todo}"
