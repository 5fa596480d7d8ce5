"""A memo of components' parameters, kept beside the artifact cache, so a run can key its stages without
building (and importing) every reducer and clusterer.

A stage key holds the estimator's ``get_params(deep=False)`` (:func:`zsbench.engine.keys.stage_key`), and
building UMAP or a scikit-learn clusterer costs seconds of imports: too much for a run whose results are
all stored already. Each entry holds those parameters (as canonical JSON) and what produced them: the
size and modification time of the source files involved (the plugin's factory module and its package's
loaded modules, the estimator class and its bases, the code that builds it) and the versions of the
distributions they come from. An entry is used only while all of these are as recorded; otherwise the
caller builds the estimator again and records afresh. Layout: ``<cache root>/.params/<key>.json``, a
folder the cache's own listing and gc never touch. Any problem (missing, unreadable, stale, a folder
that cannot be written) is a miss, never an error: the memo only saves time.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import json
import os
import secrets
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

FOLDER = ".params"
FORMAT = 1


@functools.cache
def _packages() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()  # about 0.4 s: only when recording


@functools.cache
def installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, None if it is not installed (cached for the process)."""
    try:
        return importlib.metadata.version(distribution)
    except (importlib.metadata.PackageNotFoundError, ValueError, OSError):
        return None


def file_state(path: str) -> list[int] | None:
    """[size, mtime in ns] of a file, None when it cannot be read."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def sources(modules: Iterable[str]) -> dict[str, Any] | None:
    """What a memo entry depends on: the files of ``modules`` (already imported) and the versions of the
    distributions they belong to; None when one of them has no file to check (built in code)."""
    files: dict[str, list[int]] = {}
    distributions: dict[str, str] = {}
    for name in dict.fromkeys(modules):
        if name == "builtins":
            continue
        path = getattr(sys.modules.get(name), "__file__", None)
        if not path:
            return None
        state = file_state(path)
        if state is None:
            return None
        files[path] = state
        for dist in _packages().get(name.partition(".")[0], []):
            version = installed_version(dist)
            if version is not None:
                distributions[dist] = version
    return {"files": files, "distributions": distributions}


def current(entry: Mapping[str, Any]) -> bool:
    """Whether every file and distribution version an entry records is as it is now."""
    files, distributions = entry["files"], entry["distributions"]
    return all(file_state(path) == list(state) for path, state in files.items()) and all(
        installed_version(dist) == version for dist, version in distributions.items()
    )


class ParamsMemo:
    """Parameters by key (see :func:`zsbench.engine.params.memo_key`), each valid while its sources are
    unchanged. ``root``: the artifact cache's folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.folder = Path(root) / FOLDER

    def get(self, key: str) -> str | None:
        """The canonical JSON of the parameters recorded under ``key``, None when absent, unreadable or
        stale (a file or a distribution version changed since)."""
        try:
            entry = json.loads((self.folder / f"{key}.json").read_bytes())
            if entry.get("format") != FORMAT or not isinstance(entry.get("params"), str):
                return None
            return entry["params"] if current(entry) else None
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None

    def put(self, key: str, params: str, depends: Mapping[str, Any]) -> None:
        """Record ``params`` (canonical JSON) under ``key``, with what they depend on (:func:`sources`).
        Written to a temporary file and renamed, so a reader never sees half an entry; a failure to
        write is ignored (the next run builds again)."""
        text = json.dumps({"format": FORMAT, "params": params, **depends}, indent=1, sort_keys=True)
        tmp = self.folder / f".tmp-{os.getpid()}-{secrets.token_hex(4)}-{key}.json"
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            try:
                tmp.write_text(text)
                os.replace(tmp, self.folder / f"{key}.json")
            finally:
                tmp.unlink(missing_ok=True)
