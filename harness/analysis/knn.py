"""kNN accuracy as a score: its board (per encoder x dataset, one k) and its rank correlation with AMI.

kNN rows are results of protocol version :data:`~zsbench.engine.knn.KNN_VERSION` (``zsbench run
--knn``); nothing here mixes them into an AMI mean. The study (Lowe et al. 2024) compares the two
scores by Spearman correlation, per clusterer and k, across encoder x dataset cells, pooled over all
encoders and by backbone (ResNet, ViT): clustering ranks encoders differently from kNN accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from zsbench.analysis import proxy as px
from zsbench.analysis import selection
from zsbench.core.knn import DEFAULT_KS
from zsbench.core.result import Result
from zsbench.engine.knn import KNN_VERSION, METRIC

ALL = "all"  # the pooled backbone
BACKBONES = ("ResNet", "ViT", "other")


def backbone(encoder: str) -> str:
    """ResNet, ViT or other, from the encoder's name (the zoo names its architecture: resnet50-…, vitb16-…)."""
    name = encoder.lower().rsplit("/", 1)[-1]
    if "resnet" in name or name.startswith(("rn50", "rn101")):
        return "ResNet"
    if "vit" in name:
        return "ViT"
    return "other"


def accuracies(results: Iterable[Result]) -> dict[tuple[str, str, int], float]:
    """(encoder, dataset, k) -> top-1 accuracy (a fraction): per cell the latest kNN row of the encoder's
    latest identity."""
    rows = [r for r in results if r.protocol_version == KNN_VERSION and r.ok and METRIC in r.metrics]
    newest = selection.current(rows)
    cells: dict[tuple[str, str, int], tuple[tuple[str, int], float]] = {}
    for position, r in enumerate(rows):
        value = r.metrics[METRIC]
        if selection.identity(r) != newest[r.encoder] or not isinstance(value, int | float) or not math.isfinite(value):
            continue
        key, order = (r.encoder, r.dataset, int(r.metrics["k"])), (str(r.created_at or ""), position)
        if key not in cells or order >= cells[key][0]:
            cells[key] = (order, float(value))
    return {key: value for key, (_, value) in sorted(cells.items())}


@dataclass(frozen=True)
class KnnBoard:
    k: int
    encoders: list[str]
    datasets: list[str]
    top1: dict[tuple[str, str], float]  # (encoder, dataset) -> accuracy x100

    def mean(self, encoder: str) -> float | None:
        """Mean over the board's datasets; None when the encoder lacks one (no flattering partial mean)."""
        values = [self.top1.get((encoder, d)) for d in self.datasets]
        return None if None in values else round(sum(values) / len(values), 2)  # type: ignore[arg-type]


def board(results: Iterable[Result], k: int = 20) -> KnnBoard:
    acc = {(e, d): round(100 * v, 2) for (e, d, kk), v in accuracies(results).items() if kk == k}
    encoders = sorted({e for e, _ in acc})
    board_ = KnnBoard(k, encoders, sorted({d for _, d in acc}), acc)
    order = {e: (-(m if (m := board_.mean(e)) is not None else -1.0), e) for e in encoders}
    return KnnBoard(k, sorted(encoders, key=order.__getitem__), board_.datasets, acc)


def cells(
    results: Iterable[Result], *, protocol: str = "1", encoders: Iterable[str] = (), datasets: Iterable[str] = ()
) -> tuple[list[px.Point], dict[tuple[str, str, int], float]]:
    """The AMI points (the protocol's, one per encoder x dataset x clusterer, mean over seeds) and the kNN
    accuracies ((encoder, dataset, k) -> top-1), narrowed to some encoders and datasets."""
    results = list(results)
    enc, ds = set(encoders), set(datasets)
    acc = {key: v for key, v in accuracies(results).items() if (not enc or key[0] in enc) and (not ds or key[1] in ds)}
    return px.points(px.standard(results, protocol=protocol, encoders=encoders, datasets=datasets)), acc


def scatter(
    pts: Iterable[px.Point], acc: dict[tuple[str, str, int], float], k: int
) -> dict[str, list[tuple[float, float, str]]]:
    """Per clusterer: (kNN top-1 x100, AMI x100, backbone) for each cell with both scores at ``k``."""
    out: dict[str, list[tuple[float, float, str]]] = {}
    for p in pts:
        value = acc.get((p.encoder, p.dataset, k))
        if value is not None:
            out.setdefault(p.clusterer, []).append((100 * value, 100 * p.ami, backbone(p.encoder)))
    return out


@dataclass(frozen=True)
class Versus:
    clusterer: str
    backbone: str  # ALL or one of BACKBONES
    k: int
    n: int  # encoder x dataset cells with both scores
    spearman: float | None  # None with fewer than 3 cells or a constant score


def versus(
    results: Iterable[Result], *, protocol: str = "1", encoders: Iterable[str] = (), datasets: Iterable[str] = ()
) -> tuple[list[Versus], int, int]:
    """Spearman ρ of AMI (the protocol's, mean over seeds per cell) with kNN top-1, per clusterer, k and
    backbone (pooled first); and how many AMI points and kNN cells there were."""
    from scipy import stats

    from zsbench.core.protocol import load_spec

    pts, acc = cells(results, protocol=protocol, encoders=encoders, datasets=datasets)
    order = list(load_spec(protocol).clusterers)
    clusterers = sorted({p.clusterer for p in pts}, key=lambda c: (order.index(c) if c in order else len(order), c))
    out = []
    for clu in clusterers:
        for bb in (ALL, *BACKBONES):
            for k in DEFAULT_KS:
                pairs = [
                    (p.ami, acc[(p.encoder, p.dataset, k)])
                    for p in pts
                    if p.clusterer == clu and (p.encoder, p.dataset, k) in acc and bb in (ALL, backbone(p.encoder))
                ]
                if bb != ALL and not pairs:
                    continue
                rho = None
                if len(pairs) >= 3 and len({a for a, _ in pairs}) > 1 and len({b for _, b in pairs}) > 1:
                    value = float(stats.spearmanr([a for a, _ in pairs], [b for _, b in pairs]).statistic)
                    rho = None if math.isnan(value) else value
                out.append(Versus(clu, bb, k, len(pairs), rho))
    return out, len(pts), len(acc)
