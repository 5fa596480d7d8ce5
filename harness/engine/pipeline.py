"""The one pipeline: load and select samples, prepare labels, embed (keyed by content), run the grid.

`zsbench run` and :func:`zsbench.run` (:func:`run_datasets`), :func:`zsbench.run_embeddings`
(:func:`run_arrays`) and `zsbench proxy --choose` (:mod:`zsbench.analysis.proxy.choice`, through
:func:`load_dataset` and :func:`embed_samples`) all go through these functions, so an embedding,
reduction or clustering computed by one is found in the artifact cache by the others.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.core.catalog import Catalog, Entry, build_catalog
from zsbench.core.identity import describe, identity_sha256
from zsbench.core.names import shown
from zsbench.core.progress import NullProgress, Progress
from zsbench.core.protocol import ProtocolSpec, embed
from zsbench.core.provenance import environment, imported_versions
from zsbench.core.result import Result, labels_hash
from zsbench.core.unicode_names import checked_name
from zsbench.engine.components import Components, components
from zsbench.engine.configured import Pair
from zsbench.engine.grid import execute
from zsbench.engine.inputs import (
    DatasetView,
    check_classes,
    check_embeddings,
    check_inputs,
    prepare_labels,
    select_samples,
)
from zsbench.engine.jobs import Embedding, Tally
from zsbench.engine.keys import arrays_key, embed_key, sample_fingerprint
from zsbench.engine.knn import KnnRun
from zsbench.engine.params import Params
from zsbench.engine.refusals import check_reducers
from zsbench.engine.request import RunRequest, StoreArg
from zsbench.engine.session import (
    DEFAULT_EXECUTOR,
    cached_embedding,
    open_cache,
    open_executor,
)
from zsbench.engine.stages import embed_task
from zsbench.plugin.datasets import fingerprint
from zsbench.plugin.errors import InvalidInputError, ZsbenchError
from zsbench.storage.cache import ArtifactCache
from zsbench.storage.store import ResultStore


@dataclass(frozen=True)
class GridRun:
    """What a run did: its results, where they were stored, and what it computed and reused."""

    run_id: str
    results: list[Result]
    store_path: Path | None
    reused: dict[str, int] = field(default_factory=dict)
    computed: dict[str, int] = field(default_factory=dict)
    # cache entries this run found corrupt, dropped and recomputed: (stage, key, reason)
    recomputed: list[tuple[str, str, str]] = field(default_factory=list)
    knn: list[Result] = field(default_factory=list)  # with --knn: top-1 accuracy per k (zsbench.engine.knn)

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if not r.ok]


def open_store(store: StoreArg) -> ResultStore | None:
    if store is False:
        return None
    if isinstance(store, ResultStore):
        return store
    if store is None or store is True:
        return ResultStore(None)
    return ResultStore(store)


def run_grid(
    embeddings: list[Embedding],
    comps: Components,
    request: RunRequest,
    *,
    cache: ArtifactCache,
    executor,
    progress: Progress,
    dropped_before: int = 0,
    catalog: Catalog | None = None,
) -> GridRun:
    """Reduce, cluster and score ``embeddings``; results go to the request's store as they are made."""
    pairs: list[list[Pair]] | None = None
    if comps.configured is not None:
        pairs = []
        for emb in embeddings:
            mine = comps.pairs(catalog or build_catalog(), request.spec, emb.encoder, emb.dataset)
            assert mine is not None  # comps.configured: each embedding has its configured pairs
            pairs.append(mine)
    run_id = uuid.uuid4().hex[:12]
    db = open_store(request.store)
    tally = Tally()
    try:
        results = execute(
            embeddings,
            comps,
            request,
            run_id=run_id,
            cache=cache,
            executor=executor,
            store=db,
            progress=progress,
            tally=tally,
            pairs=pairs,
        )
    finally:
        if db is not None and not isinstance(request.store, ResultStore):
            db.close()
    # a cache object may serve several runs: report only what this one dropped
    return GridRun(
        run_id, results, db.path if db else None, tally.reused, tally.computed, list(cache.dropped[dropped_before:])
    )


