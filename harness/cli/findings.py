"""``zsbench findings``: the paper's three findings, each one command over a store or registry records.

- ``supervision``: supervised vs self-supervised (and fine-tuned) encoders by dataset group, with intervals;
- ``silhouette``: how well the label-free silhouette tracks AMI (also ``zsbench proxy``);
- ``knn``: how AMI ranks encoders against kNN accuracy (also ``zsbench proxy --versus knn``).

Each prints a table, Markdown, a self-contained HTML page (the figure inlined when matplotlib is
installed) or JSON, to stdout or ``--output``; ``--figure`` also saves the figure as a PNG.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from zsbench.cli.common import RegistryOpt, StoreOpt, err, sources, stdout, user_errors, write_output
from zsbench.plugin.errors import ZsbenchError
from zsbench.report.findings import builds

findings_app = typer.Typer(no_args_is_help=True, help="The paper's findings, one command each (Lowe et al. 2024).")


class Format(StrEnum):
    table = "table"
    markdown = "markdown"
    html = "html"
    json = "json"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format (html: one self-contained page).")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")]
FigureOpt = Annotated[Path | None, typer.Option("--figure", help="Also save the figure to this PNG file.")]
ProtocolOpt = Annotated[str, typer.Option(help="Protocol: standard (1) or study.")]
EncoderOpt = Annotated[list[str] | None, typer.Option("--encoder", help="Only this encoder (repeatable).")]
DatasetOpt = Annotated[list[str] | None, typer.Option("--dataset", help="Only this dataset (repeatable).")]


def check_paths(figure: Path | None, output: Path | None, *, figure_flag: str = "--figure") -> None:
    """Before any work: the figure needs matplotlib and a .png name (it is always a PNG), each file an
    existing folder and a name that is not a folder, and the two files must differ (one would overwrite
    the other)."""
    if figure is not None:
        from zsbench.report.figures import require_matplotlib

        require_matplotlib(figure_flag)
    for flag, path in ((figure_flag, figure), ("--output", output)):
        if path is None:
            continue
        if path.is_dir():
            raise ZsbenchError(f"{flag} {path}: that is a folder; pass a file name")
        if not path.parent.is_dir():
            raise ZsbenchError(
                f"{flag} {path}: the folder {path.parent} does not exist; create it or pass another path"
            )
    if figure is not None and figure.suffix.lower() != ".png":
        raise ZsbenchError(f"{figure_flag} {figure}: the figure is saved as a PNG; give the file a .png name")
    if figure is not None and output is not None and figure.resolve() == output.resolve():
        raise ZsbenchError(f"{figure_flag} and --output are the same file, {output}; pass two different paths")


def emit(finding, fmt: Format | str, output: Path | None, figure: Path | None, draw, *, meta: list[str]) -> None:
    """Render ``finding`` in ``fmt`` to stdout or ``output``; ``draw(target)`` makes its figure (a path or a
    binary file), saved to ``figure`` and, in HTML, inlined."""
    fmt = Format(fmt)
    if figure is not None:
        draw(figure)
    if fmt is Format.table and output is None:
        out = stdout()
        out.print(finding.rich())
        for line in finding.notes:
            out.print(line, highlight=False)
    else:
        if fmt is Format.html:
            png, note = builds.png(draw)
            text = finding.html(png, meta=meta, figure_note=note)
        elif fmt is Format.json:
            text = finding.json()
        else:  # markdown, or a table written to a file
            text = finding.markdown()
        write_output(text, output)
    if figure is not None:
        sys.stdout.flush()  # the report first, then the note on stderr
        err.print(f"saved {figure}", highlight=False)


@findings_app.command()
def supervision(
    registry: RegistryOpt = None,
    store: StoreOpt = None,
    protocol: ProtocolOpt = "1",
    encoder: EncoderOpt = None,
    dataset: DatasetOpt = None,
    family: Annotated[
        list[str] | None,
        typer.Option(
            help="ENCODER=FAMILY (repeatable): supervised, self-supervised, fine-tuned, ...; the study's encoders "
            "are known by their zoo names."
        ),
    ] = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    figure: FigureOpt = None,
) -> None:
    """Supervised vs self-supervised encoders by dataset group (in-domain ... far-OOD): each family's AMI
    and its difference from the supervised encoder of the same backbone, with 95% intervals."""
    with user_errors():
        from zsbench.analysis.findings import parse_families

        try:
            families = parse_families(family or [])
        except ValueError as exc:
            raise ZsbenchError(str(exc)) from None
        check_paths(figure, output)
        loaded = sources(registry, store)
        built = builds.supervision(loaded, protocol, families=families, encoders=encoder or [], datasets=dataset)
        emit(built.finding, format, output, figure, built.draw, meta=builds.meta(loaded, protocol))


@findings_app.command()
def silhouette(
    registry: RegistryOpt = None,
    store: StoreOpt = None,
    protocol: ProtocolOpt = "1",
    encoder: EncoderOpt = None,
    dataset: DatasetOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    figure: FigureOpt = None,
) -> None:
    """The label-free proxy: Spearman and Pearson correlation of silhouette (in UMAP space) with AMI across
    encoder x dataset cells, per clusterer and pooled."""
    with user_errors():
        check_paths(figure, output)
        silhouette_report(
            sources(registry, store),
            protocol=protocol,
            encoders=encoder or [],
            datasets=dataset or [],
            fmt=format,
            output=output,
            figure=figure,
        )


def silhouette_report(
    loaded,
    *,
    protocol: str,
    encoders: list[str],
    datasets: list[str],
    fmt: Format | str,
    output: Path | None,
    figure: Path | None,
) -> None:
    built = builds.silhouette(loaded, protocol, encoders=encoders, datasets=datasets)
    emit(built.finding, fmt, output, figure, built.draw, meta=builds.meta(loaded, protocol))


@findings_app.command()
def knn(
    registry: RegistryOpt = None,
    store: StoreOpt = None,
    protocol: ProtocolOpt = "1",
    encoder: EncoderOpt = None,
    dataset: DatasetOpt = None,
    k: Annotated[int, typer.Option(help="The k of the figure (the table shows every k).")] = 20,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    figure: FigureOpt = None,
) -> None:
    """AMI against kNN top-1 accuracy (from `zsbench run --knn`): Spearman ρ per clusterer and k, pooled
    and by backbone (ResNet, ViT)."""
    with user_errors():
        check_paths(figure, output)
        knn_report(
            sources(registry, store),
            protocol=protocol,
            encoders=encoder or [],
            datasets=dataset or [],
            k=k,
            fmt=format,
            output=output,
            figure=figure,
        )


def knn_report(
    loaded,
    *,
    protocol: str,
    encoders: list[str],
    datasets: list[str],
    k: int,
    fmt: Format | str,
    output: Path | None,
    figure: Path | None,
) -> None:
    built = builds.knn(loaded, protocol, encoders=encoders, datasets=datasets, k=k)
    emit(built.finding, fmt, output, figure, built.draw, meta=builds.meta(loaded, protocol))
