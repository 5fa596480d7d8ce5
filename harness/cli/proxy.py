"""``zsbench proxy``: how well the label-free silhouette tracks AMI, and choosing a clusterer without labels."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from zsbench.cli.common import err, sources, stdout, user_errors
from zsbench.plugin.errors import ZsbenchError


class ProxyFormat(StrEnum):
    table = "table"
    markdown = "markdown"
    json = "json"


def proxy(
    registry: Annotated[
        list[Path] | None,
        typer.Option(
            "--registry",
            "-r",
            help="Registry record file or folder (repeatable). With it, the local store is "
            "included only when --store is given.",
        ),
    ] = None,
    store: Annotated[
        Path | None, typer.Option(help="Results store (SQLite file). Default: $ZSBENCH_STORE or the user data dir.")
    ] = None,
    encoder: Annotated[
        list[str] | None,
        typer.Option(help="Only this encoder, repeatable; with --choose, the one encoder to embed with."),
    ] = None,
    dataset: Annotated[
        list[str] | None, typer.Option(help="Only this dataset, repeatable; with --choose, the one dataset to cluster.")
    ] = None,
    png: Annotated[Path | None, typer.Option(help="Also save the scatter plot to this PNG file.")] = None,
    format: Annotated[ProxyFormat, typer.Option("--format", "-f", help="Output format.")] = ProxyFormat.table,
    protocol: Annotated[str, typer.Option(help="Protocol version.")] = "1",
    choose: Annotated[
        bool,
        typer.Option("--choose", help="Choose a clusterer for --encoder on --dataset by silhouette alone (no labels)."),
    ] = False,
    k_min: Annotated[int | None, typer.Option(min=2, help="With --choose: smallest k tried (default 2).")] = None,
    k_max: Annotated[int | None, typer.Option(min=2, help="With --choose: largest k tried (default 30).")] = None,
    seed: Annotated[
        int | None, typer.Option(help="With --choose: seed of UMAP and the clusterers (default 0).")
    ] = None,
    max_samples: Annotated[
        int | None,
        typer.Option(min=2, help="With --choose: cluster a seeded, stratified subsample of this many images."),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="With --choose: where datasets live (default: $ZSBENCH_DATA_DIR or the user data dir)."),
    ] = None,
    download: Annotated[
        bool, typer.Option(help="With --choose: download the dataset when its source allows it.")
    ] = False,
    cache: Annotated[
        Path | None,
        typer.Option(help="With --choose: artifact cache folder (default: $ZSBENCH_CACHE or the user cache dir)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="With --choose: worker processes for the clusterings (default: one per core)."),
    ] = None,
    versus: Annotated[
        str,
        typer.Option(
            help="silhouette (the label-free proxy) or knn: Spearman ρ of AMI with kNN top-1 accuracy per clusterer "
            "and k, pooled and by backbone (from `zsbench run --knn`)."
        ),
    ] = "silhouette",
    top: Annotated[
        int | None,
        typer.Option(
            min=0, help="With --choose: show this many candidates in the table (default 20; 0: all; json has all)."
        ),
    ] = None,
) -> None:
    """Correlation of the label-free proxy (silhouette in UMAP space) with AMI, per clusterer and pooled;
    or, with --choose, the clusterer and k an unlabelled dataset's silhouette picks."""

    with user_errors():
        from zsbench.cli.findings import check_paths

        check_paths(png, None, figure_flag="--png")  # before any work
        if choose:
            if registry or store:
                raise ZsbenchError(
                    "--registry and --store do not apply with --choose, which clusters the dataset itself; drop them"
                )
            if len(encoder or []) != 1 or len(dataset or []) != 1:
                raise ZsbenchError(
                    "--choose needs exactly one --encoder and one --dataset, e.g. "
                    "zsbench proxy --choose --encoder raw-pixels --dataset digits"
                )
            assert encoder is not None and dataset is not None  # one of each, just checked
            from zsbench.engine import limits

            for option, k in (("--k-min", k_min), ("--k-max", k_max)):  # the counts, before any work
                limits.check_k(k or 2, option)
            limits.check_samples(max_samples)
            limits.check_workers(workers)
            why = "no run has more"
            limits.check_count(top or 0, "--top", limits.MAX_CELLS, "candidates", "use a smaller one, or 0: all", why)
            _choose(
                encoder[0],
                dataset[0],
                k_min=2 if k_min is None else k_min,
                k_max=30 if k_max is None else k_max,
                seed=seed or 0,
                max_samples=max_samples,
                data_dir=data_dir,
                download=download,
                cache=cache,
                workers=workers,
                top=20 if top is None else top,
                png=png,
                fmt=format,
                protocol=protocol,
            )
            return
        given = [
            name
            for name, value in (
                ("--k-min", k_min),
                ("--k-max", k_max),
                ("--seed", seed),
                ("--max-samples", max_samples),
                ("--data-dir", data_dir),
                ("--download", download or None),
                ("--cache", cache),
                ("--workers", workers),
                ("--top", top),
            )
            if value is not None
        ]
        if given:
            raise ZsbenchError(
                f"{', '.join(given)} {'apply' if len(given) > 1 else 'applies'} only with --choose; "
                "add --choose or drop them"
            )
        if versus not in ("silhouette", "knn"):
            raise ZsbenchError(f"--versus {versus}: pass silhouette or knn")
        from zsbench.cli.findings import knn_report, silhouette_report

        loaded = sources(registry or [], store)
        if versus == "knn":
            return knn_report(
                loaded,
                protocol=protocol,
                encoders=encoder or [],
                datasets=dataset or [],
                k=20,
                fmt=format.value,
                output=None,
                figure=png,
            )
        silhouette_report(
            loaded,
            protocol=protocol,
            encoders=encoder or [],
            datasets=dataset or [],
            fmt=format.value,
            output=None,
            figure=png,
        )


# -- choosing a clusterer ---------------------------------------------------------------------------


def _choose(
    encoder: str,
    dataset: str,
    *,
    k_min: int,
    k_max: int,
    seed: int,
    max_samples: int | None,
    data_dir: Path | None,
    download: bool,
    cache: Path | None,
    workers: int | None,
    top: int,
    png: Path | None,
    fmt: ProxyFormat,
    protocol: str,
) -> None:
    from zsbench.analysis.proxy.choice import choose
    from zsbench.report import proxy as report
    from zsbench.report.console import styled
    from zsbench.report.progress import RichProgress

    options = {**({"data_dir": str(data_dir)} if data_dir else {}), **({"download": True} if download else {})}
    with RichProgress() as progress:
        choice = choose(
            encoder,
            dataset,
            k_min=k_min,
            k_max=k_max,
            seed=seed,
            max_samples=max_samples,
            dataset_options=options,
            cache=cache,
            executor_options={"workers": workers} if workers else None,
            progress=progress,
            protocol=protocol,
        )
    if choice.chosen is None:
        raise ZsbenchError(
            f"{encoder} on {dataset}: no candidate has a silhouette (each found one cluster or "
            "failed); try another --k-min/--k-max or more images"
        )
    for candidate, error in report.failures(choice):
        err.print(styled("failed", "red", f"{candidate}: {error}"), highlight=False)
    if png is not None:
        from zsbench.report.figures import plot_choice

        plot_choice(choice, png)
    if fmt is ProxyFormat.table:
        out = stdout()
        out.print(report.table(choice, top))
        for line in report.verdict(choice):
            out.print(line, highlight=False)
    else:
        sys.stdout.write(report.render(choice, fmt.value, top))
    if png is not None:
        sys.stdout.flush()  # the report first, then the note on stderr
        err.print(f"saved {png}", highlight=False)
