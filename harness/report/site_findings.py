"""The paper's three findings for the published site: each one's table (a :class:`Finding`) and its figure
as PNG bytes, or why there is none.

The same analyses and figures as ``zsbench findings supervision|silhouette|knn`` with their defaults
(the study's encoder families, k = 20), from the board's sources. A finding the records cannot support
(no encoder of a known family, no complete record, no kNN accuracy) is not an error here: the site
says why it has no figure.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from zsbench.plugin.errors import ZsbenchError
from zsbench.report.findings import Finding

KINDS = ("supervision", "silhouette", "knn")
TITLES = {"supervision": "Supervised against self-supervised encoders, by dataset group",
          "silhouette": "The label-free proxy: silhouette against AMI",
          "knn": "AMI against kNN accuracy"}
KNN_K = 20  # the k of the kNN figure, as `zsbench findings knn` draws by default
NO_MATPLOTLIB = "no figure: matplotlib is not installed (pip install 'zsbench[plot]')"


@dataclass(frozen=True)
class SiteFinding:
    """One finding: its table (None when the sources cannot support it) and figure, and why either is absent."""

    kind: str
    finding: Finding | None
    png: bytes | None
    why: str | None  # why there is no figure (and, without a finding, no table)
    meta: tuple[str, ...] = ()


def findings(sources: Sequence[Any], protocol: str) -> list[SiteFinding]:
    """The three findings from the board's sources (records and, with ``--store``, a store)."""
    from zsbench.core.protocol import load_spec

    spec = load_spec(protocol)
    meta = (f"protocol {spec.label}", "sources: " + (", ".join(s.name for s in sources) or "none"))
    out = []
    for kind, make in (("supervision", _supervision), ("silhouette", _silhouette), ("knn", _knn)):
        try:
            finding, draw, why = make(sources, protocol)
        except ZsbenchError as exc:  # e.g. a finding its inputs cannot give; the site still builds
            finding, draw, why = None, None, str(exc)
        png = None
        if draw is not None:
            png, why = figure(draw)
        out.append(SiteFinding(kind, finding, png, why, meta))
    return out


def figure(draw: Callable[[Any], None]) -> tuple[bytes | None, str | None]:
    """``draw(file)``'s PNG bytes, or None and why (matplotlib is an extra: ``zsbench[plot]``)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return None, NO_MATPLOTLIB
    buf = io.BytesIO()
    draw(buf)
    return buf.getvalue(), None


Made = tuple[Finding | None, Callable[[Any], None] | None, str | None]


def _supervision(sources: Sequence[Any], protocol: str) -> Made:
    from zsbench.analysis.supervision import compare
    from zsbench.report import findings as rf

    result = compare(sources, protocol=protocol)
    if not result.families or not any(g.levels for g in result.groups):
        unknown = f" (family unknown: {', '.join(result.unclassified)})" if result.unclassified else ""
        return None, None, ("no table or figure: no encoder with a known family and scores on a full dataset "
                            f"group{unknown}; `zsbench findings supervision --family NAME=FAMILY` names families")

    def draw(target: Any) -> None:
        from zsbench.report.finding_plots import plot_supervision

        plot_supervision(result, target)

    return rf.supervision(result), draw, None


def _silhouette(sources: Sequence[Any], protocol: str) -> Made:
    from zsbench.analysis import proxy as px
    from zsbench.core.protocol import load_spec
    from zsbench.report import findings as rf

    spec = load_spec(protocol)
    results, left_out = px.from_sources(sources, protocol=protocol)
    pts = px.points(results)
    if not pts:
        return None, None, (f"no table or figure: no scored protocol {spec.version} results with reducer "
                            f"{spec.reducer} outside partial records (partial records are left out)")
    corrs = px.correlations(pts, spec.clusterers)

    def draw(target: Any) -> None:
        from zsbench.report.plots import plot_correlations

        plot_correlations(pts, corrs, target, clusterer_order=spec.clusterers)

    return rf.silhouette(corrs, pts, spec, len(results), left_out), draw, None


def _knn(sources: Sequence[Any], protocol: str) -> Made:
    from zsbench.analysis import knn as ak
    from zsbench.core.knn import DEFAULT_KS
    from zsbench.core.protocol import load_spec
    from zsbench.report import findings as rf

    results = [r for s in sources for r in s.results]
    corrs, n_ami, n_knn = ak.versus(results, protocol=protocol)
    if not corrs or not n_knn:
        return None, None, (f"no table or figure: no encoder × dataset cells with both AMI and kNN accuracy "
                            f"({n_ami} AMI point(s), {n_knn} kNN cell(s)); kNN accuracy comes from "
                            "`zsbench run --knn`, which records do not carry")

    def draw(target: Any) -> None:
        from zsbench.report.finding_plots import plot_knn

        pts, acc = ak.cells(results, protocol=protocol)
        rho = {c.clusterer: c.spearman for c in corrs if c.backbone == ak.ALL and c.k == KNN_K}
        plot_knn(ak.scatter(pts, acc, KNN_K), rho, KNN_K, target, order=load_spec(protocol).clusterers)

    return rf.knn(corrs, protocol, DEFAULT_KS), draw, None
