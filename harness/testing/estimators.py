"""Checks of reducers and clusterers, built as a run builds them (:class:`zsbench.core.protocol.Component`:
the seed in ``random_state``, the number of classes in the clusterer's k parameter), on six gaussian blobs.

What the core relies on: a fresh estimator with the same seed gives the same output; a clusterer given k
finds at most k clusters; the read-only memory maps the artifact cache hands out are accepted and give
what an in-memory array gives; the input is left as it was; ``set_params`` returns the estimator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from zsbench.core.catalog import Entry
from zsbench.core.manager import reason
from zsbench.core.protocol import Component
from zsbench.testing.findings import CheckFailed, CheckSkipped, Finding, Recorder
from zsbench.testing.subjects import as_entry, blobs, component_name, create, read_only

REDUCER_CHECKS = ("create", "unknown-option", "params", "output", "deterministic", "read-only-input",
                  "input-unchanged")
CLUSTERER_CHECKS = ("create", "unknown-option", "params", "labels", "k-honoured", "deterministic",
                    "read-only-input", "input-unchanged")


def check_reducer(reducer: Entry | Callable[..., Any], name: str | None = None, *,
                  params: Mapping[str, Any] | None = None) -> list[Finding]:
    """Check a reducer (a catalog entry, or a factory named ``name``), with ``params`` set as
    ``--reducer NAME:key=value`` would set them, on 90 samples of 64 dims (6 gaussian blobs)."""
    entry = as_entry("reducers", reducer, name)
    return _check(entry, Component(entry.name, entry, dict(params or {})), _reduced)


def check_clusterer(clusterer: Entry | Callable[..., Any], name: str | None = None, *,
                    params: Mapping[str, Any] | None = None, k_param: str | None = None) -> list[Finding]:
    """Check a clusterer (a catalog entry, or a factory named ``name`` whose k parameter is ``k_param``,
    default ``n_clusters``), with ``params`` set as ``--clusterer NAME:key=value`` would set them."""
    entry = as_entry("clusterers", clusterer, name, k_param)
    return _check(entry, Component(entry.name, entry, dict(params or {})), _labelled)


def _check(entry: Entry, component: Component, run: Callable[..., np.ndarray]) -> list[Finding]:
    is_clusterer = entry.kind == "clusterers"
    rec = Recorder(component_name(entry))
    x, y = blobs()
    k = len(np.unique(y))
    k_param = entry.meta.get("k_param", "n_clusters")

    def build(n_clusters: int | None = k) -> Any:
        return component.build(seed=0, n_clusters=n_clusters)

    def first_build() -> Any:
        estimator = build()
        component.check(estimator)  # the parameter validation a run does before any work
        return estimator

    built = create(rec, entry, first_build)
    takes_k = is_clusterer and built is not None and _takes_k(build, k_param)
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
        rec.run("k-honoured", lambda: honours_k(build, x, k, takes_k, k_param, run, out))
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
                raise CheckFailed(f"fails on a read-only memory map, as the artifact cache hands out inputs: "
                                  f"{reason(exc)}; copy the input before writing to it") from None
        if not rec.ok("deterministic"):
            return "a read-only memory map is accepted (results not compared: they vary from run to run)"
        if not same(result, out["first"]):
            raise CheckFailed("a read-only memory map gives another result than the same array in memory")
        return "a read-only memory map gives the same result"

    rec.run("read-only-input", from_memmap)
    rec.run("input-unchanged", lambda: unchanged(out))
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


def clusters(labels: np.ndarray) -> int:
    """The number of clusters in ``labels`` (noise, -1, is none of them)."""
    return len(np.unique(labels[labels >= 0]))


def describe(result: np.ndarray, k: int | None, k_param: str) -> str:
    if result.ndim == 2:
        return f"{result.shape[0]} x {result.shape[1]} {result.dtype}, finite"
    found = clusters(result)
    noise = int((result == -1).sum())
    given = f" with {k_param}={k}" if k is not None else ", k found itself"
    return f"{found} clusters{given}" + (f", {noise} noise" if noise else "")


def honours_k(build: Callable[[int | None], Any], x: np.ndarray, k: int, takes_k: bool, k_param: str,
              run: Callable[..., np.ndarray], out: dict[str, Any]) -> str:
    """At most k clusters for the blobs' k, and for k - 1 (a clusterer ignoring k finds every blob)."""
    if not takes_k:
        return f"finds k itself ({k_param} is None or absent)"
    if "first" not in out:
        raise CheckSkipped("needs a first run, which failed")
    fewer = clusters(run(build(k - 1), x.copy()))
    for given, found in ((k, clusters(out["first"])), (k - 1, fewer)):
        if found > given:
            raise CheckFailed(f"{found} clusters with {k_param}={given}; a run sets {k_param} to the number of "
                              "classes and expects at most that many clusters")
    return f"{clusters(out['first'])} clusters with {k_param}={k}, {fewer} with {k_param}={k - 1}"


def deterministic(out: dict[str, Any], again: Callable[[], np.ndarray]) -> str:
    if "first" not in out:
        raise CheckSkipped("needs a first run, which failed")
    if not same(again(), out["first"]):
        raise CheckFailed("two fresh estimators with the same seed (random_state) gave different results; "
                          "pass random_state to every random step, so a run's seeds reproduce it")
    return "the same result twice with seed 0"


def unchanged(out: dict[str, Any]) -> str:
    if "mutated" not in out:
        raise CheckSkipped("needs a first run, which failed")
    if out["mutated"]:
        raise CheckFailed("fitting changed the input array; work on a copy (inputs are shared, and cached "
                          "inputs are read-only)")
    return "the input is left as it was"


def same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        return bool(np.allclose(a, b, rtol=1e-5, atol=1e-6))
    return bool(np.array_equal(a, b))


def round_trip(estimator: Any) -> str:
    """``set_params(**get_params())`` returns the estimator and changes nothing (the protocol sets the
    seed and k that way, and records ``get_params``)."""
    params = estimator.get_params(deep=False)
    if not isinstance(params, Mapping):
        raise CheckFailed(f"get_params returned a {type(params).__name__}; return a dict")
    back = estimator.set_params(**params)
    if back is not estimator:
        raise CheckFailed(f"set_params returned {type(back).__name__}, not the estimator itself; return self")
    again = estimator.get_params(deep=False)
    changed = sorted(set(params) ^ set(again) | {k for k in set(params) & set(again) if not equal(params[k], again[k])})
    if changed:
        raise CheckFailed(f"set_params(**get_params()) changed {', '.join(changed)}")
    return f"{len(params)} parameters round-trip"


def equal(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:  # arrays and other objects without a truth value
        return repr(a) == repr(b)
