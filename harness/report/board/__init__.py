"""The leaderboard as text: terminal table, markdown, csv, json (the HTML page renders the json), and
the summary table of one run.

Every format names the board's suite, its protocol version and each row's identity (short sha).
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Callable
from typing import Any

from zsbench.analysis.board import MEAN, Leaderboard
from zsbench.analysis.board.rows import Row
from zsbench.analysis.stats import Score, rounded, score
from zsbench.core.identity import short
from zsbench.core.inert import json_text
from zsbench.report.text import csv_cell, md, score_text


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
        cells = [score_text(_cell(board, row, kind, name)) for kind, name in cols]
        out.append([_rank_text(view.rank if view else None), row.label, short(row.identity), row.reducer] + cells)
    return out


def caption(board: Leaderboard, cols: list[tuple[str, str]]) -> str:
    what = (
        "overall score per clusterer (the mean view averages them)"
        if cols and cols[0][0] == "view"
        else "averaged over clusterers"
        if board.view == MEAN
        else f"clusterer {board.view}"
    )
    datasets = ", ".join(d.name for d in board.datasets)
    return (
        f"AMI ×100, mean ± half-width of the 95% t-interval over seeds; {what}; protocol "
        f"{board.protocol_version}; suite: {datasets}. A row is one encoder identity (its sha256, shortened). "
        "Ranks are intervals: rows that seed noise cannot tell apart share a range; rows without every suite "
        "dataset and clusterer are not ranked."
    )


def markdown_text(board: Leaderboard, by: str = "auto") -> str:
    """The board as a Markdown table, its caption and notes (also what ``table`` writes to a file)."""
    cols = columns(board, by)
    header = _header(board, cols)
    lines = ["| " + " | ".join(md(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in _text_rows(board, cols)]
    text = "\n".join(lines) + "\n\n" + md(caption(board, cols)) + "\n"
    return text + "".join(f"\n- {md(n)}" for n in board.notes) + ("\n" if board.notes else "")


CSV_HEADER = [
    "encoder",
    "identity_sha256",
    "reducer",
    "source",
    "view",
    "level",
    "name",
    "ami_mean",
    "ci_low",
    "ci_high",
    "n_seeds",
    "rank_low",
    "rank_high",
]


def csv_text(board: Leaderboard, by: str = "auto") -> str:
    """One CSV line per encoder x view x level (overall, group, dataset) with a score; every column, always."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in board.rows:
        for view_name in board.views:
            view = row.views[view_name]
            rank = view.rank or (None, None)
            levels = (
                [("overall", "overall", view.overall)]
                + [("group", g, s) for g, s in view.groups.items()]
                + [("dataset", d, s) for d, s in view.datasets.items()]
            )
            for level, name, s in levels:
                if s is not None:
                    names = [row.encoder, row.identity, row.reducer, row.source, view_name, level, name]
                    writer.writerow(
                        [csv_cell(c) for c in names]
                        + [
                            f"{s.mean:.4f}",
                            _fmt(s.low),
                            _fmt(s.high),
                            s.n_seeds,
                            rank[0] if level == "overall" else "",
                            rank[1] if level == "overall" else "",
                        ]
                    )
    return out.getvalue()


def json_document(board: Leaderboard, by: str = "auto") -> str:
    """The board as JSON (:func:`to_json`), every view and level whatever ``by`` shows."""
    # names stay readable, but no bidi override or C1 control reaches a terminal raw (json_text)
    return json_text(to_json(board), indent=1, sort_keys=True, allow_nan=False) + "\n"


def html_page(board: Leaderboard, by: str = "auto") -> str:
    """One self-contained HTML page of the board's JSON, under the board's CSP."""
    from zsbench.report.board.html import render as html
    from zsbench.report.board.html_parts import CSP

    return html(to_json(board), csp=CSP)


# Each text format, by name: a new format is a function (board, by) -> str added here; `zsbench leaderboard
# --format` takes every name here, and "table" (drawn by rich_table).
RENDERERS: dict[str, Callable[[Leaderboard, str], str]] = {
    "markdown": markdown_text,
    "csv": csv_text,
    "json": json_document,
    "html": html_page,
}


