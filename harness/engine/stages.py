"""The stage tasks an executor runs: each reads its input from the artifact cache and writes its
output there, so only small dictionaries travel between processes or machines.

They are module-level functions of the core so any worker with zsbench (and the plugins a grid
uses) installed can import and run them.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np


@contextlib.contextmanager
def _recording(stage: str) -> Iterator[list[str]]:
    """Collect a stage's library warnings (distinct, prefixed with the stage) into the yielded list."""
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # umap-learn: a fixed random_state disables parallelism, which is the point
        warnings.filterwarnings("ignore", message=".*overridden to 1 by setting random_state.*")
        warnings.filterwarnings("ignore", category=ImportWarning)  # a library's first import in a worker
        # numba: a kernel its disk cache cannot hold (pynndescent's NN-descent takes a function argument)
        # compiles in this process, as without the cache (zsbench.plugin.cached_jit): nothing to act on
        warnings.filterwarnings("ignore", message=".*[Cc]annot cache compiled function")
        yield messages
    for w in caught:
        text = f"{stage}: {w.category.__name__}: {w.message}"
        if text not in messages:
            messages.append(text)


def _component(kind: str, label: str):
    from zsbench.core.catalog import build_catalog
    from zsbench.core.protocol import Component

    return Component.resolve(build_catalog(), kind, label)


def _stage(
    stage: str,
    output: str,
    what: str,
    cache_root: str,
    input_stage: str,
    input_key: str,
    key: str,
    spec: dict[str, Any],
    work: Callable[[np.ndarray], np.ndarray],
) -> dict[str, Any]:
    """Read ``input_key`` of ``input_stage`` from the cache, ``work`` on it, store the result at ``key``; any
    failure (even a plugin's SystemExit) comes back as the outcome's one-line ``error`` (the grid records it
    as a failed result)."""
    from zsbench.core.isolation import plugin_code, reason
    from zsbench.storage.cache import ArtifactCache

    start = time.perf_counter()
    try:
        cache = ArtifactCache(cache_root)
        x = cache.get(input_stage, input_key)
        if x is None:
            raise RuntimeError(f"{INPUTS[input_stage]} {input_key[:12]} is missing from the cache at {cache_root}")
        with _recording(stage) as messages, plugin_code():
            out = work(np.asarray(x))
        cache.put(output, key, out, spec)
        return {"error": None, "seconds": time.perf_counter() - start, "warnings": messages}
    except StageError as exc:  # already says what went wrong and what is expected
        return {"error": str(exc), "seconds": time.perf_counter() - start, "warnings": []}
    except Exception as exc:
        return {"error": f"{what} failed: {reason(exc)}", "seconds": time.perf_counter() - start, "warnings": []}


class StageError(Exception):
    """A component's output the protocol cannot use; the message is the failed result's whole error."""


def integer_labels(pred: np.ndarray, label: str) -> np.ndarray:
    """``pred`` as int64 labels: integer or boolean values, or floats that are whole numbers (some libraries
    return those); anything else (0.5, NaN, strings) is a :class:`StageError`, never silently truncated."""

    def refuse(example: Any) -> StageError:
        return StageError(
            f"clusterer {label} returned non-integer labels (e.g. {example!r}); labels must be integers, -1 for noise"
        )

    if pred.dtype.kind in "iub":
        return pred.astype(np.int64)
    if pred.dtype.kind == "f":
        bad = ~np.isfinite(pred) | (pred != np.round(pred)) | (np.abs(pred) > 2.0**62)
        if bad.any():
            raise refuse(float(pred[bad][0]))
        return pred.astype(np.int64)
    if pred.dtype.kind == "O":
        odd = [v for v in pred.tolist() if not isinstance(v, int | np.integer | np.bool_)]
        if not odd:
            return pred.astype(np.int64)
        raise refuse(odd[0].item() if isinstance(odd[0], np.generic) else odd[0])
    raise refuse(pred.tolist()[0] if pred.size else pred.dtype.name)


INPUTS = {"embed": "embedding", "reduce": "reduction"}


