"""The label-free proxy: how well the silhouette of predicted labels in UMAP space tracks AMI.

The study (Lowe et al. 2024) finds the two highly rank-correlated per clusterer across encoder x
dataset, so the silhouette can stand in for AMI where there are no labels. Points here are cells
(encoder, dataset, clusterer) averaged over seeds, as in the study's figure.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, replace

from zsbench.core.result import Result

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
                (float(r.ami), float(r.metrics["silhouette_proxy"]))
            )
    return [
        Point(enc, ds, clu, statistics.fmean(a for a, _ in v), statistics.fmean(s for _, s in v), len(v))
        for (enc, ds, clu), v in sorted(cells.items())
    ]


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


def standard(
    results: Iterable[Result], *, protocol: str = "1", encoders: Iterable[str] = (), datasets: Iterable[str] = ()
) -> list[Result]:
    """The protocol's own results (its reducer; in the study protocol, each encoder's configurations under
    the protocol's clusterer names), optionally narrowed to some encoders and datasets.

    As on the leaderboard: one identity per encoder (its latest), the latest result per cell, so
    repeats do not weigh a cell's mean and two weights of one name never share a point.
    """
    from zsbench.analysis import selection
    from zsbench.core.protocol import load_spec

    spec = load_spec(protocol)
    keep_enc, keep_ds = set(encoders), set(datasets)
    mine = [
        r
        for r in results
        if r.protocol_version == spec.version
        and spec.cell(r.reducer, r.clusterer)[0] == spec.reducer
        and not (keep_enc and r.encoder not in keep_enc)
        and not (keep_ds and r.dataset not in keep_ds)
    ]
    if spec.study is not None:  # each encoder's own configurations, compared under the protocol's clusterer names
        mine = [replace(r, reducer=spec.reducer, clusterer=spec.cell(r.reducer, r.clusterer)[1]) for r in mine]
    newest = selection.current(mine)
    kept = [r for r in selection.latest(mine) if selection.identity(r) == newest[r.encoder]]
    # one sample set per (encoder, dataset): that of its latest result
    samples = {(r.encoder, r.dataset): selection.sample_set(r) for r in sorted(kept, key=lambda r: str(r.created_at))}
    return [r for r in kept if selection.sample_set(r) == samples[(r.encoder, r.dataset)]]


def from_sources(
    sources: Iterable, *, protocol: str = "1", encoders: Iterable[str] = (), datasets: Iterable[str] = ()
) -> tuple[list[Result], list[str]]:
    """Each source's :func:`standard` results, as the board keeps them apart: partial records are left
    out, and an encoder that comes from several sources is labelled by source, so two records (or a
    record and the store) never merge into one point. Returns the results and notes on what was left out."""
    notes, per = [], []
    for source in sources:
        if getattr(source, "partial", False):
            notes.append(f"{source.name}: a partial record, left out")
            continue
        per.append((source.name, standard(source.results, protocol=protocol, encoders=encoders, datasets=datasets)))
    seen: dict[str, int] = {}
    for _, rs in per:
        for name in {r.encoder for r in rs}:
            seen[name] = seen.get(name, 0) + 1
    out = [replace(r, encoder=f"{r.encoder} ({name})") if seen[r.encoder] > 1 else r for name, rs in per for r in rs]
    return out, notes


def note(c: Correlation) -> str | None:
    """Why a correlation is missing, in words; None when it is there."""
    if c.spearman is not None:
        return None
    if c.n < 3:
        return "correlation needs at least 3 encoder × dataset cells"
    return "silhouette or AMI is the same in every cell"