def formats() -> list[str]:
    """Every ``--format`` the board takes: the terminal table, then each of :data:`RENDERERS`."""
    return ["table", *RENDERERS]


def render(board: Leaderboard, fmt: str, by: str = "auto") -> str:
    """The board in the text format ``fmt`` (one of :data:`RENDERERS`; ``table`` is drawn by :func:`rich_table`)."""
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(RENDERERS)}")
    return renderer(board, by)


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def to_json(board: Leaderboard) -> dict[str, Any]:
    """The board as a JSON document (format ``zsbench-leaderboard/1``; the HTML page renders this)."""
    from zsbench.analysis import proxy

    def js(s: Score | None):
        return None if s is None else s.to_json()

    rows = []
    for row in board.rows:
        views = {}
        for name in board.views:
            v = row.views[name]
            views[name] = {
                "rank": None if v.rank is None else {"low": v.rank[0], "high": v.rank[1]},
                "lacks": list(row.lacks.get(name, [])),
                "overall": js(v.overall),
                "groups": {g: js(s) for g, s in v.groups.items()},
                "datasets": {d: js(s) for d, s in v.datasets.items()},
            }
        cells = []
        for ds, clu in board.cells(row):
            sil = row.silhouette.get((ds, clu))
            ncl = row.n_clusters.get((ds, clu))
            cells.append(
                {
                    "dataset": ds,
                    "clusterer": clu,
                    "ami": js(score(row.ami[(ds, clu)])),
                    "silhouette_proxy": rounded(statistics.fmean(sil.values())) if sil else None,
                    "n_clusters": rounded(statistics.fmean(ncl.values())) if ncl else None,
                }
            )
        rows.append(
            {
                "encoder": row.encoder,
                "identity_sha256": row.identity,
                "label": row.label,
                "reducer": row.reducer,
                "source": row.source,
                "partial": row.partial,
                "views": views,
                "cells": cells,
            }
        )
    points = [
        proxy.Point(
            row.label,
            ds,
            clu,
            statistics.fmean(row.ami[(ds, clu)].values()) / 100.0,
            statistics.fmean(row.silhouette[(ds, clu)].values()),
            len(row.silhouette[(ds, clu)]),
        )
        for row in board.rows
        for ds, clu in board.cells(row)
        if (ds, clu) in row.silhouette
    ]
    correlations = [
        {"clusterer": c.clusterer, "n": c.n, "spearman": rounded(c.spearman), "pearson": rounded(c.pearson)}
        for c in proxy.correlations(points, board.clusterers)
    ]
    return {
        "format": "zsbench-leaderboard/1",
        "protocol_version": board.protocol_version,
        "suite": board.suite,
        "metric": "AMI x100",
        "interval": "95% t-interval over seeds",
        "view": board.view,
        "views": board.views,
        "clusterers": board.clusterers,
        "groups": board.groups,
        "datasets": [
            {
                "name": d.name,
                "group": d.group,
                "fingerprint": d.fingerprint,
                "n_samples": d.n_samples,
                "n_classes": d.n_classes,
            }
            for d in board.datasets
        ],
        "sources": board.sources,
        "rows": rows,
        "proxy": correlations,
        "notes": board.notes,
        "failed_results": board.failed,
        "refused": [{"file": file, "reason": reason} for file, reason in board.refused],
    }


def rich_table(board: Leaderboard, title: str = "zsbench leaderboard", by: str = "auto"):
    from zsbench.report.console import InertTable as Table  # names and captions escaped to one line

    cols = columns(board, by)
    if len(board.datasets) == 1:
        title = f"{title}: {board.datasets[0].name}"
    table = Table(title=title, caption=caption(board, cols))
    for i, name in enumerate(_header(board, cols)):
        table.add_column(name, justify="left" if 0 < i < 4 else "right")
    for row in _text_rows(board, cols):
        table.add_row(*row)
    return table
