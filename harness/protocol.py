"""The standard protocol: embed -> reduce -> cluster -> score. Core code, not a plugin.

Within one run the embedding is computed once, each reduction is fitted once per seed and shared
by every clusterer, and the proxy (UMAP-50) space is fitted once per seed, or reused when the
run's reducer is the proxy reducer with the same parameters.
"""

from __future__ import annotations

import contextlib
import time
import tomllib
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import numpy as np

from zsbench.catalog import Catalog, Entry, parse_spec
from zsbench.errors import InvalidInputError, ZsbenchError
from zsbench.progress import NullProgress, Progress
from zsbench.types import Dataset, Result


@dataclass(frozen=True)
class ProtocolSpec:
    version: str
    reducer: str
    proxy_reducer: str
    clusterers: tuple[str, ...]
    seeds: int
    silhouette_max_samples: int
    default_encoder: str
    default_dataset: str


def load_spec(version: str = "1") -> ProtocolSpec:
    try:
        text = resources.files("zsbench").joinpath(f"protocols/standard-{version}.toml").read_text()
    except FileNotFoundError:
        raise ZsbenchError(f"unknown protocol version {version!r}; this zsbench knows version 1") from None
    data = tomllib.loads(text)
    data["clusterers"] = tuple(data["clusterers"])
    return ProtocolSpec(**data)


@dataclass(frozen=True)
class Component:
    """A catalog entry plus user parameters, e.g. ``pca:n_components=0.9``."""

    label: str
    entry: Entry
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def resolve(cls, catalog: Catalog, kind: str, spec: str) -> Component:
        name, params = parse_spec(spec)
        entry = catalog.get(kind, name)
        if "random_state" in params or params.get("n_clusters", None) is not None:
            raise ZsbenchError(
                f"{spec}: random_state and n_clusters are set by the protocol (the seed, and the "
                "number of classes); only n_clusters=None, 'find k yourself', may be given")
        label = name + (":" + ",".join(f"{k}={v!r}" for k, v in sorted(params.items()))
                        if params else "")
        component = cls(label, entry, params)
        component.build(seed=0, n_clusters=2)  # fail now, before any work, on a bad parameter
        return component

    def build(self, *, seed: int, n_clusters: int | None = None) -> Any:
        estimator = self.entry.create()
        try:
            if self.params:
                estimator.set_params(**self.params)
        except (ValueError, TypeError) as exc:
            raise ZsbenchError(f"{self.label}: {exc}") from None
        own = estimator.get_params(deep=False)
        updates: dict[str, Any] = {}
        if "random_state" in own:
            updates["random_state"] = seed
        if n_clusters is not None and own.get("n_clusters") is not None:
            updates["n_clusters"] = n_clusters
        return estimator.set_params(**updates) if updates else estimator

    def describe(self, estimator: Any) -> dict[str, Any]:
        return {"label": self.label, "class": f"{type(estimator).__module__}.{type(estimator).__name__}",
                "params": estimator.get_params(deep=False)}


# -- stages -----------------------------------------------------------------------------------------

def embed(encoder: Any, dataset: Dataset, label: str, progress: Progress) -> np.ndarray:
    n = len(dataset)
    if n == 0:
        raise InvalidInputError(f"{label}: the dataset is empty")
    batches = []
    with progress.stage(f"embed {label}", total=n) as advance:
        for batch in encoder.embed(dataset):
            batch = np.asarray(batch)
            if batch.ndim != 2:
                raise InvalidInputError(
                    f"{label}: the encoder yielded a batch of shape {batch.shape}; expected 2-d")
            batches.append(batch.astype(np.float32, copy=False))
            advance(len(batch))
    x = np.concatenate(batches) if batches else np.empty((0, 0), np.float32)
    if len(x) != n:
        raise InvalidInputError(f"{label}: the encoder returned {len(x)} embeddings for {n} images")
    return x


