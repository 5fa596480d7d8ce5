"""Aggregate results into a leaderboard: one row per encoder (and reducer), AMI x100 per cell.

A cell is (dataset, clusterer); its value is the mean and standard deviation over seeds. When the
same configuration and seed were run more than once, the latest result counts.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from zsbench.types import Result

FORMATS = ("table", "markdown", "csv", "json")


@dataclass(frozen=True)
class Cell:
    mean: float
    std: float
    n_seeds: int

    def text(self) -> str:
        return f"{self.mean:.1f} ± {self.std:.1f}" if self.n_seeds > 1 else f"{self.mean:.1f}"


@dataclass(frozen=True)
class Leaderboard:
    columns: list[tuple[str, str]]  # (dataset, clusterer)
    rows: list[tuple[str, str, dict[tuple[str, str], Cell]]]  # (encoder, reducer, cells)
    failed: int

    @staticmethod
    def row_mean(cells: dict[tuple[str, str], Cell]) -> float:
        return statistics.fmean(c.mean for c in cells.values())


def build(results: Iterable[Result]) -> Leaderboard:
    latest: dict[tuple, Result] = {}
    failed = 0
    for r in results:  # the store yields oldest first, so later results replace earlier ones
        key = (r.encoder, r.reducer, r.dataset, r.clusterer, r.seed)
        latest[key] = r
    amis: dict[tuple[str, str], dict[tuple[str, str], list[float]]] = {}
    columns: dict[tuple[str, str], None] = {}
    for (enc, red, ds, clu, _seed), r in latest.items():
        if not r.ok or r.ami is None:
            failed += 1
            continue
        columns.setdefault((ds, clu), None)
        amis.setdefault((enc, red), {}).setdefault((ds, clu), []).append(100.0 * r.ami)
    rows = []
    for (enc, red), by_cell in amis.items():
        cells = {col: Cell(statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else 0.0, len(v))
                 for col, v in by_cell.items()}
        rows.append((enc, red, cells))
    rows.sort(key=lambda row: -Leaderboard.row_mean(row[2]))
    return Leaderboard(sorted(columns, key=_column_order), rows, failed)


def _column_order(column: tuple[str, str]) -> tuple:
    """Datasets alphabetically; clusterers in the standard protocol's order, then by name."""
    from zsbench.protocol import load_spec

    dataset, clusterer = column
    standard = load_spec().clusterers
    base = clusterer.split(":", 1)[0]
    return (dataset, standard.index(base) if base in standard else len(standard), clusterer)


def _header(board: Leaderboard) -> list[str]:
    single = len({ds for ds, _ in board.columns}) == 1  # name the dataset once, in the title
    cols = [clu if single else f"{ds} / {clu}" for ds, clu in board.columns]
    return ["encoder", "reducer"] + cols + ["mean"]


def _text_rows(board: Leaderboard) -> list[list[str]]:
    return [[enc, red] + [cells[c].text() if c in cells else "—" for c in board.columns]
            + [f"{Leaderboard.row_mean(cells):.1f}"] for enc, red, cells in board.rows]


def render(board: Leaderboard, fmt: str) -> str:
    """Render as ``markdown``, ``csv`` or ``json`` text (``table`` is drawn by the CLI with rich)."""
    if fmt == "markdown":
        header = _header(board)
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in _text_rows(board)]
        return "\n".join(lines) + "\n\nAMI ×100, mean ± std over seeds.\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["encoder", "reducer", "dataset", "clusterer", "ami_mean", "ami_std",
                         "n_seeds"])
        for enc, red, cells in board.rows:
            for (ds, clu), cell in cells.items():
                writer.writerow([enc, red, ds, clu, f"{cell.mean:.4f}", f"{cell.std:.4f}",
                                 cell.n_seeds])
        return out.getvalue()
    if fmt == "json":
        payload = [{"encoder": enc, "reducer": red, "mean": Leaderboard.row_mean(cells),
                    "cells": [{"dataset": ds, "clusterer": clu, "ami_mean": c.mean,
                               "ami_std": c.std, "n_seeds": c.n_seeds}
                              for (ds, clu), c in cells.items()]}
                   for enc, red, cells in board.rows]
        return json.dumps({"metric": "AMI x100", "rows": payload}, indent=2) + "\n"
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def rich_table(board: Leaderboard, title: str = "zsbench leaderboard"):
    from rich.table import Table

    datasets = sorted({ds for ds, _ in board.columns})
    if len(datasets) == 1:
        title = f"{title}: {datasets[0]}"
    table = Table(title=title, caption="AMI ×100, mean ± std over seeds")
    for i, name in enumerate(_header(board)):
        table.add_column(name, justify="left" if i < 2 else "right")
    for row in _text_rows(board):
        table.add_row(*row)
    return table


SUMMARY_METRICS = (("ami", "AMI", 100.0), ("ari", "ARI", 100.0), ("n_clusters", "clusters", 1.0),
                   ("fraction_clustered", "clustered %", 100.0),
                   ("silhouette_proxy", "silhouette (proxy)", 1.0))


def summary_table(results: list[Result], title: str):
    """One row per clusterer of a single run: its metrics as mean ± std over seeds."""
    from rich.table import Table

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
        label = name + (f" [red]({failed} failed)[/]" if failed else "")
        table.add_row(label, *cells, _mean_std(seconds, ".2f"))
    return table


def _mean_std(values: list[float], spec: str) -> str:
    if not values:
        return "—"
    if len(values) == 1:
        return format(values[0], spec)
    return f"{format(statistics.fmean(values), spec)} ± {format(statistics.stdev(values), spec)}"
