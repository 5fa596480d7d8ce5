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
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

from zsbench.core.result import Result
from zsbench.plugin.errors import ZsbenchError
from zsbench.plugin.paths import user_path
from zsbench.storage.database import blank, connect, connect_readonly, has_result_key
from zsbench.storage.failures import not_a_database, write_problem
from zsbench.storage.rows import COLUMNS, BadRow, parse, rows_text
from zsbench.storage.salvage import scan

ENV_STORE = "ZSBENCH_STORE"


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
                self._db, merged = connect(self.path)
        except StoreWriteError as exc:
            # A file that is not SQLite at all is not a write problem: say so, as before.
            if isinstance(exc.__cause__, sqlite3.DatabaseError) and not_a_database(exc.__cause__):
                raise self._unopenable(exc.__cause__) from None
            raise
        if merged:
            warnings.warn(f"results store {self.path}: {merged}", StoreWarning, stacklevel=2)

    def _open_readonly(self, explicit: bool) -> None:
        if not self.path.exists():
            if explicit:
                raise ZsbenchError(f"no results store at {self.path}; run `zsbench run` first or pass --store")
            self._db = blank()
            return
        try:
            self._db, names = connect_readonly(self.path)
        except sqlite3.DatabaseError as exc:
            raise self._unopenable(exc) from None
        if "results" not in names:  # an empty file: a store nothing was written to
            if self.path.stat().st_size:
                raise ZsbenchError(
                    f"{self.path} is an SQLite file but not a zsbench results store (no results "
                    "table); pass --store with a results store"
                )
            self._db.close()
            self._db = blank()
            return
        self._has_key = has_result_key(self._db)

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

    def add(self, result: Result, result_key: str | None = None) -> None:
        """Store ``result``. ``result_key`` identifies its configuration, ok or failed: the store holds one
        row per key, the newest, except that a failed row never replaces an ok one. So ``finished`` finds
        the newest ok row by it, failures of a configuration run again and again do not pile up, and runs
        racing on one store cannot store a configuration twice (the unique key settles who comes second,
        in the same transaction)."""
        if self.readonly:
            raise ZsbenchError(f"results store {self.path} is open read-only; cannot add results")
        record = result.to_record()
        with self._writing(), self._db:
            if result_key is not None:
                only_failed = "" if result.status == "ok" else " AND status = 'failed'"
                self._db.execute(f"DELETE FROM results WHERE result_key = ?{only_failed}", (result_key,))
            self._db.execute(
                "INSERT INTO results (run_id, created_at, protocol_version, encoder, dataset, "
                "reducer, clusterer, seed, status, error, ami, metrics, config, timings, provenance, "
                "result_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (result_key) DO NOTHING",  # a failed row, where an ok one is stored
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
        for row in scan(self._db, self.path, protocol_version, bad):
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
        for row in scan(self._db, self.path, None, bad):
            n += 1
            parsed = parse(row)
            if not isinstance(parsed, Result):
                bad.extend(parsed)
        return n + len({b.id for b in bad if b.column == "row"}), bad

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
