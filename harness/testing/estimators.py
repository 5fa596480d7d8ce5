"""Checks of reducers and clusterers, built as a run builds them (:class:`zsbench.core.protocol.Component`:
the seed in ``random_state``, the number of classes in the clusterer's k parameter), on six gaussian blobs.

What the core relies on: a fresh estimator with the same seed gives the same output; a clusterer given k
finds at most k clusters; the read-only memory maps the artifact cache hands out are accepted and give
what an in-memory array gives; the input is left as it was; ``set_params`` returns the estimator; a
declared ``k_param`` is a parameter of the estimator; a declared ``memory_bytes(n, d)`` gives a finite
number of bytes, 0 or more, that grows with ``n``; building and fitting print nothing.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from zsbench.core.catalog import Entry
from zsbench.core.manager import reason
from zsbench.core.protocol import Component
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
# (n, d) pairs a declared memory_bytes is asked about: a finite number of bytes, 0 or more, growing with n
MEMORY_POINTS = ((1_000, 50), (10_000, 50), (100_000, 50), (1_000, 2), (10_000, 768))


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


def honours_k(
    build: Callable[[int | None], Any],
    x: np.ndarray,
    k: int,
    takes_k: bool,
    k_param: str,
    run: Callable[..., np.ndarray],
    out: dict[str, Any],
) -> str:
    """At most k clusters for the blobs' k, and for k - 1 (a clusterer ignoring k finds every blob)."""
    if not takes_k:
        return f"finds k itself ({k_param} is None or absent)"
    if "first" not in out:
        raise CheckSkipped("needs a first run, which failed")
    fewer = clusters(run(build(k - 1), x.copy()))
    for given, found in ((k, clusters(out["first"])), (k - 1, fewer)):
        if found > given:
            raise CheckFailed(
                f"{found} clusters with {k_param}={given}; a run sets {k_param} to the number of "
                "classes and expects at most that many clusters"
            )
    return f"{clusters(out['first'])} clusters with {k_param}={k}, {fewer} with {k_param}={k - 1}"


def declared_k(entry: Entry, estimator: Any) -> None:
    """A declared ``k_param`` must be a parameter of the built estimator: else a run never sets k."""
    declared = entry.meta.get("k_param")
    if declared is None:
        return
    params = estimator.get_params(deep=False)
    if declared not in params:
        raise CheckFailed(
            f"k_param {declared!r} is not a parameter of {type(estimator).__name__} (its "
            f"parameters: {', '.join(sorted(params)) or 'none'}); register(..., k_param=...) names "
            "the parameter that takes the number of clusters"
        )


def memory_model(estimate: Callable[[int, int], Any] | None) -> str:
    """``memory_bytes(n, d)`` (a run refuses a clusterer that would not fit): finite bytes, 0 or more,
    growing with the number of samples ``n``."""
    if estimate is None:
        return "none declared (optional: memory_bytes=f(n, d) lets a run refuse what would not fit)"
    got: dict[tuple[int, int], float] = {}
    for n, d in MEMORY_POINTS:
        try:
            value = estimate(n, d)
        except Exception as exc:
            raise CheckFailed(f"memory_bytes({n}, {d}) raised {reason(exc)}") from None
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise CheckFailed(
                f"memory_bytes({n}, {d}) returned a {type(value).__name__} ({str(value)[:40]!r}); "
                "return a number of bytes"
            )
        try:
            number = float(value)
        except OverflowError:  # an int past float's range
            number = math.inf
        if not math.isfinite(number) or number < 0:
            raise CheckFailed(
                f"memory_bytes({n}, {d}) returned {str(value)[:40]}; return a finite number of bytes, 0 or more"
            )
        got[(n, d)] = number
    growing = [got[(n, 50)] for n in (1_000, 10_000, 100_000)]
    if not (growing[0] <= growing[1] <= growing[2] and growing[0] < growing[2]):
        raise CheckFailed(
            f"memory_bytes(n, 50) for n = 1000, 10000, 100000 is {', '.join(f'{v:.3g}' for v in growing)}"
            "; it should grow with the number of samples n"
        )
    return f"{got[(100_000, 50)] / 2**30:.3g} GiB for 100000 x 50, growing with n"


def deterministic(out: dict[str, Any], again: Callable[[], np.ndarray]) -> str:
    if "first" not in out:
        raise CheckSkipped("needs a first run, which failed")
    if not same(again(), out["first"]):
        raise CheckFailed(
            "two fresh estimators with the same seed (random_state) gave different results; "
            "pass random_state to every random step, so a run's seeds reproduce it"
        )
    return "the same result twice with seed 0"


def unchanged(out: dict[str, Any]) -> str:
    if "mutated" not in out:
        raise CheckSkipped("needs a first run, which failed")
    if out["mutated"]:
        raise CheckFailed(
            "fitting changed the input array; work on a copy (inputs are shared, and cached inputs are read-only)"
        )
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
