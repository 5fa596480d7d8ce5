"""Registry records: one encoder's results under one protocol version, as a file others can check.

A record is a JSON document (schema ``zsbench/schemas/record-2.schema.json``) with the per dataset x
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
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from zsbench import selection
from zsbench.errors import ZsbenchError
from zsbench.identity import identity_sha256, local_paths, short
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
                datasets: Sequence[str] | None = None, with_labels: bool = True, identity: str | None = None,
                sample_sets: Sequence[str] = (), partial: bool = False) -> Submission:
    """The record of one identity of ``encoder``: its standard-track results, latest per cell.

    A record is complete or refused: per dataset, the full partition, every protocol clusterer
    and at least the protocol's seeds. ``partial`` writes what there is instead, marked partial
    (never ranked) with what it lacks. When the results hold several identities of the encoder
    (other weights or preprocessing), or several full sample sets of a dataset, nothing is chosen
    silently: ``identity`` and ``sample_sets`` (sha256 prefixes) choose. ``cache`` (an
    ArtifactCache) supplies the labels; each is checked against its hash.
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
    chosen_identity = _one_identity(standard, encoder, identity)
    same = [r for r in standard if selection.identity(r) == chosen_identity]
    if len(same) < len(standard):
        left_out.append(f"{len(standard) - len(same)} result(s) of other identities of {encoder} (--identity)")
    kept: list[Result] = []
    for name in sorted({r.dataset for r in same}):
        on = [r for r in same if r.dataset == name]
        fingerprint = _one_sample_set(on, name, encoder, sample_sets)
        taken = [r for r in on if selection.sample_set(r) == fingerprint]
        kept += taken
        if len(taken) < len(on):
            left_out.append(f"{name}: results on other sample sets of the dataset (another --max-samples or data "
                            f"version) left out; the record takes {fingerprint[:12]}")
    chosen, missing = _complete(selection.latest(kept), spec, partial, left_out)
    if missing and not partial:
        raise RecordError(f"{encoder} ({short(chosen_identity)}) is not complete for protocol {spec.version}: "
                          f"{'; '.join(missing)}. Run what is missing (`zsbench run --encoder {encoder} --dataset "
                          f"NAME` runs every protocol clusterer and {spec.seeds} seeds on the full partition), or "
                          "submit with --partial (the record is then shown, never ranked)")

    order = {name: i for i, name in enumerate(spec.clusterers)}
    chosen = sorted(chosen, key=lambda r: (r.dataset, order[r.clusterer], r.seed))
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
                                       "seeds": sorted({c.seed for c in chosen if c.dataset == r.dataset}),
                                       "plugin": r.provenance.get("plugins", {}).get("dataset")})
        env = _canonical(r.provenance)
        if env not in env_index:
            env_index[env] = len(environments)
            environments.append(json.loads(env))
        entry: dict[str, Any] = {
            "dataset": r.dataset, "clusterer": r.clusterer, "seed": r.seed, "status": r.status,
            "error": _scrub(r.error), "metrics": dict(r.metrics), "timings": dict(r.timings),
            "config": {k: r.config[k] for k in ("reducer", "clusterer", "proxy_reducer", "n_features",
                                                "n_clusters_given", "warnings") if k in r.config},
            "environment": env_index[env], "run_id": r.run_id, "created_at": r.created_at,
            "labels_sha256": None,
        }
        if "warnings" in entry["config"]:
            entry["config"]["warnings"] = [_scrub(w) for w in entry["config"]["warnings"]]
        if with_labels and r.ok:
            entry["labels_sha256"] = _take_labels(r, "labels", r.config.get("artifacts", {}).get("labels"),
                                                  cache, labels, encoder)
        entries.append(entry)
    if with_labels:
        for name, ds in datasets_out.items():
            _take_labels(None, "truth", ds["labels_sha256"], cache, labels, encoder, dataset=name)
    described = chosen[-1].config["encoder"]
    options = _portable(described.get("options") or {}, left_out)
    record = {
        "schema": SCHEMA,
        "protocol_version": spec.version,
        "partial": bool(missing),
        "missing": missing,
        "encoder": {"name": encoder, "identity": described.get("identity") or {}, "identity_sha256": chosen_identity,
                    "options": options, "source": described.get("source") or {},
                    "plugin": chosen[-1].provenance.get("plugins", {}).get("encoder")},
        "reducer": spec.reducer,
        "proxy_reducer": spec.proxy_reducer,
        "clusterers": [c for c in spec.clusterers if any(e["clusterer"] == c for e in entries)],
        "seeds": sorted({e["seed"] for e in entries}),
        "datasets": dict(sorted(datasets_out.items())),
        "environments": environments,
        "results": entries,
        "labels": {"file": None, "arrays": len(labels)} if with_labels else None,
        "last_result_at": max(str(e["created_at"]) for e in entries),
    }
    return Submission(record, labels, left_out)


def _one_identity(results: Sequence[Result], encoder: str, wanted: str | None) -> str:
    """The identity a record takes: the only one, or the one ``wanted`` (a sha256 prefix) names."""
    found = selection.identities(results, encoder)
    listing = "; ".join(s.describe() for s in found)
    if wanted:
        match = [s for s in found if s.sha256.startswith(wanted.lower())]
        if len(match) != 1:
            raise RecordError(f"--identity {wanted} matches {len(match)} of the identities of {encoder} in the "
                              f"store: {listing}")
        return match[0].sha256
    if len(found) > 1:
        raise RecordError(f"the store holds {len(found)} identities of {encoder} (other weights, preprocessing or "
                          f"options), latest first: {listing}. A record is one identity: pass --identity SHA")
    return found[0].sha256


