"""Choosing a clusterer without labels (`zsbench proxy --choose`): the highest silhouette in the
protocol's proxy space.

It runs the stages `zsbench run` runs (:mod:`zsbench.engine.embed`, :mod:`zsbench.engine.jobs`: the
same sample selection, embedding key, reduction and clustering keys and tasks, through the same
executor), so a choice and a run on the same images share their cached stages.
"""

from __future__ import annotations

import math
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from zsbench.core.progress import NullProgress, Progress


@dataclass(frozen=True)
class Candidate:
    """One clustering of the proxy space, scored by its silhouette there."""

    clusterer: str
    n_clusters: int | None  # the k it was given; None: it finds k itself
    found: int  # clusters found (HDBSCAN noise not counted)
    noise: float  # fraction of points labelled noise (-1)
    silhouette: float | None  # in the proxy space, noise as one cluster; None where undefined
    ami: float | None = None  # a check the labels allow, never used to choose; None without labels
    error: str | None = None
    labels_key: str | None = None  # where its predicted labels are in the artifact cache ("labels")

    @property
    def settings(self) -> str:
        return "finds k" if self.n_clusters is None else f"k={self.n_clusters}"

    def describe(self) -> str:
        noise = f" (+{100 * self.noise:.0f}% noise)" if self.noise else ""
        sil = "n/a" if self.silhouette is None else f"{self.silhouette:.4f}"
        return f"{self.clusterer}, {self.settings}, {self.found} clusters{noise}, silhouette {sil}"


@dataclass(frozen=True)
class Choice:
    encoder: str
    dataset: str
    seed: int
    space: str  # the proxy reducer's label
    n_samples: int
    n_labelled: int  # images with a label; the AMI check is over these
    n_classes: int  # distinct labels among them; below 2 there is no check
    candidates: list[Candidate]  # highest silhouette first; undefined and failed ones last

    @property
    def chosen(self) -> Candidate | None:
        first = self.candidates[0] if self.candidates else None
        return first if first is not None and first.silhouette is not None else None

    @property
    def checked(self) -> bool:
        return self.n_classes >= 2

    @property
    def best(self) -> Candidate | None:
        """The candidate the labels would have picked (highest AMI): for the check only."""
        scored = [c for c in self.candidates if c.ami is not None]
        # every scored candidate has an AMI; the -inf is never used, it only tells mypy so
        return max(scored, key=lambda c: c.ami if c.ami is not None else -math.inf) if scored else None


def _min_images(proxy_estimator, k_max: int) -> int:
    # UMAP's spectral initialisation needs more points than output dimensions (+1); every
    # candidate needs more points than clusters for its silhouette to exist
    dims = proxy_estimator.get_params(deep=False).get("n_components")
    return max(k_max + 1, dims + 2 if isinstance(dims, int) else 3)


