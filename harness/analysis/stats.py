"""The statistics every figure uses: finite numbers, scores over seeds with t-intervals, Welch's test.

One implementation for the leaderboard, the gate and the run summary. Seeds are the replicates:
a score is the mean over seeds with its 95% t-interval, and two scores differ only when Welch's
t-test over their per-seed values says so.
"""

from __future__ import annotations

import math
import numbers
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

CONFIDENCE = 0.95
DIGITS = 4  # rounding in machine-readable output


def finite(value: Any) -> TypeGuard[numbers.Real]:
    """Whether ``value`` is a finite real number (not None, NaN, infinity, a bool or text): a result
    read from a store may hold any of them, and a board or gate scores only finite ones."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def t_quantile(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t with ``df`` degrees of freedom (the normal's when ``df`` is infinite)."""
    from scipy import stats

    return float(stats.norm.ppf(q)) if math.isinf(df) else float(stats.t.ppf(q, df))


def rounded(value: float | None) -> float | None:
    """Rounded for machine-readable output, so that two builds are byte-identical."""
    return None if value is None else round(value, DIGITS)


@dataclass(frozen=True)
class Score:
    """A mean over seeds with its t-interval; ``per_seed`` keeps the replicates for comparisons."""

    mean: float
    low: float | None
    high: float | None
    per_seed: tuple[tuple[int, float], ...]

    @property
    def n_seeds(self) -> int:
        return len(self.per_seed)

    @property
    def half_width(self) -> float | None:
        return None if self.low is None or self.high is None else (self.high - self.low) / 2

    def to_json(self) -> dict[str, Any]:
        return {
            "mean": rounded(self.mean),
            "low": rounded(self.low),
            "high": rounded(self.high),
            "n_seeds": self.n_seeds,
        }


def score(per_seed: Mapping[int, float]) -> Score | None:
    """The mean over seeds and its two-sided CONFIDENCE t-interval (none with one seed)."""
    if not per_seed:
        return None
    pairs = tuple(sorted(per_seed.items()))
    values = [v for _, v in pairs]
    mean = statistics.fmean(values)
    if len(values) < 2:
        return Score(mean, None, None, pairs)
    half = t_quantile(0.5 + CONFIDENCE / 2, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return Score(mean, mean - half, mean + half, pairs)


def combine(parts: Sequence[Score | None]) -> Score | None:
    """The mean of several scores, seed by seed, over the seeds all of them have."""
    present = [p for p in parts if p is not None]
    if not parts or len(present) < len(parts):
        return None
    maps = [dict(p.per_seed) for p in present]
    common = set.intersection(*(set(m) for m in maps))
    return score({s: statistics.fmean(m[s] for m in maps) for s in common})


def better(a: Score, b: Score) -> bool:
    """Whether a's mean is above b's beyond seed noise (Welch's t-test, one-sided (1 - CONFIDENCE) / 2).

    Seeds of two encoders share only a random state, so they are not paired."""
    xa, xb = [v for _, v in a.per_seed], [v for _, v in b.per_seed]
    if len(xa) < 2 or len(xb) < 2:
        return False  # one seed gives no noise estimate: nothing can be told apart
    va, vb = statistics.variance(xa) / len(xa), statistics.variance(xb) / len(xb)
    diff = statistics.fmean(xa) - statistics.fmean(xb)
    if va + vb == 0:
        return diff > 0
    df = (va + vb) ** 2 / ((va**2 / (len(xa) - 1)) + (vb**2 / (len(xb) - 1)))
    return diff / math.sqrt(va + vb) > t_quantile(0.5 + CONFIDENCE / 2, df)
