"""The label-free proxy: how well the silhouette of predicted labels in UMAP space tracks AMI.

The study (Lowe et al. 2024) finds the two highly rank-correlated per clusterer across encoder x
dataset, so the silhouette can stand in for AMI where there are no labels. Points here are cells
(encoder, dataset, clusterer) averaged over seeds, as in the study's figure.
"""

from __future__ import annotations

import contextlib
import math
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

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


def standard(results: Iterable[Result], *, protocol: str = "1", encoders: Iterable[str] = (),
             datasets: Iterable[str] = ()) -> list[Result]:
    """The protocol's own results (its reducer), optionally narrowed to some encoders and datasets.

    As on the leaderboard: one identity per encoder (its latest), the latest result per cell, so
    repeats do not weigh a cell's mean and two weights of one name never share a point.
    """
    from zsbench.analysis import selection
    from zsbench.core.protocol import load_spec

    spec = load_spec(protocol)
    keep_enc, keep_ds = set(encoders), set(datasets)
    mine = [r for r in results if r.protocol_version == spec.version and r.reducer == spec.reducer
            and not (keep_enc and r.encoder not in keep_enc) and not (keep_ds and r.dataset not in keep_ds)]
    newest = selection.current(mine)
    kept = [r for r in selection.latest(mine) if selection.identity(r) == newest[r.encoder]]
    # one sample set per (encoder, dataset): that of its latest result
    samples = {(r.encoder, r.dataset): selection.sample_set(r) for r in sorted(kept, key=lambda r: str(r.created_at))}
    return [r for r in kept if selection.sample_set(r) == samples[(r.encoder, r.dataset)]]


def from_sources(sources: Iterable, *, protocol: str = "1", encoders: Iterable[str] = (),
                 datasets: Iterable[str] = ()) -> tuple[list[Result], list[str]]:
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


# -- plots (matplotlib, imported lazily: `pip install zsbench[plot]`) -------------------------------

