"""Validating a registry record: its schema, the consistency of its header and results, its
provenance, and that it carries no local path (records are published). One line per problem.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from zsbench.analysis.records import MAX_LABELS_BYTES, MAX_RESULTS, SCHEMA, RecordError, read, schema
from zsbench.core.identity import identity_sha256
from zsbench.core.names import shown
from zsbench.core.unicode_names import unreadable
from zsbench.plugin.errors import ZsbenchError
from zsbench.plugin.identity import local_paths

# What validate refuses inside any text of a record: a home or temporary folder, or a dataset named by a
# local path (``folder:/data/x``, ``csv:/data/x.csv``).
_LOCAL_IN_TEXT = re.compile(
    r"(?:^|[\s'\"(=])(?:~[/\\]|/(?:home|Users|root|tmp|private|mnt|media|scratch)/)"
    r"|^[a-z]+:/(?!/)|(?:^|[\s'\"(=])[A-Za-z]:[\\/]|file:/|(?:^|[\s'\"(=])\\\\\w"
)


def validate(path: str | Path) -> list[str]:
    """Every problem with a record file, one line each naming the file and field; [] when valid."""
    return checked(path)[1]


def checked(path: str | Path) -> tuple[dict[str, Any] | None, list[str]]:
    """The record and every problem with it (see :func:`validate`); the record is None unless it is valid."""
    problems = _problems(Path(path))
    return (None, problems) if isinstance(problems, list) else (problems, [])


def _problems(path: Path) -> dict[str, Any] | list[str]:
    """The problems of a record file, or the record itself when it has none (read once)."""
    from jsonschema import Draft202012Validator

    try:
        record = read(path)
    except RecordError as exc:
        return [str(exc)]
    if isinstance(record, dict) and record.get("schema") != SCHEMA and isinstance(record.get("schema"), str):
        return [
            f"{path}: schema: {record['schema']!r} is a record format this zsbench does not read "
            f"(it reads {SCHEMA!r}); submit the results again with `zsbench submit`"
        ]
    results = record.get("results") if isinstance(record, dict) else None
    if isinstance(results, list) and len(results) > MAX_RESULTS:
        return [
            f"{path}: results: {len(results):,} results, over the {MAX_RESULTS:,} a record may have; "
            "submit one record per encoder and protocol"
        ]
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
            problems.append(
                f"{where}.environment: {entry['environment']} but only "
                f"{len(record['environments'])} environment(s) are listed"
            )
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
        if spec.study is not None:
            problems.append(f"{path}: protocol_version: {spec.version}: records hold standard-protocol results only")
        if record["reducer"] != spec.reducer:
            problems.append(
                f"{path}: reducer: {record['reducer']!r}, but protocol {spec.version} uses {spec.reducer!r}"
            )
        for i, name in enumerate(record["clusterers"]):
            if name not in spec.clusterers:
                problems.append(f"{path}: clusterers[{i}]: {name!r} is not a clusterer of protocol {spec.version}")
        problems += [f"{path}: {p}" for p in _consistency(record, spec)]
    problems += [f"{path}: {p}" for p in _provenance(record)]
    if record["labels"] is not None and record["labels"]["file"]:
        problems += [f"{path}: {p}" for p in _labels_listed(record, path.parent / record["labels"]["file"])]
    return problems or record


def _labels_listed(record: Mapping[str, Any], archive: Path) -> list[str]:
    """Every labels hash the record names is a member of its archive (the zip's directory only: reading
    and re-hashing the labels is ``zsbench verify``'s)."""
    import zipfile

    if not archive.is_file():
        return [f"labels.file: {archive.name} is not beside the record"]
    if archive.stat().st_size > MAX_LABELS_BYTES:
        return [f"labels.file: {archive.name} is over the {MAX_LABELS_BYTES:,} bytes a labels archive may have"]
    try:
        with zipfile.ZipFile(archive) as zf:
            members = set(zf.namelist())
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        return [f"labels.file: {archive.name}: cannot read the labels archive: {exc}"]
    named = [(f"datasets.{name}.labels_sha256", ds["labels_sha256"]) for name, ds in record["datasets"].items()]
    named += [
        (f"results[{i}].labels_sha256", e["labels_sha256"])
        for i, e in enumerate(record["results"])
        if e["status"] == "ok" and e["labels_sha256"]
    ]
    absent = [(where, sha) for where, sha in named if f"{sha}.npy" not in members]
    lines = [
        f"{where}: {sha[:12]}… is not in {archive.name}; the labels and the record are written together: submit again"
        for where, sha in absent[:3]
    ]
    return lines + (
        [f"labels.file: and {len(absent) - 3} more labels hashes not in {archive.name}"] if len(absent) > 3 else []
    )


def _consistency(record: Mapping[str, Any], spec) -> list[str]:
    """The header agrees with the results, and a record not marked partial is complete."""
    problems = []
    results = record["results"]
    listed = record["clusterers"]
    for name in sorted({e["clusterer"] for e in results} ^ set(listed)):
        where = "listed under clusterers but has no result" if name in listed else "has results but is not listed"
        problems.append(f"clusterers: {name!r} {where}")
    if sorted({e["seed"] for e in results}) != sorted(record["seeds"]):
        problems.append(
            f"seeds: {sorted(record['seeds'])} but the results have seeds {sorted({e['seed'] for e in results})}"
        )
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
            problems.append(
                f"datasets.{name}.n_samples: {ds['n_samples']} but its results clustered "
                f"{', '.join(map(str, counts))} samples"
            )
        if ds.get("max_samples") is None and isinstance(ds.get("n_available"), int):
            whole = ds["n_available"] - ds.get("n_missing_labels", 0) - ds.get("n_bad_skipped", 0)
            if whole != ds["n_samples"]:
                problems.append(
                    f"datasets.{name}.n_samples: {ds['n_samples']} of {whole} labelled samples "
                    "without a declared subsample (max_samples)"
                )
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
        problems.append(
            f"last_result_at: {record['last_result_at']} is not the latest result's created_at "
            f"({max(str(e['created_at']) for e in results)})"
        )
    common = set.intersection(*(set(ds["seeds"]) for ds in record["datasets"].values()))
    if len(record["datasets"]) > 1 and len(common) < spec.seeds:
        lacks.append(
            f"the datasets share {len(common)} seed(s), protocol {spec.version} needs {spec.seeds} common "
            "to all (a board scores a row over the seeds all its datasets have)"
        )
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
    # names a board shows must read as one thing (zsbench submit and run write them so)
    named = [("encoder.name", encoder["name"])] + [(f"datasets.{ascii(n)[1:-1]}", n) for n in record["datasets"]]
    problems += [f"{where}: {ascii(shown(name))} {why}" for where, name in named if (why := unreadable(name))]
    expected = identity_sha256(encoder["name"], encoder["identity"], encoder["options"])
    if encoder["identity_sha256"] != expected:
        problems.append(
            f"encoder.identity_sha256: {encoder['identity_sha256'][:12]}… does not follow from the "
            f"name, identity and options ({expected[:12]}…)"
        )
    plugins = [("encoder.plugin", encoder["plugin"])]
    plugins += [(f"datasets.{name}.plugin", ds["plugin"]) for name, ds in record["datasets"].items()]
    plugins += [
        (f"environments[{i}].plugins.{kind}", p)
        for i, env in enumerate(record["environments"])
        for kind, p in (env.get("plugins") or {}).items()
    ]
    for where, plugin in plugins:
        key = plugin.get("plugin")
        if isinstance(key, str) and not key.startswith(f"{plugin['distribution']}:"):
            problems.append(f"{where}.plugin: {key!r} is not a plugin of distribution {plugin['distribution']!r}")
        if plugin["distribution"] == "__main__" or plugin["version"] in ("", "0"):
            problems.append(
                f"{where}: {plugin.get('name', 'a component')} comes from "
                f"{plugin['distribution']!r} version {plugin['version']!r}, not an installed "
                "distribution; package the plugin (an entry point in group 'zsbench') and run again"
            )
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
