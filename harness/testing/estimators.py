"""Checks of reducers and clusterers, built as a run builds them (:class:`zsbench.core.protocol.Component`:
the seed in ``random_state``, the number of classes in the clusterer's k parameter), on six gaussian blobs.

What the core relies on: a fresh estimator with the same seed gives the same output; a clusterer given k
finds at most k clusters; the read-only memory maps the artifact cache hands out are accepted and give
what an in-memory array gives; the input is left as it was; ``set_params`` returns the estimator; a
declared ``k_param`` is a parameter of the estimator; a declared ``memory_bytes(n, d)`` gives a finite
number of bytes, 0 or more, that grows with ``n``; building and fitting print nothing. This module builds
and runs the estimator, check by check; what each check asks is :mod:`zsbench.testing.estimator_checks`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from zsbench.core.catalog import Entry
from zsbench.core.isolation import reason
from zsbench.core.protocol import Component
from zsbench.testing.estimator_checks import (
    declared_k,
    describe,
    deterministic,
    honours_k,
    memory_model,
    round_trip,
    same,
    unchanged,
)
from zsbench.testing.findings import DEFAULT_TIMEOUT_S, CheckFailed, CheckSkipped, Finding, Recorder
from zsbench.testing.subjects import as_entry, blobs, component_name, create, read_only

REDUCER_CHECKS = (
    "create",
    "unknown-option",
    "params",
    "output",
    "deterministic",
    "read-only-input",
    "input-unchanged",
    "memory-model",
    "quiet",
)
CLUSTERER_CHECKS = (
    "create",
    "unknown-option",
    "params",
    "labels",
    "k-honoured",
    "deterministic",
    "read-only-input",
    "input-unchanged",
    "memory-model",
    "quiet",
)


def check_reducer(
    reducer: Entry | Callable[..., Any],
    name: str | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    memory_bytes: Callable[[int, int], float] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT_S,
) -> list[Finding]:
    """Check a reducer (a catalog entry, or a factory named ``name``), with ``params`` set as
    ``--reducer NAME:key=value`` would set them, on 90 samples of 64 dims (6 gaussian blobs). Each
    check fails after ``timeout`` seconds (None: no limit)."""
    entry = as_entry("reducers", reducer, name, memory_bytes=memory_bytes)
    return _check(entry, Component(entry.name, entry, dict(params or {})), _reduced, timeout)


def check_clusterer(
    clusterer: Entry | Callable[..., Any],
    name: str | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    k_param: str | None = None,
    memory_bytes: Callable[[int, int], float] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT_S,
) -> list[Finding]:
    """Check a clusterer (a catalog entry, or a factory named ``name`` whose k parameter is ``k_param``,
    default ``n_clusters``), with ``params`` set as ``--clusterer NAME:key=value`` would set them. Each
    check fails after ``timeout`` seconds (None: no limit)."""
    entry = as_entry("clusterers", clusterer, name, k_param, memory_bytes)
    return _check(entry, Component(entry.name, entry, dict(params or {})), _labelled, timeout)


def _check(entry: Entry, component: Component, run: Callable[..., np.ndarray], timeout: float | None) -> list[Finding]:
    is_clusterer = entry.kind == "clusterers"
    rec = Recorder(component_name(entry), timeout)
    x, y = blobs()
    k = len(np.unique(y))
    k_param = entry.meta.get("k_param", "n_clusters")
    state: dict[str, bool] = {}

    def build(n_clusters: int | None = k) -> Any:
        return component.build(seed=0, n_clusters=n_clusters)

    def first_build() -> Any:
        estimator = build()
        component.check(estimator)  # the parameter validation a run does before any work
        state["takes_k"] = is_clusterer and _takes_k(build, k_param)  # plugin code: inside the time limit
        return estimator

    built = create(rec, entry, first_build)
    takes_k = state.get("takes_k", False)
    given = k if takes_k else None
    out: dict[str, Any] = {}
    rec.run("params", lambda: round_trip(built))

    def first_run() -> str:
        data = x.copy()
        out["first"] = run(build(), data)
        out["mutated"] = not np.array_equal(data, x)
        return describe(out["first"], given, k_param)

    rec.run("labels" if is_clusterer else "output", first_run)
    if is_clusterer:

        def k_honoured() -> str:
            declared_k(entry, built)
            return honours_k(build, x, k, takes_k, k_param, run, out)

        rec.run("k-honoured", k_honoured)
    rec.run("deterministic", lambda: deterministic(out, lambda: run(build(), x.copy())))

    def from_memmap() -> str:
        if "first" not in out:
            raise CheckSkipped("needs a first run, which failed")
        with read_only(x) as mapped:
            try:
                result = run(build(), mapped)
            except CheckFailed:
                raise
            except Exception as exc:
                raise CheckFailed(
                    f"fails on a read-only memory map, as the artifact cache hands out inputs: "
                    f"{reason(exc)}; copy the input before writing to it"
                ) from None
        if not rec.ok("deterministic"):
            return "a read-only memory map is accepted (results not compared: they vary from run to run)"
        if not same(result, out["first"]):
            raise CheckFailed("a read-only memory map gives another result than the same array in memory")
        return "a read-only memory map gives the same result"

    rec.run("read-only-input", from_memmap)
    rec.run("input-unchanged", lambda: unchanged(out))
    rec.run("memory-model", lambda: memory_model(entry.meta.get("memory_bytes")), always=True)
    rec.quiet()
    return rec.findings


def _takes_k(build: Callable[[int | None], Any], k_param: str) -> bool:
    """Whether a run gives this clusterer k: its k parameter is not None (None means "finds k itself")."""
    try:
        return build(None).get_params(deep=False).get(k_param) is not None
    except Exception:  # the checks that build it say what is wrong
        return False


def _reduced(estimator: Any, x: Any) -> np.ndarray:
    z = np.asarray(estimator.fit_transform(x))
    if z.ndim != 2 or len(z) != len(x):
        raise CheckFailed(f"fit_transform returned shape {z.shape} for {len(x)} samples; return (samples, dims)")
    if z.dtype.kind not in "fiu":
        raise CheckFailed(f"fit_transform returned {z.dtype} values; return numbers")
    if not np.isfinite(z).all():
        raise CheckFailed("fit_transform returned NaN or Inf")
    return z


def _labelled(estimator: Any, x: Any) -> np.ndarray:
    labels = np.asarray(estimator.fit_predict(x))
    if labels.shape != (len(x),):
        raise CheckFailed(f"fit_predict returned shape {labels.shape} for {len(x)} samples; return 1-d labels")
    if labels.dtype.kind not in "iu":
        raise CheckFailed(f"fit_predict returned {labels.dtype} labels; return integers (-1 for noise)")
    if (labels < -1).any():
        raise CheckFailed(f"label {labels.min()}: clusters are 0, 1, ... and -1 is noise")
    return labels
