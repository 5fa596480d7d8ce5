"""The jobs of a grid as small frozen dataclasses, built with their keys (:func:`reduce_job`, :func:`cluster_job`).

A key is a hash of everything that determines a stage or a result, built in :mod:`zsbench.engine.keys`
from the component's parameters (:class:`~zsbench.engine.params.Params`): `zsbench run` and `zsbench proxy
--choose` key their reductions and clusterings with the same functions, so each reuses what the other
computed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zsbench.core.protocol import Component, ProtocolSpec
from zsbench.engine.keys import labels_key, reduce_key, result_key
from zsbench.engine.params import Params
from zsbench.storage.cache import ArtifactCache


@dataclass(eq=False)
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


@dataclass(frozen=True)
class Outcome:
    """What became of one stage: its error (None: done), seconds, warnings, and whether it was reused."""

    error: str | None = None
    seconds: float = 0.0
    warnings: tuple[str, ...] = ()
    reused: bool = False  # from the artifact cache, not computed

    @classmethod
    def of(cls, report: Mapping[str, Any]) -> Outcome:
        """From the plain dictionary a stage task returns (tasks cross processes as plain data)."""
        return cls(report.get("error"), float(report.get("seconds", 0.0)), tuple(report.get("warnings", ())))


REUSED = Outcome(reused=True)


@dataclass(frozen=True, eq=False)
class ReduceJob:
    """One reduction: ``component`` fitted with ``seed`` on the embedding ``input_key``, stored at ``key``."""

    component: Component
    seed: int
    input_key: str
    key: str
    encoder: str
    dataset: str

    @property
    def spec(self) -> dict[str, Any]:
        return {
            "stage": "reduce",
            "reducer": self.component.label,
            "seed": self.seed,
            "encoder": self.encoder,
            "dataset": self.dataset,
        }


@dataclass(frozen=True, eq=False)
class ClusterJob:
    """One clustering of a reduction, and the result it becomes (scored in the proxy space ``proxy``)."""

    embedding: Embedding
    reduce: ReduceJob
    proxy: ReduceJob  # the same job as ``reduce`` when the run's reducer is the proxy reducer
    clusterer: Component
    n_clusters: int
    key: str  # of the labels
    result_key: str  # of the scored result in the store

    @property
    def seed(self) -> int:
        return self.reduce.seed

    @property
    def spec(self) -> dict[str, Any]:
        return {
            "stage": "labels",
            "clusterer": self.clusterer.label,
            "seed": self.seed,
            "encoder": self.embedding.encoder,
            "dataset": self.embedding.dataset,
        }


def reduce_job(
    spec: ProtocolSpec,
    component: Component,
    seed: int,
    input_key: str,
    encoder: str,
    dataset: str,
    params: Params | None = None,
) -> ReduceJob:
    """The reduction of embedding ``input_key`` by ``component`` with ``seed``, keyed as every run keys it
    (:func:`~zsbench.engine.keys.reduce_key`; ``params``: a run's, with the memo; default: build the reducer)."""
    text = (params or Params()).text(component, seed=seed)
    return ReduceJob(component, seed, input_key, reduce_key(spec, input_key, component, text, seed), encoder, dataset)


def cluster_job(
    spec: ProtocolSpec,
    embedding: Embedding,
    reduction: ReduceJob,
    proxy: ReduceJob,
    clusterer: Component,
    n_clusters: int,
    params: Params,
) -> ClusterJob:
    """The clustering of ``reduction`` by ``clusterer`` given ``n_clusters``, scored in the space ``proxy``:
    its labels and its result keyed as every run keys them (:func:`~zsbench.engine.keys.labels_key`,
    :func:`~zsbench.engine.keys.result_key`)."""
    text = params.text(clusterer, seed=reduction.seed, n_clusters=n_clusters)
    labels = labels_key(spec, reduction.key, clusterer, text, reduction.seed)
    result = result_key(spec, labels, proxy.key, embedding.config.get("encoder") or {}, embedding.dataset)
    return ClusterJob(embedding, reduction, proxy, clusterer, n_clusters, labels, result)


@dataclass(frozen=True)
class Scoring:
    """What scoring a result needs besides its job: the protocol, the run, the cache and the store."""

    spec: ProtocolSpec
    run_id: str
    seeds: tuple[int, ...]
    cache: ArtifactCache
    store: Any = None  # a ResultStore, or None: results are not stored
