"""The Python API: the same runs as the CLI, returning plain objects.

>>> import zsbench
>>> out = zsbench.run()                       # raw pixels on digits, the standard protocol
>>> out.to_dataframe()                        # needs pandas
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.analysis.leaderboard import Leaderboard, build
from zsbench.analysis.records import labels_hash
from zsbench.core.catalog import Catalog, build_catalog
from zsbench.core.identity import describe, identity_sha256
from zsbench.core.progress import NullProgress, Progress
from zsbench.core.protocol import Component, ProtocolSpec, embed, load_spec
from zsbench.core.provenance import environment
from zsbench.core.result import Result
from zsbench.engine.grid import Embedding, Tally, check_reducers, execute
from zsbench.engine.inputs import check_inputs, prepare_labels, select_samples
from zsbench.engine.session import DEFAULT_EXECUTOR, CacheArg, embed_key, open_cache, open_executor, sample_fingerprint
from zsbench.engine.stages import embed_task
from zsbench.plugin.datasets import fingerprint
from zsbench.plugin.errors import InvalidInputError, ZsbenchError, check_seed
from zsbench.storage.cache import ArtifactCache, cache_key
from zsbench.storage.store import ResultStore

StoreArg = str | os.PathLike[str] | ResultStore | None | bool
Names = str | Sequence[str] | None


@dataclass(frozen=True)
class RunResult:
    run_id: str
    results: list[Result]
    store_path: Path | None
    reused: dict[str, int] = field(default_factory=dict)
    computed: dict[str, int] = field(default_factory=dict)
    # cache entries this run found corrupt, dropped and recomputed: (stage, key, reason)
    recomputed: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if not r.ok]

    def leaderboard(self) -> Leaderboard:
        return build(self.results)

    def to_records(self) -> list[dict[str, Any]]:
        return [r.to_record() for r in self.results]

    def to_dataframe(self):
        try:
            import pandas as pd
        except ImportError:
            raise ZsbenchError("to_dataframe() needs pandas: pip install 'zsbench[pandas]'") from None
        return pd.DataFrame([r.flat() for r in self.results])


def _open_store(store: StoreArg) -> ResultStore | None:
    if store is False:
        return None
    if isinstance(store, ResultStore):
        return store
    return ResultStore(None if store in (None, True) else store)


def _names(value: Names, default: str) -> list[str]:
    if value is None:
        return [default]
    return [value] if isinstance(value, str) else list(value)


def _components(catalog: Catalog, spec: ProtocolSpec, reducers: Names,
                clusterers: Sequence[str] | None) -> tuple[list[Component], list[Component], Component]:
    chosen = list(clusterers) if clusterers else list(spec.clusterers)
    return ([Component.resolve(catalog, "reducers", r) for r in _names(reducers, spec.reducer)],
            [Component.resolve(catalog, "clusterers", c) for c in chosen],
            Component.resolve(catalog, "reducers", spec.proxy_reducer))


def _seeds(seeds: int | Sequence[int] | None, spec: ProtocolSpec) -> list[int]:
    if seeds is None:
        return list(range(spec.seeds))
    if isinstance(seeds, int):
        if seeds < 1:
            raise InvalidInputError(f"--seeds must be at least 1, got {seeds}")
        return [check_seed(s, "seed") for s in range(seeds)]
    return [check_seed(s, "seed") for s in seeds]


def _execute(embeddings: list[Embedding], comps, seeds, spec, *, store: StoreArg, cache: ArtifactCache,
             executor, progress: Progress, dropped_before: int = 0) -> RunResult:
    reducers, clusterers, proxy = comps
    run_id = uuid.uuid4().hex[:12]
    db = _open_store(store)
    tally = Tally()
    try:
        results = execute(embeddings, reducers=reducers, clusterers=clusterers, seeds=seeds, proxy=proxy,
                          spec=spec, run_id=run_id, cache=cache, executor=executor, store=db,
                          progress=progress, tally=tally)
    finally:
        if db is not None and not isinstance(store, ResultStore):
            db.close()
    # a cache object may serve several runs: report only what this one dropped
    return RunResult(run_id, results, db.path if db else None, tally.reused, tally.computed,
                     list(cache.dropped[dropped_before:]))


def run(
    encoder: Names = None,
    dataset: Names = None,
    *,
    clusterers: Sequence[str] | None = None,
    reducer: Names = None,
    seeds: int | Sequence[int] | None = None,
    store: StoreArg = None,
    cache: CacheArg = None,
    executor: str | None = None,
    executor_options: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    protocol: str = "1",
    encoder_options: Mapping[str, Any] | None = None,
    dataset_options: Mapping[str, Any] | None = None,
    max_samples: int | None = None,
    subsample_seed: int = 0,
    skip_bad: bool = False,
) -> RunResult:
    """Embed each dataset with each encoder and score every clusterer under the standard protocol.

    ``encoder``, ``dataset`` and ``reducer`` take a name or a list of names (a grid); defaults come
    from the protocol file. Every distinct stage runs once: one embedding per encoder x dataset, one
    reduction per embedding x reducer x seed, shared by every clusterer. Stages already in the
    artifact cache and results already in the store are reused, so a rerun recomputes nothing.

    ``store``/``cache``: ``None`` the default location, ``False`` none (in memory / a temporary
    cache), or a path. ``executor`` names where reductions and clusterings run (``local``: a process
    pool; ``dask``). ``encoder_options`` go to the encoder factories (``{"weights": path}``),
    ``dataset_options`` to the dataset factories (``data_dir``, ``download``). ``max_samples`` takes
    a seeded stratified subsample; ``skip_bad`` leaves out images that cannot be decoded.
    """
    spec = load_spec(protocol)
    progress = progress or NullProgress()
    catalog = build_catalog()
    enc_entries = [catalog.get("encoders", e) for e in _names(encoder, spec.default_encoder)]
    ds_entries = [catalog.get("datasets", d) for d in _names(dataset, spec.default_dataset)]
    comps = _components(catalog, spec, reducer, clusterers)  # resolve all names before any work
    seed_list = _seeds(seeds, spec)
    with open_cache(cache) as art, open_executor(catalog, executor, executor_options) as pool:
        dropped_before = len(art.dropped)
        embeddings = []
        for ds_entry in ds_entries:
            with progress.stage(f"load dataset {ds_entry.name}"):
                ds = ds_entry.create(**dict(dataset_options or {}))
            view, selection = select_samples(ds, ds_entry.name, progress, max_samples=max_samples,
                                             subsample_seed=subsample_seed, skip_bad=skip_bad)
            y, _ = prepare_labels(view.labels, f"dataset {ds_entry.name}", progress)
            check_reducers(comps[0], len(y))  # before embedding: a reducer that cannot fit would fail every result
            dataset_config = {"name": ds_entry.name, "info": view.info, **selection,
                              "fingerprint": sample_fingerprint(view, selection),
                              "labels_sha256": labels_hash(y)}
            for enc_entry in enc_entries:
                embeddings.append(_embedding(enc_entry, ds_entry, view, y, dataset_config, encoder_options,
                                             spec, art, progress, pool, dict(dataset_options or {}),
                                             executor or DEFAULT_EXECUTOR))
        return _execute(embeddings, comps, seed_list, spec, store=store, cache=art, executor=pool,
                        progress=progress, dropped_before=dropped_before)


def _embedding(enc_entry, ds_entry, view, y, dataset_config, encoder_options, spec, art: ArtifactCache,
               progress: Progress, pool, dataset_options: dict[str, Any], executor_name: str) -> Embedding:
    options = dict(encoder_options or {})
    label = f"{enc_entry.name} on {ds_entry.name}"
    weights = options.get("weights")
    if weights is not None and not Path(weights).expanduser().exists():
        raise InvalidInputError(f"--weights {weights}: no such file or folder; pass the path of the weights file")
    with progress.stage(f"load encoder {enc_entry.name}"):
        enc = enc_entry.create(**options)
    described = describe(enc_entry.name, enc_entry.plugin, enc, options)
    key = embed_key(spec, enc_entry, described, ds_entry.name, dataset_config["fingerprint"])
    cached = art.get("embed", key)
    start = time.perf_counter()
    where = "cache" if cached is not None else "here"
    if cached is not None:
        x = np.asarray(cached)
    elif getattr(pool, "runs_embedding", False) and "__main__" not in (enc_entry.distribution,
                                                                        ds_entry.distribution):
        # on a worker; a GPU worker if the encoder says it wants one (the hint is dropped if none has)
        spec_ = {"stage": "embed", "encoder": enc_entry.name, "dataset": ds_entry.name}
        with progress.stage(f"embed {label} on executor {executor_name}"):
            outcome = pool.submit(embed_task, str(art.root), key, enc_entry.name, options, ds_entry.name,
                                  dataset_options, view.positions.tolist(), spec_,
                                  resources={"GPU": 1} if enc_entry.meta.get("gpu") else None).result()
        if outcome["error"]:
            raise ZsbenchError(outcome["error"])
        x, where = np.asarray(art.get("embed", key)), outcome["worker"]
    else:
        x = embed(enc, view, label, progress)
    seconds = time.perf_counter() - start
    x = check_inputs(x, y, label)
    if cached is None and where == "here":
        art.put("embed", key, x, {"stage": "embed", "encoder": enc_entry.name, "dataset": ds_entry.name})
    config = {"encoder": described,
              "dataset": dataset_config, "n_samples": int(len(x)), "n_features": int(x.shape[1]),
              "embedding_reused": cached is not None, "embedded_on": where}
    provenance = {**environment(), "plugins": {"encoder": enc_entry.provenance,
                                               "dataset": ds_entry.provenance}}
    return Embedding(x, y, enc_entry.name, ds_entry.name, key, config, provenance, seconds)


def run_embeddings(
    embeddings: Any,
    labels: Any,
    *,
    encoder: str,
    dataset: str,
    clusterers: Sequence[str] | None = None,
    reducer: Names = None,
    seeds: int | Sequence[int] | None = None,
    store: StoreArg = None,
    cache: CacheArg = None,
    executor: str | None = None,
    executor_options: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    source: dict[str, Any] | None = None,
    protocol: str = "1",
) -> RunResult:
    """Score embeddings computed elsewhere through the same reduce, cluster and score stages."""
    spec = load_spec(protocol)
    progress = progress or NullProgress()
    catalog = build_catalog()
    comps = _components(catalog, spec, reducer, clusterers)
    label = (source or {}).get("path", f"embeddings {encoder!r}")
    y, keep = prepare_labels(labels, label, progress)
    x = np.asarray(embeddings)
    if x.ndim >= 1 and len(x) != len(keep):
        raise InvalidInputError(
            f"{label}: {len(x)} embeddings but {len(keep)} labels; they must pair one to one")
    x = check_inputs(x[keep] if x.ndim >= 1 else x, y, label)
    check_reducers(comps[0], len(x))
    content = (source or {}).get("sha256") or hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()
    # The encoder behind a file of embeddings is unknown: its identity says so, and the file (by
    # name and content, never its path) is where it came from. Runs of one --name share an identity.
    identity = {"embeddings": "precomputed"}
    origin = {"file": Path(source["path"]).name} if source and source.get("path") else {"array": "in memory"}
    config = {
        "encoder": {"name": encoder, "identity": identity, "options": {}, "source": {**origin, "sha256": content},
                    "identity_sha256": identity_sha256(encoder, identity, {})},
        "dataset": {"name": dataset, "n_missing_labels": int((~keep).sum()),
                    # no sample identifiers in an embeddings file: the labels in order are the samples
                    "fingerprint": fingerprint(None, np.asarray(labels)[keep].astype(str).tolist(),
                                               {"samples": "precomputed embeddings"}),
                    "labels_sha256": labels_hash(y)},
        "n_samples": int(len(x)), "n_features": int(x.shape[1]),
    }
    key = cache_key({"stage": "embed", "protocol": spec.version, "embeddings": content,
                     "labels": config["dataset"]["fingerprint"]})
    emb = Embedding(x, y, encoder, dataset, key, config, {**environment(), "plugins": {}}, 0.0)
    seed_list = _seeds(seeds, spec)
    with open_cache(cache) as art, open_executor(catalog, executor, executor_options) as pool:
        return _execute([emb], comps, seed_list, spec, store=store, cache=art, executor=pool,
                        progress=progress, dropped_before=len(art.dropped))
