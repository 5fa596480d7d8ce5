"""``zsbench leaderboard``: the board of encoders (AMI, or kNN with ``--metric knn``) from records and the store."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from zsbench.cli.common import RegistryOpt, StoreOpt, err, stdout, store_choice, user_errors, write_output
from zsbench.plugin.errors import ZsbenchError


class Columns(StrEnum):
    auto = "auto"
    groups = "groups"
    datasets = "datasets"
    clusterers = "clusterers"


def _board_format(value: str) -> str:
    """Every format report/board renders (a usage mistake, exit 2, otherwise): adding one there adds it here."""
    from zsbench.report.board import formats

    if value not in formats():
        raise typer.BadParameter(f"{value!r} is not a board format; pass one of {', '.join(formats())}")
    return value


def leaderboard(
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            callback=_board_format,
            help="Output format: table, markdown, csv, json or html (with --metric knn: not html).",
        ),
    ] = "table",
    registry: RegistryOpt = None,
    store: StoreOpt = None,
    protocol: Annotated[
        str, typer.Option(help="Protocol whose results to show: standard (also 1) or study; boards never mix them.")
    ] = "standard",
    clusterer: Annotated[
        str,
        typer.Option(
            "--clusterer", "-c", help="Rank by this clusterer's AMI, or 'mean' over the protocol's clusterers."
        ),
    ] = "mean",
    columns: Annotated[
        Columns,
        typer.Option(
            help="Score columns: dataset groups, datasets, or clusterers (auto: clusterers for a single dataset, "
            "else groups)."
        ),
    ] = Columns.auto,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
    dataset: Annotated[
        list[str] | None,
        typer.Option(
            "--dataset",
            "-d",
            help="A dataset of the suite rows are ranked on, repeatable (default: the datasets most rows have).",
        ),
    ] = None,
    all_identities: Annotated[
        bool,
        typer.Option(
            "--all-identities",
            help="Show every identity (weights, preprocessing) of an encoder as its own row, "
            "labelled by its short sha256 (default: the latest only).",
        ),
    ] = False,
    metric: Annotated[
        str,
        typer.Option(
            help="ami (the default board) or knn: weighted kNN top-1 accuracy per encoder x dataset, from "
            "`zsbench run --knn`."
        ),
    ] = "ami",
    k: Annotated[int, typer.Option("--k", help="With --metric knn: the k shown (10, 20, 100 or 200).")] = 20,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Exit 1 when a record is refused (the board of the valid ones is still written)."
        ),
    ] = False,
) -> None:
    """Per encoder identity: AMI x100 per dataset group and overall, 95% intervals over seeds, and rank intervals.

    A record that is not valid, alone or beside the others (an identity or a look-alike name another
    record has), is left out and listed under the board with its reason."""
    from zsbench.analysis.board import build, refusal
    from zsbench.analysis.board.sources import gather
    from zsbench.analysis.records import RecordError
    from zsbench.report.board import render, rich_table

    with user_errors():
        if metric not in ("ami", "knn"):
            raise ZsbenchError(f"--metric {metric}: not a board metric; pass ami or knn")
        # the default store only when no record is named, as every command that reads records
        gathered = gather(registry or [], store_choice(registry, store))
        loaded = gathered.sources
        if gathered.refused and not any(s.results for s in loaded):
            (path, why), more = gathered.refused[0], len(gathered.refused) - 1
            raise RecordError(
                f"no valid record to build a board from: {path}: {why}"
                + (f" (and {more} more refused; see `zsbench validate`)" if more else "")
            )
        if metric == "knn":
            from zsbench.cli.knn import leaderboard as knn_board

            for path, why in gathered.refused:
                err.print(refusal(path, why), highlight=False)
            knn_board(loaded, k=k, fmt=format, output=output, datasets=dataset)
        else:
            board = build(
                loaded,
                protocol=protocol,
                view=clusterer,
                datasets=dataset,
                all_identities=all_identities,
                refused=gathered.refused,
                record_notes=gathered.notes,
            )
            if not board.rows:
                where = ", ".join(s.name for s in loaded) or "no source"
                err.print(
                    f"no results for protocol {protocol} in {where}; run `zsbench run` first, or pass "
                    "--registry with submitted records",
                    highlight=False,
                )
                for path, why in board.refused:
                    err.print(refusal(path, why), highlight=False)
            elif format == "table" and output is None:
                stdout().print(rich_table(board, by=columns.value))
                listed = {refusal(path, why) for path, why in board.refused}
                for note in board.notes:
                    err.print(note if note in listed else f"note: {note}", highlight=False)
            else:
                write_output(render(board, "markdown" if format == "table" else format, by=columns.value), output)
                for path, why in board.refused:  # in the file too; said here so a reader of the terminal knows
                    err.print(refusal(path, why), highlight=False)
    if gathered.refused and strict:
        raise typer.Exit(1)
