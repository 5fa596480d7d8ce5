"""A submission: one encoder identity's standard-track results as a registry record (:func:`make_record`).

Only the standard track goes into a record: the protocol's reducer and clusterers with their declared
settings; anything else (other reducers, custom options) stays in the local store. Which results it
takes: one encoder identity, one sample set per dataset, and (unless partial) only seeds that have every
protocol clusterer (:mod:`zsbench.analysis.selection` chooses). Writing it into a registry is
:mod:`zsbench.analysis.records.registry`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zsbench.analysis import selection
from zsbench.analysis.records import SCHEMA, RecordError, portable_options, scrub_paths
from zsbench.analysis.selection import complete, one_identity, one_sample_set
from zsbench.core.identity import short
from zsbench.core.result import Result, labels_hash
from zsbench.core.unicode_names import checked_name


@dataclass
class Submission:
    record: dict[str, Any]
    labels: dict[str, np.ndarray]
    left_out: list[str] = field(default_factory=list)  # why results in the store were not taken


def make_record(
    results: Iterable[Result],
    encoder: str,
    *,
    protocol: str = "1",
    cache=None,
    datasets: Sequence[str] | None = None,
    with_labels: bool = True,
    identity: str | None = None,
    sample_sets: Sequence[str] = (),
    partial: bool = False,
) -> Submission:
    """The record of one identity of ``encoder``: its standard-track results, latest per cell.

    A record is complete or refused: per dataset, the full partition, every protocol clusterer
    and at least the protocol's seeds. ``partial`` writes what there is instead, marked partial
    (never ranked) with what it lacks. When the results hold several identities of the encoder
    (other weights or preprocessing), or several full sample sets of a dataset, nothing is chosen
    silently: ``identity`` and ``sample_sets`` (sha256 prefixes) choose. ``cache`` (an
    ArtifactCache) supplies the labels; each is checked against its hash.
    """
    from zsbench.core.protocol import load_spec

    spec = load_spec(protocol)
    encoder = checked_name(encoder, "encoder")  # NFC, as `zsbench run` stores names; nothing invisible
    if spec.study is not None:  # a record is one configuration per clusterer for every encoder
        raise RecordError(
            f"records hold standard-protocol results; protocol {spec.version} results are compared "
            f"with `zsbench leaderboard --protocol {spec.name}`"
        )
    left_out: list[str] = []
    mine = [r for r in results if r.encoder == encoder and r.protocol_version == spec.version]
    if not mine:
        raise RecordError(
            f"no results for encoder {encoder!r} under protocol {spec.version} in the store; "
            f"run `zsbench run --encoder {encoder} --dataset ...` first"
        )
    if datasets:
        unknown = sorted(set(datasets) - {r.dataset for r in mine})
        if unknown:
            raise RecordError(
                f"encoder {encoder!r} has no results on {', '.join(unknown)} in the store; "
                "run it there first or leave those datasets out"
            )
        mine = [r for r in mine if r.dataset in datasets]
    standard = [r for r in mine if r.reducer == spec.reducer and r.clusterer in spec.clusterers]
    if len(standard) < len(mine):
        other = sorted(
            {f"{r.reducer} + {r.clusterer}" for r in mine} - {f"{r.reducer} + {r.clusterer}" for r in standard}
        )
        left_out.append(f"{len(mine) - len(standard)} result(s) outside the standard track ({', '.join(other)})")
    if not standard:
        raise RecordError(
            f"encoder {encoder!r} has no standard-track results (reducer {spec.reducer}, "
            f"clusterers {', '.join(spec.clusterers)}); run `zsbench run --encoder {encoder}` "
            "without --reducer/--clusterer options"
        )
    chosen_identity = one_identity(standard, encoder, identity)
    same = [r for r in standard if selection.identity(r) == chosen_identity]
    plugins = same[-1].provenance.get("plugins") or {}
    if not plugins.get("encoder") or not plugins.get("dataset"):
        raise RecordError(
            f"{encoder}: results of `zsbench run --embeddings` cannot be submitted: a record names the "
            "encoder and dataset plugins that made it (installed distributions with versions) and the "
            "samples by their ids; register the encoder as a plugin and run `zsbench run --encoder "
            f"{encoder} --dataset NAME`"
        )
    if len(same) < len(standard):
        left_out.append(f"{len(standard) - len(same)} result(s) of other identities of {encoder} (--identity)")
    kept: list[Result] = []
    for name in sorted({r.dataset for r in same}):
        on = [r for r in same if r.dataset == name]
        fingerprint = one_sample_set(on, name, encoder, sample_sets, partial)
        taken = [r for r in on if selection.sample_set(r) == fingerprint]
        kept += taken
        if len(taken) < len(on):
            left_out.append(
                f"{name}: results on other sample sets of the dataset (another --max-samples or data "
                f"version) left out; the record takes {fingerprint[:12]}"
            )
    chosen, missing = complete(selection.latest(kept), spec, partial, left_out)
    if missing and not partial:
        raise RecordError(
            f"{encoder} ({short(chosen_identity)}) is not complete for protocol {spec.version}: "
            f"{'; '.join(missing)}. Run what is missing (`zsbench run --encoder {encoder} --dataset "
            f"NAME` runs every protocol clusterer and {spec.seeds} seeds on the full partition), or "
            "submit with --partial (the record is then shown, never ranked)"
        )

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
        datasets_out.setdefault(
            name,
            {
                **ds,
                "group": info.get("group", "other"),
                "n_samples": r.config.get("n_samples"),
                "n_classes": r.config.get("n_clusters_given"),
                "seeds": sorted({c.seed for c in chosen if c.dataset == r.dataset}),
                "plugin": r.provenance.get("plugins", {}).get("dataset"),
            },
        )
        env = _canonical(r.provenance)
        if env not in env_index:
            env_index[env] = len(environments)
            environments.append(json.loads(env))
        entry: dict[str, Any] = {
            "dataset": r.dataset,
            "clusterer": r.clusterer,
            "seed": r.seed,
            "status": r.status,
            "error": scrub_paths(r.error),
            "metrics": dict(r.metrics),
            "timings": dict(r.timings),
            "config": {
                k: r.config[k]
                for k in ("reducer", "clusterer", "proxy_reducer", "n_features", "n_clusters_given", "warnings")
                if k in r.config
            },
            "environment": env_index[env],
            "run_id": r.run_id,
            "created_at": r.created_at,
            "labels_sha256": None,
        }
        if "warnings" in entry["config"]:
            entry["config"]["warnings"] = [scrub_paths(w) for w in entry["config"]["warnings"]]
        if with_labels and r.ok:
            entry["labels_sha256"] = _take_labels(
                r, "labels", r.config.get("artifacts", {}).get("labels"), cache, labels, encoder
            )
        entries.append(entry)
    if with_labels:
        for name, ds in datasets_out.items():
            _take_labels(None, "truth", ds["labels_sha256"], cache, labels, encoder, dataset=name)
    described = chosen[-1].config["encoder"]
    options = portable_options(described.get("options") or {}, left_out)
    record = {
        "schema": SCHEMA,
        "protocol_version": spec.version,
        "partial": bool(missing),
        "missing": missing,
        "encoder": {
            "name": encoder,
            "identity": described.get("identity") or {},
            "identity_sha256": chosen_identity,
            "options": options,
            "source": described.get("source") or {},
            "plugin": chosen[-1].provenance.get("plugins", {}).get("encoder"),
        },
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


def _take_labels(
    r: Result | None,
    stage: str,
    key: str | None,
    cache,
    out: dict[str, np.ndarray],
    encoder: str,
    dataset: str | None = None,
) -> str:
    what = (
        f"the predicted labels of {r.dataset} / {r.clusterer} / seed {r.seed}"
        if r is not None
        else f"the true labels of {dataset}"
    )
    array = cache.get(stage, key) if (cache is not None and key) else None
    if array is None:
        raise RecordError(
            f"{what} are not in the artifact cache {getattr(cache, 'root', '')}; rerun `zsbench run --encoder "
            f"{encoder} --dataset {r.dataset if r else dataset}` with the same options to restore them (finished "
            "stages are reused), or submit with --no-labels (the record then cannot be verified)"
        )
    array = np.ascontiguousarray(array, dtype=np.int64)
    digest = labels_hash(array)
    if stage == "truth" and digest != key:
        raise RecordError(f"{what} in the artifact cache do not match their hash; run `zsbench cache verify`")
    out[digest] = array
    return digest


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
