"""The Python API: the same runs as the CLI, returning plain objects.

>>> import zsbench
>>> out = zsbench.run()                       # raw pixels on digits, the standard protocol
>>> out.to_dataframe()                        # needs pandas
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.cache import ArtifactCache, cache_key
from zsbench.catalog import Catalog, build_catalog
from zsbench.datasets import fingerprint
from zsbench.errors import InvalidInputError, ZsbenchError, check_seed
from zsbench.grid import Embedding, Tally, check_reducers, execute
from zsbench.identity import describe, identity_sha256
from zsbench.inputs import check_inputs, prepare_labels, select_samples
from zsbench.leaderboard import Leaderboard, build
from zsbench.progress import NullProgress, Progress
from zsbench.protocol import Component, ProtocolSpec, embed, load_spec
from zsbench.provenance import environment
from zsbench.records import labels_hash
from zsbench.stages import embed_task
from zsbench.store import ResultStore
from zsbench.types import Result

StoreArg = str | os.PathLike[str] | ResultStore | None | bool
CacheArg = str | os.PathLike[str] | ArtifactCache | None | bool
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


@contextlib.contextmanager
def _open_cache(cache: CacheArg) -> Iterator[ArtifactCache]:
    """``None``: the default cache; a path or cache: that; ``False``: a throw-away one for this run."""
    if cache is False:
        with tempfile.TemporaryDirectory(prefix="zsbench-run-") as tmp:
            yield ArtifactCache(tmp)
    else:
        yield cache if isinstance(cache, ArtifactCache) else ArtifactCache(None if cache in (None, True) else cache)


ENV_WORKERS = "ZSBENCH_WORKERS"
# The executor a run uses unless told otherwise (a built-in plugin, found by name like any other).
DEFAULT_EXECUTOR = "local"


@contextlib.contextmanager
def _open_executor(catalog: Catalog, name: str | None, options: Mapping[str, Any] | None) -> Iterator[Any]:
    from zsbench import mainguard

    mainguard.stop_if_bootstrapping()  # a pool worker re-running the parent's script: start nothing
    options = dict(options or {})
    if "workers" not in options and os.environ.get(ENV_WORKERS):
        options["workers"] = int(os.environ[ENV_WORKERS])  # e.g. 1 in tests and small CI jobs
    name = name or DEFAULT_EXECUTOR
    entry = catalog.get("executors", name)
    # Workers re-run the main script: its unguarded zsbench calls would run again, a script read
    # from stdin cannot run at all. Decide before any worker exists.
    hazard = mainguard.pool_hazard()
    if hazard and name == DEFAULT_EXECUTOR:
        if str(options.get("workers", "")).strip() != "1":
            options["workers"] = 1  # the local executor's in-process mode
            mainguard.note_in_process(hazard)
    elif hazard and not options.get("scheduler"):  # a running cluster starts no processes here
        raise ZsbenchError(f"executor {name!r} cannot start worker processes here: {hazard}")
    executor = entry.create(**options)
    try:
        yield executor
    except BaseException:
        # Ctrl-C or an error: drop queued stages instead of waiting for them (finished ones are stored)
        try:
            executor.close(cancel=True)
        except TypeError:  # an executor whose close() takes no options
            executor.close()
        raise
    executor.close()


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
    with _open_cache(cache) as art, _open_executor(catalog, executor, executor_options) as pool:
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
                                             spec, art, progress, pool, dict(dataset_options or {})))
        return _execute(embeddings, comps, seed_list, spec, store=store, cache=art, executor=pool,
                        progress=progress, dropped_before=dropped_before)


def sample_fingerprint(view, selection: dict[str, Any]) -> str:
    """The fingerprint of the samples a run clusters: ids, labels, split and selection rule."""
    return fingerprint(view.ids, view.labels.astype(str).tolist(),
                       {"split": view.info.get("split"), **_selection_rule(selection)})


def embed_key(spec: ProtocolSpec, enc_entry, described: Mapping[str, Any], dataset: str, fingerprint_: str) -> str:
    """An embedding's cache key; `zsbench run` and `zsbench proxy --choose` share embeddings through it.

    It holds the encoder's identity by content (:func:`zsbench.identity.describe`), never a path:
    the same weights file reached through two paths is embedded once.
    """
    return cache_key({"stage": "embed", "protocol": spec.version, "encoder": enc_entry.name,
                      "identity_sha256": described["identity_sha256"], "plugin": enc_entry.provenance,
                      "dataset": dataset, "fingerprint": fingerprint_})


def _embedding(enc_entry, ds_entry, view, y, dataset_config, encoder_options, spec, art: ArtifactCache,
               progress: Progress, pool, dataset_options: dict[str, Any]) -> Embedding:
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
        with progress.stage(f"embed {label} on {pool.name}"):
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
    with _open_cache(cache) as art, _open_executor(catalog, executor, executor_options) as pool:
        return _execute([emb], comps, seed_list, spec, store=store, cache=art, executor=pool,
                        progress=progress, dropped_before=len(art.dropped))


def _selection_rule(selection: dict[str, Any]) -> dict[str, Any]:
    """The parts of the sample selection that change which samples are clustered."""
    return {k: selection[k] for k in ("max_samples", "subsample_seed", "n_bad_skipped") if k in selection}

