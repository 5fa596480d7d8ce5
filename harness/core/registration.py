"""What one ``register(name, factory, ...)`` call may say, checked while the plugin's hook runs.

A broken registration is the hook's ``TypeError`` (a wrong type) or ``ValueError`` (a wrong value),
which ``zsbench plugins`` reports against the plugin: the name must follow the grammar of
:mod:`zsbench.core.names`; ``gpu`` is a bool; ``memory_bytes`` is a working ``f(n, d) -> bytes``
(called once here with small numbers); ``k_param`` is a parameter name (that the estimator has it
is checked when it is built, :class:`zsbench.core.protocol.Component`); ``group`` is one of the
study's dataset groups or its dev sets' (any case, ``_`` or a space for ``-``), stored in its canonical spelling;
``weights`` is a :class:`~zsbench.plugin.WeightsFile` or a sequence of them, stored as a tuple for the kit.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

from zsbench.core.isolation import plugin_code, reason
from zsbench.core.names import name_problem, shown
from zsbench.plugin.errors import ZsbenchError
from zsbench.plugin.protocols import METADATA, REGISTER_GROUPS
from zsbench.plugin.weights import WeightsFile

PROBE = (100, 10)  # memory_bytes is called with these (n, d) at register


def canonical_group(group: str) -> str | None:
    """``"Near_OOD"`` -> ``"near-OOD"``; None when it is not one of the study's groups."""
    key = "-".join(group.replace("_", " ").replace("-", " ").split()).casefold()
    return next((g for g in REGISTER_GROUPS if g.casefold() == key), None)


def memory_problem(function: Callable[[int, int], Any], n: int, d: int) -> tuple[int, str | None]:
    """Call ``function(n, d)`` as plugin code: (the bytes, None), or (0, what was wrong with it)."""
    try:
        with plugin_code():
            value = function(n, d)
    except Exception as exc:
        return 0, f"memory_bytes({n}, {d}) raised {shown(reason(exc), 200)}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        return 0, (
            f"memory_bytes({n}, {d}) returned {shown(repr(value), 40)}, not a number of bytes (finite, not negative)"
        )
    # typeshed's numbers.Real gives __trunc__ no int return, so int() of one finds no overload; it converts
    return int(value), None  # type: ignore[call-overload]


def memory_need(entry: Any, label: str, n: int, d: int) -> int:
    """The bytes ``entry`` (a catalog entry with ``memory_bytes``) says fitting ``n`` x ``d`` needs;
    a failure of the plugin's function is one line naming the plugin."""
    need, problem = memory_problem(entry.meta["memory_bytes"], n, d)
    if problem is not None:
        raise ZsbenchError(
            f"{entry.kind[:-1]} {label} (plugin {entry.plugin}): {problem}; fix its register(..., memory_bytes=...)"
        )
    return need


def weights_files(weights: Any, call: str = "weights=") -> tuple[WeightsFile, ...]:
    """``weights`` (a WeightsFile, a sequence of them, or None) as a tuple; a TypeError or ValueError
    starting with ``call`` otherwise."""
    if weights is None:
        return ()
    files = (
        (weights,)
        if isinstance(weights, WeightsFile)
        else tuple(weights)
        if isinstance(weights, Sequence) and not isinstance(weights, str | bytes)
        else None
    )
    if files is None or not all(isinstance(w, WeightsFile) for w in files):
        raise TypeError(f"{call} takes a zsbench.plugin.WeightsFile or a list of them, got {shown(repr(weights), 60)}")
    seen: set[tuple[str | None, str]] = set()
    for declared in files:  # one place, one file: two pins for it cannot both hold
        where = (declared.package, declared.file)
        if where in seen:
            place = f"package {declared.package}" if declared.package else "the weights folder"
            raise ValueError(f"{call} declares {declared.file} in {place} twice; declare each file once")
        seen.add(where)
    return files


def check_registration(
    kind: str, name: Any, factory: Any, *, gpu: Any, memory_bytes: Any, k_param: Any, group: Any, weights: Any = None
) -> dict[str, Any]:
    """The metadata a registration declares, checked; raises TypeError or ValueError naming the rule."""
    if not isinstance(name, str) or not callable(factory):
        raise TypeError(f"register({shown(repr(name))}, ...) needs a name (a str) and a callable factory")
    problem = name_problem(name)
    if problem is not None:
        raise ValueError(f"register({shown(repr(name))}, ...): bad name: {problem}")
    given = {"gpu": gpu, "memory_bytes": memory_bytes, "k_param": k_param, "group": group, "weights": weights}
    meta = {k: v for k, v in given.items() if v is not None and v is not False}
    for keyword in meta:
        if kind not in METADATA[keyword]:
            raise TypeError(
                f"register({name!r}, ..., {keyword}=...): {keyword} applies to "
                f"{' and '.join(METADATA[keyword])}, not {kind}"
            )

    def call(keyword: str, value: str = "...") -> str:
        return f"register({name!r}, ..., {keyword}={value})"

    if not isinstance(gpu, bool):  # "no" or 0 would read as a wish for a GPU or not, by accident
        raise TypeError(call("gpu", shown(repr(gpu), 40)) + ": gpu takes True or False")
    if memory_bytes is not None:
        if not callable(memory_bytes):
            raise TypeError(call("memory_bytes") + " takes a function f(n, d) -> bytes")
        _, problem = memory_problem(memory_bytes, *PROBE)
        if problem is not None:
            raise ValueError(call("memory_bytes") + f": {problem}")
    if k_param is not None and not (isinstance(k_param, str) and k_param.isascii() and k_param.isidentifier()):
        raise TypeError(call("k_param", shown(repr(k_param), 40)) + " takes a parameter name")
    if group is not None:
        canonical = canonical_group(group) if isinstance(group, str) else None
        if canonical is None:
            raise ValueError(
                call("group", shown(repr(group), 40)) + ": group is one of "
                f"{', '.join(REGISTER_GROUPS)} (the study's dataset groups); leave it out otherwise"
            )
        meta["group"] = canonical
    if weights is not None:
        meta["weights"] = weights_files(weights, call("weights"))
        if not meta["weights"]:  # weights=[]: nothing declared
            del meta["weights"]
    return meta
