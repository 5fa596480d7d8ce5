"""Registry records, the format: read, validate, verify and load records others can check.

A record is a JSON document (schema ``zsbench/core/schemas/record-2.schema.json``) with one encoder
identity's per dataset x clusterer x seed scores and their provenance, plus an optional labels
archive beside it (``<record>.labels.npz``) holding the true labels of each dataset and every
predicted labelling, keyed by the sha256 of their int64 bytes. ``verify`` re-scores from those
labels, so a record's numbers can be checked without the data, the weights or a GPU.
:mod:`zsbench.analysis.registry` writes them (``zsbench submit``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import numbers
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.core.identity import identity_sha256
from zsbench.core.result import Result
from zsbench.plugin.errors import ZsbenchError
from zsbench.plugin.identity import local_paths

SCHEMA = "zsbench-record/2"
LABELS_SUFFIX = ".labels.npz"
# Re-scored values must agree this closely: the same sklearn gives identical floats, other
# versions differ in the last few bits at most.
TOLERANCE = 1e-9
# Limits on what a record may make a reader do, checked before the work they bound: a record is
# input from strangers, and validate, verify, the board and the gate must answer one line, not
# run out of memory or stack. Real records are far below them (the study's 26 datasets x 6
# clusterers x 10 seeds is 1,560 results, about 5 MB).
MAX_RECORD_BYTES = 64 * 1024 * 1024  # a record file's size, checked before it is read
MAX_DEPTH = 64  # nesting of arrays and objects, checked on the raw text before parsing (a record needs ~10)
MAX_RESULTS = 20_000  # results in one record: schema checks cost a few ms each
# The labels archive: each referenced member is read from its .npy header and must be a 1-d int64
# array of the dataset's n_samples, so at most 8 bytes a sample (+ its header) is decompressed from
# it; all members together at most this much. Members the record does not reference are not read.
MAX_LABEL_HEADER = 4096
MAX_LABELS_BYTES = 4 * 1024 ** 3


class RecordError(ZsbenchError):
    """A record that cannot be read, fails its schema, or whose scores do not follow its labels."""


def schema() -> dict[str, Any]:
    return json.loads(resources.files("zsbench.core").joinpath("schemas/record-2.schema.json").read_text())


def labels_hash(labels: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(labels, dtype=np.int64).tobytes()).hexdigest()


def finite(value: Any) -> bool:
    """Whether ``value`` is a finite real number (not None, NaN, infinity, a bool or text): a result
    read from a store may hold any of them, and a board or gate scores only finite ones."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def dumps(record: Mapping[str, Any]) -> str:
    return json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n"


# What validate refuses inside any text of a record: a home or temporary folder, or a dataset named by a
# local path (``folder:/data/x``, ``csv:/data/x.csv``).
_LOCAL_IN_TEXT = re.compile(r"(?:^|[\s'\"(=])(?:~[/\\]|/(?:home|Users|root|tmp|private|mnt|media|scratch)/)"
                            r"|^[a-z]+:/(?!/)|(?:^|[\s'\"(=])[A-Za-z]:[\\/]|file:/|(?:^|[\s'\"(=])\\\\\w")


# ------------------------------------------------------------------------------------------- validate


def read(path: str | Path) -> dict[str, Any]:
    """Parse a record file, or raise RecordError naming it.

    Refuses, before parsing, a file over MAX_RECORD_BYTES or nested deeper than MAX_DEPTH, and
    numbers that are not finite (NaN, Infinity, or 1e999, which overflows).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_RECORD_BYTES:
            raise RecordError(f"{path}: {size:,} bytes, over the {MAX_RECORD_BYTES:,} a record may have; "
                              "a record holds one encoder's scores, not data")
        data = path.read_bytes()
        depth = _depth(data)
        if depth > MAX_DEPTH:
            raise RecordError(f"{path}: arrays and objects nested {depth} deep, over the {MAX_DEPTH} a record "
                              "may have; this is not a record written by `zsbench submit`")
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise RecordError(f"{path}: no such record file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: cannot read: {exc}") from None
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except _NotFinite as exc:
        raise RecordError(f"{path}: {_where(text, exc.token)}holds {exc.token}, which is not a number a record "
                          "may carry; scores are finite numbers") from None
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path}: not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # RecursionError: MAX_DEPTH should have stopped it first
        raise RecordError(f"{path}: not a record: {type(exc).__name__}: {exc}") from None


class _NotFinite(ValueError):
    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


def _no_constant(name: str) -> Any:
    raise _NotFinite(name)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: valid JSON, but Python reads it as inf
        raise _NotFinite(text)
    return value


# A JSON string, honouring escapes (an escaped \" does not end it).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)


def _depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects outside strings, without parsing (json.loads
    recurses once per level, so a deep file would exhaust the stack)."""
    chars = np.frombuffer(_STRING.sub(b"", data), dtype=np.uint8)
    depth = deepest = 0
    step = 1 << 20  # chunks bound the memory of the running sum
    for start in range(0, len(chars), step):
        chunk = chars[start:start + step]
        delta = ((chunk == ord("[")).astype(np.int64) + (chunk == ord("{")) - (chunk == ord("]"))
                 - (chunk == ord("}")))
        running = np.cumsum(delta) + depth
        if len(running):
            deepest = max(deepest, int(running.max()))
            depth = int(running[-1])
    return deepest


