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


# Sub-modules add their commands to `app`; they import the helpers above lazily.
from zsbench.cli_cache import cache_app  # noqa: E402
from zsbench.cli_run import run  # noqa: E402

app.command()(run)
app.add_typer(cache_app, name="cache")