def choose(
    encoder: str,
    dataset: str,
    *,
    k_min: int = 2,
    k_max: int = 30,
    seed: int = 0,
    max_samples: int | None = None,
    dataset_options: dict | None = None,
    cache=None,
    executor: str | None = None,
    executor_options: dict | None = None,
    progress: Progress | None = None,
    protocol: str = "1",
) -> Choice:
    """Choose a clusterer for ``encoder`` on ``dataset`` without labels: the highest silhouette in the
    protocol's proxy space (UMAP-50, seed ``seed``, fitted once).

    Candidates: each protocol clusterer that finds k itself, with its standard settings, and each
    one that needs k, for every k in [k_min, k_max]. Embedding, reduction and every clustering go
    through the artifact cache with the keys `zsbench run` uses, so reruns and runs share them.
    Labels, where the dataset has them, are read only after the choice, for the AMI check.
    """
    from zsbench.core.catalog import build_catalog
    from zsbench.core.protocol import Component
    from zsbench.engine import dispatch, embed, grid
    from zsbench.engine.inputs import prepare_labels, select_all_samples
    from zsbench.engine.jobs import Tally, reduce_job
    from zsbench.engine.keys import labels_key, sample_fingerprint
    from zsbench.engine.params import Params
    from zsbench.engine.refusals import memory_refusal
    from zsbench.engine.request import RunRequest
    from zsbench.engine.session import open_cache, open_executor
    from zsbench.engine.stages import candidate_task
    from zsbench.plugin.errors import InvalidInputError, check_seed

    if k_min < 2 or k_max < k_min:
        raise InvalidInputError(f"--k-min {k_min} --k-max {k_max}: need 2 <= k-min <= k-max")
    check_seed(seed, "--seed")
    # the run this choice is, as `zsbench run` would be asked it: one encoder, one dataset, one seed, no store
    request = RunRequest(
        encoders=encoder,
        datasets=dataset,
        seeds=[seed],
        protocol=protocol,
        dataset_options=dataset_options,
        max_samples=max_samples,
        executor=executor,
        executor_options=executor_options,
        store=False,
        cache=cache,
    )
    spec = request.spec
    progress = progress or NullProgress()
    catalog = build_catalog()
    # "raw-pixels:size=16": an encoder with options, as `zsbench run --encoder` takes it
    (enc_entry, enc_options), ds_entry = catalog.with_options("encoders", encoder), catalog.get("datasets", dataset)
    proxy = Component.resolve(catalog, "reducers", spec.proxy_reducer)
    clusterers = [Component.resolve(catalog, "clusterers", c) for c in spec.clusterers]
    with open_cache(request.cache) as art, open_executor(catalog, request.executor, request.executor_options) as pool:
        ds = embed.load_dataset(ds_entry, request.dataset_options, progress)
        view, selection = select_all_samples(ds, ds_entry.name, progress, max_samples=request.max_samples)
        need = _min_images(proxy.build(seed=seed), k_max)
        if len(view) < need:
            raise InvalidInputError(
                f"dataset {ds_entry.name}: {len(view)} images; choosing a clusterer needs at least {need} "
                f"(more than the {proxy.label} space's dimensions + 1 and than --k-max {k_max}); "
                "add images or lower --k-max"
            )
        samples = embed.Samples(ds_entry, request.dataset_options or {}, view, sample_fingerprint(view, selection))
        emb = embed.embed_samples(request, enc_entry, enc_options, samples, cache=art, executor=pool, progress=progress)
        # the proxy space, keyed and fitted as the grid does: shared with `zsbench run` for the same seed
        space = reduce_job(spec, proxy, seed, emb.key, enc_entry.name, ds_entry.name)
        outcome = grid.reduce_all(
            [space],
            art,
            pool,
            progress,
            Tally(),
            title=f"reduce: {proxy.label} (seed {seed}) of {len(emb.x)} embeddings",
        )[space.key]
        if outcome.error:
            raise InvalidInputError(f"{enc_entry.name} on {ds_entry.name}: {outcome.error}")
        dims = int(np.asarray(art.get("reduce", space.key)).shape[1])
        jobs: list[tuple[Any, int | None]] = []  # (component, k or None)
        for clu in clusterers:
            takes_k = clu.build(seed=seed).get_params(deep=False).get("n_clusters") is not None
            jobs += [(clu, k) for k in range(k_min, k_max + 1)] if takes_k else [(clu, None)]
        outcomes: dict[int, dict[str, Any]] = {}
        futures: dict[Future, tuple[int, str]] = {}
        for i, (clu, k) in enumerate(jobs):
            refusal = memory_refusal(clu, len(emb.x), dims)
            if refusal:
                outcomes[i] = {"error": refusal}
                continue
            key = labels_key(spec, space.key, clu, Params().text(clu, seed=seed, n_clusters=k), seed)
            futures[
                dispatch.submit(
                    pool,
                    clu,
                    candidate_task,
                    str(art.root),
                    space.key,
                    clu.label,
                    seed,
                    k,
                    key,
                    {
                        "stage": "labels",
                        "clusterer": clu.label,
                        "seed": seed,
                        "encoder": enc_entry.name,
                        "dataset": ds_entry.name,
                    },
                    spec.silhouette_max_samples,
                )
            ] = (i, key)
        with progress.stage(f"cluster: {len(jobs)} candidate(s)", total=len(jobs)) as advance:
            advance(len(outcomes))
            for future in dispatch.completed(pool, futures):
                i, key = futures[future]
                outcomes[i] = {**future.result(), "key": key}
                advance(1)
        found = _candidates(jobs, outcomes, art, spec)
        # the choice is made; labels come in now, for the check only
        y, has = prepare_labels(view.labels, f"dataset {ds_entry.name}", NullProgress())
        n_classes = int(len(np.unique(y)))
        if n_classes >= 2:  # AMI over the labelled images; unlabelled ones were clustered too
            found = _checked(found, y, has, art)
    return Choice(enc_entry.name, ds_entry.name, seed, proxy.label, len(emb.x), int(has.sum()), n_classes, found)


def _candidates(jobs, outcomes: dict[int, dict[str, Any]], art, spec) -> list[Candidate]:
    """The candidates, highest silhouette first, from the clusterings alone (no labels)."""
    found = []
    for i, (clu, k) in enumerate(jobs):
        out = outcomes[i]
        if out["error"]:
            found.append(Candidate(clu.label, k, 0, 0.0, None, error=out["error"]))
            continue
        pred = np.asarray(art.get("labels", out["key"]))
        found.append(
            Candidate(
                clu.label,
                k,
                int(len(np.unique(pred[pred >= 0]))),
                float((pred < 0).mean()),
                out["silhouette"],
                labels_key=out["key"],
            )
        )
    found.sort(
        key=lambda c: (
            c.error is not None,
            c.silhouette is None,
            -(c.silhouette or 0.0),
            spec.clusterers.index(c.clusterer),
            c.n_clusters or 0,
        )
    )
    return found


def _checked(found: list[Candidate], y: np.ndarray, has: np.ndarray, art) -> list[Candidate]:
    from zsbench.core.metrics import label_scores

    return [
        c
        if c.error is not None
        else replace(c, ami=label_scores(y, np.asarray(art.get("labels", c.labels_key))[has])["ami"])
        for c in found
    ]
