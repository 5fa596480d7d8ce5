"""Registry records: one encoder's results under one protocol version, as a file others can check.

A record is a JSON document (schema ``zsbench/schemas/record-1.schema.json``) with the per dataset x
clusterer x seed scores and their provenance, plus an optional labels archive beside it
(``<record>.labels.npz``) holding the true labels of each dataset and every predicted labelling,
keyed by the sha256 of their int64 bytes. ``verify`` re-scores from those labels, so a record's
numbers can be checked without the data, the weights or a GPU.

Only the standard track goes into a record: the protocol's reducer and clusterers with their
declared settings. Anything else (other reducers, custom options) stays in the local store.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.errors import ZsbenchError
from zsbench.types import Result

SCHEMA = "zsbench-record/1"
LABELS_SUFFIX = ".labels.npz"
# Re-scored values must agree this closely: the same sklearn gives identical floats, other
# versions differ in the last few bits at most.
TOLERANCE = 1e-9


class RecordError(ZsbenchError):
    """A record that cannot be read, fails its schema, or whose scores do not follow its labels."""


def schema() -> dict[str, Any]:
    return json.loads(resources.files("zsbench").joinpath("schemas/record-1.schema.json").read_text())


def slug(encoder: str) -> str:
    """A file name for an encoder name (``timm/vit_base.aug`` -> ``timm_vit_base.aug``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", encoder).strip("._") or "encoder"


def record_path(registry: str | Path, protocol: str, encoder: str) -> Path:
    return Path(registry) / f"standard-{protocol}" / f"{slug(encoder)}.json"


def labels_hash(labels: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(labels, dtype=np.int64).tobytes()).hexdigest()


# --------------------------------------------------------------------------------------------- submit


@dataclass
class Submission:
    record: dict[str, Any]
    labels: dict[str, np.ndarray]
    left_out: list[str] = field(default_factory=list)  # why results in the store were not taken


def make_record(results: Iterable[Result], encoder: str, *, protocol: str = "1", cache=None,
                datasets: Sequence[str] | None = None, with_labels: bool = True) -> Submission:
    """The record of ``encoder``'s standard-track results (latest per dataset x clusterer x seed).

    ``cache`` (an ArtifactCache) supplies the labels; each is checked against its hash.
    """
    from zsbench.protocol import load_spec

    spec = load_spec(protocol)
    left_out: list[str] = []
    mine = [r for r in results if r.encoder == encoder and r.protocol_version == spec.version]
    if not mine:
        raise RecordError(f"no results for encoder {encoder!r} under protocol {spec.version} in the store; "
                          f"run `zsbench run --encoder {encoder} --dataset ...` first")
    if datasets:
        unknown = sorted(set(datasets) - {r.dataset for r in mine})
        if unknown:
            raise RecordError(f"encoder {encoder!r} has no results on {', '.join(unknown)} in the store; "
                              "run it there first or leave those datasets out")
        mine = [r for r in mine if r.dataset in datasets]
    standard = [r for r in mine if r.reducer == spec.reducer and r.clusterer in spec.clusterers]
    if len(standard) < len(mine):
        other = sorted({f"{r.reducer} + {r.clusterer}" for r in mine} - {
            f"{r.reducer} + {r.clusterer}" for r in standard})
        left_out.append(f"{len(mine) - len(standard)} result(s) outside the standard track "
                        f"({', '.join(other)})")
    if not standard:
        raise RecordError(f"encoder {encoder!r} has no standard-track results (reducer {spec.reducer}, "
                          f"clusterers {', '.join(spec.clusterers)}); run `zsbench run --encoder {encoder}` "
                          "without --reducer/--clusterer options")
    # One model per record: the latest identity (weights, preprocessing) wins.
    identity = _canonical(standard[-1].config["encoder"].get("identity", {}))
    same = [r for r in standard if _canonical(r.config["encoder"].get("identity", {})) == identity]
    if len(same) < len(standard):
        left_out.append(f"{len(standard) - len(same)} result(s) from an earlier identity of {encoder} "
                        "(other weights or preprocessing)")
    # One sample set per dataset: the fingerprint of its latest result.
    fingerprints = {r.dataset: r.config["dataset"]["fingerprint"] for r in same}
    kept = [r for r in same if r.config["dataset"]["fingerprint"] == fingerprints[r.dataset]]
    if len(kept) < len(same):
        left_out.append(f"{len(same) - len(kept)} result(s) on an earlier sample set of the same dataset "
                        "(another --max-samples or data version)")
    latest: dict[tuple[str, str, int], Result] = {}
    for r in kept:
        latest[(r.dataset, r.clusterer, r.seed)] = r
    replaced = len(kept) - len(latest)
    if replaced:
        left_out.append(f"{replaced} result(s) replaced by a later run of the same dataset, clusterer and seed")

    order = {name: i for i, name in enumerate(spec.clusterers)}
    chosen = sorted(latest.values(), key=lambda r: (r.dataset, order[r.clusterer], r.seed))
    environments: list[dict[str, Any]] = []
    env_index: dict[str, int] = {}
    datasets_out: dict[str, dict[str, Any]] = {}
    entries = []
    labels: dict[str, np.ndarray] = {}
    for r in chosen:
        ds = dict(r.config["dataset"])
        name = ds.pop("name", r.dataset)
        info = ds.get("info") or {}
        datasets_out.setdefault(name, {**ds, "group": info.get("group", "other"),
                                       "n_samples": r.config.get("n_samples"),
                                       "n_classes": r.config.get("n_clusters_given"),
                                       "plugin": r.provenance.get("plugins", {}).get("dataset")})
        env = _canonical(r.provenance)
        if env not in env_index:
            env_index[env] = len(environments)
            environments.append(json.loads(env))
        entry: dict[str, Any] = {
            "dataset": r.dataset, "clusterer": r.clusterer, "seed": r.seed, "status": r.status, "error": r.error,
            "metrics": dict(r.metrics), "timings": dict(r.timings),
            "config": {k: r.config[k] for k in ("reducer", "clusterer", "proxy_reducer", "n_features",
                                                "n_clusters_given", "warnings") if k in r.config},
            "environment": env_index[env], "run_id": r.run_id, "created_at": r.created_at,
            "labels_sha256": None,
        }
        if with_labels and r.ok:
            entry["labels_sha256"] = _take_labels(r, "labels", r.config.get("artifacts", {}).get("labels"),
                                                  cache, labels, encoder)
        entries.append(entry)
    if with_labels:
        for name, ds in datasets_out.items():
            _take_labels(None, "truth", ds["labels_sha256"], cache, labels, encoder, dataset=name)
    first = chosen[0]
    record = {
        "schema": SCHEMA,
        "protocol_version": spec.version,
        "encoder": {"name": encoder, "identity": json.loads(identity),
                    "options": first.config["encoder"].get("options", {}),
                    "plugin": first.provenance.get("plugins", {}).get("encoder")},
        "reducer": spec.reducer,
        "proxy_reducer": spec.proxy_reducer,
        "clusterers": [c for c in spec.clusterers if any(e["clusterer"] == c for e in entries)],
        "seeds": sorted({e["seed"] for e in entries}),
        "datasets": dict(sorted(datasets_out.items())),
        "environments": environments,
        "results": entries,
        "labels": {"file": None, "arrays": len(labels)} if with_labels else None,
        "submitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return Submission(record, labels, left_out)


def _take_labels(r: Result | None, stage: str, key: str | None, cache, out: dict[str, np.ndarray],
                 encoder: str, dataset: str | None = None) -> str:
    what = (f"the predicted labels of {r.dataset} / {r.clusterer} / seed {r.seed}" if r is not None
            else f"the true labels of {dataset}")
    array = cache.get(stage, key) if (cache is not None and key) else None
    if array is None:
        raise RecordError(
            f"{what} are not in the artifact cache {getattr(cache, 'root', '')}; rerun `zsbench run --encoder "
            f"{encoder} --dataset {r.dataset if r else dataset}` with the same options to restore them (finished "
            "stages are reused), or submit with --no-labels (the record then cannot be verified)")
    array = np.ascontiguousarray(array, dtype=np.int64)
    digest = labels_hash(array)
    if stage == "truth" and digest != key:
        raise RecordError(f"{what} in the artifact cache do not match their hash; run `zsbench cache verify`")
    out[digest] = array
    return digest


def write(submission: Submission, path: str | Path) -> Path:
    """Write the record (and its labels archive beside it); returns the record's path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = submission.record
    if record.get("labels") is not None:
        labels_path = path.with_name(path.name.removesuffix(".json") + LABELS_SUFFIX)
        np.savez_compressed(labels_path, **dict(sorted(submission.labels.items())))
        record["labels"] = {"file": labels_path.name, "arrays": len(submission.labels)}
    path.write_text(dumps(record))
    return path


def dumps(record: Mapping[str, Any]) -> str:
    return json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


# ------------------------------------------------------------------------------------------- validate


def read(path: str | Path) -> dict[str, Any]:
    """Parse a record file, or raise RecordError naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RecordError(f"{path}: no such record file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path}: not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None


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
    if record["labels"] is not None and record["labels"]["file"]:
        if not (path.parent / record["labels"]["file"]).is_file():
            problems.append(f"{path}: labels.file: {record['labels']['file']} is not beside the record")
    return problems


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


def record_results(record: Mapping[str, Any]) -> list[Result]:
    """The record's results as ``Result`` objects, as the local store would give them."""
    encoder = record["encoder"]
    out = []
    for entry in record["results"]:
        ds = record["datasets"][entry["dataset"]]
        config = {"encoder": {k: encoder.get(k) for k in ("name", "identity", "options")},
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
        sources.append(Source(str(path), record_results(read(path))))
    if store is not False:
        from zsbench.store import ResultStore

        with ResultStore(None if store is True else store) as db:
            sources.append(Source(f"store {db.path}", db.results()))
    return sources


def load_results(registries: Sequence[str | Path] = (), store: str | Path | None | bool = None) -> list[Result]:
    return [r for source in load_sources(registries, store) for r in source.results]
