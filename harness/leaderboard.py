"""The leaderboard: per encoder, AMI x100 per dataset, dataset group and overall, with intervals and ranks.

Rules, so that a board can be trusted and rebuilt:

- One protocol version per board. Per dataset, only results on one sample set compare: the
  fingerprint most rows used (ties: the smallest hash); other results are left out with a note.
- A cell is (row, dataset, clusterer); per seed it holds the AMI of the latest result. A *view* is
  one clusterer, or ``mean``: the average over the protocol's clusterers (those some row scored on
  that dataset, so one that none could run there is left out for all). A dataset's score in a
  view, a group's (mean over its datasets) and the overall (mean over all the board's datasets)
  are computed per seed, over the seeds every part has, then summarised as mean and 95%
  t-interval over seeds. A row missing a part gets no score there rather than a flattering one.
- Ranks are intervals: A ranks above B only when Welch's t-test over their per-seed overall scores
  says so (one-sided, 2.5%). Seeds of different encoders share only a random state, so they are not
  paired. Rows that cannot be told apart share a range ("1–3").
- Output is deterministic: inputs are sorted before aggregation and numbers are rounded, so two
  builds from the same records are byte-identical.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from zsbench import selection
from zsbench.identity import short
from zsbench.types import Result

FORMATS = ("table", "markdown", "csv", "json", "html")
GROUPS = ("in-domain", "domain-shift", "near-OOD", "fine-grained", "far-OOD")  # the study's order
MEAN = "mean"  # the view averaged over the protocol's clusterers
LOCAL = "local store"
CONFIDENCE = 0.95
DIGITS = 4  # rounding in machine-readable output


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

    def text(self) -> str:
        if self.low is None or self.high is None:
            return f"{self.mean:.1f}"
        return f"{self.mean:.1f} ± {(self.high - self.low) / 2:.1f}"

    def to_json(self) -> dict[str, Any]:
        return {"mean": _round(self.mean), "low": _round(self.low), "high": _round(self.high),
                "n_seeds": self.n_seeds}


def score(per_seed: Mapping[int, float]) -> Score | None:
    if not per_seed:
        return None
    pairs = tuple(sorted(per_seed.items()))
    values = [v for _, v in pairs]
    mean = statistics.fmean(values)
    if len(values) < 2:
        return Score(mean, None, None, pairs)
    half = _t(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return Score(mean, mean - half, mean + half, pairs)


def combine(parts: Sequence[Score | None]) -> Score | None:
    """The mean of several scores, seed by seed, over the seeds all of them have."""
    if not parts or any(p is None for p in parts):
        return None
    maps = [dict(p.per_seed) for p in parts]
    common = set.intersection(*(set(m) for m in maps))
    return score({s: statistics.fmean(m[s] for m in maps) for s in common})


@dataclass(frozen=True)
class Dataset:
    name: str
    group: str
    fingerprint: str
    n_samples: int | None
    n_classes: int | None


@dataclass
class View:
    overall: Score | None = None
    groups: dict[str, Score | None] = field(default_factory=dict)
    datasets: dict[str, Score | None] = field(default_factory=dict)
    rank: tuple[int, int] | None = None


@dataclass
class Row:
    encoder: str
    identity: str  # sha256 of the encoder identity (name, weights, preprocessing, options)
    reducer: str
    source: str
    ami: dict[tuple[str, str], dict[int, float]]  # (dataset, clusterer) -> seed -> AMI x100
    silhouette: dict[tuple[str, str], dict[int, float]]
    n_clusters: dict[tuple[str, str], dict[int, float]]
    partial: bool = False  # from a record marked partial: shown, never ranked
    views: dict[str, View] = field(default_factory=dict)
    lacks: dict[str, list[str]] = field(default_factory=dict)  # view -> what keeps the row from a rank
    label: str = ""  # the encoder, marked when it also comes from elsewhere or with another identity

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.encoder, self.identity, self.reducer, self.source)


@dataclass
class Leaderboard:
    protocol_version: str
    view: str
    views: list[str]
    clusterers: list[str]
    groups: list[str]
    datasets: list[Dataset]  # the suite: the datasets rows are scored and ranked on
    rows: list[Row]
    sources: list[str]
    notes: list[str]
    failed: int

    def cells(self, row: Row) -> list[tuple[str, str]]:
        order = {d.name: i for i, d in enumerate(self.datasets)}
        clu = {c: i for i, c in enumerate(self.clusterers)}
        return sorted((k for k in row.ami if k[0] in order), key=lambda k: (order[k[0]], clu[k[1]]))

    @property
    def suite(self) -> list[str]:
        return [d.name for d in self.datasets]


def build(results: Iterable[Any], *, protocol: str = "1", view: str = MEAN, datasets: Sequence[str] | None = None,
          all_identities: bool = False) -> Leaderboard:
    """A board from ``Source`` objects (see :func:`zsbench.records.load_sources`) or plain results.

    ``datasets`` is the suite to compare (default: the datasets most rows cover). Each row is one
    encoder identity from one source; by default only the latest identity of each encoder name per
    source is shown (``all_identities`` shows each as its own row).
    """
    from zsbench.errors import ZsbenchError
    from zsbench.protocol import load_spec

    spec = load_spec(protocol)
    sources: list[tuple[str, list[Result], bool]] = []
    loose: list[Result] = []
    for item in results:
        if isinstance(item, Result):
            loose.append(item)
        else:
            sources.append((item.name, list(item.results), bool(getattr(item, "partial", False))))
    if loose:
        sources.append((LOCAL, loose, False))
    notes: list[str] = []
    other_protocols = sum(1 for _, rs, _ in sources for r in rs if r.protocol_version != spec.version)
    if other_protocols:
        notes.append(f"{other_protocols} result(s) of other protocol versions left out "
                     f"(this board is protocol {spec.version}; see --protocol)")

    # per source: the latest result per cell, of each encoder's latest identity (unless all are asked for)
    latest: dict[tuple, Result] = {}
    partial_sources = {name for name, _, partial in sources if partial}
    for name, rs, _ in sources:
        mine = [r for r in rs if r.protocol_version == spec.version]
        newest = selection.current(mine)
        hidden: dict[str, set[str]] = {}
        for r in selection.latest(mine):
            sha = selection.identity(r)
            if not all_identities and sha != newest[r.encoder]:
                hidden.setdefault(r.encoder, set()).add(sha)
                continue
            latest[(r.encoder, sha, r.reducer, name, r.dataset, selection.sample_set(r), r.clusterer, r.seed)] = r
        for enc, shas in sorted(hidden.items()):
            where = "" if name == LOCAL else f" in {name}"
            notes.append(f"{enc}: {len(shas)} earlier identit{'y' if len(shas) == 1 else 'ies'}{where} hidden "
                         f"({', '.join(sorted(short(s) for s in shas))}); the board shows the latest, "
                         f"{short(newest[enc])} (--all-identities shows each as its own row)")
    failed = sum(1 for r in latest.values() if not r.ok or r.ami is None)

    # one sample set per dataset: the fingerprint most rows used
    users: dict[str, dict[str, set]] = {}
    for (enc, sha, red, src, ds, fp, _, _), r in latest.items():
        if r.ok and r.ami is not None:
            users.setdefault(ds, {}).setdefault(fp, set()).add((enc, sha, red, src))
    chosen = {ds: min(fps, key=lambda fp: (-len(fps[fp]), fp)) for ds, fps in users.items()}
    for ds, fps in sorted(users.items()):
        for fp, rows_ in sorted(fps.items()):
            if fp != chosen[ds]:
                who = ", ".join(sorted(f"{e}" + (f" ({red})" if red != spec.reducer else "") for e, _, red, _ in rows_))
                notes.append(f"{ds}: results of {who} left out: their sample set (fingerprint {fp[:8]}) differs "
                             f"from the board's ({chosen[ds][:8]}), e.g. another --max-samples or data version")

    rows: dict[tuple[str, str, str, str], Row] = {}
    info: dict[str, Dataset] = {}
    clusterers: set[str] = set()
    for (enc, sha, red, src, ds, fp, clu, seed), r in sorted(latest.items(), key=lambda kv: _sort_key(kv[0])):
        if not r.ok or r.ami is None or fp != chosen.get(ds):
            continue
        row = rows.setdefault((enc, sha, red, src), Row(enc, sha, red, src, {}, {}, {}, partial=src in partial_sources))
        row.ami.setdefault((ds, clu), {})[seed] = 100.0 * float(r.ami)
        if r.metrics.get("silhouette_proxy") is not None:
            row.silhouette.setdefault((ds, clu), {})[seed] = float(r.metrics["silhouette_proxy"])
        if r.metrics.get("n_clusters") is not None:
            row.n_clusters.setdefault((ds, clu), {})[seed] = float(r.metrics["n_clusters"])
        clusterers.add(clu)
        if ds not in info:
            dsc = selection.dataset_config(r)
            group = (dsc.get("info") or {}).get("group") or dsc.get("group") or "other"
            info[ds] = Dataset(ds, str(group), fp, r.metrics.get("n_samples"), r.metrics.get("n_classes"))

    # the suite: the datasets rows are compared on
    coverage = {ds: sum(1 for row in rows.values() if any(k[0] == ds for k in row.ami)) for ds in info}
    if datasets:
        unknown = [d for d in datasets if d not in info]
        if unknown:
            raise ZsbenchError(f"no results on {', '.join(unknown)} for this board; datasets with results: "
                               f"{', '.join(sorted(info)) or 'none'}")
        suite = list(dict.fromkeys(datasets))
    else:
        most = max(coverage.values(), default=0)
        suite = [ds for ds in info if coverage[ds] == most]
        outside = sorted(ds for ds in info if coverage[ds] < most)
        if outside:
            notes.append(f"not in the suite, as fewer rows have them (rows with each: "
                         f"{', '.join(f'{ds} {coverage[ds]}' for ds in outside)}; suite datasets: {most}): "
                         f"{', '.join(outside)}; choose the suite with --dataset")
    info = {ds: d for ds, d in info.items() if ds in suite}

    standard = list(spec.clusterers)
    ordered = sorted(clusterers, key=lambda c: (standard.index(c) if c in standard else len(standard), c))
    in_mean = [c for c in standard if c in clusterers]
    groups = sorted({d.group for d in info.values()},
                    key=lambda g: (GROUPS.index(g) if g in GROUPS else len(GROUPS), g))
    board_datasets = sorted(info.values(), key=lambda d: (groups.index(d.group), d.name))
    views = ([MEAN] if in_mean else []) + ordered
    # The mean view of a dataset averages the protocol's clusterers that some row scored on it: one
    # no row could run there (affinity propagation refused by the memory guard on a large dataset)
    # leaves every row alike, while a row missing one that others have gets no score.
    averaged = {d.name: [c for c in in_mean if any((d.name, c) in row.ami for row in rows.values())]
                for d in board_datasets}
    for d in board_datasets:
        absent = [c for c in in_mean if c not in averaged[d.name]]
        if absent:
            notes.append(f"{d.name}: the mean over clusterers leaves out {', '.join(absent)}, which no row has "
                         "a result for there")
    if view not in views and rows:
        raise ZsbenchError(f"no view {view!r} on this board; choose one of {', '.join(views)}")
    board_rows = list(rows.values())
    _label_rows(board_rows)
    for row in board_rows:
        for name in views:
            needed = averaged if name == MEAN else {d.name: [name] for d in board_datasets}
            row.views[name] = _view(row, needed, board_datasets, groups)
            row.lacks[name] = _lacks(row, row.views[name], needed, board_datasets)
    for name in views:
        _rank(board_rows, name)
    board_rows.sort(key=lambda row: _row_order(row, view))
    for row in board_rows:
        if row.lacks.get(view):
            notes.append(f"unranked: {row.label} ({short(row.identity)}) lacks {'; '.join(row.lacks[view])}")
    return Leaderboard(spec.version, view, views, ordered, groups, board_datasets, board_rows,
                       sorted(name for name, _, _ in sources), notes, failed)


def _label_rows(rows: list[Row]) -> None:
    """Display names: the encoder, with its source when it also comes from elsewhere, and its short
    identity when several identities of it are on the board (--all-identities)."""
    sources_of: dict[str, set[str]] = {}
    identities_of: dict[str, set[str]] = {}
    for row in rows:
        sources_of.setdefault(row.encoder, set()).add(row.source)
        identities_of.setdefault(row.encoder, set()).add(row.identity)
    for row in rows:
        row.label = row.encoder
        if len(identities_of[row.encoder]) > 1:
            row.label += f"@{short(row.identity)}"
        if len(sources_of[row.encoder]) > 1:  # the same encoder from a record and the local store
            local = row.source == LOCAL or row.source.startswith("store ")
            row.label += f" ({'local' if local else row.source})"
        if row.partial:
            row.label += " (partial)"


def _lacks(row: Row, view: View, needed: Mapping[str, list[str]], datasets: list[Dataset]) -> list[str]:
    """Why ``row`` is not ranked in a view: a partial record, suite datasets or clusterers it has no
    result for, or no seed common to all of them."""
    out = ["a complete record (this one is partial)"] if row.partial else []
    for d in datasets:
        missing = [c for c in needed[d.name] if (d.name, c) not in row.ami]
        if missing and len(missing) == len(needed[d.name]):
            out.append(f"{d.name}")
        elif missing:
            out.append(f"{d.name}: {', '.join(missing)}")
    if not out and view.overall is None:
        out.append("a seed common to every suite dataset and clusterer")
    return out


def _fingerprint(r: Result) -> str:
    config = r.config if isinstance(r.config, Mapping) else {}
    return str((config.get("dataset") or {}).get("fingerprint", ""))


def _sort_key(key: tuple) -> tuple:
    return tuple("" if v is None else v for v in key)


def _view(row: Row, needed: Mapping[str, list[str]], datasets: list[Dataset], groups: list[str]) -> View:
    """Scores of one view: ``needed`` maps each suite dataset to the clusterers the view averages."""
    view = View()
    for d in datasets:
        parts = [score(row.ami[(d.name, c)]) if (d.name, c) in row.ami else None for c in needed[d.name]]
        view.datasets[d.name] = combine(parts)
    for g in groups:
        view.groups[g] = combine([view.datasets[d.name] for d in datasets if d.group == g])
    view.overall = combine([view.datasets[d.name] for d in datasets])
    return view


def _better(a: Score, b: Score) -> bool:
    """Whether a's overall is above b's beyond seed noise (Welch's t-test, one-sided 2.5%)."""
    xa, xb = [v for _, v in a.per_seed], [v for _, v in b.per_seed]
    if len(xa) < 2 or len(xb) < 2:
        return False  # one seed gives no noise estimate: nothing can be told apart
    va, vb = statistics.variance(xa) / len(xa), statistics.variance(xb) / len(xb)
    diff = statistics.fmean(xa) - statistics.fmean(xb)
    if va + vb == 0:
        return diff > 0
    df = (va + vb) ** 2 / ((va ** 2 / (len(xa) - 1)) + (vb ** 2 / (len(xb) - 1)))
    return diff / math.sqrt(va + vb) > _t(df)


def _rank(rows: list[Row], view: str) -> None:
    """Rank intervals among the rows with every suite dataset and clusterer of the view (never partial)."""
    ranked = [r for r in rows if not r.lacks[view]]
    for row in ranked:
        mine = row.views[view].overall
        above = sum(1 for o in ranked if o is not row and _better(o.views[view].overall, mine))
        below = sum(1 for o in ranked if o is not row and _better(mine, o.views[view].overall))
        row.views[view].rank = (1 + above, len(ranked) - below)


def _row_order(row: Row, view: str) -> tuple:
    """Ranked rows first, by score; then the unranked, by what score they have."""
    overall = row.views[view].overall if view in row.views else None
    return (bool(row.lacks.get(view, True)), overall is None, -(overall.mean if overall else 0.0), row.encoder,
            row.identity, row.reducer, row.source)


def _t(df: float) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.5 + CONFIDENCE / 2, df))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, DIGITS)


