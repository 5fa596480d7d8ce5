"""The last step of a clustering job: score its labels and make (and store) its result."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from zsbench.core.result import Result
from zsbench.engine.jobs import ClusterJob, Outcome, Scoring


def finish(job: ClusterJob, outcome: Outcome, reductions: Mapping[str, Outcome], scoring: Scoring) -> Result:
    """The result of ``job`` (failed when ``outcome`` or its reduction failed), stored when there is a store."""
    from zsbench.core.metrics import score

    emb, red, clu = job.embedding, job.reduce.component, job.clusterer
    rkey, pkey, seed, spec, cache = job.reduce.key, job.proxy.key, job.seed, scoring.spec, scoring.cache
    reduction, space = reductions[rkey], reductions[pkey]
    timings = {"embed": emb.embed_seconds, "reduce": reduction.seconds, "proxy": 0.0 if pkey == rkey else space.seconds}
    messages = list(reduction.warnings)
    if pkey != rkey:
        messages += [m.replace("reduce:", "proxy:", 1) for m in space.warnings]
        if space.error:
            messages.append(f"proxy: {space.error}; silhouette_proxy left empty")
    reused = ["reduce"] if reduction.reused else []
    metrics: dict[str, Any] = {}
    error = outcome.error
    if error is None:
        if outcome.reused:
            reused.append("labels")
        else:
            timings["cluster"] = outcome.seconds
            messages += outcome.warnings
        pred = cache.get("labels", job.key)
        proxy_space = cache.get("reduce", pkey) if space.error is None else None
        if pred is None:
            error = f"clusterer {clu.label} failed: its labels were lost from the cache; run again"
        else:
            start = time.perf_counter()
            metrics = score(
                emb.y,
                np.asarray(pred),
                proxy_space=None if proxy_space is None else np.asarray(proxy_space),
                original_space=emb.x,
                seed=seed,
                silhouette_max_samples=spec.silhouette_max_samples,
            )
            timings["score"] = time.perf_counter() - start
    proxy = job.proxy.component
    result = Result(
        encoder=emb.encoder,
        dataset=emb.dataset,
        reducer=red.label,
        clusterer=clu.label,
        seed=int(seed),
        status="failed" if error else "ok",
        error=error,
        metrics=metrics,
        config={
            **emb.config,
            "seed": int(seed),
            "seeds": list(scoring.seeds),
            "n_clusters_given": job.n_clusters,
            "reducer": red.describe(red.build(seed=seed)),
            "proxy_reducer": proxy.label,
            "clusterer": clu.describe(clu.build(seed=seed, n_clusters=job.n_clusters)),
            "warnings": messages,
            "reused": reused,
            "artifacts": {"reduce": rkey, "labels": job.key, "proxy": pkey, "result": job.result_key},
        },
        timings=timings,
        protocol_version=spec.version,
        provenance={
            **emb.provenance,
            "plugins": {
                **emb.provenance.get("plugins", {}),
                "reducer": red.entry.provenance,
                "proxy_reducer": proxy.entry.provenance,
                "clusterer": clu.entry.provenance,
            },
        },
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        run_id=scoring.run_id,
    )
    if scoring.store is not None:
        scoring.store.add(result, job.result_key)  # a failed row carries its key: a re-run replaces it
    return result
