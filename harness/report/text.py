"""Text helpers every renderer shares: Markdown and CSV cells that are safe to show (the rules are
:mod:`zsbench.core.inert`'s, named here as the renderers have always imported them), and "mean ± spread"."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from zsbench.analysis.stats import Score
from zsbench.core.inert import csv_cell
from zsbench.core.inert import markdown as md

__all__ = ["DASH", "csv_cell", "md", "mean_pm", "mean_std", "score_text"]

DASH = "—"  # no value


def mean_pm(mean: float, spread: float | None, spec: str = ".1f") -> str:
    """``mean ± spread`` (just the mean when there is no spread)."""
    if spread is None:
        return format(mean, spec)
    return f"{format(mean, spec)} ± {format(spread, spec)}"


def mean_std(values: Sequence[float], spec: str = ".1f", *, count: bool = False) -> str:
    """Mean ± standard deviation of ``values`` (with ``count``: and ``(n=N)``); one value alone; none a dash."""
    if not values:
        return DASH
    if len(values) == 1:
        return format(values[0], spec)
    return mean_pm(statistics.fmean(values), statistics.stdev(values), spec) + (f" (n={len(values)})" if count else "")


def score_text(score: Score | None) -> str:
    """A score over seeds as ``mean ± half-width`` of its t-interval, AMI x100 to one decimal."""
    return DASH if score is None else mean_pm(score.mean, score.half_width)
