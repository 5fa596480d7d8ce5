"""The grid: plan every stage once, run what is not already done, score as results arrive.

Stages form a graph: embedding (encoder x dataset) -> reduction (x reducer x seed, plus the proxy
space) -> labels (x clusterer) -> scores. Every stage is keyed by a hash of everything that
determines it; finished stages come from the artifact cache and finished results from the store,
so a rerun after any interruption recomputes nothing that finished. Reductions and clusterings run
on an executor; scoring runs here, where the results are written.

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

from zsbench.core.catalog import origin
from zsbench.core.progress import NullProgress, Progress
from zsbench.core.protocol import Component, ProtocolSpec
from zsbench.core.result import Result
from zsbench.engine.components import Components
from zsbench.engine.configured import Pair
from zsbench.engine.jobs import (
    REUSED,
    ClusterJob,
    Embedding,
    Outcome,
    ReduceJob,
    Scoring,
    Tally,
    labels_key,
    reduce_job,
)
from zsbench.engine.keys import result_key
from zsbench.engine.params import Params
from zsbench.engine.refusals import check_reducers, memory_refusal
from zsbench.engine.request import RunRequest
from zsbench.engine.scoring import finish
from zsbench.engine.session import CheckedExecutor
from zsbench.engine.stages import cluster_task, reduce_task
from zsbench.storage.cache import ArtifactCache


class Deferred:
    """An inline task, run in this process when its ``result()`` is first asked for: the grid asks as it
    stores, so each inline stage's result is stored before the next one starts (Ctrl-C keeps what finished),
    while the executor's stages, submitted meanwhile, run on its workers."""

    __slots__ = ("call", "value", "error", "ran")
    call: tuple[Any, tuple[Any, ...]]
    value: Any
    error: Exception | None
    ran: bool

    def __init__(self, fn: Any, args: tuple[Any, ...]):
        self.call, self.value, self.error, self.ran = (fn, args), None, None, False

    def result(self, timeout: float | None = None) -> Any:
        if not self.ran:
            fn, args = self.call
            self.ran = True
            try:
                self.value = fn(*args)
            except Exception as exc:  # noqa: BLE001 - delivered through result(), as a future would
                self.error = exc
        if self.error is not None:
            raise self.error
        return self.value


class InlineExecutor:
    """Runs each task in this process, when its result is asked for (used for plugins registered in code)."""

    name, workers, in_process = "inline", 1, True

    def submit(self, fn, *args, resources=None) -> Deferred:
        return Deferred(fn, args)

    def as_completed(self, futures):
        return iter(list(futures))

    def close(self, cancel: bool = False) -> None:
        pass


INLINE = InlineExecutor()


def local_only(component: Component) -> bool:
    return component.entry.distribution == "__main__"  # registered in code: workers cannot see it


def submit(executor, component: Component, fn, *args) -> Any:
    """Submit a stage of ``component``: on ``executor``, or here when only this process knows the component."""
    return (INLINE if local_only(component) else executor).submit(fn, *args)


def completed(executor, futures: Iterable[Any]) -> Iterator[Any]:
    """The futures as they finish: those run here (:class:`Deferred`, run as they are taken) first, then the
    executor's, in the order its ``as_completed`` gives. Futures are used only through the contract: nothing
    but ``result()``."""
    futures = list(futures)
    yield from (f for f in futures if isinstance(f, Deferred))
    rest = [f for f in futures if not isinstance(f, Deferred)]
    if rest:
        yield from executor.as_completed(rest)


def checked(executor) -> Any:
    """``executor`` behind :class:`~zsbench.engine.session.CheckedExecutor` (named by the entry that built
    it), unless it is already or is the inline one: a broken contract is one error naming it, never a
    KeyError or a lost result."""
    if executor is INLINE or isinstance(executor, CheckedExecutor):
        return executor
    entry = origin(executor)
    return CheckedExecutor(
        executor, entry.name if entry else type(executor).__name__, entry.plugin if entry else "unknown"
    )


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
                for clu in clus:
                    lkey = labels_key(spec, reduction.key, clu, seed, k, params)
                    rkey = result_key(spec, lkey, space.key, emb.config.get("encoder") or {}, emb.dataset)
                    jobs.append(ClusterJob(emb, reduction, space, clu, k, lkey, rkey))
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