def require_matplotlib() -> None:
    """Fail before any work when a plot is asked for and matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        from zsbench.plugin.errors import ZsbenchError

        raise ZsbenchError("--png needs matplotlib: pip install 'zsbench[plot]'") from None


@contextlib.contextmanager
def _figure(path, panels: int, *, width: float = 4.0, height: float = 3.4, cols: int = 3) -> Iterator[list]:
    """Axes for ``panels`` panels, saved to ``path`` as a PNG when the block ends."""
    require_matplotlib()
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cols = max(1, min(cols, panels))
    rows = -(-panels // cols)
    # matplotlib's defaults, not the user's matplotlibrc, while drawing: the same data, the same picture
    with matplotlib.style.context("default"):
        fig = Figure(figsize=(width * cols, height * rows), dpi=120)
        FigureCanvasAgg(fig)  # the non-interactive Agg canvas: no pyplot, no GUI backend
        yield [fig.add_subplot(rows, cols, i + 1) for i in range(panels)]
        fig.tight_layout()
        # no timestamp or version in the file: the same figure gives the same bytes
        try:
            fig.savefig(Path(path), format="png", dpi=120, metadata={"Software": None})
        except OSError as exc:
            from zsbench.plugin.errors import ZsbenchError

            raise ZsbenchError(f"cannot write {path}: {exc.strerror or exc}; pass another --png path") from None


def plot_correlations(pts: Iterable[Point], corrs: Iterable[Correlation], path, *,
                      clusterer_order: Iterable[str] = ()) -> None:
    """Scatter of silhouette (x) against AMI x100 (y), one panel per clusterer, titled with rho and n."""
    pts = list(pts)
    by = {c.clusterer: c for c in corrs}
    order = list(clusterer_order)
    names = sorted({p.clusterer for p in pts}, key=lambda c: (order.index(c) if c in order else len(order), c))
    # colour by dataset; by encoder when there is one dataset only
    by_dataset = len({p.dataset for p in pts}) > 1
    group = (lambda p: p.dataset) if by_dataset else (lambda p: p.encoder)
    groups = sorted({group(p) for p in pts})
    with _figure(path, max(1, len(names))) as axes:
        import matplotlib

        colours = matplotlib.colormaps["tab10" if len(groups) <= 10 else "tab20"]
        for ax, name in zip(axes, names, strict=False):
            for i, g in enumerate(groups):
                mine = [p for p in pts if p.clusterer == name and group(p) == g]
                if mine:
                    ax.scatter([p.silhouette for p in mine], [100 * p.ami for p in mine], s=22,
                               color=colours(i % colours.N), label=g, edgecolors="none")
            c = by.get(name)
            rho = f"{c.spearman:.2f}" if c is not None and c.spearman is not None else "n/a"
            ax.set_title(f"{name}: ρ = {rho}, n = {c.n if c else 0}", fontsize=10)
            ax.set_xlabel("silhouette in UMAP space")
            ax.set_ylabel("AMI ×100")
            ax.grid(True, alpha=0.3)
        if 1 < len(groups) <= 20:
            axes[0].legend(fontsize=7, title="dataset" if by_dataset else "encoder", title_fontsize=7, loc="best")


# -- choosing a clusterer without labels ------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    """One clustering of the proxy space, scored by its silhouette there."""

    clusterer: str
    n_clusters: int | None  # the k it was given; None: it finds k itself
    found: int  # clusters found (HDBSCAN noise not counted)
    noise: float  # fraction of points labelled noise (-1)
    silhouette: float | None  # in the proxy space, noise as one cluster; None where undefined
    ami: float | None = None  # a check the labels allow, never used to choose; None without labels
    error: str | None = None
    labels_key: str | None = None  # where its predicted labels are in the artifact cache ("labels")

    @property
    def settings(self) -> str:
        return "finds k" if self.n_clusters is None else f"k={self.n_clusters}"

    def describe(self) -> str:
        noise = f" (+{100 * self.noise:.0f}% noise)" if self.noise else ""
        sil = "n/a" if self.silhouette is None else f"{self.silhouette:.4f}"
        return f"{self.clusterer}, {self.settings}, {self.found} clusters{noise}, silhouette {sil}"


@dataclass(frozen=True)
class Choice:
    encoder: str
    dataset: str
    seed: int
    space: str  # the proxy reducer's label
    n_samples: int
    n_labelled: int  # images with a label; the AMI check is over these
    n_classes: int  # distinct labels among them; below 2 there is no check
    candidates: list[Candidate]  # highest silhouette first; undefined and failed ones last

    @property
    def chosen(self) -> Candidate | None:
        first = self.candidates[0] if self.candidates else None
        return first if first is not None and first.silhouette is not None else None

    @property
    def checked(self) -> bool:
        return self.n_classes >= 2

    @property
    def best(self) -> Candidate | None:
        """The candidate the labels would have picked (highest AMI): for the check only."""
        scored = [c for c in self.candidates if c.ami is not None]
        return max(scored, key=lambda c: c.ami) if scored else None


def _min_images(proxy_estimator, k_max: int) -> int:
    # UMAP's spectral initialisation needs more points than output dimensions (+1); every
    # candidate needs more points than clusters for its silhouette to exist
    dims = proxy_estimator.get_params(deep=False).get("n_components")
    return max(k_max + 1, dims + 2 if isinstance(dims, int) else 3)


def _select(ds, name: str, progress, max_samples: int | None, subsample_seed: int = 0):
    """The images to cluster: all of them, labelled or not (labels are not needed to choose)."""
    import numpy as np

    from zsbench.core.progress import NullProgress
    from zsbench.engine.inputs import DatasetView, prepare_labels, select_samples
    from zsbench.plugin.datasets import stratified_indices
    from zsbench.plugin.errors import InvalidInputError

    if len(ds) == 0:
        raise InvalidInputError(f"dataset {name} is empty; check its files")
    labels = np.asarray(ds.labels)
    if len(labels) != len(ds):
        raise InvalidInputError(f"dataset {name} has {len(ds)} images but {len(labels)} labels")
    _, has = prepare_labels(labels, f"dataset {name}", NullProgress())
    if has.all():  # exactly `zsbench run`'s selection, so the two share the cached embedding
        return select_samples(ds, name, progress, max_samples=max_samples, subsample_seed=subsample_seed)
    # select_samples would leave the unlabelled images out; here they are what is clustered
    positions = np.arange(len(ds))
    record: dict = {"n_available": len(ds), "n_missing_labels": int((~has).sum())}
    if max_samples is not None:
        if max_samples < 2:
            raise InvalidInputError(f"--max-samples must be at least 2, got {max_samples}")
        strata = np.where(has, labels.astype(str), "")  # the unlabelled images are one stratum
        positions = stratified_indices(strata, max_samples, subsample_seed)
        record.update(max_samples=max_samples, subsample_seed=subsample_seed,
                      subsample="stratified by label (unlabelled as one group), seeded")
    return DatasetView(ds, positions), record


def _embed(enc_entry, ds_entry, view, selection, options, spec, art, progress):
    """The embedding, from the artifact cache when there; keyed as `zsbench run` keys it (api.embed_key),
    so either command reuses the other's. Returns (embeddings, key)."""
    import numpy as np

    from zsbench.core.identity import describe
    from zsbench.core.protocol import embed
    from zsbench.engine.session import embed_key, sample_fingerprint
    from zsbench.plugin.errors import InvalidInputError

    label = f"{enc_entry.name} on {ds_entry.name}"
    with progress.stage(f"load encoder {enc_entry.name}"):
        enc = enc_entry.create(**options)
    key = embed_key(spec, enc_entry, describe(enc_entry.name, enc_entry.plugin, enc, options), ds_entry.name,
                    sample_fingerprint(view, selection))
    cached = art.get("embed", key)
    if cached is not None:
        return np.asarray(cached), key
    x = embed(enc, view, label, progress).astype(np.float32, copy=False)
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise InvalidInputError(f"{label}: {int(bad.sum())} embeddings contain NaN or Inf (first rows: "
                                f"{', '.join(map(str, np.flatnonzero(bad)[:5]))}); fix the encoder")
    art.put("embed", key, x, {"stage": "embed", "encoder": enc_entry.name, "dataset": ds_entry.name})
    return x, key


