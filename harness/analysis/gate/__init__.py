"""The CI gate: does a candidate encoder score lower than its baseline record by more than seed noise?

Datasets are paired: each dataset's candidate score is compared with the baseline's on the same
samples (fingerprints must match). Seeds are the replicates: a seed's score on a dataset is its AMI
averaged over the suite's clusterers, because the clusterers of one seed share one UMAP reduction
and rise or fall together (treating them as independent cells understated the noise and doubled
the false alarms, see benchmarks/gate_calibration.py). Each dataset's change gets a t-test with the
seed variance pooled over both sides (under "nothing changed" they share it); the suite's mean
change over datasets combines them (Satterthwaite's degrees of freedom). Seeds of two encoders
share only a random state, so they are not paired with each other.

A suite fails when its mean drop is significant (one-sided, ``alpha``) and larger than
``tolerance`` AMI points, or when one dataset's drop is, at ``alpha`` divided by the number of
datasets (Bonferroni, so a larger suite does not raise more false alarms).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from zsbench.analysis import selection
from zsbench.analysis.stats import finite, t_quantile
from zsbench.core.result import Result

ALPHA = 0.005  # one-sided; measured false-alarm rate on digits about 2x this (seed scores are bimodal)
TOLERANCE = 0.5  # AMI x100 points: smaller drops pass even when significant


@dataclass(frozen=True)
class Cell:
    dataset: str
    clusterer: str
    baseline: tuple[tuple[int, float], ...]  # (seed, AMI x100)
    candidate: tuple[tuple[int, float], ...]

    @property
    def delta(self) -> float:
        return statistics.fmean(v for _, v in self.candidate) - statistics.fmean(v for _, v in self.baseline)


@dataclass(frozen=True)
class Test:
    """The mean change over some cells, its standard error and the verdict."""

    name: str  # "suite" or a dataset
    delta: float  # candidate minus baseline, AMI x100
    se: float
    df: float
    alpha: float
    tolerance: float

    @property
    def threshold(self) -> float:
        """The largest drop seed noise allows (a positive number of AMI points)."""
        return max(self.tolerance, t_quantile(1 - self.alpha, self.df) * self.se)

    @property
    def regressed(self) -> bool:
        return -self.delta > self.threshold

    @property
    def improved(self) -> bool:
        return self.delta > self.threshold

    @property
    def interval(self) -> tuple[float, float]:
        """A two-sided 95% interval for the change."""
        half = t_quantile(0.975, self.df) * self.se if self.se > 0 else 0.0
        return (self.delta - half, self.delta + half)


@dataclass
class Report:
    baseline: str
    candidate: str
    cells: list[Cell]
    suite: Test | None
    datasets: list[Test]
    alpha: float
    tolerance: float
    seconds: float = 0.0
    incomplete: str | None = None  # why some of the suite was not run (time budget)
    notes: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> list[Test]:
        return [t for t in self.datasets if t.regressed]

    @property
    def passed(self) -> bool:
        return self.incomplete is None and self.suite is not None and not self.suite.regressed and not self.regressed


def cells(
    baseline: Iterable[Result],
    candidate: Iterable[Result],
    *,
    datasets: Sequence[str] | None = None,
    clusterers: Sequence[str] | None = None,
) -> list[Cell]:
    """Cells both sides have, with their AMI x100 per seed (the latest result per seed, as everywhere:
    :func:`zsbench.analysis.selection.latest`)."""

    def per_cell(results: Iterable[Result]) -> dict[tuple[str, str], dict[int, float]]:
        out: dict[tuple[str, str], dict[int, float]] = {}
        for r in selection.latest(results):
            if r.ok and finite(r.ami):  # NaN or infinity (a store's JSON can hold them) is no score, like a failure
                out.setdefault((r.dataset, r.clusterer), {})[r.seed] = 100.0 * float(r.ami)
        return out

    base, cand = per_cell(baseline), per_cell(candidate)
    keys = sorted(set(base) & set(cand))
    if datasets:
        keys = [k for k in keys if k[0] in datasets]
    if clusterers:
        keys = [k for k in keys if k[1] in clusterers]
    return [
        Cell(ds, clu, tuple(sorted(base[(ds, clu)].items())), tuple(sorted(cand[(ds, clu)].items())))
        for ds, clu in keys
    ]


def replicates(cells_: Sequence[Cell], side: str) -> list[float]:
    """Per seed, the mean AMI over the cells (one dataset's clusterers), for seeds every cell has."""
    maps = [dict(getattr(c, side)) for c in cells_]
    common = sorted(set.intersection(*(set(m) for m in maps)))
    return [statistics.fmean(m[s] for m in maps) for s in common]


def test(name: str, cells_: Sequence[Cell], *, alpha: float, tolerance: float) -> Test:
    """t-test of the mean change over the datasets of ``cells_``, seeds as replicates."""
    terms = []  # per dataset: (change, variance of the change, degrees of freedom)
    for dataset in sorted({c.dataset for c in cells_}):
        mine = [c for c in cells_ if c.dataset == dataset]
        base, cand = replicates(mine, "baseline"), replicates(mine, "candidate")
        if min(len(base), len(cand)) < 2:
            from zsbench.plugin.errors import ZsbenchError

            raise ZsbenchError(
                f"{dataset}: {min(len(base), len(cand))} seed(s) with every clusterer on one side; "
                "the gate needs at least 2 on both sides to measure seed noise (--seeds 3)"
            )
        na, nb = len(cand), len(base)
        dof = na + nb - 2
        pooled = ((na - 1) * statistics.variance(cand) + (nb - 1) * statistics.variance(base)) / dof
        terms.append((statistics.fmean(cand) - statistics.fmean(base), pooled * (1 / na + 1 / nb), dof))
    n = len(terms)
    total = sum(v for _, v, _ in terms)
    denominator = sum(v**2 / d for _, v, d in terms)  # Satterthwaite: the df of a sum of variances
    df = total**2 / denominator if denominator > 0 else math.inf
    return Test(name, statistics.fmean(d for d, _, _ in terms), math.sqrt(total) / n, df, alpha, tolerance)


def compare(
    baseline: Iterable[Result],
    candidate: Iterable[Result],
    *,
    baseline_name: str,
    candidate_name: str,
    datasets: Sequence[str] | None = None,
    clusterers: Sequence[str] | None = None,
    alpha: float = ALPHA,
    tolerance: float = TOLERANCE,
) -> Report:
    found = cells(baseline, candidate, datasets=datasets, clusterers=clusterers)
    return evaluate(found, baseline_name=baseline_name, candidate_name=candidate_name, alpha=alpha, tolerance=tolerance)


def evaluate(
    cells_: Sequence[Cell],
    *,
    baseline_name: str = "baseline",
    candidate_name: str = "candidate",
    alpha: float = ALPHA,
    tolerance: float = TOLERANCE,
) -> Report:
    """The suite test over all cells and one test per dataset (at alpha / number of datasets)."""
    report = Report(baseline_name, candidate_name, list(cells_), None, [], alpha, tolerance)
    if not cells_:
        return report
    names = sorted({c.dataset for c in cells_})
    report.suite = test("suite", cells_, alpha=alpha, tolerance=tolerance)
    report.datasets = [
        test(ds, [c for c in cells_ if c.dataset == ds], alpha=alpha / len(names), tolerance=tolerance) for ds in names
    ]
    return report
