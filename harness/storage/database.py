"""The results store's SQLite file: connected for writing (WAL, its schema created or migrated under a
write lock) or for reading only (never created, migrated or touched), its schema version checked.

A store is ours only: a file is written to only once it is known to be a zsbench store, by its
SQLite application id (:data:`APPLICATION_ID`, set when it is created), by the results table of a
store made before the id existed (stamped when first opened for writing), or by being new or empty.
Any other file, SQLite or not, is refused before a byte of it is written.

What the rows mean, and how they are read back, is :mod:`zsbench.storage.rows` and
:mod:`zsbench.storage.store`; this module knows the file and its schema's versions.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

from zsbench.plugin.errors import ZsbenchError
from zsbench.storage.rows import INDEXES_SQL, KEY_INDEX, NAMES, SCHEMA_SQL

# 3: one row per result key (a unique index; duplicates of older stores merged, see merge_duplicates)
SCHEMA_VERSION = 3
APPLICATION_ID = int.from_bytes(b"zsbn")  # SQLite's header field naming the application that owns a file
MERGED = "results_merged"  # the rows merged away by the migration to schema 3, kept rather than lost


class NotAStoreError(ZsbenchError):
    """The file is another application's SQLite file: zsbench never writes into it."""


def connect(path: Path) -> tuple[sqlite3.Connection, str | None]:
    """The store at ``path`` open for writing: created if missing, in WAL mode, its schema at
    :data:`SCHEMA_VERSION`; and what its migration merged, in words (None: nothing). sqlite3 and OS
    errors pass through (the store says what they mean)."""
    identify(path)  # before anything is opened for writing: switching to WAL writes the header
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30)
    try:
        refuse(db, path)  # a consistent read, where identify's could not decide
        wal(db)
        check_version(db, path)
        merged = migrate(db, path)
    except BaseException:
        db.close()
        raise
    return db, merged


def connect_readonly(path: Path) -> tuple[sqlite3.Connection, set[str]]:
    """The existing store at ``path`` open for reading only, and the names of its tables."""
    identify(path)
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
        refuse(db, path)
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


def identify(path: Path) -> None:
    """Refuse (:class:`NotAStoreError`) an existing file that is not a zsbench store, before anything opens
    it for writing. The header's application id settles most files. One without an id is read as an
    immutable file: no lock, no ``-wal`` or ``-shm`` file beside it, not a byte written, so a refused file
    is left exactly as it was. Such a read may see a WAL file's older state, or fail while another process
    writes the file (a store in use): then it passes, and the locked connection decides (:func:`refuse`, in
    :func:`migrate` and :func:`connect_readonly`). A file that is not SQLite passes too: SQLite says so."""
    if not path.is_file() or not path.stat().st_size:
        return  # new, or empty: it becomes a store
    with path.open("rb") as file:
        header = file.read(100)
    if not header.startswith(b"SQLite format 3\0") or len(header) < 100:
        return
    app = int.from_bytes(header[68:72], "big", signed=True)
    if app == APPLICATION_ID:
        return
    if app:
        raise not_ours(path, app, [])
    try:
        with contextlib.closing(sqlite3.connect(path.resolve().as_uri() + "?mode=ro&immutable=1", uri=True)) as db:
            refuse(db, path)
    except sqlite3.DatabaseError:
        return


def refuse(db: sqlite3.Connection, path: Path) -> None:
    """:class:`NotAStoreError` when the file open as ``db`` is another application's: its application id
    is another's, or it holds tables and no results table of zsbench's shape. Only reads."""
    app = db.execute("PRAGMA application_id").fetchone()[0]
    if app == APPLICATION_ID:
        return
    names = [
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
        )
    ]
    columns = {row[1] for row in db.execute("PRAGMA table_info(results)")}
    if app or (names and not set(NAMES) <= columns):  # not even a store of an older zsbench
        raise not_ours(path, app, names)


def not_ours(path: Path, app: int, names: list[str]) -> NotAStoreError:
    if app:
        what = f"its SQLite application id is {app & 0xFFFFFFFF:#010x}, another application's"
    else:
        shown = ", ".join(sorted(names)[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        what = f"an SQLite file with tables {shown}"
    return NotAStoreError(
        f"{path} is not a zsbench results store ({what}); zsbench writes only to its own stores: "
        "pass --store with a results store or a new file"
    )


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


def migrate(db: sqlite3.Connection, path: Path) -> str | None:
    """Create or upgrade the schema under a write lock, so two processes opening a new or
    old store at once cannot both try the same change. Returns what :func:`merge_duplicates` did."""
    db.isolation_level = None  # manual transactions for BEGIN IMMEDIATE
    merged = None
    try:
        db.execute("BEGIN IMMEDIATE")
        refuse(db, path)  # what identify may not have seen: a WAL file's newest changes
        for statement in filter(None, (s.strip() for s in SCHEMA_SQL.split(";"))):
            db.execute(statement)
        if not has_result_key(db):  # stores written by schema 1
            db.execute("ALTER TABLE results ADD COLUMN result_key TEXT")
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (KEY_INDEX,)).fetchone():
            merged = merge_duplicates(db)  # schema 2 and older: racing runs could store a key twice
            db.execute("DROP INDEX IF EXISTS results_key")  # schema 2's, not unique
            db.execute(INDEXES_SQL)
        db.execute(f"PRAGMA application_id={APPLICATION_ID}")  # stamps stores made before the id
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
    return merged


def merge_duplicates(db: sqlite3.Connection) -> str | None:
    """Leave one row per result key: the newest ok row, else the newest row (an ok result beats a failed
    one, and :meth:`~zsbench.storage.store.ResultStore.finished` read the newest ok row already). The rows
    merged away move to the table :data:`MERGED` (with the id of the row kept, ``merged_into``), never
    lost. Returns what was merged, in words; None when every key had one row. In the caller's transaction."""
    duplicated = db.execute(
        "SELECT result_key FROM results WHERE result_key IS NOT NULL GROUP BY result_key HAVING COUNT(*) > 1"
    ).fetchall()
    if not duplicated:
        return None
    db.execute(f"CREATE TABLE IF NOT EXISTS {MERGED} AS SELECT *, 0 AS merged_into FROM results WHERE 0")
    moved = ok = 0
    for (key,) in duplicated:
        rows = db.execute("SELECT id, status FROM results WHERE result_key = ? ORDER BY id DESC", (key,)).fetchall()
        kept = next((id_ for id_, status in rows if status == "ok"), rows[0][0])
        for id_, status in rows:
            if id_ != kept:
                db.execute(f"INSERT INTO {MERGED} SELECT *, ? FROM results WHERE id = ?", (kept, id_))
                db.execute("DELETE FROM results WHERE id = ?", (id_,))
                moved, ok = moved + 1, ok + (status == "ok")
    return (
        f"merged {moved} duplicate row(s) ({ok} ok) of {len(duplicated)} result key(s) into one row each "
        f"(the newest ok row, else the newest); the rows merged away are kept in its table {MERGED}"
    )
