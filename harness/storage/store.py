"""The results store: one SQLite file that outlives the process.

Location: ``--store PATH``, else ``$ZSBENCH_STORE``, else ``results.sqlite`` in the per-user data
directory. Every result is committed as soon as it exists, so an interrupted run keeps what it
finished. WAL mode lets a reader (``zsbench leaderboard``) work while a run writes. Readers open
the store read-only (``readonly=True``): they never create, migrate or touch the file.

A row that cannot be read back (bad JSON, a wrong type, a null where a value is required, a
damaged page) is skipped with a :class:`StoreWarning` and recorded in ``ResultStore.skipped``;
the other rows are served. ``zsbench store check`` lists such rows.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

from zsbench.core.result import Result
from zsbench.plugin.errors import ZsbenchError
from zsbench.plugin.paths import user_path
from zsbench.storage.failures import not_a_database, write_problem
from zsbench.storage.rows import COLUMNS, INDEXES_SQL, SCHEMA_SQL, BadRow, parse, rows_text

ENV_STORE = "ZSBENCH_STORE"
SCHEMA_VERSION = 2
# A damaged file is salvaged row by row up to this many ids past the damage; beyond, it is an error.
_SALVAGE_MAX_ROWS = 5_000_000
_SALVAGE_CHUNK = 256


class StoreWarning(UserWarning):
    """Rows of the results store that could not be read and were skipped."""


class StoreWriteError(ZsbenchError):
    """The store could not be written (disk full, read-only file or folder, damaged file)."""


def default_path() -> Path:
    return user_path(ENV_STORE, "data", "results.sqlite")


class ResultStore:
    """The results store at ``path`` (default: :func:`default_path`).

    ``readonly=True`` opens it for reading only: nothing is created, migrated or written, so a
    read-only file works and reading never changes the file. A missing file named by ``path`` is
    an error; a missing default store reads as empty (nothing was run yet).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, readonly: bool = False) -> None:
        self.path = Path(path).expanduser() if path is not None else default_path()
        self.readonly = readonly
        self.skipped: list[BadRow] = []  # rows met by reads so far that could not be read
        self._has_key = True  # schema 1 (read-only, not migrated) has no result_key column
        if readonly:
            self._open_readonly(explicit=path is not None)
            return
        try:
            with self._writing():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, timeout=30)
                self._wal()
                self._check_version()
                self._migrate()
        except StoreWriteError as exc:
            # A file that is not SQLite at all is not a write problem: say so, as before.
            if isinstance(exc.__cause__, sqlite3.DatabaseError) and not_a_database(exc.__cause__):
                raise self._unopenable(exc.__cause__) from None
            raise

    def _open_readonly(self, explicit: bool) -> None:
        if not self.path.exists():
            if explicit:
                raise ZsbenchError(f"no results store at {self.path}; run `zsbench run` first or pass --store")
            self._blank()
            return
        uri = self.path.resolve().as_uri() + "?mode=ro"
        try:
            self._db = sqlite3.connect(uri, uri=True, timeout=30)
            try:
                tables = self._tables()
            except sqlite3.OperationalError:
                # A WAL store in a read-only folder: SQLite cannot create the -shm file it reads
                # through. With no -wal file there is nothing uncommitted, so reading the file as
                # immutable gives exactly what is committed.
                if Path(f"{self.path}-wal").exists():
                    raise
                self._db.close()
                self._db = sqlite3.connect(uri + "&immutable=1", uri=True)
                tables = self._tables()
            self._check_version()
        except sqlite3.DatabaseError as exc:
            raise self._unopenable(exc) from None
        if "results" not in tables:  # an empty file: a store nothing was written to
            if self.path.stat().st_size:
                raise ZsbenchError(
                    f"{self.path} is an SQLite file but not a zsbench results store (no results "
                    "table); pass --store with a results store"
                )
            self._db.close()
            self._blank()
            return
        self._has_key = "result_key" in {row[1] for row in self._db.execute("PRAGMA table_info(results)")}

    def _blank(self) -> None:
        """An empty in-memory store, for a reader of a store that does not exist yet."""
        self._db = sqlite3.connect(":memory:")
        self._db.executescript(SCHEMA_SQL)

    def _tables(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def _check_version(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ZsbenchError(
                f"results store {self.path} was written by a newer zsbench (schema {version}); "
                "upgrade zsbench or pass --store with another file"
            )

    def _unopenable(self, exc: sqlite3.DatabaseError) -> ZsbenchError:
        return ZsbenchError(
            f"cannot open results store {self.path}: {exc}; pass --store with a results store "
            f"(or a new file) or set {ENV_STORE}"
        )

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Failures to write (disk full, read-only, damaged file) become one line naming the store,
        the free space of its folder and what to do. SQLite rolls the transaction back, so nothing
        already stored is lost."""
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            db = getattr(self, "_db", None)
            if db is not None and db.in_transaction:  # a failed COMMIT leaves it open
                with contextlib.suppress(sqlite3.Error):
                    db.rollback()
            raise StoreWriteError(write_problem(self.path, exc)) from exc

    def _wal(self) -> None:
        # Switching a new file to WAL needs an exclusive lock and SQLite does not wait for it (no
        # busy handler), so processes creating the same store at once retry briefly.
        for attempt in range(100):
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 99:
                    raise
                time.sleep(0.05)

    def _migrate(self) -> None:
        """Create or upgrade the schema under a write lock, so two processes opening a new or
        old store at once cannot both try the same change."""
        self._db.isolation_level = None  # manual transactions for BEGIN IMMEDIATE
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for statement in filter(None, (s.strip() for s in SCHEMA_SQL.split(";"))):
                self._db.execute(statement)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(results)")}
            if "result_key" not in columns:  # stores written by schema 1
                self._db.execute("ALTER TABLE results ADD COLUMN result_key TEXT")
            self._db.execute(INDEXES_SQL)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                with contextlib.suppress(sqlite3.Error):  # the original error says more
                    self._db.execute("ROLLBACK")
            raise
        finally:
            # "" is sqlite3's default (implicit BEGIN before changes); typeshed's Literal leaves it out
            self._db.isolation_level = ""  # type: ignore[assignment]

    def add(self, result: Result, result_key: str | None = None) -> None:
        """Store ``result``. ``result_key`` identifies its configuration, ok or failed: ``finished``
        finds ok rows by it, and the row replaces earlier failed rows of the key (in the same
        transaction), so failures of a configuration run again and again do not pile up."""
        if self.readonly:
            raise ZsbenchError(f"results store {self.path} is open read-only; cannot add results")
        record = result.to_record()
        with self._writing(), self._db:
            if result_key is not None:
                self._db.execute("DELETE FROM results WHERE result_key = ? AND status = 'failed'", (result_key,))
            self._db.execute(
                "INSERT INTO results (run_id, created_at, protocol_version, encoder, dataset, "
                "reducer, clusterer, seed, status, error, ami, metrics, config, timings, provenance, "
                "result_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record["run_id"],
                    record["created_at"],
                    record["protocol_version"],
                    record["encoder"],
                    record["dataset"],
                    record["reducer"],
                    record["clusterer"],
                    record["seed"],
                    record["status"],
                    record["error"],
                    result.ami,
                    json.dumps(record["metrics"]),
                    json.dumps(record["config"]),
                    json.dumps(record["timings"]),
                    json.dumps(record["provenance"]),
                    result_key,
                ),
            )

    def finished(self, result_key: str) -> Result | None:
        """The latest successful result with this key, if a previous run stored one (and it reads)."""
        if not self._has_key:
            return None
        bad: list[BadRow] = []
        found = None
        try:
            for row in self._db.execute(
                f"SELECT {COLUMNS} FROM results WHERE result_key = ? AND status = 'ok' ORDER BY id DESC", (result_key,)
            ):
                parsed = parse(row)
                if isinstance(parsed, Result):
                    found = parsed
                    break
                bad.extend(parsed)
        except sqlite3.DatabaseError as exc:  # a damaged file: compute again rather than fail
            warnings.warn(
                f"results store {self.path} is damaged ({exc}); computing again; see "
                f"`zsbench store check --store {self.path}`",
                StoreWarning,
                stacklevel=2,
            )
        self._report(bad)
        return found

    def results(self, protocol_version: str | None = None) -> list[Result]:
        return list(self.iter_results(protocol_version))

    def iter_results(self, protocol_version: str | None = None) -> Iterator[Result]:
        """Every readable row in order; unreadable ones are skipped, warned about when the iteration
        ends, and kept in ``skipped``."""
        bad: list[BadRow] = []
        for row in self._rows(protocol_version, bad):
            parsed = parse(row)
            if isinstance(parsed, Result):
                yield parsed
            else:
                bad.extend(parsed)
        self._report(bad)

    def check(self) -> tuple[int, list[BadRow]]:
        """Read every row: (number of rows, the problems of the unreadable ones), without warnings."""
        bad: list[BadRow] = []
        n = 0
        for row in self._rows(None, bad):
            n += 1
            parsed = parse(row)
            if not isinstance(parsed, Result):
                bad.extend(parsed)
        return n + len({b.id for b in bad if b.column == "row"}), bad

    def _rows(self, protocol_version: str | None, bad: list[BadRow]) -> Iterator[tuple]:
        """Raw rows by id. When a damaged page stops the scan, the rest is read chunk by chunk and
        then row by row, so one bad page costs only its own rows (recorded in ``bad``)."""
        where, args = ("", ()) if protocol_version is None else (" AND protocol_version = ?", (protocol_version,))
        select = f"SELECT {COLUMNS} FROM results WHERE id > ?"
        last = 0
        try:
            for row in self._db.execute(f"{select}{where} ORDER BY id", (last, *args)):
                last = row[0]
                yield row
            return
        except sqlite3.DatabaseError as exc:
            damage = exc
        try:
            top = self._db.execute("SELECT max(id) FROM results").fetchone()[0] or 0
        except sqlite3.DatabaseError:
            top = None
        if not isinstance(top, int) or top - last > _SALVAGE_MAX_ROWS:
            raise ZsbenchError(
                f"results store {self.path} is damaged ({damage}); recover what it holds with "
                f"`sqlite3 {self.path} .recover`, or pass --store with another file"
            )
        for start in range(last, top, _SALVAGE_CHUNK):
            end = min(start + _SALVAGE_CHUNK, top)
            try:
                yield from self._db.execute(f"{select} AND id <= ?{where} ORDER BY id", (start, end, *args)).fetchall()
                continue
            except sqlite3.DatabaseError:
                pass
            for id_ in range(start + 1, end + 1):
                try:
                    row = self._db.execute(
                        f"SELECT {COLUMNS} FROM results WHERE id = ?{where}", (id_, *args)
                    ).fetchone()
                except sqlite3.DatabaseError as exc:
                    bad.append(BadRow(id_, "row", "unreadable", str(exc)))
                    continue
                if row is not None:
                    yield row

    def _report(self, bad: Sequence[BadRow]) -> None:
        """One warning per distinct problem, naming its rows; remember them in ``skipped``."""
        known = set(self.skipped)
        self.skipped.extend(b for b in bad if b not in known)
        groups: dict[tuple[str, str], list[int]] = {}
        for b in bad:
            ids = groups.setdefault((b.column, b.problem), [])
            if b.id not in ids:
                ids.append(b.id)
        for (column, problem), ids in groups.items():
            what = "" if column == "row" else f"{column} "
            warnings.warn(
                f"results store {self.path}: skipped {rows_text(ids)}: {what}{problem}; see "
                f"`zsbench store check --store {self.path}`",
                StoreWarning,
                stacklevel=3,
            )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
