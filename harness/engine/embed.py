"""Embedding a dataset: load it, check an encoder's weights option, and embed the selected samples, keyed by
the encoder's identity (:func:`zsbench.engine.keys.embed_key`), from the artifact cache, on an executor
that runs embedding, or here.

`zsbench run` (:func:`zsbench.engine.pipeline.run_datasets`, and its ``--knn`` train partitions) and
`zsbench proxy --choose` (:mod:`zsbench.analysis.proxy.choice`) embed through :func:`embed_samples`, so an
embedding computed by one is found in the cache by the others.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.core.catalog import Entry
from zsbench.core.identity import describe
from zsbench.core.names import shown
from zsbench.core.progress import Progress
from zsbench.core.protocol import embed
from zsbench.core.provenance import environment, imported_versions
from zsbench.engine.inputs import DatasetView, check_classes, check_embeddings
from zsbench.engine.jobs import Embedding
from zsbench.engine.keys import embed_key
from zsbench.engine.request import RunRequest
from zsbench.engine.session import DEFAULT_EXECUTOR, cached_embedding
from zsbench.engine.stages import embed_task
from zsbench.plugin.errors import InvalidInputError, ZsbenchError
from zsbench.storage.cache import ArtifactCache


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


@dataclass(frozen=True)
class Samples:
    """The samples an encoder embeds: the dataset's entry, the options it was loaded with (a worker loads
    it again with them), the samples selected and their fingerprint (:func:`zsbench.engine.keys.sample_fingerprint`)."""

    dataset: Entry
    options: Mapping[str, Any]
    view: DatasetView
    fingerprint: str


def embed_samples(
    request: RunRequest,
    encoder: Entry,
    encoder_options: Mapping[str, Any],
    samples: Samples,
    *,
    cache: ArtifactCache,
    executor: Any,
    progress: Progress,
) -> Embedded:
    """The embedding of ``samples`` by ``encoder`` (with its options, resolved from the request's), keyed by
    the encoder's identity (:func:`zsbench.engine.keys.embed_key`) under the request's protocol: from the
    cache, on the request's executor (``executor``, open) if it runs embedding, or here. Checked (2-d,
    finite) and cached."""
    spec, ds_entry, view = request.spec, samples.dataset, samples.view
    options = dict(encoder_options)
    label = f"{encoder.name} on {ds_entry.name}"
    check_weights(options, encoder.name)  # a run said so already (with_options); proxy --choose has no --weights
    with progress.stage(f"load encoder {encoder.name}"):
        enc = encoder.create(**options)
    described = describe(encoder.name, encoder.plugin, enc, options)
    key = embed_key(spec, encoder, described, ds_entry.name, samples.fingerprint)
    start = time.perf_counter()
    made = {"stage": "embed", "encoder": encoder.name, "dataset": ds_entry.name}
    cached = cached_embedding(cache, key, spec, encoder, described, ds_entry.name, view)
    rows_of = None
    if cached is not None:
        x, where, rows_of, packages = cached.x, "cache", cached.rows_of, cached.packages
        if packages is None:  # an entry that does not say (an older zsbench's, a worker's): this process's
            packages = imported_versions()
    elif getattr(executor, "runs_embedding", False) and "__main__" not in (encoder.distribution, ds_entry.distribution):
        # on a worker; a GPU worker if the encoder says it wants one (the hint is dropped if none has)
        with progress.stage(f"embed {label} on executor {request.executor or DEFAULT_EXECUTOR}"):
            outcome = executor.submit(
                embed_task,
                str(cache.root),
                key,
                encoder.name,
                options,
                ds_entry.name,
                dict(samples.options),
                view.positions.tolist(),
                made,
                resources={"GPU": 1} if encoder.meta.get("gpu") else None,
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
    request: RunRequest,
    encoder: Entry,
    encoder_options: Mapping[str, Any],
    samples: Samples,
    y: np.ndarray,
    dataset_config: dict[str, Any],
    *,
    cache: ArtifactCache,
    executor: Any,
    progress: Progress,
) -> Embedding:
    """A run's embedding of a dataset's selected samples (:func:`embed_samples`), labelled ``y``, with the
    configuration its results record (``dataset_config``: the dataset's part of it)."""
    e = embed_samples(request, encoder, encoder_options, samples, cache=cache, executor=executor, progress=progress)
    ds_entry = samples.dataset
    check_classes(y, len(e.x), f"{encoder.name} on {ds_entry.name}")
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
        "plugins": {"encoder": encoder.provenance, "dataset": ds_entry.provenance},
    }
    return Embedding(e.x, y, encoder.name, ds_entry.name, e.key, config, provenance, e.seconds)
