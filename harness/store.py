"""The results store: one SQLite file that outlives the process.

Location: ``--store PATH``, else ``$ZSBENCH_STORE``, else ``results.sqlite`` in the per-user data
directory. Every result is committed as soon as it exists, so an interrupted run keeps what it
finished. WAL mode lets a reader (``zsbench leaderboard``) work while a run writes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from zsbench.errors import ZsbenchError
from zsbench.types import Result

ENV_STORE = "ZSBENCH_STORE"
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    protocol_version TEXT NOT NULL,
    encoder TEXT NOT NULL,
    dataset TEXT NOT NULL,
    reducer TEXT NOT NULL,
    clusterer TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error TEXT,
    ami REAL,
    metrics TEXT NOT NULL,
    config TEXT NOT NULL,
    timings TEXT NOT NULL,
    provenance TEXT NOT NULL,
    result_key TEXT
);
CREATE INDEX IF NOT EXISTS results_cell
    ON results (protocol_version, encoder, dataset, reducer, clusterer, seed);
"""
# result_key: a hash of everything that determines the result (the clustering's cache key);
# a rerun finds finished results by it instead of recomputing them.
_INDEXES = "CREATE INDEX IF NOT EXISTS results_key ON results (result_key, status)"


def default_path() -> Path:
    env = os.environ.get(ENV_STORE)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("zsbench", appauthor=False)) / "results.sqlite"


class ResultStore:
    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30)
            self._wal()
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ZsbenchError(
                    f"results store {self.path} was written by a newer zsbench (schema {version}); "
                    "upgrade zsbench or pass --store with another file")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise ZsbenchError(
                f"cannot open results store {self.path}: {exc}; pass --store with a writable "
                f"file or set {ENV_STORE}") from None

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
            for statement in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                self._db.execute(statement)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(results)")}
            if "result_key" not in columns:  # stores written by schema 1
                self._db.execute("ALTER TABLE results ADD COLUMN result_key TEXT")
            self._db.execute(_INDEXES)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        finally:
            self._db.isolation_level = ""

    def add(self, result: Result, result_key: str | None = None) -> None:
        record = result.to_record()
        with self._db:
            self._db.execute(
                "INSERT INTO results (run_id, created_at, protocol_version, encoder, dataset, "
                "reducer, clusterer, seed, status, error, ami, metrics, config, timings, provenance, "
                "result_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record["run_id"], record["created_at"], record["protocol_version"],
                 record["encoder"], record["dataset"], record["reducer"], record["clusterer"],
                 record["seed"], record["status"], record["error"], result.ami,
                 json.dumps(record["metrics"]), json.dumps(record["config"]),
                 json.dumps(record["timings"]), json.dumps(record["provenance"]), result_key),
            )

    def finished(self, result_key: str) -> Result | None:
        """The latest successful result with this key, if a previous run stored one."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM results WHERE result_key = ? AND status = 'ok' "
            "ORDER BY id DESC LIMIT 1", (result_key,)).fetchone()
        return _row_to_result(row) if row else None

    def results(self, protocol_version: str | None = None) -> list[Result]:
        return list(self.iter_results(protocol_version))

    def iter_results(self, protocol_version: str | None = None) -> Iterator[Result]:
        query = f"SELECT {_COLUMNS} FROM results"
        args: tuple = ()
        if protocol_version is not None:
            query += " WHERE protocol_version = ?"
            args = (protocol_version,)
        for row in self._db.execute(query + " ORDER BY id", args):
            yield _row_to_result(row)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_COLUMNS = ("id, run_id, created_at, protocol_version, encoder, dataset, reducer, clusterer, seed, "
            "status, error, metrics, config, timings, provenance")


def _row_to_result(row) -> Result:
    (id_, run_id, created, proto, enc, ds, red, clu, seed, status, error, metrics, config, timings,
     prov) = row
    return Result(enc, ds, red, clu, seed, status, error, json.loads(metrics), json.loads(config),
                  json.loads(timings), json.loads(prov), proto, created, run_id, id=id_)
