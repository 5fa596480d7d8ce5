"""``zsbench leaderboard --metric knn``: kNN accuracy per encoder and dataset (compared with AMI by
``zsbench findings knn``). The board is rendered by :mod:`zsbench.report.knn`."""

from __future__ import annotations

from pathlib import Path

from zsbench.cli.common import stdout, write_output
from zsbench.plugin.errors import ZsbenchError


def _results(loaded) -> list:
    return [r for s in loaded for r in s.results]


def leaderboard(loaded, *, k: int, fmt: str, output: Path | None, datasets: list[str] | None) -> None:
    """Per encoder (its latest identity): weighted kNN top-1 x100 at ``k`` per dataset, and their mean."""
    from zsbench.analysis.knn import board
    from zsbench.core.knn import DEFAULT_KS
    from zsbench.report import knn as report

    if k not in DEFAULT_KS:
        raise ZsbenchError(f"--k {k}: kNN is scored at k = {', '.join(map(str, DEFAULT_KS))}; pass one of them")
    results = _results(loaded)
    if datasets:
        results = [r for r in results if r.dataset in datasets]
    b = board(results, k)
    if not b.top1:
        where = ", ".join(s.name for s in loaded) or "no source"
        raise ZsbenchError(f"no kNN results in {where}; run `zsbench run --knn` first")
    if fmt not in report.FORMATS:
        raise ZsbenchError(f"--format {fmt} is not available with --metric knn; use table, markdown, csv or json")
    if fmt == "table" and output is None:
        stdout().print(report.table(b))
    else:  # a table written to a file is its markdown
        write_output(report.render(b, "markdown" if fmt == "table" else fmt), output)
