"""The ``zsbench`` command: parse options, call the core, render. Errors are handled in one place."""

from __future__ import annotations

from typing import Annotated

import typer

from zsbench.cli.baseline import baseline
from zsbench.cli.cache import cache_app
from zsbench.cli.check import check
from zsbench.cli.common import set_debug
from zsbench.cli.findings import findings_app
from zsbench.cli.leaderboard import leaderboard
from zsbench.cli.new_plugin import new_plugin
from zsbench.cli.plugins import list_components, plugins
from zsbench.cli.proxy import proxy
from zsbench.cli.registry import submit, validate
from zsbench.cli.run import run
from zsbench.cli.site import site
from zsbench.cli.store import store_app
from zsbench.cli.verify import verify

app = typer.Typer(
    help="Zero-shot clustering benchmark for pretrained image encoders.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from zsbench import __version__

        typer.echo(f"zsbench {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="Show the traceback of an error (a failing plugin, a bad input) instead of one "
            "line; also ZSBENCH_DEBUG=1.",
        ),
    ] = False,
) -> None:
    """Zero-shot clustering benchmark for pretrained image encoders."""
    set_debug(debug)

    # a later command in this process (tests, notebooks) starts without it
    ctx.call_on_close(lambda: set_debug(False))


# Every command lives in a module of its own, named after it.
app.command()(leaderboard)
app.command()(plugins)
app.command("list")(list_components)
app.command()(run)
app.command()(submit)
app.command()(validate)
app.command()(verify)
app.command()(baseline)
app.command()(check)
app.command()(proxy)
app.command()(site)
app.add_typer(findings_app, name="findings")
app.add_typer(cache_app, name="cache")
app.add_typer(store_app, name="store")
app.command("new-plugin")(new_plugin)


def main() -> None:
    app()