def load_dataset(entry: Entry, options: Mapping[str, Any] | None, progress: Progress) -> Any:
    with progress.stage(f"load dataset {entry.name}"):
        return entry.create(**dict(options or {}))


def check_weights(options: Mapping[str, Any] | None, component: str | None = None) -> None:
    """A ``weights`` option that names no file or folder is an error before any work. The message says
    how it was given: ``--weights`` (or ``weights=``, the same option of :func:`zsbench.run`), or, with
    ``component``, as ``NAME:weights=...`` in the component's name."""
    weights = (options or {}).get("weights")
    if weights is not None and not Path(str(weights)).expanduser().exists():
        how = (
            f"option weights={shown(weights, 200)} of {shown(component)}"
            if component
            else f"--weights {shown(weights, 200)}"
        )
        raise InvalidInputError(f"{how}: no such file or folder; pass the path of the weights file")


def recorded_info(info: Mapping[str, Any], entry: Entry) -> Mapping[str, Any]:
    """The dataset's info as recorded: the group declared at register (``group=``) is added when the
    dataset's own info names none; a group the info names wins (it describes the data loaded, e.g.
    one member of a family)."""
    group = entry.meta.get("group")
    if group is None or (info or {}).get("group"):
        return info
    return {**(info or {}), "group": group}


@dataclass(frozen=True)
class Embedded:
    """An embedding of some samples, from the cache or computed, and what identifies it."""

    x: np.ndarray
    key: str  # in the artifact cache ("embed")
    described: dict[str, Any]  # the encoder's identity (:func:`zsbench.core.identity.describe`)
    where: str  # "cache", "here", or the worker that computed it
    seconds: float
    packages: dict[str, str] = field(default_factory=dict)  # the libraries it was made with, where it was made
    rows_of: str | None = None  # the key of the whole dataset's embedding whose rows these are, if so

    @property
    def reused(self) -> bool:
        return self.where == "cache"


def embed_samples(
    enc_entry: Entry,
    ds_entry: Entry,
    view: DatasetView,
    fingerprint_: str,
    spec: ProtocolSpec,
    cache: ArtifactCache,
    progress: Progress,
    executor,
    *,
    encoder_options: Mapping[str, Any] | None,
    dataset_options: Mapping[str, Any] | None,
    executor_name: str,
) -> Embedded:
    """The embedding of ``view`` (whose samples ``fingerprint_`` names) by the encoder, keyed by the
    encoder's identity (:func:`zsbench.engine.keys.embed_key`): from the cache, on an executor that
    runs embedding, or here. Checked (2-d, finite) and cached."""
    options = dict(encoder_options or {})
    label = f"{enc_entry.name} on {ds_entry.name}"
    check_weights(options, enc_entry.name)  # a run said so already (with_options); proxy --choose has no --weights
    with progress.stage(f"load encoder {enc_entry.name}"):
        enc = enc_entry.create(**options)
    described = describe(enc_entry.name, enc_entry.plugin, enc, options)
    key = embed_key(spec, enc_entry, described, ds_entry.name, fingerprint_)
    start = time.perf_counter()
    made = {"stage": "embed", "encoder": enc_entry.name, "dataset": ds_entry.name}
    cached = cached_embedding(cache, key, spec, enc_entry, described, ds_entry.name, view)
    rows_of = None
    if cached is not None:
        x, where, rows_of, packages = cached.x, "cache", cached.rows_of, cached.packages
        if packages is None:  # an entry that does not say (an older zsbench's, a worker's): this process's
            packages = imported_versions()
    elif getattr(executor, "runs_embedding", False) and "__main__" not in (
        enc_entry.distribution,
        ds_entry.distribution,
    ):
        # on a worker; a GPU worker if the encoder says it wants one (the hint is dropped if none has)
        with progress.stage(f"embed {label} on executor {executor_name}"):
            outcome = executor.submit(
                embed_task,
                str(cache.root),
                key,
                enc_entry.name,
                options,
                ds_entry.name,
                dict(dataset_options or {}),
                view.positions.tolist(),
                made,
                resources={"GPU": 1} if enc_entry.meta.get("gpu") else None,
            ).result()
        if outcome["error"]:
            raise ZsbenchError(outcome["error"])
        x, where, packages = np.asarray(cache.get("embed", key)), outcome["worker"], outcome["packages"]
    else:
        x, where = embed(enc, view, label, progress), "here"
        packages = imported_versions()  # what the encoder imported to embed, in the process that embedded
    seconds = time.perf_counter() - start
    x = check_embeddings(x, len(view), label)
    if where == "here" or (rows_of is not None and not cache.has("embed", key)):
        # rows taken from the whole are stored under the subsample's own key: the stages read their input there
        cache.put("embed", key, x, {**made, "packages": packages, **({"rows_of": rows_of} if rows_of else {})})
    return Embedded(x, key, described, where, seconds, packages, rows_of)


