"""The grid: plan every stage once, run what is not already done, score as results arrive.

Stages form a graph: embedding (encoder x dataset) -> reduction (x reducer x seed, plus the proxy
space) -> labels (x clusterer) -> scores. Every stage is keyed by a hash of everything that
determines it; finished stages come from the artifact cache and finished results from the store,
so a rerun after any interruption recomputes nothing that finished. Reductions and clusterings run
on an executor; scoring runs here, where the results are written.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from zsbench.core.progress import NullProgress, Progress
from zsbench.core.protocol import Component, ProtocolSpec
from zsbench.core.result import Result
from zsbench.engine.inputs import available_memory
from zsbench.engine.stages import cluster_task, reduce_task
from zsbench.storage.cache import ArtifactCache, cache_key


@dataclass
class Embedding:
    """One embedded (encoder, dataset): the input of everything downstream."""

    x: np.ndarray
    y: np.ndarray
    encoder: str
    dataset: str
    key: str
    config: dict[str, Any]
    provenance: dict[str, Any]
    embed_seconds: float = 0.0


@dataclass
class Tally:
    computed: dict[str, int] = field(default_factory=lambda: {"reduce": 0, "labels": 0})
    reused: dict[str, int] = field(default_factory=lambda: {"reduce": 0, "labels": 0, "results": 0})


class InlineExecutor:
    """Runs each task at once in this process (used for plugins registered in code)."""

    name, workers, in_process = "inline", 1, True

    def submit(self, fn, *args, resources=None) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - delivered through the future
            future.set_exception(exc)
        return future

    def as_completed(self, futures):
        return iter(list(futures))

    def close(self) -> None:
        pass


def _local_only(component: Component) -> bool:
    return component.entry.distribution == "__main__"  # registered in code: workers cannot see it


def memory_refusal(component: Component, n: int, d: int) -> str | None:
    """A clusterer that declares its memory need (``memory_bytes(n, d)``) and would not fit."""
    estimate_fn = component.entry.meta.get("memory_bytes")
    free = available_memory()
    if estimate_fn is None or free is None:
        return None
    need = int(estimate_fn(n, d))
    if need <= 0.8 * free:
        return None
    return (f"clusterer {component.label} refused: it needs about {need / 2**30:.1f} GiB for "
            f"{n:,} samples, more than 80% of the {free / 2**30:.1f} GiB available; cluster fewer "
            f"samples with --max-samples (about {int(n * (0.8 * free / need) ** 0.5):,} would fit) or drop it")


def min_samples(estimator: Any) -> int:
    """The fewest samples a reducer can fit, from its parameters (2 when nothing more is known).

    Spectral initialisation (UMAP's default) solves for n_components + 1 eigenvectors of the n x n
    graph Laplacian, which needs n_components + 1 < n: UMAP-50 needs 52 samples.
    """
    params = estimator.get_params(deep=False)
    n = params.get("n_components")
    if isinstance(params.get("init"), str) and params["init"] == "spectral" and isinstance(n, int):
        return n + 2
    return 2


def sample_refusal(component: Component, n: int) -> str | None:
    """Why ``component`` cannot reduce ``n`` samples, or None."""
    need = min_samples(component.build(seed=0))
    if n >= need:
        return None
    return f"{n} samples are too few for reducer {component.label} (needs at least {need})"


def check_reducers(reducers: Sequence[Component], n: int) -> None:
    """Refuse, before any embedding or reduction runs, a reducer that cannot fit ``n`` samples."""
    from zsbench.plugin.errors import InvalidInputError

    for red in reducers:
        if (refusal := sample_refusal(red, n)) is not None:
            raise InvalidInputError(f"{refusal}; use more samples or --reducer none")


def execute(embeddings: Sequence[Embedding], *, reducers: Sequence[Component],
            clusterers: Sequence[Component], seeds: Sequence[int], proxy: Component,
            spec: ProtocolSpec, run_id: str, cache: ArtifactCache, executor=None, store=None,
            progress: Progress | None = None, tally: Tally | None = None) -> list[Result]:
    progress = progress or NullProgress()
    executor = executor or InlineExecutor()
    inline = InlineExecutor()
    tally = tally or Tally()
    root = str(cache.root)
    plans = []  # (emb, reducer, seed, reduce key, proxy key, [(clusterer, labels key, result key)])
    for emb in embeddings:
        check_reducers(reducers, len(emb.x))
        if not cache.has("embed", emb.key):
            cache.put("embed", emb.key, emb.x, {"stage": "embed", "encoder": emb.encoder,
                                                "dataset": emb.dataset})
        # the true labels, content-addressed: `zsbench submit` packs them with the predictions
        truth = (emb.config.get("dataset") or {}).get("labels_sha256")
        if truth and not cache.has("truth", truth):
            cache.put("truth", truth, np.ascontiguousarray(emb.y, dtype=np.int64),
                      {"stage": "truth", "dataset": emb.dataset})
        k = int(len(np.unique(emb.y)))
        for red in reducers:
            for seed in seeds:
                rkey = stage_key("reduce", spec, emb.key, red, red.build(seed=seed), seed)
                pkey = rkey if _same(red, proxy) else stage_key("reduce", spec, emb.key, proxy,
                                                                 proxy.build(seed=seed), seed)
                jobs = []
                for clu in clusterers:
                    lkey = stage_key("labels", spec, rkey, clu, clu.build(seed=seed, n_clusters=k), seed)
                    jobs.append((clu, lkey, cache_key({"result": lkey, "proxy": pkey,
                                                       "silhouette_max_samples": spec.silhouette_max_samples})))
                plans.append((emb, red, seed, rkey, pkey, jobs))
    total = sum(len(p[5]) for p in plans)
    order = [job[2] for p in plans for job in p[5]]  # result keys, in plan order
    results: dict[str, Result] = {}
    with progress.stage(f"grid: {len(embeddings)} embedding(s) x {len(reducers)} reducer(s) x "
                        f"{len(seeds)} seed(s) x {len(clusterers)} clusterer(s)", total=total) as advance:
        pending_plans = []
        for plan in plans:
            emb, red, seed, rkey, pkey, jobs = plan
            todo = []
            for clu, lkey, result_key in jobs:
                done = store.finished(result_key) if store is not None else None
                if done is not None:
                    tally.reused["results"] += 1
                    results[result_key] = done
                    advance(1)
                else:
                    todo.append((clu, lkey, result_key))
            if todo:
                pending_plans.append((emb, red, seed, rkey, pkey, todo))
        # reductions (and proxy spaces) that are needed and not cached, each once
        reduce_futures: dict[str, tuple[Future, str]] = {}
        reduce_info: dict[str, dict[str, Any]] = {}
        for emb, red, seed, rkey, pkey, _ in pending_plans:
            for comp, key in ((red, rkey), (proxy, pkey)):
                if key in reduce_futures or key in reduce_info:
                    continue
                if cache.get("reduce", key) is not None:  # verified: a corrupt artifact is recomputed
                    tally.reused["reduce"] += 1
                    reduce_info[key] = {"error": None, "seconds": 0.0, "warnings": [], "reused": True}
                    continue
                runner = inline if _local_only(comp) else executor
                future = runner.submit(reduce_task, root, emb.key, comp.label, seed, key,
                                       {"stage": "reduce", "reducer": comp.label, "seed": seed,
                                        "encoder": emb.encoder, "dataset": emb.dataset})
                reduce_futures[key] = (future, comp.label)
        if reduce_futures:
            with progress.stage(f"reduce: {len(reduce_futures)} fit(s)", total=len(reduce_futures)) as step:
                for future in _completed(executor, inline, [f for f, _ in reduce_futures.values()]):
                    for key, (f, _) in reduce_futures.items():
                        if f is future:
                            reduce_info[key] = future.result()
                            tally.computed["reduce"] += 1
                    step(1)
        # clusterings
        cluster_jobs: dict[Future, tuple] = {}
        for emb, red, seed, rkey, pkey, todo in pending_plans:
            k = int(len(np.unique(emb.y)))
            for clu, lkey, result_key in todo:
                job = (emb, red, proxy, seed, rkey, pkey, clu, lkey, result_key)
                error = reduce_info[rkey]["error"] or memory_refusal(clu, len(emb.x), emb.x.shape[1])
                if error or cache.get("labels", lkey) is not None:
                    if not error:
                        tally.reused["labels"] += 1
                    results[result_key] = _finish(job, cache, spec, run_id, reduce_info, None, error, store, seeds)
                    advance(1)
                    continue
                runner = inline if _local_only(clu) else executor
                future = runner.submit(cluster_task, root, rkey, clu.label, seed, k, lkey,
                                       {"stage": "labels", "clusterer": clu.label, "seed": seed,
                                        "encoder": emb.encoder, "dataset": emb.dataset})
                cluster_jobs[future] = job
        for future in _completed(executor, inline, list(cluster_jobs)):
            outcome = future.result()
            tally.computed["labels"] += 1
            job = cluster_jobs[future]
            results[job[-1]] = _finish(job, cache, spec, run_id, reduce_info, outcome, outcome["error"], store, seeds)
            advance(1)
    # stages finish in any order; hand results back in plan order (embedding, reducer, seed, clusterer)
    return [results[key] for key in order]


def _completed(executor, inline, futures):
    done = [f for f in futures if f.done()]
    yield from done
    rest = [f for f in futures if not f.done()]
    if rest:
        yield from executor.as_completed(rest)


def _same(a: Component, b: Component) -> bool:
    return a.label == b.label and a.entry is b.entry


def stage_key(stage: str, spec: ProtocolSpec, input_key: str, comp: Component, estimator, seed: int) -> str:
    return cache_key({"stage": stage, "protocol": spec.version, "input": input_key,
                      "component": comp.label, "plugin": comp.entry.provenance,
                      "params": estimator.get_params(deep=False), "seed": int(seed)})


def _finish(job, cache: ArtifactCache, spec: ProtocolSpec, run_id: str, reduce_info, outcome, error,
            store, seeds: Sequence[int]) -> Result:
    from zsbench.core.metrics import score

    emb, red, proxy, seed, rkey, pkey, clu, lkey, result_key = job
    k = int(len(np.unique(emb.y)))
    timings = {"embed": emb.embed_seconds, "reduce": reduce_info[rkey]["seconds"],
               "proxy": 0.0 if pkey == rkey else reduce_info[pkey]["seconds"]}
    messages = list(reduce_info[rkey]["warnings"])
    if pkey != rkey:
        messages += [m.replace("reduce:", "proxy:", 1) for m in reduce_info[pkey]["warnings"]]
        if reduce_info[pkey]["error"]:
            messages.append(f"proxy: {reduce_info[pkey]['error']}; silhouette_proxy left empty")
    reused = [s for s, key in (("reduce", rkey),) if reduce_info[key].get("reused")]
    metrics: dict[str, Any] = {}
    if error is None:
        if outcome is None:
            reused.append("labels")
        else:
            timings["cluster"] = outcome["seconds"]
            messages += outcome["warnings"]
        pred = cache.get("labels", lkey)
        proxy_space = cache.get("reduce", pkey) if reduce_info[pkey]["error"] is None else None
        if pred is None:
            error = f"clusterer {clu.label} failed: its labels were lost from the cache; run again"
        else:
            start = time.perf_counter()
            metrics = score(emb.y, np.asarray(pred),
                            proxy_space=None if proxy_space is None else np.asarray(proxy_space),
                            original_space=emb.x, seed=seed, silhouette_max_samples=spec.silhouette_max_samples)
            timings["score"] = time.perf_counter() - start
    result = Result(
        encoder=emb.encoder, dataset=emb.dataset, reducer=red.label, clusterer=clu.label, seed=int(seed),
        status="failed" if error else "ok", error=error, metrics=metrics,
        config={**emb.config, "seed": int(seed), "seeds": [int(s) for s in seeds], "n_clusters_given": k,
                "reducer": red.describe(red.build(seed=seed)), "proxy_reducer": proxy.label,
                "clusterer": clu.describe(clu.build(seed=seed, n_clusters=k)), "warnings": messages,
                "reused": reused, "artifacts": {"reduce": rkey, "labels": lkey, "proxy": pkey,
                                                 "result": result_key}},
        timings=timings, protocol_version=spec.version,
        provenance={**emb.provenance, "plugins": {**emb.provenance.get("plugins", {}),
                                                  "reducer": red.entry.provenance,
                                                  "proxy_reducer": proxy.entry.provenance,
                                                  "clusterer": clu.entry.provenance}},
        created_at=datetime.now(UTC).isoformat(timespec="seconds"), run_id=run_id)
    if store is not None:
        store.add(result, result_key)  # a failed row carries its key: a re-run replaces it
    return result
