"""Live runs' leases on the artifact cache, so that ``zsbench cache gc`` never pulls an entry from under a
run that needs it.

A run holds a lease while it uses the cache (:func:`held`): an empty file
``<root>/.leases/<pid>.<token>@<host>``, made when the run opens the cache and removed when it ends. Its
modification time is when the run began. Every entry the run needs it reads (which touches the entry's
metadata) or writes after that, so gc keeps every entry used since the oldest live lease began
(:meth:`zsbench.storage.cache.ArtifactCache.gc`); an entry the run would only read later and gc removed
is recomputed by the run, as any missing entry is.

A lease of this host whose process has ended (killed, say) is stale: gc removes it. One of another host
cannot be checked from here and is honoured; gc names it, so a user can delete it when that run is over.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from zsbench.storage.layout import ls

FOLDER = ".leases"  # beside the stages; the cache's listing, verify and gc of entries never read it


@dataclass(frozen=True)
class Lease:
    path: Path
    pid: int
    host: str
    since: float  # the file's modification time: when the run began, on the cache's own clock
    here: bool  # of this host (then its process runs: stale leases are removed)

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host}"


def _host() -> str:
    return socket.gethostname() or "localhost"


@contextlib.contextmanager
def held(root: Path) -> Iterator[Path | None]:
    """A lease on the cache at ``root`` for as long as the ``with`` block runs: its file, or None where
    none could be made (the run goes on; only a gc meanwhile could then remove what it needs)."""
    path = root / FOLDER / f"{os.getpid()}.{secrets.token_hex(4)}@{_host()}"
    try:
        path.parent.mkdir(exist_ok=True)
        path.touch(exist_ok=False)
    except OSError:
        yield None
        return
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def alive(pid: int) -> bool:
    """Whether process ``pid`` of this host is running (a process of another user counts)."""
    if os.name == "nt":  # os.kill would end it there: assume it runs
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def live(root: Path) -> list[Lease]:
    """The leases on the cache at ``root`` of runs that may still be running; stale ones of this host
    (their process has ended) are removed on the way. Oldest first."""
    found = []
    here = _host()
    for path in ls(root / FOLDER):
        name, _, host = path.name.partition("@")
        try:
            pid = int(name.split(".", 1)[0])
            since = path.stat().st_mtime
        except (ValueError, OSError):  # not a lease, or removed meanwhile by its run
            continue
        if host == here and not alive(pid):
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        found.append(Lease(path, pid, host, since, host == here))
    return sorted(found, key=lambda lease: lease.since)