def embedding(
    enc_entry: Entry,
    ds_entry: Entry,
    view: DatasetView,
    y: np.ndarray,
    dataset_config: dict[str, Any],
    spec: ProtocolSpec,
    cache: ArtifactCache,
    progress: Progress,
    executor,
    *,
    encoder_options: Mapping[str, Any] | None,
    dataset_options: Mapping[str, Any] | None,
    executor_name: str,
) -> Embedding:
    """A run's embedding of a dataset's selected samples, with the configuration its results record."""
    e = embed_samples(
        enc_entry,
        ds_entry,
        view,
        dataset_config["fingerprint"],
        spec,
        cache,
        progress,
        executor,
        encoder_options=encoder_options,
        dataset_options=dataset_options,
        executor_name=executor_name,
    )
    check_classes(y, len(e.x), f"{enc_entry.name} on {ds_entry.name}")
    config = {
        "encoder": e.described,
        "dataset": dataset_config,
        "n_samples": int(len(e.x)),
        "n_features": int(e.x.shape[1]),
        "embedding_reused": e.reused,
        "embedded_on": e.where,
        **({"embedding_rows_of": e.rows_of} if e.rows_of else {}),
    }
    provenance = {
        **environment(e.packages),
        "plugins": {"encoder": enc_entry.provenance, "dataset": ds_entry.provenance},
    }
    return Embedding(e.x, y, enc_entry.name, ds_entry.name, e.key, config, provenance, e.seconds)


def run_datasets(request: RunRequest, progress: Progress | None = None) -> GridRun:
    """Embed each dataset with each encoder and run the grid, and kNN if asked (see :func:`zsbench.run`)."""
    spec = request.spec
    progress = progress or NullProgress()
    catalog = build_catalog()
    # "raw-pixels:size=16": that encoder's options, merged with encoder_options (--weights); a weights path
    # that is not there is said before "does not accept weights": a mistyped path is the likelier mistake
    encoders = [
        catalog.with_options(
            "encoders", e, request.encoder_options, "encoder_options (--weights, --precision)", precheck=check_weights
        )
        for e in request.encoder_names()
    ]
    ds_entries = [catalog.get("datasets", d) for d in request.dataset_names()]
    # all names, before any work
    comps = components(catalog, spec, request.reducers, request.clusterers, Params.for_cache(request.cache))
    # a configured protocol's pairs, resolved before any work too (an encoder outside it is an error now)
    planned = {(e.name, d.name): comps.pairs(catalog, spec, e.name, d.name) for e, _ in encoders for d in ds_entries}
    knn_ = KnnRun.start(request, ds_entries, load_dataset, embed_samples)
    dataset_options = knn_.dataset_options  # with --knn: the test partition (split="test")
    with open_cache(request.cache) as art, open_executor(catalog, request.executor, request.executor_options) as pool:
        dropped_before = len(art.dropped)
        embeddings = []
        for ds_entry in ds_entries:
            ds = load_dataset(ds_entry, dataset_options, progress)
            view, selection = select_samples(
                ds,
                ds_entry.name,
                progress,
                max_samples=request.max_samples,
                subsample_seed=request.subsample_seed,
                skip_bad=request.skip_bad,
            )
            y, _ = prepare_labels(view.labels, f"dataset {ds_entry.name}", progress)
            # before embedding: a reducer that cannot fit would fail all
            check_reducers(
                comps.reducers + [r for (_, d), ps in planned.items() if d == ds_entry.name for r, _ in ps or ()],
                len(y),
                comps.params,
            )
            dataset_config = {
                "name": ds_entry.name,
                "info": recorded_info(view.info, ds_entry),
                **selection,
                "fingerprint": sample_fingerprint(view, selection),
                "labels_sha256": labels_hash(y),
            }
            for enc_entry, enc_options in encoders:
                embeddings.append(
                    embedding(
                        enc_entry,
                        ds_entry,
                        view,
                        y,
                        dataset_config,
                        spec,
                        art,
                        progress,
                        pool,
                        encoder_options=enc_options,
                        dataset_options=dataset_options,
                        executor_name=request.executor or DEFAULT_EXECUTOR,
                    )
                )
                knn_.score(embeddings[-1], view, enc_entry, enc_options, ds_entry, art, progress, pool)
        grid = run_grid(
            embeddings,
            comps,
            request,
            cache=art,
            executor=pool,
            progress=progress,
            dropped_before=dropped_before,
            catalog=catalog,
        )
    return knn_.store(grid, request.store)