def reduce_all(
    jobs: Iterable[ReduceJob],
    cache: ArtifactCache,
    executor,
    progress: Progress,
    tally: Tally,
    title: str | None = None,
) -> dict[str, Outcome]:
    """Each distinct reduction once: from the cache when there (verified: a corrupt one is recomputed),
    else fitted on ``executor``. Returns the outcome per key."""
    outcomes: dict[str, Outcome] = {}
    futures: dict[Any, str] = {}
    submitted: set[str] = set()
    for job in jobs:
        if job.key in outcomes or job.key in submitted:
            continue
        if cache.get("reduce", job.key) is not None:
            tally.reused["reduce"] += 1
            outcomes[job.key] = REUSED
            continue
        futures[
            submit(
                executor,
                job.component,
                reduce_task,
                str(cache.root),
                job.input_key,
                job.component.label,
                job.seed,
                job.key,
                job.spec,
            )
        ] = job.key
        submitted.add(job.key)
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
    scored as they arrive. A clustering refused (its reduction failed, or the memory guard) or found in
    the cache is yielded at once."""
    reductions: dict[str, Outcome] = {}
    futures: dict[Any, tuple[str, Any]] = {}  # future -> ("reduce", key) or ("cluster", job)
    submitted: set[str] = set()
    for red in (r for job in jobs for r in (job.reduce, job.proxy)):
        if red.key in reductions or red.key in submitted:
            continue
        submitted.add(red.key)
        if cache.get("reduce", red.key) is not None:
            tally.reused["reduce"] += 1
            reductions[red.key] = REUSED
            continue
        futures[
            submit(
                executor,
                red.component,
                reduce_task,
                str(cache.root),
                red.input_key,
                red.component.label,
                red.seed,
                red.key,
                red.spec,
            )
        ] = ("reduce", red.key)
    fits = len(futures)
    with contextlib.ExitStack() as stage:
        step = stage.enter_context(progress.stage(f"reduce: {fits} fit(s)", total=fits)) if fits else None
        queue = list(jobs)
        while queue or futures:
            waiting = []
            for job in queue:
                if job.reduce.key not in reductions or job.proxy.key not in reductions:
                    waiting.append(job)
                elif error := reductions[job.reduce.key].error or memory_refusal(
                    job.clusterer, len(job.embedding.x), job.embedding.x.shape[1]
                ):
                    yield job, Outcome(error), reductions
                elif cache.get("labels", job.key) is not None:
                    tally.reused["labels"] += 1
                    yield job, REUSED, reductions
                else:
                    futures[
                        submit(
                            executor,
                            job.clusterer,
                            cluster_task,
                            str(cache.root),
                            job.reduce.key,
                            job.clusterer.label,
                            job.seed,
                            job.n_clusters,
                            job.key,
                            job.spec,
                        )
                    ] = ("cluster", job)
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
    shape = (
        f"{len(reducers)} reducer(s) x {len(seeds)} seed(s) x {len(clusterers)} clusterer(s)"
        if pairs is None
        else f"{len(seeds)} seed(s) x protocol {spec.version}'s (reducer, clusterer) pairs"
    )
    with progress.stage(f"grid: {len(embeddings)} embedding(s) x {shape}", total=len(jobs)) as advance:
        pending = []
        for job in jobs:
            done = store.finished(job.result_key) if store is not None else None
            if done is not None:
                tally.reused["results"] += 1
                results[job.result_key] = done
                advance(1)
            else:
                pending.append(job)
        for job, outcome, reductions in stream(pending, cache, executor, progress, tally):
            results[job.result_key] = finish(job, outcome, reductions, scoring)
            advance(1)
    # stages finish in any order; hand results back in plan order
    return [results[job.result_key] for job in jobs]