# --------------------------------------------------------------------------------------------- render


def columns(board: Leaderboard, by: str = "auto") -> list[tuple[str, str]]:
    """Score columns (kind, name) after rank/encoder/reducer: overall then groups, datasets or clusterers."""
    if by == "auto":
        by = "clusterers" if len(board.datasets) == 1 else "groups"
    if by == "groups":
        return [("overall", "overall")] + [("group", g) for g in board.groups]
    if by == "datasets":
        return [("overall", "overall")] + [("dataset", d.name) for d in board.datasets]
    if by == "clusterers":
        return [("view", v) for v in board.views]
    raise ValueError(f"unknown columns {by!r}; choose auto, groups, datasets or clusterers")


def _cell(board: Leaderboard, row: Row, kind: str, name: str) -> Score | None:
    view = row.views.get(board.view)
    if kind == "view":
        return row.views[name].overall if name in row.views else None
    if view is None:
        return None
    return {"overall": view.overall, "group": view.groups.get(name), "dataset": view.datasets.get(name)}[kind]


def _rank_text(rank: tuple[int, int] | None) -> str:
    if rank is None:
        return "—"
    return str(rank[0]) if rank[0] == rank[1] else f"{rank[0]}–{rank[1]}"


def _header(board: Leaderboard, cols: list[tuple[str, str]]) -> list[str]:
    return ["rank", "encoder", "identity", "reducer"] + [name for _, name in cols]


