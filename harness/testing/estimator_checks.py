"""The reducer and clusterer checks one by one: each asks one thing of an estimator, or of what it gave.

:func:`~zsbench.testing.estimators.check_reducer` and :func:`~zsbench.testing.estimators.check_clusterer`
run them in order; each returns its passing message or raises ``CheckFailed`` / ``CheckSkipped``:
k honoured and a declared ``k_param`` a real parameter, a declared ``memory_bytes(n, d)`` a growing byte
count, the same result twice for a seed, the input left alone, ``set_params(**get_params())`` a no-op.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from zsbench.core.catalog import Entry
from zsbench.core.isolation import reason
from zsbench.testing.findings import CheckFailed, CheckSkipped

# (n, d) pairs a declared memory_bytes is asked about: a finite number of bytes, 0 or more, growing with n
MEMORY_POINTS = ((1_000, 50), (10_000, 50), (100_000, 50), (1_000, 2), (10_000, 768))


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
