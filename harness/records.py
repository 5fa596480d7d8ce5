"""Registry records, the format: read, validate, verify and load records others can check.

A record is a JSON document (schema ``zsbench/schemas/record-2.schema.json``) with one encoder
identity's per dataset x clusterer x seed scores and their provenance, plus an optional labels
archive beside it (``<record>.labels.npz``) holding the true labels of each dataset and every
predicted labelling, keyed by the sha256 of their int64 bytes. ``verify`` re-scores from those
labels, so a record's numbers can be checked without the data, the weights or a GPU.
:mod:`zsbench.registry` writes them (``zsbench submit``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.errors import ZsbenchError
from zsbench.identity import identity_sha256, local_paths
from zsbench.types import Result

SCHEMA = "zsbench-record/2"
LABELS_SUFFIX = ".labels.npz"
# Re-scored values must agree this closely: the same sklearn gives identical floats, other
# versions differ in the last few bits at most.
TOLERANCE = 1e-9


class RecordError(ZsbenchError):
    """A record that cannot be read, fails its schema, or whose scores do not follow its labels."""


def schema() -> dict[str, Any]:
    return json.loads(resources.files("zsbench").joinpath("schemas/record-2.schema.json").read_text())


def labels_hash(labels: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(labels, dtype=np.int64).tobytes()).hexdigest()


def dumps(record: Mapping[str, Any]) -> str:
    return json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n"


# What validate refuses inside any text of a record: a home or temporary folder, or a dataset named by a
# local path (``folder:/data/x``, ``csv:/data/x.csv``).
_LOCAL_IN_TEXT = re.compile(r"(?:^|[\s'\"(=])(?:~[/\\]|/(?:home|Users|root|tmp|private|mnt|media|scratch)/)"
                            r"|^[a-z]+:/(?!/)|(?:^|[\s'\"(=])[A-Za-z]:[\\/]|file:/|(?:^|[\s'\"(=])\\\\\w")


# ------------------------------------------------------------------------------------------- validate


def read(path: str | Path) -> dict[str, Any]:
    """Parse a record file, or raise RecordError naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text(), parse_constant=_no_constant)
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise RecordError(f"{path}: not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        raise RecordError(f"{path}: {exc}") from None
    except FileNotFoundError:
        raise RecordError(f"{path}: no such record file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path}: not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"holds {name}, which is not a number a record may carry; scores are finite")


def record_files(paths: Iterable[str | Path]) -> list[Path]:
    """Record files named directly, or found (recursively, sorted) in the folders named."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.rglob("*.json") if not f.name.endswith(".schema.json"))
        elif p.exists():
            found.append(p)
        else:
            raise RecordError(f"{p}: no such record file or folder")
    return found


def validate(path: str | Path) -> list[str]:
    """Every problem with a record file, one line each naming the file and field; [] when valid."""
    from jsonschema import Draft202012Validator

    path = Path(path)
    try:
        record = read(path)
    except RecordError as exc:
        return [str(exc)]
    if isinstance(record, dict) and record.get("schema") != SCHEMA and isinstance(record.get("schema"), str):
        return [f"{path}: schema: {record['schema']!r} is a record format this zsbench does not read "
                f"(it reads {SCHEMA!r}); submit the results again with `zsbench submit`"]
    problems = []
    validator = Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    for error in sorted(validator.iter_errors(record), key=lambda e: [str(p) for p in e.absolute_path]):
        problems.append(f"{path}: {_field(error.absolute_path)}: {error.message}")
    if problems:  # the checks below assume the schema holds
        return problems
    known = record["datasets"]
    seen: set[tuple[str, str, int]] = set()
    for i, entry in enumerate(record["results"]):
        where = f"{path}: results[{i}]"
        if entry["dataset"] not in known:
            problems.append(f"{where}.dataset: {entry['dataset']!r} is not described under datasets")
        if entry["clusterer"] not in record["clusterers"]:
            problems.append(f"{where}.clusterer: {entry['clusterer']!r} is not listed under clusterers")
        if entry["environment"] >= len(record["environments"]):
            problems.append(f"{where}.environment: {entry['environment']} but only "
                            f"{len(record['environments'])} environment(s) are listed")
        key = (entry["dataset"], entry["clusterer"], entry["seed"])
        if key in seen:
            problems.append(f"{where}: a second result for {key[0]} / {key[1]} / seed {key[2]}")
        seen.add(key)
        if entry["status"] == "ok" and not entry["metrics"]:
            problems.append(f"{where}.metrics: empty although status is ok")
        if record["labels"] is not None and entry["status"] == "ok" and not entry["labels_sha256"]:
            problems.append(f"{where}.labels_sha256: missing although the record has a labels archive")
    from zsbench.protocol import load_spec

    try:
        spec = load_spec(record["protocol_version"])
    except ZsbenchError as exc:
        problems.append(f"{path}: protocol_version: {exc}")
    else:
        if record["reducer"] != spec.reducer:
            problems.append(f"{path}: reducer: {record['reducer']!r}, but protocol {spec.version} uses "
                            f"{spec.reducer!r}")
        for i, name in enumerate(record["clusterers"]):
            if name not in spec.clusterers:
                problems.append(f"{path}: clusterers[{i}]: {name!r} is not a clusterer of protocol {spec.version}")
        problems += [f"{path}: {p}" for p in _consistency(record, spec)]
    problems += [f"{path}: {p}" for p in _provenance(record)]
    if record["labels"] is not None and record["labels"]["file"]:
        if not (path.parent / record["labels"]["file"]).is_file():
            problems.append(f"{path}: labels.file: {record['labels']['file']} is not beside the record")
    return problems


def _consistency(record: Mapping[str, Any], spec) -> list[str]:
    """The header agrees with the results, and a record not marked partial is complete."""
    problems = []
    results = record["results"]
    listed = record["clusterers"]
    for name in sorted({e["clusterer"] for e in results} ^ set(listed)):
        where = "listed under clusterers but has no result" if name in listed else "has results but is not listed"
        problems.append(f"clusterers: {name!r} {where}")
    if sorted({e["seed"] for e in results}) != sorted(record["seeds"]):
        problems.append(f"seeds: {sorted(record['seeds'])} but the results have seeds "
                        f"{sorted({e['seed'] for e in results})}")
    lacks = []
    for name, ds in record["datasets"].items():
        mine = [e for e in results if e["dataset"] == name]
        if not mine:
            problems.append(f"datasets.{name}: described but has no result")
            continue
        counts = sorted({e["metrics"]["n_samples"] for e in mine if e["status"] == "ok"})
        if counts and counts != [ds["n_samples"]]:
            problems.append(f"datasets.{name}.n_samples: {ds['n_samples']} but its results clustered "
                            f"{', '.join(map(str, counts))} samples")
        if ds.get("max_samples") is None and isinstance(ds.get("n_available"), int):
            whole = ds["n_available"] - ds.get("n_missing_labels", 0) - ds.get("n_bad_skipped", 0)
            if whole != ds["n_samples"]:
                problems.append(f"datasets.{name}.n_samples: {ds['n_samples']} of {whole} labelled samples "
                                "without a declared subsample (max_samples)")
        seeds = sorted({e["seed"] for e in mine})
        if seeds != sorted(ds["seeds"]):
            problems.append(f"datasets.{name}.seeds: {sorted(ds['seeds'])} but its results have seeds {seeds}")
        have = {(e["clusterer"], e["seed"]) for e in mine}
        holes = [f"{c} seed {s}" for c in listed for s in ds["seeds"] if (c, s) not in have]
        if holes:
            lacks.append(f"{name} has no result for {', '.join(holes[:4])}" + (" ..." if len(holes) > 4 else ""))
        absent = [c for c in spec.clusterers if c not in listed]
        if absent:
            lacks.append(f"{name} lacks clusterer(s) {', '.join(absent)}")
        if len(ds["seeds"]) < spec.seeds:
            lacks.append(f"{name} has {len(ds['seeds'])} seed(s), protocol {spec.version} needs {spec.seeds}")
        if ds.get("max_samples") is not None:
            lacks.append(f"{name} is a subsample (max_samples {ds['max_samples']}), not the full partition")
    if record["results"] and record["last_result_at"] != max(str(e["created_at"]) for e in results):
        problems.append(f"last_result_at: {record['last_result_at']} is not the latest result's created_at "
                        f"({max(str(e['created_at']) for e in results)})")
    common = set.intersection(*(set(ds["seeds"]) for ds in record["datasets"].values()))
    if len(record["datasets"]) > 1 and len(common) < spec.seeds:
        lacks.append(f"the datasets share {len(common)} seed(s), protocol {spec.version} needs {spec.seeds} common "
                     "to all (a board scores a row over the seeds all its datasets have)")
    if record["partial"] and not record["missing"]:
        problems.append("missing: empty, but the record is marked partial; say what it lacks")
    if not record["partial"]:
        if record["missing"]:
            problems.append("missing: not empty, but the record is not marked partial")
        problems += [f"not complete for protocol {spec.version} and not marked partial: {lack}" for lack in lacks]
    return problems


def _provenance(record: Mapping[str, Any]) -> list[str]:
    """Components from installed distributions with versions; the identity hash follows its parts;
    no local path anywhere (records are published)."""
    problems = []
    encoder = record["encoder"]
    expected = identity_sha256(encoder["name"], encoder["identity"], encoder["options"])
    if encoder["identity_sha256"] != expected:
        problems.append(f"encoder.identity_sha256: {encoder['identity_sha256'][:12]}… does not follow from the "
                        f"name, identity and options ({expected[:12]}…)")
    plugins = [("encoder.plugin", encoder["plugin"])]
    plugins += [(f"datasets.{name}.plugin", ds["plugin"]) for name, ds in record["datasets"].items()]
    plugins += [(f"environments[{i}].plugins.{kind}", p) for i, env in enumerate(record["environments"])
                for kind, p in (env.get("plugins") or {}).items()]
    for where, plugin in plugins:
        key = plugin.get("plugin")
        if isinstance(key, str) and not key.startswith(f"{plugin['distribution']}:"):
            problems.append(f"{where}.plugin: {key!r} is not a plugin of distribution {plugin['distribution']!r}")
        if plugin["distribution"] == "__main__" or plugin["version"] in ("", "0"):
            problems.append(f"{where}: {plugin.get('name', 'a component')} comes from "
                            f"{plugin['distribution']!r} version {plugin['version']!r}, not an installed "
                            "distribution; package the plugin (an entry point in group 'zsbench') and run again")
    flagged = set()
    for line in local_paths(record):
        flagged.add(line.split(": ", 1)[0])
        problems.append(f"{line.split(': ', 1)[0]}: holds a local path; records carry file names and sha256 only")
    for where, text in _texts(record):
        if where not in flagged and _LOCAL_IN_TEXT.search(text):
            problems.append(f"{where}: names a local path ({text[:60]}); records carry file names only")
    return problems


def _texts(value: Any, where: str = "") -> Iterable[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _texts(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _texts(item, f"{where}[{i}]")


def _field(parts) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
    return text or "(top level)"


# --------------------------------------------------------------------------------------------- verify


@dataclass
class Verification:
    checked: int = 0  # results re-scored
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def verify(path: str | Path) -> Verification:
    """Re-score every successful result from the record's labels archive.

    Raises RecordError when the record is invalid or has no labels; returns the mismatches, one line
    each, naming the dataset, clusterer, seed and metric. Silhouettes need the UMAP spaces, which a
    record does not carry, so they are not re-checked.
    """
    from zsbench.metrics import LABEL_METRICS, label_scores

    path = Path(path)
    problems = validate(path)
    if problems:
        raise RecordError(problems[0] + (f" (and {len(problems) - 1} more; run `zsbench validate {path}`)"
                                         if len(problems) > 1 else ""))
    record = read(path)
    if record["labels"] is None or not record["labels"]["file"]:
        raise RecordError(f"{path}: has no labels archive (submitted with --no-labels), so its scores cannot "
                          "be re-checked; submit again with the labels")
    archive = path.parent / record["labels"]["file"]
    try:
        with np.load(archive, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError) as exc:
        raise RecordError(f"{archive}: cannot read the labels archive: {exc}") from None
    report = Verification()

    def fetch(digest: str, what: str) -> np.ndarray | None:
        array = arrays.get(digest)
        if array is None:
            report.mismatches.append(f"{what}: labels {digest[:12]}… are not in {archive.name}")
            return None
        if labels_hash(array) != digest:
            report.mismatches.append(f"{what}: labels in {archive.name} do not match their hash {digest[:12]}…")
            return None
        return array

    truths = {name: fetch(ds["labels_sha256"], f"dataset {name}") for name, ds in record["datasets"].items()}
    for entry in record["results"]:
        if entry["status"] != "ok":
            continue
        what = f"{entry['dataset']} / {entry['clusterer']} / seed {entry['seed']}"
        truth = truths[entry["dataset"]]
        pred = fetch(entry["labels_sha256"], what)
        if truth is None or pred is None:
            continue
        if len(pred) != len(truth):
            report.mismatches.append(f"{what}: {len(pred)} predicted labels for {len(truth)} samples")
            continue
        fresh = label_scores(truth, pred)
        report.checked += 1
        for metric in LABEL_METRICS:
            recorded = entry["metrics"].get(metric)
            if not _agree(recorded, fresh[metric]):
                report.mismatches.append(f"{what}: {metric} recorded {recorded!r}, re-scored {fresh[metric]!r}")
    return report


def _agree(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=0.0, abs_tol=TOLERANCE)


# ---------------------------------------------------------------------------------------------- load


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
        from zsbench.store import ResultStore

        with ResultStore(None if store is True else store) as db:
            sources.append(Source(f"store {db.path}", db.results()))
    return sources