class _Warnings:
    """Collect library warnings of a stage into its result instead of spraying them on stderr."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    @contextlib.contextmanager
    def capture(self, stage: str) -> Iterator[None]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # umap-learn warns that a fixed random_state disables parallelism: that is the point
            warnings.filterwarnings("ignore", message=".*overridden to 1 by setting random_state.*")
            yield
        for w in caught:
            text = f"{stage}: {w.category.__name__}: {w.message}"
            if text not in self.messages:
                self.messages.append(text)


def _fit_reduce(component: Component, x: np.ndarray, seed: int) -> tuple[np.ndarray, dict, float]:
    start = time.perf_counter()
    reducer = component.build(seed=seed)
    z = np.asarray(reducer.fit_transform(x), dtype=np.float32)
    if z.ndim != 2 or len(z) != len(x) or not np.isfinite(z).all():
        raise ValueError(f"reducer returned an invalid array of shape {z.shape}")
    return z, component.describe(reducer), time.perf_counter() - start


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def evaluate(
    x: np.ndarray,
    y: np.ndarray,
    *,
    encoder: str,
    dataset: str,
    reducer: Component,
    clusterers: Sequence[Component],
    seeds: Sequence[int],
    proxy: Component,
    spec: ProtocolSpec,
    run_id: str,
    config: dict[str, Any],
    provenance: dict[str, Any],
    embed_seconds: float = 0.0,
    progress: Progress | None = None,
    on_result: Callable[[Result], None] = lambda r: None,
) -> list[Result]:
    """Reduce, cluster and score ``x`` against labels ``y`` for every seed and clusterer.

    A failing reducer or clusterer is recorded as a failed result with its reason; the rest of the
    grid goes on. ``on_result`` sees each result as soon as it exists (the store writes it then).
    """
    progress = progress or NullProgress()
    k = int(len(np.unique(y)))
    same_space = reducer.label == proxy.label and reducer.entry is proxy.entry
    results: list[Result] = []
    for seed in seeds:
        timings: dict[str, float] = {"embed": embed_seconds}
        reduced = proxy_space = None
        reduce_error = None
        reducer_config: dict[str, Any] = {}
        seed_warnings = _Warnings()
        with progress.stage(f"reduce {reducer.label} seed {seed}"), seed_warnings.capture("reduce"):
            try:
                reduced, reducer_config, timings["reduce"] = _fit_reduce(reducer, x, seed)
            except Exception as exc:
                reduce_error = f"reducer {reducer.label} failed: {type(exc).__name__}: {exc}"
        if same_space:
            proxy_space, timings["proxy"] = reduced, 0.0
        else:
            with progress.stage(f"proxy space {proxy.label} seed {seed}"), seed_warnings.capture("proxy"):
                try:
                    proxy_space, _, timings["proxy"] = _fit_reduce(proxy, x, seed)
                except Exception as exc:
                    progress.note(f"proxy space {proxy.label} failed ({exc}); "
                                  "silhouette_proxy is left empty")
        for comp in clusterers:
            row_timings = dict(timings)
            error, metrics, clusterer_config = reduce_error, {}, {"label": comp.label}
            row_warnings = _Warnings()
            row_warnings.messages = list(seed_warnings.messages)
            if error is None:
                with progress.stage(f"{comp.label} seed {seed}"), row_warnings.capture("cluster"):
                    try:
                        start = time.perf_counter()
                        estimator = comp.build(seed=seed, n_clusters=k)
                        clusterer_config = comp.describe(estimator)
                        pred = np.asarray(estimator.fit_predict(reduced)).astype(np.int64)
                        if pred.shape != y.shape:
                            raise ValueError(f"returned {pred.shape} labels for {len(y)} samples")
                        row_timings["cluster"] = time.perf_counter() - start
                        start = time.perf_counter()
                        metrics = _score(y, pred, proxy_space, x, seed, spec)
                        row_timings["score"] = time.perf_counter() - start
                    except Exception as exc:
                        error = f"clusterer {comp.label} failed: {type(exc).__name__}: {exc}"
            result = Result(
                encoder=encoder, dataset=dataset, reducer=reducer.label, clusterer=comp.label,
                seed=int(seed), status="failed" if error else "ok", error=error, metrics=metrics,
                config={**config, "seed": int(seed), "seeds": [int(s) for s in seeds],
                        "n_clusters_given": k, "reducer": reducer_config or {"label": reducer.label},
                        "proxy_reducer": proxy.label, "clusterer": clusterer_config,
                        "warnings": row_warnings.messages},
                timings=row_timings, protocol_version=spec.version,
                provenance={**provenance, "plugins": {
                    **provenance.get("plugins", {}), "reducer": reducer.entry.provenance,
                    "proxy_reducer": proxy.entry.provenance, "clusterer": comp.entry.provenance}},
                created_at=_now(), run_id=run_id,
            )
            on_result(result)
            results.append(result)
    return results


def _score(y, pred, proxy_space, x, seed, spec) -> dict[str, Any]:
    from zsbench.metrics import score

    return score(y, pred, proxy_space=proxy_space, original_space=x, seed=seed,
                 silhouette_max_samples=spec.silhouette_max_samples)
