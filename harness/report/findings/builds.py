"""The paper's three findings, each built once from a board's sources: its table and how to draw its figure.

``zsbench findings supervision|silhouette|knn``, ``zsbench proxy`` and the published site all build
them here, so a finding reads the same wherever it is shown. Sources that cannot support a finding
raise :class:`NoFinding`, whose message says why and what to run: the CLI prints it as its error,
the site shows it in place of the finding.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zsbench.plugin.errors import ZsbenchError

if TYPE_CHECKING:  # the CLI imports this module at start-up: the reports load when a finding is built
    from zsbench.report.findings import Finding

KNN_K = 20  # the k of the kNN figure unless asked otherwise
NO_MATPLOTLIB = "no figure: matplotlib is not installed (pip install 'zsbench[plot]')"


class NoFinding(ZsbenchError):
    """The sources cannot support a finding; the message says why and what to run."""


@dataclass(frozen=True)
class Built:
    """A finding's table and its figure, drawn on demand: ``draw(target)`` writes a PNG to a path or a binary
    file (matplotlib is imported only then)."""

    finding: Finding
    draw: Callable[[Any], None]


def _where(sources: Sequence[Any]) -> str:
    return ", ".join(s.name for s in sources) or "no source"


def meta(sources: Sequence[Any], protocol: str) -> list[str]:
    """The lines that say what a finding was built from: the protocol and the sources."""
    from zsbench.core.protocol import load_spec

    return [f"protocol {load_spec(protocol).label}", "sources: " + (", ".join(s.name for s in sources) or "none")]


def png(draw: Callable[[Any], None]) -> tuple[bytes | None, str | None]:
    """``draw``'s PNG bytes, or None and why (matplotlib is an extra: ``zsbench[plot]``)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return None, NO_MATPLOTLIB
    buf = io.BytesIO()
    draw(buf)
    return buf.getvalue(), None


def supervision(
    sources: Sequence[Any],
    protocol: str,
    *,
    families: Mapping[str, str] | None = None,
    encoders: Sequence[str] = (),
    datasets: Sequence[str] | None = None,
) -> Built:
    """(a) supervised against self-supervised encoders, by dataset group."""
    from zsbench.analysis.findings import compare
    from zsbench.report import findings as rf
    from zsbench.report.figures import plot_supervision

    result = compare(sources, protocol=protocol, families=families or {}, encoders=list(encoders), datasets=datasets)
    if result.unmatched:
        raise NoFinding(
            f"--family {', '.join(result.unmatched)}: no such encoder in {_where(sources)}; check the "
            "name (as `zsbench leaderboard` shows it) or drop the option"
        )
    if not result.families or not any(g.levels for g in result.groups):
        unknown = f" (family unknown: {', '.join(result.unclassified)})" if result.unclassified else ""
        raise NoFinding(
            f"no encoder with a known family and scores on a full dataset group in {_where(sources)}"
            f"{unknown}; run `zsbench run` first, or pass --family NAME=FAMILY"
        )
    return Built(rf.supervision(result), lambda target: plot_supervision(result, target))


def silhouette(
    sources: Sequence[Any], protocol: str, *, encoders: Sequence[str] = (), datasets: Sequence[str] = ()
) -> Built:
    """(b) the label-free proxy: silhouette in UMAP space against AMI, per clusterer and pooled."""
    from zsbench.analysis import proxy as px
    from zsbench.core.protocol import load_spec
    from zsbench.report import findings as rf
    from zsbench.report.figures import plot_correlations

    spec = load_spec(protocol)
    results, left_out = px.from_sources(sources, protocol=protocol, encoders=list(encoders), datasets=list(datasets))
    pts = px.points(results)
    if not pts:
        narrowed = "".join(f" --{flag} {v}" for flag, vs in (("encoder", encoders), ("dataset", datasets)) for v in vs)
        raise NoFinding(
            f"no scored protocol {spec.version} results with reducer {spec.reducer} outside partial "
            f"records{' for' + narrowed if narrowed else ''} in {_where(sources)}; run `zsbench run` "
            "first or pass --registry"
        )
    corrs = px.correlations(pts, spec.clusterers)
    return Built(
        rf.silhouette(corrs, pts, spec, len(results), left_out),
        lambda target: plot_correlations(pts, corrs, target, clusterer_order=spec.clusterers),
    )


def knn(
    sources: Sequence[Any], protocol: str, *, encoders: Sequence[str] = (), datasets: Sequence[str] = (), k: int = KNN_K
) -> Built:
    """(c) AMI against kNN top-1 accuracy, per clusterer and k, pooled and by backbone; the figure at ``k``."""
    from zsbench.analysis import knn as ak
    from zsbench.core.knn import DEFAULT_KS
    from zsbench.core.protocol import load_spec
    from zsbench.report import findings as rf
    from zsbench.report.figures import plot_knn

    if k not in DEFAULT_KS:
        raise ZsbenchError(f"--k {k}: kNN is scored at k = {', '.join(map(str, DEFAULT_KS))}; pass one of them")
    results = [r for s in sources for r in s.results]
    corrs, n_ami, n_knn = ak.versus(results, protocol=protocol, encoders=list(encoders), datasets=list(datasets))
    if not corrs or not n_knn:
        raise NoFinding(
            f"no encoder × dataset cells with both AMI (protocol {load_spec(protocol).version}) and kNN "
            "accuracy in "
            f"{_where(sources)} ({n_ami} AMI point(s), {n_knn} kNN cell(s)); run `zsbench run --knn` first "
            "(records do not carry kNN accuracy)"
        )

    def draw(target: Any) -> None:
        pts, acc = ak.cells(results, protocol=protocol, encoders=list(encoders), datasets=list(datasets))
        rho = {c.clusterer: c.spearman for c in corrs if c.backbone == ak.ALL and c.k == k}
        plot_knn(ak.scatter(pts, acc, k), rho, k, target, order=load_spec(protocol).clusterers)

    return Built(rf.knn(corrs, protocol, DEFAULT_KS), draw)
