"""What an encoder identity may hold (plain JSON, no local paths) and content hashes of files and folders."""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from zsbench.plugin.errors import ZsbenchError

# A string that is a local absolute path: POSIX, home-relative or a Windows drive.
_ABSOLUTE = re.compile(r"^(?:/(?!/)|~[/\\]|[A-Za-z]:[\\/])")


class IdentityError(ZsbenchError):
    """An encoder identity or option that is not plain JSON, or names a local path."""


def plain(value: Any, where: str) -> Any:
    """``value`` as plain JSON (dict, list, str, finite number, bool, None); tuples become lists.

    Anything else (a Path, a tensor, a set, NaN) raises :class:`IdentityError` naming ``where``:
    an identity is hashed and published, so its meaning must survive a JSON round trip.
    """
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise IdentityError(f"{where} is {value!r}; an identity holds finite numbers only")
        return value
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise IdentityError(f"{where} has a key {key!r} of type {type(key).__name__}; keys must be strings")
            out[key] = plain(item, f"{where}[{key!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    hint = "; put the file's name and sha256 instead" if isinstance(value, os.PathLike) else ""
    raise IdentityError(f"{where} is a {type(value).__name__} ({value!r}), not plain JSON{hint}")


def local_paths(value: Any, where: str = "") -> list[str]:
    """Every string inside ``value`` that is a local absolute path, as ``where: value`` lines."""
    found: list[str] = []
    if isinstance(value, str):
        if _ABSOLUTE.match(value):
            found.append(f"{where or '(value)'}: {value}")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            found += local_paths(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found += local_paths(item, f"{where}[{i}]")
    return found


@functools.lru_cache(maxsize=64)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The file's sha256 (memoised per path, size and modification time)."""
    stat = os.stat(path)
    return _file_sha256(os.fspath(path), stat.st_size, stat.st_mtime_ns)


def tree_sha256(root: str | os.PathLike[str]) -> str:
    """The sha256 of a folder's content: every file's path relative to it and its sha256, in order.

    Two copies of a model folder are one identity wherever they are; a changed file is another."""
    root = Path(root)
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if path.is_file():
                digest.update(f"{path.relative_to(root).as_posix()}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()
