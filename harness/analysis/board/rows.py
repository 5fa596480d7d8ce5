"""A leaderboard's rows: one encoder identity from one source, its scores per view, rank and label.

:mod:`zsbench.analysis.board` builds them; the statistics are :mod:`zsbench.analysis.stats`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from zsbench.analysis.stats import Score, better, combine, score
from zsbench.core.identity import short

LOCAL = "local store"


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


def label_rows(rows: list[Row]) -> None:
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


def lacks(row: Row, view: View, needed: Mapping[str, list[str]], datasets: list[Dataset]) -> list[str]:
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


def view_scores(row: Row, needed: Mapping[str, list[str]], datasets: list[Dataset], groups: list[str]) -> View:
    """Scores of one view: ``needed`` maps each suite dataset to the clusterers the view averages."""
    view = View()
    for d in datasets:
        parts = [score(row.ami[(d.name, c)]) if (d.name, c) in row.ami else None for c in needed[d.name]]
        view.datasets[d.name] = combine(parts)
    for g in groups:
        view.groups[g] = combine([view.datasets[d.name] for d in datasets if d.group == g])
    view.overall = combine([view.datasets[d.name] for d in datasets])
    return view


def rank(rows: list[Row], view: str) -> None:
    """Rank intervals among the rows with every suite dataset and clusterer of the view (never partial)."""
    ranked = [r for r in rows if not r.lacks[view]]
    overall: list[Score] = []
    for row in ranked:
        s = row.views[view].overall
        assert s is not None  # lacks(): a row that lacks nothing of the view has its overall score
        overall.append(s)
    for row, mine in zip(ranked, overall, strict=True):
        above = sum(1 for o, theirs in zip(ranked, overall, strict=True) if o is not row and better(theirs, mine))
        below = sum(1 for o, theirs in zip(ranked, overall, strict=True) if o is not row and better(mine, theirs))
        row.views[view].rank = (1 + above, len(ranked) - below)


def row_order(row: Row, view: str) -> tuple:
    """Ranked rows first, by score; then the unranked, by what score they have."""
    overall = row.views[view].overall if view in row.views else None
    return (
        bool(row.lacks.get(view, True)),
        overall is None,
        -(overall.mean if overall else 0.0),
        row.encoder,
        row.identity,
        row.reducer,
        row.source,
    )
