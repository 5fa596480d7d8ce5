"""The results store's SQLite file: connected for writing (WAL, its schema created or migrated under a
write lock) or for reading only (never created, migrated or touched), its schema version checked.

What the rows mean, and how they are read back, is :mod:`zsbench.storage.rows` and
:mod:`zsbench.storage.store`; this module knows the file and its schema's versions.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

from zsbench.plugin.errors import ZsbenchError
from zsbench.storage.rows import INDEXES_SQL, SCHEMA_SQL

SCHEMA_VERSION = 2


def connect(path: Path) -> sqlite3.Connection:
    """The store at ``path`` open for writing: created if missing, in WAL mode, its schema at
    :data:`SCHEMA_VERSION`. sqlite3 and OS errors pass through (the store says what they mean)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30)
    try:
        wal(db)
        check_version(db, path)
        migrate(db)
    except BaseException:
        db.close()
        raise
    return db


def connect_readonly(path: Path) -> tuple[sqlite3.Connection, set[str]]:
    """The existing store at ``path`` open for reading only, and the names of its tables."""
    uri = path.resolve().as_uri() + "?mode=ro"
    db = sqlite3.connect(uri, uri=True, timeout=30)
    try:
        try:
            names = tables(db)
        except sqlite3.OperationalError:
            # A WAL store in a read-only folder: SQLite cannot create the -shm file it reads
            # through. With no -wal file there is nothing uncommitted, so reading the file as
            # immutable gives exactly what is committed.
            if Path(f"{path}-wal").exists():
                raise
            db.close()
            db = sqlite3.connect(uri + "&immutable=1", uri=True)
            names = tables(db)
        check_version(db, path)
    except BaseException:
        db.close()
        raise
    return db, names


def blank() -> sqlite3.Connection:
    """An empty in-memory store, for a reader of a store that does not exist yet."""
    db = sqlite3.connect(":memory:")
    db.executescript(SCHEMA_SQL)
    return db


def tables(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def has_result_key(db: sqlite3.Connection) -> bool:
    """Whether the results table has the ``result_key`` column (schema 1, read without migrating, has not)."""
    return "result_key" in {row[1] for row in db.execute("PRAGMA table_info(results)")}


def check_version(db: sqlite3.Connection, path: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise ZsbenchError(
            f"results store {path} was written by a newer zsbench (schema {version}); "
            "upgrade zsbench or pass --store with another file"
        )


def wal(db: sqlite3.Connection) -> None:
    # Switching a new file to WAL needs an exclusive lock and SQLite does not wait for it (no
    # busy handler), so processes creating the same store at once retry briefly.
    for attempt in range(100):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 99:
                raise
            time.sleep(0.05)


def migrate(db: sqlite3.Connection) -> None:
    """Create or upgrade the schema under a write lock, so two processes opening a new or
    old store at once cannot both try the same change."""
    db.isolation_level = None  # manual transactions for BEGIN IMMEDIATE
    try:
        db.execute("BEGIN IMMEDIATE")
        for statement in filter(None, (s.strip() for s in SCHEMA_SQL.split(";"))):
            db.execute(statement)
        if not has_result_key(db):  # stores written by schema 1
            db.execute("ALTER TABLE results ADD COLUMN result_key TEXT")
        db.execute(INDEXES_SQL)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):  # the original error says more
                db.execute("ROLLBACK")
        raise
    finally:
        # "" is sqlite3's default (implicit BEGIN before changes); typeshed's Literal leaves it out
        db.isolation_level = ""  # type: ignore[assignment]
