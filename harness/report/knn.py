"""The kNN board (``zsbench leaderboard --metric knn``) as text: a terminal table, markdown, CSV and JSON.

Every cell that comes from a record (an encoder or dataset name) is escaped by :mod:`zsbench.core.inert`'s
rules for its format; the terminal table is an :class:`~zsbench.report.console.InertTable`.
"""

from __future__ import annotations

import csv
import io

from zsbench.analysis.knn import KnnBoard
from zsbench.core.inert import csv_cell, json_text, markdown
from zsbench.report.console import InertTable

FORMATS = ("table", "markdown", "csv", "json")
FORMAT_ID = "zsbench-knn-board/1"
NONE = "–"  # no value: the encoder has no result on the dataset, or no mean over all of them


def _num(value: float | None, spec: str = ".1f") -> str:
    return NONE if value is None else format(value, spec)


def title(board: KnnBoard) -> str:
    return f"kNN top-1 accuracy ×100 (k={board.k}, weighted, T=0.07) on each dataset's test partition"


def header(board: KnnBoard) -> list[str]:
    return ["encoder", *board.datasets, "mean"]


def rows(board: KnnBoard) -> list[list[str]]:
    """One row of text per encoder: its accuracy x100 on each dataset, then its mean."""
    return [[e, *(_num(board.top1.get((e, d))) for d in board.datasets), _num(board.mean(e))] for e in board.encoders]


def to_json(board: KnnBoard) -> dict[str, object]:
    return {
        "format": FORMAT_ID,
        "k": board.k,
        "datasets": board.datasets,
        "rows": [
            {"encoder": e, "top1": {d: board.top1.get((e, d)) for d in board.datasets}, "mean": board.mean(e)}
            for e in board.encoders
        ],
    }


def render(board: KnnBoard, fmt: str) -> str:
    """The board as ``markdown``, ``csv`` or ``json`` text (``table`` is drawn by :func:`table`)."""
    if fmt == "json":
        return json_text(to_json(board), indent=2) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(
            [[csv_cell(str(c)) for c in row] for row in [header(board), *rows(board)]]
        )
        return buf.getvalue()
    if fmt == "markdown":
        head = header(board)
        lines = [
            f"**{markdown(title(board))}**",
            "",
            "| " + " | ".join(markdown(h) for h in head) + " |",
            "|---|" + "---:|" * (len(head) - 1),
        ]
        lines += ["| " + " | ".join(markdown(c) for c in row) + " |" for row in rows(board)]
        return "\n".join(lines) + "\n"
    raise ValueError(f"kNN board format {fmt!r}: expected markdown, csv or json")


def table(board: KnnBoard) -> InertTable:
    """The board as a terminal table: encoder names left, numbers right."""
    out = InertTable(title=title(board))
    for h in header(board):
        out.add_column(h, justify="left" if h == "encoder" else "right")
    for row in rows(board):
        out.add_row(*row)
    return out
