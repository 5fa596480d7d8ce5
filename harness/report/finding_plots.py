"""Figures of the paper's findings (matplotlib, imported lazily): (a) family levels and differences by
dataset group; (c) AMI against kNN accuracy. The proxy's scatter, finding (b), is
:func:`zsbench.report.plots.plot_correlations`. Drawn as :func:`zsbench.report.plots.figure` draws:
matplotlib's defaults, the Agg canvas, no timestamp.
"""

from __future__ import annotations

from collections.abc import Sequence

from zsbench.analysis.supervision import SUPERVISED, Supervision
from zsbench.report.plots import figure


def plot_supervision(s: Supervision, path) -> None:
    """Left: each family's level per group with its interval; right: each family's difference from the
    supervised encoder of its backbone, with a zero line (above it: better than supervised)."""
    fams = s.shown_families
    others = [f for f in fams if f != SUPERVISED and any(f in g.differences for g in s.groups)]
    groups = [g.name for g in s.groups]
    with figure(path, 2, width=5.5, height=3.8, cols=2) as axes:
        import matplotlib

        colours = matplotlib.colormaps["tab10"]
        colour = {f: colours(i % colours.N) for i, f in enumerate(fams)}
        for ax, panel, shown in ((axes[0], "levels", fams), (axes[1], "differences", others)):
            width = 0.8 / max(1, len(shown))
            for j, fam in enumerate(shown):
                xs, ys, lo, hi = [], [], [], []
                for i, g in enumerate(s.groups):
                    iv = getattr(g, panel).get(fam)
                    if iv is None:
                        continue
                    xs.append(i - 0.4 + width * (j + 0.5))
                    ys.append(iv.mean)
                    lo.append(0.0 if iv.low is None else iv.mean - iv.low)
                    hi.append(0.0 if iv.high is None else iv.high - iv.mean)
                if xs:
                    ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o", ms=4, capsize=3, color=colour[fam], label=fam)
            ax.set_xticks(range(len(groups)))
            ax.set_xticklabels(groups, rotation=20, fontsize=8)
            ax.grid(True, axis="y", alpha=0.3)
            if shown:
                ax.legend(fontsize=7, loc="best")
        axes[0].set_ylabel("AMI ×100 (mean over clusterers)")
        axes[0].set_title("level by family (95% interval over encoders)", fontsize=10)
        axes[1].axhline(0.0, color="black", lw=0.8)
        axes[1].set_ylabel("AMI ×100 minus supervised (same backbone)")
        axes[1].set_title("difference from supervised (95% interval over pairs)", fontsize=10)


def plot_knn(
    pairs: dict[str, list[tuple[float, float, str]]],
    rho: dict[str, float | None],
    k: int,
    path,
    *,
    order: Sequence[str] = (),
) -> None:
    """Per clusterer: kNN top-1 ×100 (x) against AMI ×100 (y), one point per encoder × dataset cell,
    coloured by backbone; each panel titled with its pooled Spearman ρ."""
    names = sorted(pairs, key=lambda c: (list(order).index(c) if c in order else len(order), c))
    backbones = sorted({b for pts in pairs.values() for _, _, b in pts})
    with figure(path, max(1, len(names))) as axes:
        import matplotlib

        colours = matplotlib.colormaps["tab10"]
        for ax, name in zip(axes, names, strict=False):
            for i, bb in enumerate(backbones):
                mine = [(x, y) for x, y, b in pairs[name] if b == bb]
                if mine:
                    ax.scatter(
                        [x for x, _ in mine],
                        [y for _, y in mine],
                        s=22,
                        color=colours(i % colours.N),
                        label=bb,
                        edgecolors="none",
                    )
            r = rho.get(name)
            ax.set_title(f"{name}: ρ = {'n/a' if r is None else f'{r:.2f}'}, n = {len(pairs[name])}", fontsize=10)
            ax.set_xlabel(f"kNN top-1 ×100 (k={k})")
            ax.set_ylabel("AMI ×100")
            ax.grid(True, alpha=0.3)
        if axes and len(backbones) > 1:
            axes[0].legend(fontsize=7, title="backbone", title_fontsize=7, loc="best")
