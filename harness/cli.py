"""The ``zsbench`` command: parse options, call the core, render. Errors are handled in one place."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from zsbench.errors import ZsbenchError

app = typer.Typer(help="Zero-shot clustering benchmark for pretrained image encoders.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
err = Console(stderr=True, soft_wrap=True)  # one-line messages stay one line


def _out() -> Console:
    # Piped output (files, CI logs) is not squeezed into 80 columns; a terminal keeps its width.
    return Console(width=None if sys.stdout.isatty() else 240)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """User mistakes end in one line on stderr and exit 1, never a traceback."""
    try:
        yield
    except ZsbenchError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted; results finished so far are in the store")
        raise typer.Exit(130) from None


def _version(value: bool) -> None:
    if value:
        from zsbench import __version__

        typer.echo(f"zsbench {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Show the version and exit.")] = False) -> None:
    """Zero-shot clustering benchmark for pretrained image encoders."""


class Kind(StrEnum):
    encoders = "encoders"
    datasets = "datasets"
    reducers = "reducers"
    clusterers = "clusterers"
    executors = "executors"


class Format(StrEnum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


StoreOpt = Annotated[Path | None, typer.Option(
    "--store", help="Results store (SQLite file). Default: $ZSBENCH_STORE or the user data dir.")]


@app.command()
def plugins() -> None:
    """Show every plugin: distribution, version, hooks, and why any failed to load."""
    from zsbench.catalog import build_catalog
    from zsbench.manager import get_plugins

    with user_errors():
        found = get_plugins()
        catalog = build_catalog(found)
        hook_errors = catalog.hook_errors
        table = Table(title="zsbench plugins")
        for col in ("plugin", "distribution", "version", "hooks", "status"):
            table.add_column(col)
        for info in sorted(found.infos.values(), key=lambda i: i.key):
            problem = info.error or hook_errors.get(info.key)
            status = f"[red]failed: {problem}[/]" if problem else "[green]ok[/]"
            table.add_row(info.key, info.distribution, info.version, ", ".join(info.hooks), status)
        _out().print(table)
        _report_catalog_problems(catalog, include_hook_errors=False)


def _report_catalog_problems(catalog, include_hook_errors: bool = True) -> None:
    """Name clashes and failed register hooks, on stderr: they make components unavailable."""
    for kind, name in catalog.conflicts:
        err.print(f"[red]conflict:[/] {catalog.conflict_message(kind, name)}", highlight=False)
    if include_hook_errors:
        for key, problem in catalog.hook_errors.items():
            err.print(f"[yellow]note:[/] plugin {key}: {problem} (see `zsbench plugins`)",
                      highlight=False)


@app.command("list")
def list_components(kind: Annotated[Kind, typer.Argument(help="What to list.")]) -> None:
    """List the encoders, datasets, reducers or clusterers that plugins provide."""
    from zsbench.catalog import build_catalog

    with user_errors():
        catalog = build_catalog()
        table = Table(title=f"zsbench {kind.value}")
        for col in ("name", "plugin", "description"):
            table.add_column(col)
        for name in catalog.names(kind.value):
            entry = catalog.entries[kind.value][name]
            table.add_row(name + ("…" if entry.is_family else ""), entry.plugin, entry.description)
        _out().print(table)
        _report_catalog_problems(catalog)


@app.command()
def run(
    encoder: Annotated[str | None, typer.Option(help="Encoder name (default: the protocol's).")] = None,
    dataset: Annotated[str | None, typer.Option(help="Dataset name (default: the protocol's).")] = None,
    clusterer: Annotated[list[str] | None, typer.Option(
        help="Clusterer, repeatable; NAME or NAME:key=value,... (default: the protocol's six).")] = None,
    reducer: Annotated[str | None, typer.Option(
        help="Reducer, NAME or NAME:key=value,... (default: the protocol's UMAP-50).")] = None,
    seeds: Annotated[int | None, typer.Option(min=1, help="Number of seeds (0..N-1).")] = None,
    embeddings: Annotated[Path | None, typer.Option(
        help="Score precomputed embeddings: an .npz with arrays 'embeddings' (n, d) and 'labels' (n,).")] = None,
    data_dir: Annotated[Path | None, typer.Option(
        help="Where datasets live (default: $ZSBENCH_DATA_DIR or the user data dir).")] = None,
    download: Annotated[bool, typer.Option(
        help="Download the dataset when its source allows it.")] = False,
    max_samples: Annotated[int | None, typer.Option(
        min=2, help="Cluster a seeded, stratified subsample of this many images.")] = None,
    subsample_seed: Annotated[int, typer.Option(help="Seed of the --max-samples subsample.")] = 0,
    skip_bad: Annotated[bool, typer.Option(
        help="Leave out images that cannot be decoded (counted in the results).")] = False,
    weights: Annotated[Path | None, typer.Option(
        help="A local weights file for the encoder (.safetensors or a torch checkpoint).")] = None,
    name: Annotated[str | None, typer.Option(
        help="With --embeddings: the encoder name to record (default: the file's stem).")] = None,
    store: StoreOpt = None,
) -> None:
    """Run the standard protocol and print a summary leaderboard of this run."""
    from zsbench import api
    from zsbench.inputs import load_npz
    from zsbench.progress import RichProgress

    with user_errors():
        if embeddings is not None and encoder is not None:
            raise ZsbenchError("pass either --encoder or --embeddings, not both "
                               "(with --embeddings, --name sets the encoder name)")
        if embeddings is None and name is not None:
            raise ZsbenchError("--name applies only with --embeddings")
        if embeddings is not None and weights is not None:
            raise ZsbenchError("--weights applies to an --encoder, not to --embeddings")
        if embeddings is not None and (data_dir or download or max_samples or skip_bad):
            raise ZsbenchError("--data-dir, --download, --max-samples and --skip-bad apply to a "
                               "--dataset, not to --embeddings")
        with RichProgress() as progress:
            if embeddings is not None:
                x, y, source = load_npz(embeddings)
                result = api.run_embeddings(
                    x, y, encoder=name or embeddings.stem, dataset=dataset or embeddings.stem,
                    clusterers=clusterer, reducer=reducer, seeds=seeds, store=store,
                    progress=progress, source=source)
            else:
                options = {"weights": str(weights)} if weights is not None else None
                data_options = {**({"data_dir": str(data_dir)} if data_dir else {}),
                                **({"download": True} if download else {})}
                result = api.run(encoder, dataset, clusterers=clusterer, reducer=reducer,
                                 seeds=seeds, store=store, progress=progress,
                                 encoder_options=options, dataset_options=data_options,
                                 max_samples=max_samples, subsample_seed=subsample_seed,
                                 skip_bad=skip_bad)
        _summarise(result)


def _summarise(result) -> None:
    from zsbench.leaderboard import summary_table

    first = result.results[0]
    title = (f"{first.encoder} on {first.dataset}: {first.reducer}, "
             f"{len({r.seed for r in result.results})} seed(s), run {result.run_id}")
    _out().print(summary_table(result.results, title))
    for r in result.results:
        for message in r.config.get("warnings", []):
            err.print(f"[yellow]warning[/] {r.clusterer} seed {r.seed}: {message}", highlight=False)
    for r in result.failed:
        err.print(f"[red]failed[/] {r.clusterer} seed {r.seed}: {r.error}", highlight=False)
    n_ok = len(result.results) - len(result.failed)
    where = f" to {result.store_path}" if result.store_path else ""
    err.print(f"{n_ok} results stored{where}; {len(result.failed)} failed", highlight=False)


@app.command()
def leaderboard(
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    store: StoreOpt = None,
    protocol: Annotated[str, typer.Option(help="Protocol version to show.")] = "1",
) -> None:
    """One row per encoder: AMI x100 per dataset and clusterer, mean ± std over seeds."""
    from zsbench.leaderboard import build, render, rich_table
    from zsbench.store import ResultStore

    with user_errors():
        with ResultStore(store) as db:
            board = build(db.iter_results(protocol_version=protocol))
        if not board.rows:
            err.print(f"no results for protocol {protocol} in {db.path}; run `zsbench run` first",
                      highlight=False)
            return
        if format is Format.table:
            _out().print(rich_table(board))
        else:
            sys.stdout.write(render(board, format.value))


def main() -> None:
    app()


from zsbench.cli_cache import cache_app  # noqa: E402  (its commands import the helpers above lazily)

app.add_typer(cache_app, name="cache")
