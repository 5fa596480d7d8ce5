"""Configurations a run refuses before doing the work they would fail at: too few samples for a
reducer, a clusterer that would not fit in memory. Both are decided at planning, once the samples are
selected and before any embedding or reduction (:func:`check_reducers`, :func:`check_memory`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from zsbench.core.progress import Progress
from zsbench.core.protocol import Component
from zsbench.core.registration import memory_need
from zsbench.engine.inputs import available_memory
from zsbench.engine.params import Params
from zsbench.plugin.errors import InvalidInputError, ZsbenchError


def memory_refusal(component: Component, n: int, d: int) -> str | None:
    """A clusterer that declares its memory need (``memory_bytes(n, d)``) and would not fit."""
    estimate_fn = component.entry.meta.get("memory_bytes")
    free = available_memory()
    if estimate_fn is None or free is None:
        return None
    try:  # the plugin's own function: a failure is that clusterer's refusal, naming the plugin
        need = memory_need(component.entry, component.label, n, d)
    except ZsbenchError as exc:
        return str(exc)
    if need <= 0.8 * free:
        return None
    return (
        f"clusterer {component.label} refused: it needs about {need / 2**30:.1f} GiB for "
        f"{n:,} samples, more than 80% of the {free / 2**30:.1f} GiB available; cluster fewer "
        f"samples with --max-samples (about {int(n * (0.8 * free / need) ** 0.5):,} would fit) or drop it"
    )


def min_samples(estimator: Any) -> int:
    """The fewest samples a reducer can fit, from its parameters (2 when nothing more is known).

    Spectral initialisation (UMAP's default) solves for n_components + 1 eigenvectors of the n x n
    graph Laplacian, which needs n_components + 1 < n: UMAP-50 needs 52 samples.
    """
    return min_samples_of(estimator.get_params(deep=False))


def min_samples_of(params: Mapping[str, Any]) -> int:
    """:func:`min_samples` from the reducer's ``get_params(deep=False)``."""
    n = params.get("n_components")
    if isinstance(params.get("init"), str) and params["init"] == "spectral" and isinstance(n, int):
        return n + 2
    return 2


def sample_refusal(component: Component, n: int, params: Params | None = None) -> str | None:
    """Why ``component`` cannot reduce ``n`` samples, or None (``params``: a run's, with the memo)."""
    need = min_samples_of((params or Params()).of(component, seed=0))
    if n >= need:
        return None
    return f"{n} samples are too few for reducer {component.label} (needs at least {need})"


def check_reducers(reducers: Sequence[Component], n: int, params: Params | None = None) -> None:
    """Refuse, before any embedding or reduction runs, a reducer that cannot fit ``n`` samples."""
    params = params or Params()
    for red in reducers:
        if (refusal := sample_refusal(red, n, params)) is not None:
            raise InvalidInputError(f"{refusal}; use more samples or --reducer none")


def check_memory(clusterers: Sequence[Component], n: int, progress: Progress, d: int = 1) -> None:
    """At planning, before any embedding or reduction: say which clusterers the memory guard will refuse for
    ``n`` samples (their clusterings are recorded as failed, and nothing is fitted for them), and stop the run
    with one line when it refuses every one. ``d``: the dimensions (1 before embedding: a need only grows
    with them, so what does not fit at 1 never does; the grid checks again with the embedding's)."""
    reasons: dict[str, str | None] = {}
    for clu in clusterers:
        if clu.label not in reasons:
            reasons[clu.label] = memory_refusal(clu, n, d)
    refused = [reason for reason in reasons.values() if reason]
    if refused and len(refused) == len(reasons):
        more = f" (and {len(refused) - 1} other clusterer(s) likewise)" if len(refused) > 1 else ""
        raise InvalidInputError(f"{refused[0]}{more}; nothing left to run")
    for reason in refused:
        progress.note(f"{reason}; its clusterings are recorded as failed and nothing is fitted for them")
