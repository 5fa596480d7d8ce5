"""The label-free proxy: how well the silhouette of predicted labels in UMAP space tracks AMI.

The study (Lowe et al. 2024) finds the two highly rank-correlated per clusterer across encoder x
dataset, so the silhouette can stand in for AMI where there are no labels. Points here are cells
(encoder, dataset, clusterer) averaged over seeds, as in the study's figure.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from zsbench.types import Result

POOLED = "pooled"


@dataclass(frozen=True)
class Point:
    encoder: str
    dataset: str
    clusterer: str
    ami: float  # mean over seeds, a fraction
    silhouette: float  # mean over seeds, in the proxy (UMAP) space
    n_seeds: int


@dataclass(frozen=True)
class Correlation:
    clusterer: str  # or POOLED
    n: int
    spearman: float | None  # None with fewer than 3 points or a constant variable
    pearson: float | None


def points(results: Iterable[Result]) -> list[Point]:
    """One point per (encoder, dataset, clusterer) with a proxy silhouette, sorted."""
    cells: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for r in results:
        if r.ok and r.ami is not None and r.metrics.get("silhouette_proxy") is not None:
            cells.setdefault((r.encoder, r.dataset, r.clusterer), []).append(
                (float(r.ami), float(r.metrics["silhouette_proxy"])))
    return [Point(enc, ds, clu, statistics.fmean(a for a, _ in v), statistics.fmean(s for _, s in v), len(v))
            for (enc, ds, clu), v in sorted(cells.items())]


def correlations(pts: Iterable[Point], clusterer_order: Iterable[str] = ()) -> list[Correlation]:
    """Spearman and Pearson correlation of silhouette with AMI, per clusterer, then pooled."""
    pts = list(pts)
    by: dict[str, list[Point]] = {}
    for p in pts:
        by.setdefault(p.clusterer, []).append(p)
    order = list(clusterer_order)
    names = sorted(by, key=lambda c: (order.index(c) if c in order else len(order), c))
    return [_correlate(name, by[name]) for name in names] + ([_correlate(POOLED, pts)] if pts else [])


def _correlate(name: str, pts: list[Point]) -> Correlation:
    from scipy import stats

    x = [p.silhouette for p in pts]
    y = [p.ami for p in pts]
    if len(pts) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return Correlation(name, len(pts), None, None)
    rho = float(stats.spearmanr(x, y).statistic)
    r = float(stats.pearsonr(x, y).statistic)
    return Correlation(name, len(pts), None if math.isnan(rho) else rho, None if math.isnan(r) else r)
