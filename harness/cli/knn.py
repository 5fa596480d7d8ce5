"""``zsbench leaderboard --metric knn``: kNN accuracy per encoder and dataset (compared with AMI by
``zsbench findings knn``)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from zsbench.cli.common import stdout, write_output
from zsbench.plugin.errors import ZsbenchError


def _num(value: float | None, spec: str = ".1f") -> str:
    return "–" if value is None else format(value, spec)


def _results(loaded) -> list:
    return [r for s in loaded for r in s.results]


def leaderboard(loaded, *, k: int, fmt: str, output: Path | None, datasets: list[str] | None) -> None:
    """Per encoder (its latest identity): weighted kNN top-1 x100 at ``k`` per dataset, and their mean."""
    from zsbench.analysis.knn import board
    from zsbench.core.knn import DEFAULT_KS
    from zsbench.report.text import csv_cell, md

    if k not in DEFAULT_KS:
        raise ZsbenchError(f"--k {k}: kNN is scored at k = {', '.join(map(str, DEFAULT_KS))}; pass one of them")
    results = _results(loaded)
    if datasets:
        results = [r for r in results if r.dataset in datasets]
    b = board(results, k)
    if not b.top1:
        where = ", ".join(s.name for s in loaded) or "no source"
        raise ZsbenchError(f"no kNN results in {where}; run `zsbench run --knn` first")
    title = f"kNN top-1 accuracy ×100 (k={k}, weighted, T=0.07) on each dataset's test partition"
    header = ["encoder", *b.datasets, "mean"]
    rows = [[e, *(_num(b.top1.get((e, d))) for d in b.datasets), _num(b.mean(e))] for e in b.encoders]
    if fmt == "json":
        doc = {"format": "zsbench-knn-board/1", "k": k, "datasets": b.datasets,
               "rows": [{"encoder": e, "top1": {d: b.top1.get((e, d)) for d in b.datasets}, "mean": b.mean(e)}
                        for e in b.encoders]}
        write_output(json.dumps(doc, indent=2) + "\n", output)
    elif fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([[csv_cell(str(c)) for c in row] for row in [header, *rows]])
        write_output(buf.getvalue(), output)
    elif fmt == "markdown" or (fmt == "table" and output is not None):
        lines = [f"**{md(title)}**", "", "| " + " | ".join(md(h) for h in header) + " |",
                 "|---|" + "---:|" * (len(header) - 1)]
        lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
        write_output("\n".join(lines) + "\n", output)
    elif fmt == "table":
        from rich.table import Table

        table = Table(title=title)
        for h in header:
            table.add_column(h, justify="left" if h == "encoder" else "right")
        for row in rows:
            table.add_row(*row)
        stdout().print(table)
    else:
        raise ZsbenchError(f"--format {fmt} is not available with --metric knn; use table, markdown, csv or json")

