"""The one pipeline: load and select samples, prepare labels, embed (keyed by content), run the grid.

`zsbench run` and :func:`zsbench.run` (:func:`run_datasets`), :func:`zsbench.run_embeddings`
(:func:`run_arrays`) and `zsbench proxy --choose` (:mod:`zsbench.analysis.proxy.choice`, through
:mod:`zsbench.engine.embed` and the grid's functions) all go through these functions, so an embedding,
reduction or clustering computed by one is found in the artifact cache by the others.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.core.catalog import Catalog, build_catalog
from zsbench.core.identity import identity_sha256
from zsbench.core.progress import NullProgress, Progress
from zsbench.core.provenance import environment
from zsbench.core.result import Result, labels_hash
from zsbench.core.unicode_names import checked_name
from zsbench.engine.components import Components, components
from zsbench.engine.configured import Pair
from zsbench.engine.embed import Samples, check_weights, embedding, load_dataset, recorded_info
from zsbench.engine.grid import execute
from zsbench.engine.inputs import check_inputs, prepare_labels, select_samples
from zsbench.engine.jobs import Embedding, Tally
from zsbench.engine.keys import arrays_key, sample_fingerprint
from zsbench.engine.knn import KnnRun
from zsbench.engine.limits import check_cells
from zsbench.engine.params import Params
from zsbench.engine.refusals import check_memory, check_reducers
from zsbench.engine.request import RunRequest, StoreArg
from zsbench.engine.session import open_cache, open_executor
from zsbench.plugin.datasets import fingerprint
from zsbench.plugin.errors import InvalidInputError
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


@contextlib.contextmanager
def open_store(store: StoreArg) -> Iterator[ResultStore | None]:
    """The run's results store, open while the run lasts: None for none (False), an open store as it is
    (left open), else the one at the path given or the default, opened here and closed after."""
    if store is False:
        yield None
        return
    if isinstance(store, ResultStore):
        yield store
        return
    db = ResultStore(None) if store is None or store is True else ResultStore(store)
    try:
        yield db
    finally:
        db.close()


def run_grid(
    embeddings: list[Embedding],
    comps: Components,
    request: RunRequest,
    *,
    store: ResultStore | None,
    cache: ArtifactCache,
    executor,
    progress: Progress,
    dropped_before: int = 0,
    catalog: Catalog | None = None,
) -> GridRun:
    """Reduce, cluster and score ``embeddings``; results go to ``store`` (the run's, open: :func:`open_store`)
    as they are made."""
    pairs: list[list[Pair]] | None = None
    if comps.configured is not None:
        pairs = []
        for emb in embeddings:
            mine = comps.pairs(catalog or build_catalog(), request.spec, emb.encoder, emb.dataset)
            assert mine is not None  # comps.configured: each embedding has its configured pairs
            pairs.append(mine)
    run_id = uuid.uuid4().hex[:12]
    tally = Tally()
    results = execute(
        embeddings,
        comps,
        request,
        run_id=run_id,
        cache=cache,
        executor=executor,
        store=store,
        progress=progress,
        tally=tally,
        pairs=pairs,
    )
    # a cache object may serve several runs: report only what this one dropped
    return GridRun(
        run_id,
        results,
        store.path if store else None,
        tally.reused,
        tally.computed,
        list(cache.dropped[dropped_before:]),
    )


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
    if comps.configured is not None:  # its pairs counted now; a cross product was counted by the request
        pairs = sum(len(ps or ()) for ps in planned.values())
        check_cells(
            pairs * len(request.seed_list()), f"{len(request.seed_list())} seed(s) x {pairs} configured pair(s)"
        )
    knn_ = KnnRun.start(request, ds_entries)
    dataset_options = knn_.dataset_options  # with --knn: the test partition (split="test")
    with (
        open_cache(request.cache) as art,
        open_executor(catalog, request.executor, request.executor_options) as pool,
        open_store(request.store) as db,
    ):
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
            # before embedding: a reducer that cannot fit would fail all, a clusterer that cannot is skipped
            mine = [pair for (_, d), ps in planned.items() if d == ds_entry.name for pair in ps or ()]
            check_reducers(comps.reducers + [r for r, _ in mine], len(y), comps.params)
            check_memory(comps.clusterers + [c for _, c in mine], len(y), progress)
            samples = Samples(ds_entry, dataset_options or {}, view, sample_fingerprint(view, selection))
            dataset_config = {
                "name": ds_entry.name,
                "info": recorded_info(view.info, ds_entry),
                **selection,
                "fingerprint": samples.fingerprint,
                "labels_sha256": labels_hash(y),
            }
            for enc_entry, enc_options in encoders:
                emb = embedding(
                    request,
                    enc_entry,
                    enc_options,
                    samples,
                    y,
                    dataset_config,
                    cache=art,
                    executor=pool,
                    progress=progress,
                )
                knn_.score(emb, samples, enc_entry, enc_options, cache=art, executor=pool, progress=progress, store=db)
                embeddings.append(emb)
        grid = run_grid(
            embeddings,
            comps,
            request,
            store=db,
            cache=art,
            executor=pool,
            progress=progress,
            dropped_before=dropped_before,
            catalog=catalog,
        )
        return knn_.stored(grid, db)


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
    check_memory(comps.clusterers + [c for _, c in pairs or ()], len(x), progress, x.shape[1])
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
    with (
        open_cache(request.cache) as art,
        open_executor(catalog, request.executor, request.executor_options) as pool,
        open_store(request.store) as db,
    ):
        return run_grid(
            [emb],
            comps,
            request,
            store=db,
            cache=art,
            executor=pool,
            progress=progress,
            dropped_before=len(art.dropped),
            catalog=catalog,
        )
