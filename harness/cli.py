"""The ``zsbench`` command: parse options, call the core, render. Errors are handled in one place."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from zsbench.console import console, styled
from zsbench.errors import ZsbenchError

app = typer.Typer(help="Zero-shot clustering benchmark for pretrained image encoders.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
# Never markup: user, plugin and record text is printed literally; colour comes from styled() Text parts.
err = console(stderr=True, soft_wrap=True)  # one-line messages stay one line


def _out() -> Console:
    # Piped output (files, CI logs) is not squeezed into 80 columns; a terminal keeps its width.
    return console(width=None if sys.stdout.isatty() else 240)


_debug = False  # --debug of the command being run (see _main)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """User mistakes end in one line on stderr and exit 1, never a traceback (``--debug`` or
    ZSBENCH_DEBUG=1 prints the traceback instead). Ctrl-C exits 130; SIGTERM (``kill``, ``timeout``,
    systemd) stops the same way, queued work dropped and finished results kept, and exits 143."""
    from zsbench.manager import note_interrupt

    terminated: list[int] = []
    on_main = threading.current_thread() is threading.main_thread()  # only it may set handlers
    previous = signal.getsignal(signal.SIGTERM) if on_main else None

    def on_sigterm(signum: int, frame: object) -> None:
        terminated.append(signum)
        # A second SIGTERM during the clean-up ends the process at once, as it did before.
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
        note_interrupt()  # a real stop, even while plugin code runs (see manager.plugin_code)
        raise KeyboardInterrupt

    if on_main:
        signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    except ZsbenchError as exc:
        if _debug or os.environ.get("ZSBENCH_DEBUG", "") not in ("", "0"):
            traceback.print_exception(exc)  # with its cause: the plugin's own frames
        else:
            err.print(styled("error:", "bold red", str(exc)), highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        if terminated:
            err.print("terminated (SIGTERM); results finished so far are in the store", highlight=False)
            raise typer.Exit(143) from None
        err.print("interrupted; results finished so far are in the store")
        raise typer.Exit(130) from None
    finally:
        if on_main and signal.getsignal(signal.SIGTERM) is on_sigterm:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _version(value: bool) -> None:
    if value:
        from zsbench import __version__

        typer.echo(f"zsbench {__version__}")
        raise typer.Exit()


@app.callback()
def _main(ctx: typer.Context,
          version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Show the version and exit.")] = False,
          debug: Annotated[bool, typer.Option(
              "--debug", help="Show the traceback of an error (a failing plugin, a bad input) instead of one "
              "line; also ZSBENCH_DEBUG=1.")] = False) -> None:
    """Zero-shot clustering benchmark for pretrained image encoders."""
    global _debug
    _debug = debug

    def forget() -> None:  # a later command in this process (tests, notebooks) starts without it
        global _debug
        _debug = False

    ctx.call_on_close(forget)


class Kind(StrEnum):
    encoders = "encoders"
    datasets = "datasets"
    reducers = "reducers"
    clusterers = "clusterers"
    executors = "executors"


StoreOpt = Annotated[Path | None, typer.Option(
    "--store", help="Results store (SQLite file). Default: $ZSBENCH_STORE or the user data dir.")]


@app.command()
def plugins(strict: Annotated[bool, typer.Option(
        "--strict", help="Exit 1 when any plugin failed to load (import error, failing hook), two plugins "
        "register one name, or a distribution named in ZSBENCH_LOAD_PLUGINS is not installed; for CI.")] = False
            ) -> None:
    """Show every plugin: distribution, version, hooks, and why any failed to load."""
    from zsbench.catalog import build_catalog
    from zsbench.manager import ENV_LOAD_PLUGINS, get_plugins

    with user_errors():
        found = get_plugins()
        catalog = build_catalog(found)
        hook_errors = catalog.hook_errors
        table = Table(title="zsbench plugins")
        for col in ("plugin", "distribution", "version", "hooks", "status"):
            table.add_column(col)
        failed = 0
        for info in sorted(found.infos.values(), key=lambda i: i.key):
            problem = info.error or hook_errors.get(info.key)
            failed += bool(problem)
            status = Text(f"failed: {problem}", style="red") if problem else Text("ok", style="green")
            table.add_row(info.key, info.distribution, info.version, ", ".join(info.hooks), status)
        _out().print(table)
        _report_catalog_problems(catalog, include_hook_errors=False)
        for name in found.unmatched:
            err.print(styled("note:", "yellow", f"{name} is named in {ENV_LOAD_PLUGINS} but no installed "
                             "distribution of that name has a `zsbench` entry point"), highlight=False)
    # --strict: anything that leaves a component unavailable fails (load errors, clashes, missing plugins)
    if strict and (failed or catalog.conflicts or found.unmatched):
        raise typer.Exit(1)


def _report_catalog_problems(catalog, include_hook_errors: bool = True) -> None:
    """Name clashes and failed register hooks, on stderr: they make components unavailable."""
    for kind, name in catalog.conflicts:
        err.print(styled("conflict:", "red", catalog.conflict_message(kind, name)), highlight=False)
    if include_hook_errors:
        for key, problem in catalog.hook_errors.items():
            err.print(styled("note:", "yellow", f"plugin {key}: {problem} (see `zsbench plugins`)"),
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


class BoardFormat(StrEnum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"
    html = "html"


class Columns(StrEnum):
    auto = "auto"
    groups = "groups"
    datasets = "datasets"
    clusterers = "clusterers"


RegistryOpt = Annotated[list[Path] | None, typer.Option(
    "--registry", "-r", help="Registry record file or folder (repeatable). With it, the local store is "
    "included only when --store is given.")]


def sources(registry: list[Path] | None, store: Path | None):
    """Results to read: the records named and/or a store (the default store when no record is named)."""
    from zsbench.records import load_sources

    return load_sources(registry or [], store if (store is not None or not registry) else False)


@app.command()
def leaderboard(
    format: Annotated[BoardFormat, typer.Option("--format", "-f", help="Output format.")] = BoardFormat.table,
    registry: RegistryOpt = None,
    store: StoreOpt = None,
    protocol: Annotated[str, typer.Option(help="Protocol version to show.")] = "1",
    clusterer: Annotated[str, typer.Option(
        "--clusterer", "-c", help="Rank by this clusterer's AMI, or 'mean' over the protocol's clusterers.")] = "mean",
    columns: Annotated[Columns, typer.Option(
        help="Score columns: dataset groups, datasets, or clusterers (auto: clusterers for a single dataset, "
             "else groups).")] = Columns.auto,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")]
    = None,
    dataset: Annotated[list[str] | None, typer.Option(
        "--dataset", "-d", help="A dataset of the suite rows are ranked on, repeatable (default: the datasets "
        "most rows have).")] = None,
    all_identities: Annotated[bool, typer.Option(
        "--all-identities", help="Show every identity (weights, preprocessing) of an encoder as its own row, "
        "labelled by its short sha256 (default: the latest only).")] = False,
) -> None:
    """Per encoder identity: AMI x100 per dataset group and overall, 95% intervals over seeds, and rank intervals."""
    from zsbench.leaderboard import build
    from zsbench.report_board import render, rich_table

    with user_errors():
        loaded = sources(registry, store)
        board = build(loaded, protocol=protocol, view=clusterer, datasets=dataset, all_identities=all_identities)
        if not board.rows:
            where = ", ".join(s.name for s in loaded) or "no source"
            err.print(f"no results for protocol {protocol} in {where}; run `zsbench run` first, or pass "
                      "--registry with submitted records", highlight=False)
            return
        if format is BoardFormat.table and output is None:
            _out().print(rich_table(board, by=columns.value))
            for note in board.notes:
                err.print(f"note: {note}", highlight=False)
            return
        text = render(board, "markdown" if format is BoardFormat.table else format.value, by=columns.value)
        if output is None:
            sys.stdout.write(text)
        else:
            try:
                output.write_text(text)
            except OSError as exc:
                raise ZsbenchError(f"cannot write {output}: {exc.strerror or exc}; pass another --output") from None
            err.print(f"wrote {output}", highlight=False)


def main() -> None:
    app()


# Sub-modules add their commands to `app`; they import the helpers above lazily.
from zsbench.cli_cache import cache_app  # noqa: E402
from zsbench.cli_check import check  # noqa: E402
from zsbench.cli_proxy import proxy  # noqa: E402
from zsbench.cli_registry import submit, validate, verify  # noqa: E402
from zsbench.cli_run import run  # noqa: E402
from zsbench.cli_store import store_app  # noqa: E402

app.command()(run)
app.command()(submit)
app.command()(validate)
app.command()(verify)
app.command()(check)
app.command()(proxy)
app.add_typer(cache_app, name="cache")
app.add_typer(store_app, name="store")
