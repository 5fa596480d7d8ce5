"""Every figure zsbench draws (matplotlib, imported lazily: ``pip install zsbench[plot]``): the paper's
findings (a) family levels and differences by dataset group, (b) the proxy's scatter, (c) AMI against kNN
accuracy, and a label-free choice of clusterer.

Drawn on matplotlib's defaults with the Agg canvas (no pyplot, no GUI backend, not the user's
matplotlibrc), and saved without a timestamp: the same data gives the same bytes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from zsbench.analysis.findings import SUPERVISED, Supervision
from zsbench.analysis.proxy import Correlation, Point
from zsbench.analysis.proxy.choice import Candidate, Choice
from zsbench.plugin.errors import ZsbenchError


def require_matplotlib(flag: str = "--png") -> None:
    """Fail before any work when a plot is asked for (by ``flag``) and matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ZsbenchError(f"{flag} needs matplotlib: pip install 'zsbench[plot]'") from None


@contextlib.contextmanager
def figure(path, panels: int, *, width: float = 4.0, height: float = 3.4, cols: int = 3) -> Iterator[list]:
    """Axes for ``panels`` panels, saved to ``path`` (a file name or a binary file object) as a PNG when
    the block ends."""
    require_matplotlib()
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cols = max(1, min(cols, panels))
    rows = -(-panels // cols)
    # matplotlib's defaults, not the user's matplotlibrc, while drawing: the same data, the same picture;
    # no mathtext: names from users and records ("$x$", "a$\\frac$b") are drawn as written, never parsed
    with matplotlib.style.context("default"), matplotlib.rc_context({"text.parse_math": False}):
        fig = Figure(figsize=(width * cols, height * rows), dpi=120)
        FigureCanvasAgg(fig)  # the non-interactive Agg canvas: no pyplot, no GUI backend
        yield [fig.add_subplot(rows, cols, i + 1) for i in range(panels)]
        fig.tight_layout()
        # no timestamp or version in the file: the same figure gives the same bytes
        target = path if hasattr(path, "write") else Path(path)  # a file name, or a binary file object
        try:
            fig.savefig(target, format="png", dpi=120, metadata={"Software": None})
        except OSError as exc:
            raise ZsbenchError(f"cannot write {path}: {exc.strerror or exc}; pass another path") from None


def plot_correlations(
    pts: Iterable[Point], corrs: Iterable[Correlation], path, *, clusterer_order: Iterable[str] = ()
) -> None:
    """Scatter of silhouette (x) against AMI x100 (y), one panel per clusterer, titled with rho and n."""
    pts = list(pts)
    by = {c.clusterer: c for c in corrs}
    order = list(clusterer_order)
    names = sorted({p.clusterer for p in pts}, key=lambda c: (order.index(c) if c in order else len(order), c))
    # colour by dataset; by encoder when there is one dataset only
    by_dataset = len({p.dataset for p in pts}) > 1
    group = (lambda p: p.dataset) if by_dataset else (lambda p: p.encoder)
    groups = sorted({group(p) for p in pts})
    with figure(path, max(1, len(names))) as axes:
        import matplotlib

        colours = matplotlib.colormaps["tab10" if len(groups) <= 10 else "tab20"]
        for ax, name in zip(axes, names, strict=False):
            for i, g in enumerate(groups):
                mine = [p for p in pts if p.clusterer == name and group(p) == g]
                if mine:
                    ax.scatter(
                        [p.silhouette for p in mine],
                        [100 * p.ami for p in mine],
                        s=22,
                        color=colours(i % colours.N),
                        label=g,
                        edgecolors="none",
                    )
            c = by.get(name)
            rho = f"{c.spearman:.2f}" if c is not None and c.spearman is not None else "n/a"
            ax.set_title(f"{name}: ρ = {rho}, n = {c.n if c else 0}", fontsize=10)
            ax.set_xlabel("silhouette in UMAP space")
            ax.set_ylabel("AMI ×100")
            ax.grid(True, alpha=0.3)
        if 1 < len(groups) <= 20:
            axes[0].legend(fontsize=7, title="dataset" if by_dataset else "encoder", title_fontsize=7, loc="best")


def _ami(c: Candidate) -> float:
    """The AMI of a candidate in a checked choice: the labels scored every candidate that clustered."""
    assert c.ami is not None
    return c.ami


def plot_choice(choice: Choice, path) -> None:
    """Silhouette against clusters found, per clusterer, the choice starred; with labels, a second
    panel of AMI x100 against silhouette (the check)."""
    with figure(path, 2 if choice.checked else 1, width=5.0, height=3.8) as axes:
        import matplotlib

        colours = matplotlib.colormaps["tab10"]
        scored = [c for c in choice.candidates if c.silhouette is not None]
        names = list(dict.fromkeys(c.clusterer for c in sorted(scored, key=lambda c: c.clusterer)))
        for i, name in enumerate(names):
            mine = sorted((c for c in scored if c.clusterer == name), key=lambda c: (c.n_clusters or 0, c.found))
            style = {"color": colours(i % colours.N), "label": name}
            if mine[0].n_clusters is None:  # finds k itself: one point
                axes[0].scatter([c.found for c in mine], [c.silhouette for c in mine], marker="s", s=30, **style)
            else:
                axes[0].plot([c.found for c in mine], [c.silhouette for c in mine], marker="o", ms=3, lw=1, **style)
            if choice.checked:
                axes[1].scatter([c.silhouette for c in mine], [100 * _ami(c) for c in mine], s=14, **style)
        chosen, best = choice.chosen, choice.best
        if chosen is not None:
            axes[0].scatter(
                [chosen.found], [chosen.silhouette], marker="*", s=220, color="black", zorder=5, label="choice"
            )
            if choice.checked:
                axes[1].scatter(
                    [chosen.silhouette],
                    [100 * _ami(chosen)],
                    marker="*",
                    s=220,
                    color="black",
                    zorder=5,
                    label="choice",
                )
        if choice.checked and best is not None and best.silhouette is not None:
            axes[1].scatter(
                [best.silhouette],
                [100 * _ami(best)],
                s=140,
                facecolors="none",
                edgecolors="black",
                linewidths=1.2,
                zorder=6,
                label="best AMI",
            )
            axes[1].legend(fontsize=7, loc="lower right")
        axes[0].set_title(f"{choice.encoder} on {choice.dataset}: no labels used", fontsize=10)
        axes[0].set_xlabel("clusters found")
        axes[0].set_ylabel(f"silhouette in {choice.space} space")
        axes[0].legend(fontsize=7, loc="best")
        if choice.checked:
            axes[1].set_title("check with the labels (not used to choose)", fontsize=10)
            axes[1].set_xlabel(f"silhouette in {choice.space} space")
            axes[1].set_ylabel("AMI ×100")
        for ax in axes:
            ax.grid(True, alpha=0.3)


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
