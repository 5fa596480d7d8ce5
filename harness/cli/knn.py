"""``zsbench leaderboard --metric knn`` and ``zsbench proxy --versus knn``: kNN accuracy shown and compared."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

from zsbench.cli.common import err, stdout
from zsbench.plugin.errors import ZsbenchError


def _num(value: float | None, spec: str = ".1f") -> str:
    return "–" if value is None else format(value, spec)


def _results(loaded) -> list:
    return [r for s in loaded for r in s.results]


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text)
    except OSError as exc:
        raise ZsbenchError(f"cannot write {output}: {exc.strerror or exc}; pass another --output") from None
    err.print(f"wrote {output}", highlight=False)


def leaderboard(loaded, *, k: int, fmt: str, output: Path | None, datasets: list[str] | None) -> None:
    """Per encoder (its latest identity): weighted kNN top-1 x100 at ``k`` per dataset, and their mean."""
    from zsbench.analysis.knn import board
    from zsbench.core.knn import DEFAULT_KS
    from zsbench.report.text import md

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
        _write(json.dumps(doc, indent=2) + "\n", output)
    elif fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([header, *rows])
        _write(buf.getvalue(), output)
    elif fmt == "markdown" or (fmt == "table" and output is not None):
        lines = [f"**{md(title)}**", "", "| " + " | ".join(md(h) for h in header) + " |",
                 "|---|" + "---:|" * (len(header) - 1)]
        lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
        _write("\n".join(lines) + "\n", output)
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


def versus(loaded, *, protocol: str, encoders: list[str], datasets: list[str], fmt: str) -> None:
    """The Spearman table of AMI vs kNN top-1: per clusterer and backbone, one column per k."""
    from dataclasses import asdict

    from zsbench.analysis.knn import versus as correlate
    from zsbench.core.knn import DEFAULT_KS
    from zsbench.report.text import md

    corrs, n_ami, n_knn = correlate(_results(loaded), protocol=protocol, encoders=encoders, datasets=datasets)
    if not corrs or not n_knn:
        where = ", ".join(s.name for s in loaded) or "no source"
        raise ZsbenchError(f"no encoder × dataset cells with both AMI (protocol {protocol}) and kNN accuracy in "
                           f"{where} ({n_ami} AMI point(s), {n_knn} kNN cell(s)); run `zsbench run --knn` first")
    title = "Spearman ρ of AMI with kNN top-1 accuracy across encoder × dataset cells, per clusterer and k"
    by: dict[tuple[str, str], dict[int, object]] = {}
    for c in corrs:
        by.setdefault((c.clusterer, c.backbone), {})[c.k] = c
    header = ["clusterer", "backbone", "cells", *(f"k={k}" for k in DEFAULT_KS)]
    rows = [[clu, bb, str(max(c.n for c in cs.values())), *(_num(cs[k].spearman, ".3f") if k in cs else "–"
                                                              for k in DEFAULT_KS)]
            for (clu, bb), cs in by.items()]
    if fmt == "json":
        sys.stdout.write(json.dumps({"protocol": protocol, "correlations": [asdict(c) for c in corrs]}, indent=2)
                         + "\n")
    elif fmt == "markdown":
        lines = [f"**{md(title)}**", "", "| " + " | ".join(header) + " |", "|---|---|" + "---:|" * (len(header) - 2)]
        lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
        sys.stdout.write("\n".join(lines) + "\n")
    else:
        from rich.table import Table

        table = Table(title=title, caption="cells: encoder × dataset, AMI averaged over seeds; –: under 3 cells "
                      "or a constant score")
        for h in header:
            table.add_column(h, justify="left" if h in ("clusterer", "backbone") else "right")
        for row in rows:
            table.add_row(*row)
        stdout().print(table)
