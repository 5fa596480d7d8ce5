"""The artifact cache: stage outputs (embeddings, reductions, ...) kept on disk by content key.

Location: ``--cache PATH``, else ``$ZSBENCH_CACHE``, else ``artifacts`` in the per-user cache
directory. Layout (:mod:`zsbench.storage.layout`): ``<root>/<stage>/<key[:2]>/<key>.npy`` holds an
array and ``<key>.json`` its metadata. Both are written to a temporary file and renamed into place,
array first, so the ``.json`` is the commit marker: several processes may share one cache and a
reader never sees a half-written entry. Every read checks the array's size and SHA-256 against the
metadata and drops a bad entry rather than return it; arrays are memory-mapped read-only and never
unpickled.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np

from zsbench.plugin.errors import ZsbenchError
from zsbench.plugin.paths import user_path
from zsbench.storage.layout import entry_paths, ls, meta_files, shards
from zsbench.storage.leases import Lease, held, live
from zsbench.storage.params import FOLDER as PARAMS_FOLDER

ENV_CACHE = "ZSBENCH_CACHE"
TMP_PREFIX = ".tmp-"
GRACE_S = 3600  # a temporary file or orphan array younger than this may belong to a live writer
LEASE_SLACK_S = 2.0  # entries used this long before a live run began are kept too (coarse file times)
_RACE = "replaced while reading"  # not a defect: another process rewrote the entry; read again


class CacheError(ZsbenchError):
    """The cache folder cannot be created or written."""


def default_root() -> Path:
    return user_path(ENV_CACHE, "cache", "artifacts")


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class CacheEntry:
    stage: str
    key: str
    shape: tuple
    dtype: str
    nbytes: int  # size of the .npy file
    created: str  # ISO 8601, UTC
    last_used: str  # ISO 8601, UTC: the metadata file's mtime, touched by every get()
    spec: dict
    path: Path  # the .npy file


class ArtifactCache:
    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_root()
        self.corrupted: list[str] = []  # keys that get() found bad and dropped
        self.dropped: list[tuple[str, str, str]] = []  # the same as (stage, key, reason): a run reports them
        self.kept: tuple[int, list[Lease]] = (0, [])  # gc's last: entries it kept for live runs, and their leases
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.root):  # fail now, not after an hour of embedding
                pass
        except OSError as exc:
            raise CacheError(
                f"cannot use artifact cache {self.root}: {exc.strerror or exc}; pass --cache "
                f"with a writable folder or set {ENV_CACHE}"
            ) from None

    def lease(self) -> contextlib.AbstractContextManager[Path | None]:
        """Hold a lease on this cache while a run uses it: gc keeps every entry used meanwhile (see
        :mod:`zsbench.storage.leases`). Yields its file, or None where none could be made."""
        return held(self.root)

    def has(self, stage: str, key: str) -> bool:
        """Whether an entry is committed; its array is not checked."""
        return entry_paths(self.root, stage, key)[0].is_file()

    def get(self, stage: str, key: str) -> np.ndarray | None:
        """The array, memory-mapped read-only; None when absent or found bad (then removed)."""
        meta_path, npy_path = entry_paths(self.root, stage, key)
        for _ in range(3):
            try:
                problem, array = self._inspect(meta_path, npy_path)
            except FileNotFoundError:  # no entry, or another process just removed it
                return None
            if problem == _RACE:
                continue
            if problem:
                self._remove(meta_path, npy_path)
                self.corrupted.append(key)
                self.dropped.append((stage, key, problem))
                return None
            with contextlib.suppress(OSError):  # the last use drives gc(older_than_days=...)
                os.utime(meta_path)
            return array
        return None

    def put(self, stage: str, key: str, array: np.ndarray, spec: Mapping[str, Any]) -> None:
        """Store an array under (stage, key); spec describes how it was made (for ``zsbench cache ls``)."""
        meta_path, npy_path = entry_paths(self.root, stage, key)
        array = np.asarray(array)
        if array.dtype.hasobject:
            raise ValueError(
                f"cannot cache an object array for {stage}: loading it would need pickle, which "
                "the cache never uses; convert it to a numeric dtype"
            )
        try:
            sha, nbytes = self._commit(npy_path, lambda f: np.save(f, array, allow_pickle=False))
            meta = {
                "stage": stage,
                "key": key,
                "shape": list(array.shape),
                "dtype": str(array.dtype),
                "sha256": sha,
                "nbytes": nbytes,
                "created": _iso(time.time()),
                "spec": json.loads(json.dumps(dict(spec), default=str)),
            }
            self._commit(meta_path, lambda f: f.write(json.dumps(meta, indent=1, sort_keys=True).encode()))
        except OSError as exc:
            raise CacheError(
                f"cannot write to artifact cache {self.root}: {exc.strerror or exc}; free some "
                f"space (`zsbench cache gc`), pass --cache elsewhere or set {ENV_CACHE}"
            ) from None

    def spec(self, stage: str, key: str) -> dict[str, Any]:
        """The spec an entry was stored with (see :meth:`put`), from its metadata alone; {} when there is none."""
        try:
            spec = json.loads(entry_paths(self.root, stage, key)[0].read_bytes())["spec"]
        except (OSError, ValueError, KeyError, TypeError):
            return {}
        return spec if isinstance(spec, dict) else {}

    def entries(self) -> Iterator[CacheEntry]:
        """Committed entries, from their metadata alone; unreadable metadata is skipped (see verify)."""
        for meta_path in meta_files(self.root):
            try:
                meta = json.loads(meta_path.read_bytes())
                entry = CacheEntry(
                    meta_path.parent.parent.name,
                    meta_path.stem,
                    tuple(meta["shape"]),
                    str(meta["dtype"]),
                    int(meta["nbytes"]),
                    str(meta["created"]),
                    _iso(meta_path.stat().st_mtime),
                    dict(meta["spec"]),
                    meta_path.with_suffix(".npy"),
                )
            except (OSError, ValueError, KeyError, TypeError):
                continue
            yield entry

    def du(self) -> dict[str, tuple[int, int]]:
        """stage -> (entries, bytes of their arrays)."""
        usage: dict[str, tuple[int, int]] = {}
        for entry in self.entries():
            count, size = usage.get(entry.stage, (0, 0))
            usage[entry.stage] = (count + 1, size + entry.nbytes)
        return usage

    def gc(self, *, older_than_days: float | None = None, everything: bool = False) -> tuple[int, int]:
        """Remove leftovers of interrupted puts, and entries unused for older_than_days (or all): (files, bytes).
        Entries used since a live run began are kept (its lease, :mod:`zsbench.storage.leases`): ``kept``."""
        now = time.time()
        cutoff = now - older_than_days * 86400 if older_than_days is not None else None
        removed = freed = kept = 0
        leases = live(self.root)
        in_use = leases[0].since - LEASE_SLACK_S if leases else None  # used since: a live run needs it

        def drop(path: Path) -> None:
            nonlocal removed, freed
            with contextlib.suppress(FileNotFoundError):
                size = path.stat().st_size
                path.unlink()
                removed, freed = removed + 1, freed + size

        shard_folders = shards(self.root)
        for path in (path for shard in shard_folders for path in ls(shard)):
            try:
                when = path.stat().st_mtime
            except FileNotFoundError:  # went with its entry just before, or to another process
                continue
            young = now - when < GRACE_S  # then a temporary file or orphan may be a put() under way
            if path.name.startswith(TMP_PREFIX):
                if not young:
                    drop(path)
            elif path.suffix == ".json" and (everything or (cutoff is not None and when < cutoff)):
                if in_use is not None and when >= in_use:
                    kept += 1
                    continue
                drop(path)  # the commit marker first, so no reader sees a half-removed entry
                drop(path.with_suffix(".npy"))
            elif path.suffix == ".npy" and not path.with_suffix(".json").exists():
                if not young or (everything and not leases):  # young, with a run live: a put under way
                    drop(path)
        memo = self.root / PARAMS_FOLDER  # the parameters memo: rebuilt by the next run that needs it
        if everything and memo.is_dir():
            for path in ls(memo):
                drop(path)
        for folder in [*shard_folders, *{shard.parent for shard in shard_folders}, memo]:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only succeeds when empty
        self.kept = (kept, leases)
        return removed, freed

    def verify(self, *, remove: bool = True) -> list[tuple[str, str, str]]:
        """Checksum every entry; (stage, key, problem) for each bad one, removed unless remove=False."""
        problems = []
        for meta_path in list(meta_files(self.root)):
            npy_path = meta_path.with_suffix(".npy")
            try:
                problem, _ = self._inspect(meta_path, npy_path)
            except FileNotFoundError:  # removed meanwhile
                continue
            if problem and problem != _RACE:
                problems.append((meta_path.parent.parent.name, meta_path.stem, problem))
                if remove:
                    self._remove(meta_path, npy_path)
        return problems

    @staticmethod
    def _inspect(meta_path: Path, npy_path: Path) -> tuple[str | None, np.ndarray | None]:
        """(problem, None) or (None, the memory-mapped array). FileNotFoundError: no entry."""
        try:
            meta = json.loads(meta_path.read_bytes())
            sha, nbytes = str(meta["sha256"]), int(meta["nbytes"])
        except FileNotFoundError:
            raise
        except (OSError, ValueError, KeyError, TypeError):
            return "unreadable metadata", None
        try:
            file = open(npy_path, "rb")  # closed below, after the identity check
        except FileNotFoundError:
            return "missing array", None
        with file:
            stat = os.fstat(file.fileno())
            if stat.st_size != nbytes:
                return "size mismatch", None
            if hashlib.file_digest(file, "sha256").hexdigest() != sha:
                return "checksum mismatch", None
            try:
                array = np.load(npy_path, mmap_mode="r", allow_pickle=False)
                now = os.stat(npy_path)
            except FileNotFoundError:
                return _RACE, None
            except (OSError, ValueError):  # e.g. an object array: it would need unpickling
                return "unreadable array", None
            # np.load opened the path again. Our open handle keeps the hashed inode from being reused,
            # so if the path names it now, it named it throughout and the map holds the checked bytes.
            if (now.st_ino, now.st_dev) != (stat.st_ino, stat.st_dev):
                return _RACE, None
        return None, array

    @staticmethod
    def _commit(path: Path, write: Callable[[IO[bytes]], object]) -> tuple[str, int]:
        """Write via a temporary sibling, fsync, rename over path (readers see all or nothing): (sha256, size)."""
        tmp = path.with_name(f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{path.name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            file = open(tmp, "x+b")
        except FileNotFoundError:  # a concurrent gc removed the folder while it was empty
            path.parent.mkdir(parents=True, exist_ok=True)
            file = open(tmp, "x+b")
        try:
            with file:
                write(file)
                file.flush()
                os.fsync(file.fileno())
                size = file.tell()
                file.seek(0)
                sha = hashlib.file_digest(file, "sha256").hexdigest()
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return sha, size

    @staticmethod
    def _remove(meta_path: Path, npy_path: Path) -> None:
        meta_path.unlink(missing_ok=True)  # the commit marker first
        npy_path.unlink(missing_ok=True)