def reduce_task(
    cache_root: str, input_key: str, label: str, seed: int, key: str, spec: dict[str, Any]
) -> dict[str, Any]:
    """Fit reducer ``label`` with ``seed`` on embedding ``input_key``; store the reduction at ``key``."""

    def work(x: np.ndarray) -> np.ndarray:
        z = np.asarray(_component("reducers", label).build(seed=seed).fit_transform(x), dtype=np.float32)
        if z.ndim != 2 or len(z) != len(x) or not np.isfinite(z).all():
            raise ValueError(f"reducer returned an invalid array of shape {z.shape}")
        return z

    return _stage("reduce", "reduce", f"reducer {label}", cache_root, "embed", input_key, key, spec, work)


def cluster_task(
    cache_root: str, input_key: str, label: str, seed: int, n_clusters: int | None, key: str, spec: dict[str, Any]
) -> dict[str, Any]:
    """Run clusterer ``label`` on reduction ``input_key``; store its labels at ``key``."""

    def work(z: np.ndarray) -> np.ndarray:
        estimator = _component("clusterers", label).build(seed=seed, n_clusters=n_clusters)
        pred = np.asarray(estimator.fit_predict(z))
        if pred.shape != (len(z),):
            raise ValueError(f"returned {pred.shape} labels for {len(z)} samples")
        return integer_labels(pred, label)

    return _stage("cluster", "labels", f"clusterer {label}", cache_root, "reduce", input_key, key, spec, work)


def embed_task(
    cache_root: str,
    key: str,
    encoder: str,
    encoder_options: dict[str, Any],
    dataset: str,
    dataset_options: dict[str, Any],
    positions: list[int],
    spec: dict[str, Any],
) -> dict[str, Any]:
    """Embed the samples ``positions`` of ``dataset`` with ``encoder`` on this worker; store at ``key``."""
    import os
    import socket

    from zsbench.core.catalog import build_catalog
    from zsbench.core.progress import NullProgress
    from zsbench.core.protocol import embed
    from zsbench.core.provenance import imported_versions
    from zsbench.engine.inputs import DatasetView
    from zsbench.storage.cache import ArtifactCache

    start = time.perf_counter()
    try:
        catalog = build_catalog()
        view = DatasetView(catalog.get("datasets", dataset).create(**dataset_options), np.asarray(positions))
        encoder_obj = catalog.get("encoders", encoder).create(**encoder_options)
        x = embed(encoder_obj, view, f"{encoder} on {dataset}", NullProgress())
        # the libraries the encoder embedded with, read where they were imported: this worker
        packages = imported_versions()
        ArtifactCache(cache_root).put("embed", key, x, {**spec, "packages": packages})
        return {
            "error": None,
            "seconds": time.perf_counter() - start,
            "worker": f"{socket.gethostname()}:{os.getpid()}",
            "packages": packages,
        }
    except Exception as exc:
        return {
            "error": f"embedding {encoder} on {dataset} failed on a worker: {type(exc).__name__}: {exc}",
            "seconds": time.perf_counter() - start,
        }


def candidate_task(
    cache_root: str,
    space_key: str,
    label: str,
    seed: int,
    n_clusters: int | None,
    key: str,
    spec: dict[str, Any],
    silhouette_max_samples: int,
) -> dict[str, Any]:
    """A candidate of `zsbench proxy --choose`: the clustering (from the cache, else :func:`cluster_task`)
    and its silhouette in the space it was fitted on, on the worker, so the silhouettes run in parallel too."""
    from zsbench.core.metrics import silhouette
    from zsbench.storage.cache import ArtifactCache

    cache = ArtifactCache(cache_root)
    outcome: dict[str, Any] = {"error": None, "warnings": [], "reused": True}
    if cache.get("labels", key) is None:
        outcome = {**cluster_task(cache_root, space_key, label, seed, n_clusters, key, spec), "reused": False}
        if outcome["error"]:
            return outcome
    pred, space = cache.get("labels", key), cache.get("reduce", space_key)
    if pred is None or space is None:
        return {**outcome, "error": f"clusterer {label}: its input or labels were lost from the cache; run again"}
    outcome["silhouette"] = silhouette(
        np.asarray(space), np.asarray(pred), max_samples=silhouette_max_samples, seed=seed
    )
    return outcome
