"""Where a board's results come from: registry records (validated) and the local results store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zsbench.analysis.records import RecordError, read, record_files
from zsbench.analysis.validation import validate
from zsbench.core.result import Result


@dataclass(frozen=True)
class Source:
    """Where a set of results came from: a record file or a results store."""

    name: str
    results: list[Result]
    partial: bool = False  # a record marked partial: its rows are shown, never ranked


def record_results(record: Mapping[str, Any]) -> list[Result]:
    """The record's results as ``Result`` objects, as the local store would give them."""
    encoder = record["encoder"]
    out = []
    for entry in record["results"]:
        ds = record["datasets"][entry["dataset"]]
        config = {"encoder": {k: encoder.get(k) for k in ("name", "identity", "options", "source", "identity_sha256")},
                  "dataset": {"name": entry["dataset"], **{k: v for k, v in ds.items() if k != "plugin"}},
                  **entry["config"], "seed": entry["seed"], "seeds": record["seeds"],
                  "n_samples": ds.get("n_samples")}
        provenance = dict(record["environments"][entry["environment"]])
        out.append(Result(encoder["name"], entry["dataset"], record["reducer"], entry["clusterer"], entry["seed"],
                          entry["status"], entry["error"], entry["metrics"], config, entry["timings"], provenance,
                          record["protocol_version"], entry["created_at"], entry["run_id"]))
    return out


def load_sources(registries: Sequence[str | Path] = (), store: str | Path | None | bool = None) -> list[Source]:
    """Results from record files or folders (each validated) and, unless ``store`` is False, a store.

    ``store``: None for the default store, a path, or False for none.
    """
    sources = []
    for path in record_files(registries):
        problems = validate(path)
        if problems:
            raise RecordError(problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
        record = read(path)
        sources.append(Source(str(path), record_results(record), bool(record.get("partial"))))
    if store is not False:
        from zsbench.storage.store import ResultStore

        with ResultStore(None if store is True else store, readonly=True) as db:
            sources.append(Source(f"store {db.path}", db.results()))
    return sources