def _text_rows(board: Leaderboard, cols: list[tuple[str, str]]) -> list[list[str]]:
    out = []
    for row in board.rows:
        view = row.views.get(board.view)
        cells = [(s.text() if (s := _cell(board, row, kind, name)) else "—") for kind, name in cols]
        out.append([_rank_text(view.rank if view else None), row.label, short(row.identity), row.reducer] + cells)
    return out


def caption(board: Leaderboard, cols: list[tuple[str, str]]) -> str:
    what = ("overall score per clusterer (the mean view averages them)" if cols and cols[0][0] == "view"
            else "averaged over clusterers" if board.view == MEAN else f"clusterer {board.view}")
    datasets = ", ".join(d.name for d in board.datasets)
    return (f"AMI ×100, mean ± half-width of the 95% t-interval over seeds; {what}; protocol "
            f"{board.protocol_version}; suite: {datasets}. A row is one encoder identity (its sha256, shortened). "
            "Ranks are intervals: rows that seed noise cannot tell apart share a range; rows without every suite "
            "dataset and clusterer are not ranked.")


def render(board: Leaderboard, fmt: str, by: str = "auto") -> str:
    """Render as ``markdown``, ``csv``, ``json`` or ``html`` text (``table`` is drawn with rich)."""
    cols = columns(board, by)
    if fmt == "markdown":
        header = _header(board, cols)
        lines = ["| " + " | ".join(_md(h) for h in header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in _text_rows(board, cols)]
        text = "\n".join(lines) + "\n\n" + caption(board, cols) + "\n"
        return text + "".join(f"\n- {_md(n)}" for n in board.notes) + ("\n" if board.notes else "")
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["encoder", "identity_sha256", "reducer", "source", "view", "level", "name", "ami_mean",
                         "ci_low", "ci_high", "n_seeds", "rank_low", "rank_high"])
        for row in board.rows:
            for view_name in board.views:
                view = row.views[view_name]
                rank = view.rank or (None, None)
                levels = ([("overall", "overall", view.overall)] + [("group", g, s) for g, s in view.groups.items()]
                          + [("dataset", d, s) for d, s in view.datasets.items()])
                for level, name, s in levels:
                    if s is not None:
                        writer.writerow([row.encoder, row.identity, row.reducer, row.source, view_name, level, name,
                                         f"{s.mean:.4f}", _fmt(s.low), _fmt(s.high), s.n_seeds,
                                         rank[0] if level == "overall" else "", rank[1] if level == "overall" else ""])
        return out.getvalue()
    if fmt == "json":
        return json.dumps(to_json(board), indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    if fmt == "html":
        from zsbench.report_html import render as html

        return html(to_json(board))
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def to_json(board: Leaderboard) -> dict[str, Any]:
    """The board as a JSON document (format ``zsbench-leaderboard/1``; the HTML page renders this)."""
    from zsbench import proxy

    def js(s: Score | None):
        return None if s is None else s.to_json()

    rows = []
    for row in board.rows:
        views = {}
        for name in board.views:
            v = row.views[name]
            views[name] = {"rank": None if v.rank is None else {"low": v.rank[0], "high": v.rank[1]},
                           "lacks": list(row.lacks.get(name, [])),
                           "overall": js(v.overall), "groups": {g: js(s) for g, s in v.groups.items()},
                           "datasets": {d: js(s) for d, s in v.datasets.items()}}
        cells = []
        for ds, clu in board.cells(row):
            sil = row.silhouette.get((ds, clu))
            ncl = row.n_clusters.get((ds, clu))
            cells.append({"dataset": ds, "clusterer": clu, "ami": js(score(row.ami[(ds, clu)])),
                          "silhouette_proxy": _round(statistics.fmean(sil.values())) if sil else None,
                          "n_clusters": _round(statistics.fmean(ncl.values())) if ncl else None})
        rows.append({"encoder": row.encoder, "identity_sha256": row.identity, "label": row.label,
                     "reducer": row.reducer, "source": row.source, "partial": row.partial, "views": views,
                     "cells": cells})
    points = [proxy.Point(row.label, ds, clu, statistics.fmean(row.ami[(ds, clu)].values()) / 100.0,
                          statistics.fmean(row.silhouette[(ds, clu)].values()), len(row.silhouette[(ds, clu)]))
              for row in board.rows for ds, clu in board.cells(row) if (ds, clu) in row.silhouette]
    correlations = [{"clusterer": c.clusterer, "n": c.n, "spearman": _round(c.spearman),
                     "pearson": _round(c.pearson)} for c in proxy.correlations(points, board.clusterers)]
    return {
        "format": "zsbench-leaderboard/1", "protocol_version": board.protocol_version, "suite": board.suite,
        "metric": "AMI x100",
        "interval": "95% t-interval over seeds", "view": board.view, "views": board.views,
        "clusterers": board.clusterers, "groups": board.groups,
        "datasets": [{"name": d.name, "group": d.group, "fingerprint": d.fingerprint, "n_samples": d.n_samples,
                      "n_classes": d.n_classes} for d in board.datasets],
        "sources": board.sources, "rows": rows, "proxy": correlations, "notes": board.notes,
        "failed_results": board.failed,
    }


def rich_table(board: Leaderboard, title: str = "zsbench leaderboard", by: str = "auto"):
    from rich.table import Table

    cols = columns(board, by)
    if len(board.datasets) == 1:
        title = f"{title}: {board.datasets[0].name}"
    table = Table(title=title, caption=caption(board, cols))
    for i, name in enumerate(_header(board, cols)):
        table.add_column(name, justify="left" if 0 < i < 4 else "right")
    for row in _text_rows(board, cols):
        table.add_row(*row)
    return table


SUMMARY_METRICS = (("ami", "AMI", 100.0), ("ari", "ARI", 100.0), ("n_clusters", "clusters", 1.0),
                   ("fraction_clustered", "clustered %", 100.0),
                   ("silhouette_proxy", "silhouette (proxy)", 1.0))


def summary_table(results: list[Result], title: str):
    """One row per clusterer of a single run: its metrics as mean ± std over seeds."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, caption="mean ± std over seeds; AMI, ARI and clustered ×100")
    table.add_column("clusterer")
    for _, header, _ in SUMMARY_METRICS:
        table.add_column(header, justify="right")
    table.add_column("seconds", justify="right")
    by_clusterer: dict[str, list[Result]] = {}
    for r in results:
        by_clusterer.setdefault(r.clusterer, []).append(r)
    for name, rows in by_clusterer.items():
        ok = [r for r in rows if r.ok]
        cells = []
        for key, _, scale in SUMMARY_METRICS:
            values = [scale * r.metrics[key] for r in ok if r.metrics.get(key) is not None]
            cells.append(_mean_std(values, ".1f" if scale != 1.0 or key == "n_clusters" else ".3f"))
        seconds = [r.timings.get("cluster", 0.0) for r in ok]
        failed = len(rows) - len(ok)
        label = Text.assemble(name, (f" ({failed} failed)", "red")) if failed else name
        table.add_row(label, *cells, _mean_std(seconds, ".2f"))
    return table


def _mean_std(values: list[float], spec: str) -> str:
    if not values:
        return "—"
    if len(values) == 1:
        return format(values[0], spec)
    return f"{format(statistics.fmean(values), spec)} ± {format(statistics.stdev(values), spec)}"