def _where(text: str, token: str) -> str:
    """``line L column C: `` of the first ``token`` outside strings, or '' (for an error message)."""
    blank = re.sub(_STRING.pattern.decode(), lambda m: " " * len(m.group()), text, flags=re.S)
    at = blank.find(token)
    if at < 0:
        return ""
    return f"line {blank.count(chr(10), 0, at) + 1} column {at - blank.rfind(chr(10), 0, at)}: "


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
    results = record.get("results") if isinstance(record, dict) else None
    if isinstance(results, list) and len(results) > MAX_RESULTS:
        return [f"{path}: results: {len(results):,} results, over the {MAX_RESULTS:,} a record may have; "
                "submit one record per encoder and protocol"]
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
    from zsbench.core.protocol import load_spec

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
    by_dataset: dict[str, list[Mapping[str, Any]]] = {}  # grouped once: a scan per dataset is quadratic
    for e in results:
        by_dataset.setdefault(e["dataset"], []).append(e)
    for name, ds in record["datasets"].items():
        mine = by_dataset.get(name, [])
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
        # the first few holes only: clusterers x seeds of a hostile header can be vast
        holes = list(itertools.islice((f"{c} seed {s}" for c in listed for s in ds["seeds"] if (c, s) not in have), 5))
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
    report = Verification()
    try:
        with zipfile.ZipFile(archive) as zf:
            _rescore(record, _Labels(zf, archive.name, report), report)
    except (OSError, zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
        raise RecordError(f"{archive}: cannot read the labels archive: {exc}") from None
    return report


def _rescore(record: Mapping[str, Any], labels: _Labels, report: Verification) -> None:
    from zsbench.core.metrics import LABEL_METRICS, label_scores

    n = {name: ds["n_samples"] for name, ds in record["datasets"].items()}
    wanted = {ds["labels_sha256"] for ds in record["datasets"].values()}
    wanted |= {e["labels_sha256"] for e in record["results"] if e["status"] == "ok" and e["labels_sha256"]}
    labels.refuse_others(wanted)
    truths = {name: labels.get(ds["labels_sha256"], n[name], f"dataset {name}")
              for name, ds in record["datasets"].items()}
    for entry in record["results"]:
        if entry["status"] != "ok":
            continue
        what = f"{entry['dataset']} / {entry['clusterer']} / seed {entry['seed']}"
        truth = truths[entry["dataset"]]
        pred = labels.get(entry["labels_sha256"], n[entry["dataset"]], what)
        if truth is None or pred is None:
            continue
        fresh = label_scores(truth, pred)
        report.checked += 1
        for metric in LABEL_METRICS:
            recorded = entry["metrics"].get(metric)
            if not _agree(recorded, fresh[metric]):
                report.mismatches.append(f"{what}: {metric} recorded {recorded!r}, re-scored {fresh[metric]!r}")


class _Labels:
    """The members of a labels archive (``<sha256>.npy``), each read only when the record references
    it, and only after its zip entry and .npy header show a 1-d int64 array of the dataset's samples:
    a hostile archive can hold members that would decompress to gigabytes."""

    def __init__(self, zf: zipfile.ZipFile, name: str, report: Verification) -> None:
        self.zf, self.name, self.report = zf, name, report
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.read = 0  # decompressed bytes so far, against MAX_LABELS_BYTES
        for info in zf.infolist():
            key = info.filename.removesuffix(".npy")
            if key in self.members:
                report.mismatches.append(f"{name}: member {info.filename!r} appears twice")
            self.members.setdefault(key, info)

    def refuse_others(self, wanted: set[str]) -> None:
        for key, info in sorted(self.members.items()):
            if key not in wanted or not info.filename.endswith(".npy"):
                self.report.mismatches.append(f"{self.name}: member {info.filename[:80]!r} "
                                              f"({info.file_size:,} bytes) is not labels the record references; "
                                              "not read (an archive holds only the record's labels)")

    def get(self, digest: str, n: int, what: str) -> np.ndarray | None:
        """The labels ``digest`` as an int64 array of ``n``, or None with a mismatch line saying why."""
        try:
            array, why = self._load(digest, n)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            array, why = None, f"cannot be read ({exc})"
        if array is None:
            self.report.mismatches.append(f"{what}: labels {digest[:12]}… in {self.name} {why}")
        return array

    def _load(self, digest: str, n: int) -> tuple[np.ndarray | None, str]:
        info = self.members.get(digest)
        if info is None or not info.filename.endswith(".npy"):
            return None, "are not there"
        if info.file_size > 8 * n + MAX_LABEL_HEADER:
            return None, f"are {info.file_size:,} bytes, more than {n:,} int64 labels"
        if self.read + 8 * n > MAX_LABELS_BYTES:
            return None, f"were not read: the archive's labels exceed {MAX_LABELS_BYTES:,} bytes in all"
        with self.zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=MAX_LABEL_HEADER)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=MAX_LABEL_HEADER)
            else:
                return None, f"are in .npy format {version}, not 1.0 or 2.0"
            if dtype != np.dtype("<i8") or shape != (n,):
                return None, f"are {dtype} of shape {shape}, not int64 of shape ({n},) (the dataset's samples)"
            data = f.read(8 * n + 1)  # never more than the header declared, whatever the stream holds
        self.read += len(data)
        if len(data) != 8 * n:
            return None, f"hold {len(data):,} bytes of data, not {8 * n:,}"
        array = np.frombuffer(data, dtype="<i8")
        if labels_hash(array) != digest:
            return None, "do not match their hash"
        return array, ""


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
        from zsbench.storage.store import ResultStore

        with ResultStore(None if store is True else store, readonly=True) as db:
            sources.append(Source(f"store {db.path}", db.results()))
    return sources
