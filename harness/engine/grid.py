"""The grid: plan every stage once, run what is not already done, score as results arrive.

Stages form a graph: embedding (encoder x dataset) -> reduction (x reducer x seed, plus the proxy
space) -> labels (x clusterer) -> scores. Every stage is keyed by a hash of everything that
determines it; finished stages come from the artifact cache and finished results from the store,
so a rerun after any interruption recomputes nothing that finished. Reductions and clusterings run
on an executor (:mod:`zsbench.engine.dispatch`); scoring runs here, where the results are written.

:func:`execute` is three steps: :func:`plan` (the jobs, as small frozen dataclasses), submitting
(:func:`stream`: each clustering as soon as its reductions are known) and :func:`finish` (score and
store each result).
``zsbench proxy --choose`` plans and submits its stages with the same functions and keys.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from zsbench.core.progress import NullProgress, Progress
from zsbench.core.protocol import Component, ProtocolSpec
from zsbench.core.result import Result
from zsbench.engine.components import Components
from zsbench.engine.configured import Pair
from zsbench.engine.dispatch import INLINE, checked, completed, submit
from zsbench.engine.jobs import (
    REUSED,
    ClusterJob,
    Embedding,
    Outcome,
    ReduceJob,
    Scoring,
    Tally,
    cluster_job,
    reduce_job,
)
from zsbench.engine.limits import check_cells
from zsbench.engine.params import Params
from zsbench.engine.refusals import check_reducers, memory_refusal
from zsbench.engine.request import RunRequest
from zsbench.engine.scoring import finish
from zsbench.engine.stages import cluster_task, reduce_task
from zsbench.storage.cache import ArtifactCache

NOT_RUN = Outcome()  # a reduction a refused clustering would have needed, never fitted for it

# -- plan -------------------------------------------------------------------------------------------


def store_inputs(embeddings: Iterable[Embedding], cache: ArtifactCache) -> None:
    """Put the embeddings, and their true labels (content-addressed, for `zsbench submit`), in the cache."""
    for emb in embeddings:
        if not cache.has("embed", emb.key):
            cache.put("embed", emb.key, emb.x, {"stage": "embed", "encoder": emb.encoder, "dataset": emb.dataset})
        truth = (emb.config.get("dataset") or {}).get("labels_sha256")
        if truth and not cache.has("truth", truth):
            cache.put(
                "truth", truth, np.ascontiguousarray(emb.y, dtype=np.int64), {"stage": "truth", "dataset": emb.dataset}
            )


def plan(
    embeddings: Sequence[Embedding],
    *,
    reducers: Sequence[Component],
    clusterers: Sequence[Component],
    seeds: Sequence[int],
    proxy: Component,
    spec: ProtocolSpec,
    pairs: Sequence[Sequence[Pair]] | None = None,
    params: Params | None = None,
) -> list[ClusterJob]:
    """Every clustering of the grid, in order (embedding, reducer, seed, clusterer), each stage keyed once.

    ``pairs``, one list per embedding, replaces the cross product of ``reducers`` and ``clusterers``
    with the (reducer, clusterer) pairs a protocol configures for that embedding (the study's).
    ``params``: the components' parameters the keys hold (a run's, with the memo; default: built here).
    """
    params = params or Params()
    jobs = []
    for i, emb in enumerate(embeddings):
        k = int(len(np.unique(emb.y)))
        combos = pairs[i] if pairs is not None else [(red, clu) for red in reducers for clu in clusterers]
        for red, clus in grouped(combos):
            for seed in seeds:
                reduction = reduce_job(spec, red, seed, emb.key, emb.encoder, emb.dataset, params)
                space = (
                    reduction
                    if _same(red, proxy)
                    else reduce_job(spec, proxy, seed, emb.key, emb.encoder, emb.dataset, params)
                )
                jobs += [cluster_job(spec, emb, reduction, space, clu, k, params) for clu in clus]
    return jobs


def grouped(pairs: Iterable[Pair]) -> list[tuple[Component, list[Component]]]:
    """The clusterers of each reducer, reducers in order of first appearance (a reducer's fits are planned once)."""
    groups: dict[str, tuple[Component, list[Component]]] = {}
    for red, clu in pairs:
        groups.setdefault(red.label, (red, []))[1].append(clu)
    return list(groups.values())


def _same(a: Component, b: Component) -> bool:
    return a.label == b.label and a.entry is b.entry


# -- submit -----------------------------------------------------------------------------------------


def start_fits(
    jobs: Iterable[ReduceJob], cache: ArtifactCache, executor, tally: Tally
) -> tuple[dict[str, Outcome], dict[Any, str]]:
    """Each distinct reduction once: from the cache when there (verified: a corrupt one is recomputed), else
    submitted to ``executor`` to be fitted. Returns the outcomes known (the reused ones, by key) and the
    futures of the fits (each with its key)."""
    known: dict[str, Outcome] = {}
    futures: dict[Any, str] = {}
    seen: set[str] = set()
    for job in jobs:
        if job.key in seen:
            continue
        seen.add(job.key)
        if cache.get("reduce", job.key) is not None:
            tally.reused["reduce"] += 1
            known[job.key] = REUSED
            continue
        task = (job.input_key, job.component.label, job.seed, job.key, job.spec)
        futures[submit(executor, job.component, reduce_task, str(cache.root), *task)] = job.key
    return known, futures


def reduce_all(
    jobs: Iterable[ReduceJob],
    cache: ArtifactCache,
    executor,
    progress: Progress,
    tally: Tally,
    title: str | None = None,
) -> dict[str, Outcome]:
    """Each distinct reduction once (:func:`start_fits`), its fit waited for. Returns the outcome per key."""
    outcomes, futures = start_fits(jobs, cache, executor, tally)
    if futures:
        with progress.stage(title or f"reduce: {len(futures)} fit(s)", total=None if title else len(futures)) as step:
            for future in completed(executor, futures):
                outcomes[futures[future]] = Outcome.of(future.result())
                tally.computed["reduce"] += 1
                step(1)
    return outcomes


def stream(
    jobs: Sequence[ClusterJob], cache: ArtifactCache, executor, progress: Progress, tally: Tally
) -> Iterator[tuple[ClusterJob, Outcome, Mapping[str, Outcome]]]:
    """Each clustering's outcome as it is known, with the reductions' outcomes so far.

    Reductions and clusterings are one stream: every distinct reduction (and proxy space) is submitted
    at once, each from the cache when there; a clustering is submitted as soon as the reductions it
    needs are known, so a worker never idles while another fits a later seed's UMAP, and results are
    scored as they arrive. A clustering whose reduction failed, or found in the cache, is yielded at once
    (one the memory guard refuses never gets here: :func:`refused`, at planning)."""
    reductions, fitting = start_fits((r for job in jobs for r in (job.reduce, job.proxy)), cache, executor, tally)
    futures: dict[Any, tuple[str, Any]] = {f: ("reduce", key) for f, key in fitting.items()}  # or ("cluster", job)
    fits = len(futures)
    with contextlib.ExitStack() as stage:
        step = stage.enter_context(progress.stage(f"reduce: {fits} fit(s)", total=fits)) if fits else None
        queue = list(jobs)
        while queue or futures:
            waiting = []
            for job in queue:
                if job.reduce.key not in reductions or job.proxy.key not in reductions:
                    waiting.append(job)
                elif error := reductions[job.reduce.key].error:
                    yield job, Outcome(error), reductions
                elif cache.get("labels", job.key) is not None:
                    tally.reused["labels"] += 1
                    yield job, REUSED, reductions
                else:
                    task = (job.reduce.key, job.clusterer.label, job.seed, job.n_clusters, job.key, job.spec)
                    futures[submit(executor, job.clusterer, cluster_task, str(cache.root), *task)] = ("cluster", job)
            queue = waiting
            for future in completed(executor, list(futures)):
                kind, what = futures.pop(future)
                outcome = Outcome.of(future.result())
                if kind == "cluster":
                    tally.computed["labels"] += 1
                    yield what, outcome, reductions
                    continue
                reductions[what] = outcome
                tally.computed["reduce"] += 1
                assert step is not None  # a fit finished: there were fits, so their progress stage
                step(1)
                if tally.computed["reduce"] == fits:
                    stage.close()  # the reduce stage's progress ends with its last fit
                if any(what in (job.reduce.key, job.proxy.key) for job in queue):
                    break  # clusterings can start: submit them, then wait on everything again


def refused(jobs: Iterable[ClusterJob]) -> dict[ClusterJob, str]:
    """The clusterings the memory guard refuses, found at planning: their reductions are not fitted for them."""
    reasons: dict[tuple[str, int], str | None] = {}
    out = {}
    for job in jobs:
        emb = job.embedding
        where = (job.clusterer.label, id(emb))
        if where not in reasons:  # the plugin's memory function once per clusterer and embedding
            reasons[where] = memory_refusal(job.clusterer, len(emb.x), emb.x.shape[1])
        if (reason := reasons[where]) is not None:
            out[job] = reason
    return out


def count_cells(embeddings: int, reducers: int, clusterers: int, seeds: int, pairs: Sequence[Sequence[Pair]] | None):
    """The clusterings a grid plans, counted before any is built."""
    per_seed = embeddings * reducers * clusterers if pairs is None else sum(len(mine) for mine in pairs)
    return per_seed * seeds


# -- finish -----------------------------------------------------------------------------------------


def execute(
    embeddings: Sequence[Embedding],
    comps: Components,
    request: RunRequest,
    *,
    run_id: str,
    cache: ArtifactCache,
    executor=None,
    store=None,
    progress: Progress | None = None,
    tally: Tally | None = None,
    pairs: Sequence[Sequence[Pair]] | None = None,
) -> list[Result]:
    """Run the grid of ``request`` (its protocol and seeds) with ``comps``; the results in plan order
    (embedding, reducer, seed, clusterer). ``store``: an open store, or None; ``pairs``: see :func:`plan`."""
    progress = progress or NullProgress()
    spec, seeds = request.spec, request.seed_list()
    reducers, clusterers, params = comps.reducers, comps.clusterers, comps.params
    executor = checked(executor or INLINE)
    tally = tally or Tally()
    shape = (
        f"{len(embeddings)} embedding(s) x {len(reducers)} reducer(s) x {len(seeds)} seed(s) x "
        f"{len(clusterers)} clusterer(s)"
        if pairs is None
        else f"{len(embeddings)} embedding(s) x {len(seeds)} seed(s) x protocol {spec.version}'s "
        "(reducer, clusterer) pairs"
    )
    check_cells(count_cells(len(embeddings), len(reducers), len(clusterers), len(seeds), pairs), shape)
    for i, emb in enumerate(embeddings):
        check_reducers(reducers if pairs is None else [red for red, _ in grouped(pairs[i])], len(emb.x), params)
    store_inputs(embeddings, cache)
    jobs = plan(
        embeddings,
        reducers=reducers,
        clusterers=clusterers,
        seeds=seeds,
        proxy=comps.proxy,
        spec=spec,
        pairs=pairs,
        params=params,
    )
    scoring = Scoring(spec, run_id, tuple(int(s) for s in seeds), cache, store)
    results: dict[str, Result] = {}
    with progress.stage(f"grid: {shape}", total=len(jobs)) as advance:
        pending = []
        for job in jobs:
            done = store.finished(job.result_key) if store is not None else None
            if done is not None:
                tally.reused["results"] += 1
                results[job.result_key] = done
                advance(1)
            else:
                pending.append(job)
        refusals = refused(pending)
        for job, reason in refusals.items():  # no reduction is fitted for a clustering refused now
            results[job.result_key] = finish(
                job, Outcome(reason), {job.reduce.key: NOT_RUN, job.proxy.key: NOT_RUN}, scoring
            )
            advance(1)
        pending = [job for job in pending if job not in refusals]
        for job, outcome, reductions in stream(pending, cache, executor, progress, tally):
            results[job.result_key] = finish(job, outcome, reductions, scoring)
            advance(1)
    # stages finish in any order; hand results back in plan order
    return [results[job.result_key] for job in jobs]