def _one_sample_set(results: Sequence[Result], dataset: str, encoder: str, wanted: Sequence[str]) -> str:
    """The sample set of ``dataset`` a record takes: its full partition, else its only subsample."""
    sets: dict[str, list[Result]] = {}
    for r in results:
        sets.setdefault(selection.sample_set(r), []).append(r)
    full = [fp for fp, rs in sets.items() if all(selection.is_full_partition(r) for r in rs)]
    # the full partition when there is one; else a subsample, which the completeness check names
    candidates = sorted(full) if full else sorted(sets)
    chosen = [fp for fp in candidates if any(fp.startswith(w.lower()) for w in wanted)] if wanted else candidates
    if len(chosen) != 1:
        listing = "; ".join(f"{fp[:12]} ({sets[fp][0].config.get('n_samples')} samples, last run "
                            f"{max(str(r.created_at) for r in sets[fp])})" for fp in candidates)
        raise RecordError(f"{dataset}: {len(candidates)} sample sets of {encoder} (data versions or subsamples): "
                          f"{listing}; choose one with --sample-set FINGERPRINT")
    return chosen[0]


def _complete(results: list[Result], spec, partial: bool, left_out: list[str]) -> tuple[list[Result], list[str]]:
    """Per dataset: the seeds that have every protocol clusterer. Returns the results a record keeps
    (complete seeds only, or everything when ``partial``) and what is missing, one line per dataset."""
    missing: list[str] = []
    kept: list[Result] = []
    for name in sorted({r.dataset for r in results}):
        on = [r for r in results if r.dataset == name]
        by_seed: dict[int, set[str]] = {}
        for r in on:
            by_seed.setdefault(r.seed, set()).add(r.clusterer)
        whole = sorted(s for s, clu in by_seed.items() if clu >= set(spec.clusterers))
        lacks = []
        absent = [c for c in spec.clusterers if not any(r.clusterer == c for r in on)]
        if absent:
            lacks.append(f"no result of {', '.join(absent)}")
        if len(whole) < spec.seeds:
            lacks.append(f"{len(whole)} seed(s) with every clusterer ({', '.join(map(str, whole)) or 'none'}), "
                         f"the protocol needs {spec.seeds}")
        if not all(selection.is_full_partition(r) for r in on):
            lacks.append(f"a subsample of {on[0].config.get('n_samples')} samples, not the full partition")
        if lacks:
            missing.append(f"{name}: {', '.join(lacks)}")
        if partial or lacks:
            kept += on
        else:
            kept += [r for r in on if r.seed in whole]
            dropped = sorted({r.seed for r in on} - set(whole))
            if dropped:
                left_out.append(f"{name}: seed(s) {', '.join(map(str, dropped))} lack some clusterer and are left "
                                "out (a record holds every clusterer for each seed)")
    return kept, missing


# An absolute local path inside free text (an error message, a warning): kept as its file name only.
_PATH_IN_TEXT = re.compile(r"(?<![\w:/.~])(?:/|~/)[^\s'\"(),;]+")


# What validate refuses inside any text of a record: a home or temporary folder, or a dataset named by a
# local path (``folder:/data/x``, ``csv:/data/x.csv``).
_LOCAL_IN_TEXT = re.compile(r"(?:^|[\s'\"(=])(?:~[/\\]|/(?:home|Users|root|tmp|private|mnt|media|scratch)/)"
                            r"|^[a-z]+:/(?!/)|(?:^|[\s'\"(=])[A-Za-z]:\\")


def _scrub(text: str | None) -> str | None:
    """Free text with local paths cut to their last part: records never carry a path or user name."""
    if text is None:
        return None
    return _PATH_IN_TEXT.sub(lambda m: Path(m.group(0)).name or "/", text)


def _portable(options: Mapping[str, Any], left_out: list[str]) -> dict[str, Any]:
    """Options as a record keeps them: a path (from results that predate content identities) as its name."""
    out = {}
    for key, value in options.items():
        if local_paths(value):
            out[key] = {"file": Path(str(value)).name}
            left_out.append(f"option {key}: the local path is recorded by its file name only")
        else:
            out[key] = value
    return out


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
    """Write the record (and its labels archive beside it) and validate it; returns the record's path.

    What we write must pass what we check: a record that does not is removed again, and the
    problems are raised, so no invalid record is ever left in a registry.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = submission.record
    labels_path = path.with_name(path.name.removesuffix(".json") + LABELS_SUFFIX)
    if record.get("labels") is not None:
        _save_labels(labels_path, submission.labels)
        record["labels"] = {"file": labels_path.name, "arrays": len(submission.labels)}
    path.write_text(dumps(record))
    problems = validate(path)
    if problems:
        path.unlink(missing_ok=True)
        if record.get("labels") is not None:
            labels_path.unlink(missing_ok=True)
        raise RecordError("the record was not written: " + problems[0] + (
            f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    return path


def _save_labels(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """An .npz (a zip of .npy files, what ``np.load`` reads) with fixed member timestamps and order, so
    the same labels give the same bytes (np.savez stamps the current time into the archive)."""
    import io
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in sorted(arrays.items()):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


def dumps(record: Mapping[str, Any]) -> str:
    return json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


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
        if plugin["distribution"] == "__main__" or plugin["version"] in ("", "0"):
            problems.append(f"{where}: {plugin.get('name', 'a component')} comes from "
                            f"{plugin['distribution']!r} version {plugin['version']!r}, not an installed "
                            "distribution; package the plugin (an entry point in group 'zsbench') and run again")
    for line in local_paths(record):
        problems.append(f"{line.split(': ', 1)[0]}: holds a local path; records carry file names and sha256 only")
    for where, text in _texts(record):
        if _LOCAL_IN_TEXT.search(text):
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
