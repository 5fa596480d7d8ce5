"""The artifact cache's addresses: a key is the SHA-256 of a spec's canonical JSON, and the entry of a
stage under a key is two files, ``<root>/<stage>/<key[:2]>/<key>.npy`` (the array) and ``<key>.json``
(its metadata, the commit marker).

What a key holds is decided where keys are built, :mod:`zsbench.engine.keys`; reading and writing the
entries is :class:`zsbench.storage.cache.ArtifactCache`'s.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

_STAGE = re.compile(r"[a-z][a-z0-9_-]*")
_KEY = re.compile(r"[0-9a-f]{64}")
_SHARD = re.compile(r"[0-9a-f]{2}")


def canonical_json(value: Any) -> str:
    """The JSON text keys are hashes of: sorted keys, no spaces, ``str()`` of what JSON cannot hold."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def cache_key(spec: Mapping[str, Any], *, raw: Mapping[str, str] | None = None) -> str:
    """SHA-256 of the spec's canonical JSON: equal specs give equal keys, whatever their order.

    ``raw``: more fields given as their :func:`canonical_json` text (e.g. remembered from an earlier
    process), written into the spec's text as they are: the key is the one the values themselves give.
    """
    if not raw:
        return hashlib.sha256(canonical_json(spec).encode()).hexdigest()
    # a nested value's canonical text is its text alone, so each field's placeholder (a string no
    # value can contain: it holds a fresh random token) is replaced by that text
    holders = {name: f"\0{secrets.token_hex(16)}" for name in raw}
    text = canonical_json({**spec, **holders})
    for name, holder in holders.items():
        text = text.replace(canonical_json(holder), raw[name], 1)
    return hashlib.sha256(text.encode()).hexdigest()


def entry_paths(root: Path, stage: str, key: str) -> tuple[Path, Path]:
    """The metadata and array files of the entry of ``stage`` under ``key`` (both checked: a stage name
    and a key are never paths)."""
    if not _STAGE.fullmatch(stage):
        raise ValueError(f"bad cache stage {stage!r}: use lowercase letters, digits, '_' and '-'")
    if not _KEY.fullmatch(key):
        raise ValueError(f"bad cache key {key!r}: expected 64 hex digits, see cache_key()")
    base = root / stage / key[:2] / key
    return base.with_suffix(".json"), base.with_suffix(".npy")


def ls(folder: Path) -> list[Path]:
    """The folder's entries, sorted; none when it is gone."""
    try:
        return sorted(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):  # removed meanwhile by another process's gc
        return []


def shards(root: Path) -> list[Path]:
    """Every shard folder (``<stage>/<key[:2]>``) of the cache at ``root``."""
    stages = [p for p in ls(root) if _STAGE.fullmatch(p.name) and p.is_dir()]
    return [shard for stage in stages for shard in ls(stage) if _SHARD.fullmatch(shard.name)]


def meta_files(root: Path) -> Iterator[Path]:
    """The metadata file of every committed entry of the cache at ``root``."""
    for shard in shards(root):
        yield from (p for p in ls(shard) if p.suffix == ".json" and _KEY.fullmatch(p.stem))