def candidate_task(cache_root: str, space_key: str, label: str, seed: int, n_clusters: int | None, key: str,
                   spec: dict, silhouette_max_samples: int) -> dict:
    """On a worker: the clustering (from the cache, else :func:`zsbench.engine.stages.cluster_task`) and its
    silhouette in the space it was fitted on, so the silhouettes run in parallel too."""
    import numpy as np

    from zsbench.core.metrics import silhouette
    from zsbench.engine.stages import cluster_task
    from zsbench.storage.cache import ArtifactCache

    cache = ArtifactCache(cache_root)
    outcome: dict = {"error": None, "warnings": [], "reused": True}
    if cache.get("labels", key) is None:
        outcome = {**cluster_task(cache_root, space_key, label, seed, n_clusters, key, spec), "reused": False}
        if outcome["error"]:
            return outcome
    pred, space = cache.get("labels", key), cache.get("reduce", space_key)
    if pred is None or space is None:
        return {**outcome, "error": f"clusterer {label}: its input or labels were lost from the cache; run again"}
    outcome["silhouette"] = silhouette(np.asarray(space), np.asarray(pred), max_samples=silhouette_max_samples,
                                       seed=seed)
    return outcome


def choose(encoder: str, dataset: str, *, k_min: int = 2, k_max: int = 30, seed: int = 0,
           max_samples: int | None = None, dataset_options: dict | None = None, cache=None,
           executor: str | None = None, executor_options: dict | None = None, progress=None,
           protocol: str = "1") -> Choice:
    """Choose a clusterer for ``encoder`` on ``dataset`` without labels: the highest silhouette in the
    protocol's proxy space (UMAP-50, seed ``seed``, fitted once).

    Candidates: each protocol clusterer that finds k itself, with its standard settings, and each
    one that needs k, for every k in [k_min, k_max]. Embedding, reduction and every clustering go
    through the artifact cache with the keys `zsbench run` uses, so reruns and runs share them.
    Labels, where the dataset has them, are read only after the choice, for the AMI check.
    """
    import numpy as np

    from zsbench.core.catalog import build_catalog
    from zsbench.core.metrics import label_scores
    from zsbench.core.progress import NullProgress
    from zsbench.core.protocol import Component, load_spec
    from zsbench.engine.grid import memory_refusal, stage_key
    from zsbench.engine.inputs import prepare_labels
    from zsbench.engine.session import open_cache, open_executor
    from zsbench.engine.stages import reduce_task
    from zsbench.plugin.errors import InvalidInputError, check_seed

    if k_min < 2 or k_max < k_min:
        raise InvalidInputError(f"--k-min {k_min} --k-max {k_max}: need 2 <= k-min <= k-max")
    check_seed(seed, "--seed")
    spec = load_spec(protocol)
    progress = progress or NullProgress()
    catalog = build_catalog()
    enc_entry, ds_entry = catalog.get("encoders", encoder), catalog.get("datasets", dataset)
    proxy = Component.resolve(catalog, "reducers", spec.proxy_reducer)
    clusterers = [Component.resolve(catalog, "clusterers", c) for c in spec.clusterers]
    with open_cache(cache) as art:
        with progress.stage(f"load dataset {ds_entry.name}"):
            ds = ds_entry.create(**dict(dataset_options or {}))
        view, selection = _select(ds, ds_entry.name, progress, max_samples)
        need = _min_images(proxy.build(seed=seed), k_max)
        if len(view) < need:
            raise InvalidInputError(
                f"dataset {ds_entry.name}: {len(view)} images; choosing a clusterer needs at least {need} "
                f"(more than the {proxy.label} space's dimensions + 1 and than --k-max {k_max}); "
                "add images or lower --k-max")
        x, emb_key = _embed(enc_entry, ds_entry, view, selection, {}, spec, art, progress)
        # the proxy space, keyed as the grid keys it: shared with `zsbench run` for the same seed
        space_key = stage_key("reduce", spec, emb_key, proxy, proxy.build(seed=seed), seed)
        if art.get("reduce", space_key) is None:
            with progress.stage(f"reduce: {proxy.label} (seed {seed}) of {len(x)} embeddings"):
                outcome = reduce_task(str(art.root), emb_key, proxy.label, seed, space_key,
                                      {"stage": "reduce", "reducer": proxy.label, "seed": seed,
                                       "encoder": enc_entry.name, "dataset": ds_entry.name})
            if outcome["error"]:
                raise InvalidInputError(f"{enc_entry.name} on {ds_entry.name}: {outcome['error']}")
        dims = int(np.asarray(art.get("reduce", space_key)).shape[1])
        jobs = []  # (component, k or None)
        for clu in clusterers:
            takes_k = clu.build(seed=seed).get_params(deep=False).get("n_clusters") is not None
            jobs += [(clu, k) for k in range(k_min, k_max + 1)] if takes_k else [(clu, None)]
        outcomes: dict[int, dict] = {}
        with open_executor(catalog, executor, executor_options) as pool:
            futures = {}
            for i, (clu, k) in enumerate(jobs):
                refusal = memory_refusal(clu, len(x), dims)
                if refusal:
                    outcomes[i] = {"error": refusal}
                    continue
                key = stage_key("labels", spec, space_key, clu, clu.build(seed=seed, n_clusters=k), seed)
                futures[pool.submit(candidate_task, str(art.root), space_key, clu.label, seed, k, key,
                                    {"stage": "labels", "clusterer": clu.label, "seed": seed,
                                     "encoder": enc_entry.name, "dataset": ds_entry.name},
                                    spec.silhouette_max_samples)] = (i, key)
            with progress.stage(f"cluster: {len(jobs)} candidate(s)", total=len(jobs)) as advance:
                advance(len(outcomes))
                for future in pool.as_completed(list(futures)):
                    i, key = futures[future]
                    outcomes[i] = {**future.result(), "key": key}
                    advance(1)
        # the choice is made from these alone; labels come in afterwards, for the check
        found = []
        for i, (clu, k) in enumerate(jobs):
            out = outcomes[i]
            if out["error"]:
                found.append(Candidate(clu.label, k, 0, 0.0, None, error=out["error"]))
                continue
            pred = np.asarray(art.get("labels", out["key"]))
            found.append(Candidate(clu.label, k, int(len(np.unique(pred[pred >= 0]))), float((pred < 0).mean()),
                                   out["silhouette"], labels_key=out["key"]))
        found.sort(key=lambda c: (c.error is not None, c.silhouette is None, -(c.silhouette or 0.0),
                                  spec.clusterers.index(c.clusterer), c.n_clusters or 0))
        y, has = prepare_labels(view.labels, f"dataset {ds_entry.name}", NullProgress())
        n_classes = int(len(np.unique(y)))
        if n_classes >= 2:  # AMI over the labelled images; unlabelled ones were clustered too
            for i, c in enumerate(found):
                if c.error is None:
                    pred = np.asarray(art.get("labels", c.labels_key))[has]
                    found[i] = replace(c, ami=label_scores(y, pred)["ami"])
    return Choice(enc_entry.name, ds_entry.name, seed, proxy.label, len(x), int(has.sum()), n_classes, found)


def plot_choice(choice: Choice, path) -> None:
    """Silhouette against clusters found, per clusterer, the choice starred; with labels, a second
    panel of AMI x100 against silhouette (the check)."""
    with _figure(path, 2 if choice.checked else 1, width=5.0, height=3.8) as axes:
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
                axes[1].scatter([c.silhouette for c in mine], [100 * c.ami for c in mine], s=14, **style)
        chosen, best = choice.chosen, choice.best
        if chosen is not None:
            axes[0].scatter([chosen.found], [chosen.silhouette], marker="*", s=220, color="black", zorder=5,
                            label="choice")
            if choice.checked:
                axes[1].scatter([chosen.silhouette], [100 * chosen.ami], marker="*", s=220, color="black", zorder=5,
                                label="choice")
        if choice.checked and best is not None and best.silhouette is not None:
            axes[1].scatter([best.silhouette], [100 * best.ami], s=140, facecolors="none", edgecolors="black",
                            linewidths=1.2, zorder=6, label="best AMI")
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
