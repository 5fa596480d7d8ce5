"""Where a board's results come from: registry records (validated, each on its own and as a set) and
the local results store.

A set of records is checked across records in one place, :func:`cross_check`, used by the board and
by ``zsbench validate`` on several records: byte-identical copies count once; two records of one
identity that differ are refused together; two encoders whose names look alike (one Unicode TR39
skeleton, :func:`zsbench.core.unicode_names.skeleton`) under different identities are refused together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zsbench.analysis.records import RecordError, record_files
from zsbench.analysis.records.validation import checked
from zsbench.core.identity import canonical, short
from zsbench.core.result import Result
from zsbench.core.unicode_names import skeleton


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
        config = {
            "encoder": {k: encoder.get(k) for k in ("name", "identity", "options", "source", "identity_sha256")},
            "dataset": {"name": entry["dataset"], **{k: v for k, v in ds.items() if k != "plugin"}},
            **entry["config"],
            "seed": entry["seed"],
            "seeds": record["seeds"],
            "n_samples": ds.get("n_samples"),
        }
        provenance = dict(record["environments"][entry["environment"]])
        out.append(
            Result(
                encoder["name"],
                entry["dataset"],
                record["reducer"],
                entry["clusterer"],
                entry["seed"],
                entry["status"],
                entry["error"],
                entry["metrics"],
                config,
                entry["timings"],
                provenance,
                record["protocol_version"],
                entry["created_at"],
                entry["run_id"],
            )
        )
    return out


@dataclass
class RecordSet:
    """Records checked as a set: those a board takes, those refused with one reason each, and notes."""

    records: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    notes: list[str] = field(default_factory=list)


def cross_check(records: Sequence[tuple[Path, dict[str, Any]]]) -> RecordSet:
    """What holds only across records (each already valid on its own), per protocol version.

    Copies with the same content count once (a note). Records of one identity sha256 that differ
    are refused together, each naming the others: a record cannot take over another's row.
    Records whose encoder names have one confusable skeleton but different identities are refused
    together, naming each other: a reader could not tell their rows apart.
    """
    out = RecordSet()
    first: dict[str, Path] = {}
    distinct: list[tuple[Path, dict[str, Any]]] = []
    for path, record in sorted(records, key=lambda pr: str(pr[0])):
        text = canonical(record)
        if text in first:
            out.notes.append(f"{path} has the content of {first[text]}: counted once")
        else:
            first[text] = path
            distinct.append((path, record))
    refused: dict[Path, str] = {}
    for group in _groups(distinct, lambda r: r["encoder"]["identity_sha256"]):
        for path, record in group:
            what = (
                "results"
                if any(canonical(r["results"]) != canonical(record["results"]) for _, r in group)
                else "content"
            )
            refused[path] = (
                f"identity {short(record['encoder']['identity_sha256'])} is also that of "
                f"{_others(group, path)}, with other {what}; one identity is one record: keep one"
            )
    rest = [(p, r) for p, r in distinct if p not in refused]
    for group in _groups(rest, lambda r: skeleton(r["encoder"]["name"])):  # one identity each, after the above
        for path, record in group:
            refused[path] = (
                f"encoder name {ascii(record['encoder']['name'])} reads as {_others(group, path)}, "
                "another identity; rename one so that their rows can be told apart"
            )
    out.records = [(p, r) for p, r in distinct if p not in refused]
    out.refused = [(str(p), why) for p, why in sorted(refused.items(), key=lambda kv: str(kv[0]))]
    return out


Group = list[tuple[Path, dict[str, Any]]]


def _groups(records: Group, key: Callable[[dict[str, Any]], str]) -> list[Group]:
    """The groups of more than one record with one ``key`` within a protocol version."""
    by: dict[tuple[str, str], Group] = {}
    for path, record in records:
        by.setdefault((record["protocol_version"], key(record)), []).append((path, record))
    return [group for group in by.values() if len(group) > 1]


def _others(group: Group, path: Path) -> str:
    """The other records of ``group``, each as name (short identity) in file."""
    return "; ".join(
        f"{ascii(r['encoder']['name'])} ({short(r['encoder']['identity_sha256'])}) in {p}"
        for p, r in group
        if p != path
    )


@dataclass
class Gathered:
    """A board's sources, and the records refused on the way (each with one reason) and notes."""

    sources: list[Source]
    refused: list[tuple[str, str]]
    notes: list[str]


def gather(registries: Sequence[str | Path] = (), store: str | Path | None | bool = None) -> Gathered:
    """Results from record files or folders and, unless ``store`` is False, a store: every valid record's,
    and the others refused, each with its first problem. ``store``: None for the default store, a path,
    or False for none."""
    valid, refused = [], []
    for path in record_files(registries):
        record, problems = checked(path)
        if record is None:
            first = problems[0].removeprefix(f"{path}: ")
            refused.append((str(path), first + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")))
        else:
            valid.append((path, record))
    checked_set = cross_check(valid)
    sources = [
        Source(str(path), record_results(record), bool(record.get("partial"))) for path, record in checked_set.records
    ]
    if store is not False:
        from zsbench.storage.store import ResultStore

        with ResultStore(None if store is True else store, readonly=True) as db:
            sources.append(Source(f"store {db.path}", db.results()))
    return Gathered(sources, sorted(refused + checked_set.refused), checked_set.notes)


def load_sources(registries: Sequence[str | Path] = (), store: str | Path | None | bool = None) -> list[Source]:
    """The sources of :func:`gather`; a refused record is a RecordError naming it (for readers that
    take a set of records whole)."""
    gathered = gather(registries, store)
    if gathered.refused:
        (path, why), more = gathered.refused[0], len(gathered.refused) - 1
        raise RecordError(
            f"{path}: {why}" + (f" (and {more} more refused record(s); see `zsbench validate`)" if more else "")
        )
    return gathered.sources