def run_arrays(
    embeddings: Any,
    labels: Any,
    request: RunRequest,
    *,
    source: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> GridRun:
    """Run the grid on embeddings computed elsewhere (see :func:`zsbench.run_embeddings`): the request names
    one encoder and one dataset, the names to record."""
    spec = request.spec
    if request.encoders is None or request.datasets is None or len(request.encoders) != 1 or len(request.datasets) != 1:
        raise InvalidInputError("scoring embeddings takes one encoder name and one dataset name, the names to record")
    # names a board shows: NFC, nothing invisible (registered names follow the ASCII grammar already)
    encoder = checked_name(request.encoders[0], "encoder name")
    dataset = checked_name(request.datasets[0], "dataset name")
    progress = progress or NullProgress()
    catalog = build_catalog()
    comps = components(catalog, spec, request.reducers, request.clusterers, Params.for_cache(request.cache))
    pairs = comps.pairs(catalog, spec, encoder, dataset)  # the study's encoder check, before any work
    label = (source or {}).get("path", f"embeddings {encoder!r}")
    y, keep = prepare_labels(labels, label, progress)
    x = np.asarray(embeddings)
    if x.ndim >= 1 and len(x) != len(keep):
        raise InvalidInputError(f"{label}: {len(x)} embeddings but {len(keep)} labels; they must pair one to one")
    x = check_inputs(x[keep] if x.ndim >= 1 else x, y, label)
    check_reducers(comps.reducers + [r for r, _ in pairs or ()], len(x), comps.params)
    content = (source or {}).get("sha256") or hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()
    # The encoder behind a file of embeddings is unknown: its identity says so, and the file (by
    # name and content, never its path) is where it came from. Runs of one --name share an identity.
    identity = {"embeddings": "precomputed"}
    origin = {"file": Path(source["path"]).name} if source and source.get("path") else {"array": "in memory"}
    config: dict[str, Any] = {
        "encoder": {
            "name": encoder,
            "identity": identity,
            "options": {},
            "source": {**origin, "sha256": content},
            "identity_sha256": identity_sha256(encoder, identity, {}),
        },
        "dataset": {
            "name": dataset,
            "n_missing_labels": int((~keep).sum()),
            # no sample identifiers in an embeddings file: the labels in order are the samples
            "fingerprint": fingerprint(
                None, np.asarray(labels)[keep].astype(str).tolist(), {"samples": "precomputed embeddings"}
            ),
            "labels_sha256": labels_hash(y),
        },
        "n_samples": int(len(x)),
        "n_features": int(x.shape[1]),
    }
    key = arrays_key(spec, content, config["dataset"]["fingerprint"])
    emb = Embedding(x, y, encoder, dataset, key, config, {**environment(), "plugins": {}}, 0.0)
    with open_cache(request.cache) as art, open_executor(catalog, request.executor, request.executor_options) as pool:
        return run_grid(
            [emb],
            comps,
            request,
            cache=art,
            executor=pool,
            progress=progress,
            dropped_before=len(art.dropped),
            catalog=catalog,
        )
