"""The results table: its SQLite schema, and reading one row back into a Result (or what is wrong with it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from zsbench.core.result import Result

SCHEMA_SQL = """
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
# a rerun finds finished results by it instead of recomputing them, and replaces failed ones.
# One row per key (NULL, a row stored without a key, may repeat): runs racing on a store cannot
# store a configuration twice (ResultStore.add).
KEY_INDEX = "results_result_key"
INDEXES_SQL = f"CREATE UNIQUE INDEX IF NOT EXISTS {KEY_INDEX} ON results (result_key)"


@dataclass(frozen=True)
class BadRow:
    """One problem of one row: ``column`` ``problem`` (``detail``), e.g. metrics is not valid JSON."""

    id: int
    column: str
    problem: str  # short, the same for every row with this problem (warnings group by it)
    detail: str = ""

    def __str__(self) -> str:
        what = "" if self.column == "row" else f"{self.column} "  # the whole row, e.g. on a damaged page
        return f"row {self.id}: {what}{self.problem}" + (f" ({self.detail})" if self.detail else "")


COLUMNS = (
    "id, run_id, created_at, protocol_version, encoder, dataset, reducer, clusterer, seed, "
    "status, error, metrics, config, timings, provenance"
)
NAMES = [c.strip() for c in COLUMNS.split(",")]
REQUIRED = {
    "id",
    "run_id",
    "created_at",
    "protocol_version",
    "encoder",
    "dataset",
    "reducer",
    "clusterer",
    "seed",
    "status",
}
OBJECTS = ("metrics", "config", "timings", "provenance")


def parse(row: tuple) -> Result | list[BadRow]:
    """The row as a Result, or every problem that keeps it from being one."""
    values = dict(zip(NAMES, row, strict=True))
    id_ = values["id"]
    problems = [BadRow(id_, name, "is null") for name in NAMES if name in REQUIRED and values[name] is None]
    if values["seed"] is not None and (not isinstance(values["seed"], int) or isinstance(values["seed"], bool)):
        problems.append(BadRow(id_, "seed", "is not an integer", repr(values["seed"])[:80]))
    if values["status"] not in (None, "ok", "failed"):
        problems.append(BadRow(id_, "status", "is neither ok nor failed", repr(values["status"])[:80]))
    if values["error"] is not None and not isinstance(values["error"], str):
        problems.append(BadRow(id_, "error", "is not text", repr(values["error"])[:80]))
    parsed = {}
    for name in OBJECTS:
        text = values[name]
        if text is None:
            problems.append(BadRow(id_, name, "is null"))
            continue
        try:
            value = json.loads(text)
        except (ValueError, TypeError) as exc:  # TypeError: a number stored in the column
            problems.append(BadRow(id_, name, "is not valid JSON", str(exc)[:80]))
            continue
        if not isinstance(value, dict):
            problems.append(BadRow(id_, name, f"is JSON {_json_type(value)}, not an object"))
        parsed[name] = value
    if problems:
        return problems
    return Result(
        values["encoder"],
        values["dataset"],
        values["reducer"],
        values["clusterer"],
        values["seed"],
        values["status"],
        values["error"],
        parsed["metrics"],
        parsed["config"],
        parsed["timings"],
        parsed["provenance"],
        values["protocol_version"],
        values["created_at"],
        values["run_id"],
        id=id_,
    )


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "true/false", int: "number", float: "number", str: "text", list: "array"}.get(type(value), "value")


def rows_text(ids: Sequence[int]) -> str:
    """``row 3``, ``rows 3, 7, 10-15``, at most 10 parts and how many more."""
    ids = sorted(set(ids))
    parts: list[str] = []
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        parts.append(str(ids[i]) if i == j else f"{ids[i]}-{ids[j]}")
        i = j + 1
    shown = ", ".join(parts[:10]) + (f" and {len(parts) - 10} more" if len(parts) > 10 else "")
    return ("row " if len(ids) == 1 else "rows ") + shown
