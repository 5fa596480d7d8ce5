"""``zsbench plugins`` and ``zsbench list``: what is installed, what it provides, and what is wrong with it."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.text import Text

from zsbench.cli.common import err, stdout, user_errors
from zsbench.core.catalog import KINDS, build_catalog
from zsbench.core.manager import ENV_LOAD_PLUGINS, SLOW_IMPORT_SECONDS, PluginSet
from zsbench.core.probe import bounded_plugins
from zsbench.core.protocol import protocol_names
from zsbench.report.console import InertTable as Table  # plugins' names and errors, escaped to one line
from zsbench.report.console import styled

# the kinds come from the catalog: one list of them; protocols are core's, not plugins'
# (mypy reads an enum's members only from literals; these are computed, so it cannot list them)
Kind = StrEnum("Kind", {kind: kind for kind in (*KINDS, "protocols")})  # type: ignore[misc]


def plugins(
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Exit 1 when any plugin failed to load (import error, failing hook), two plugins "
            "register one name, a plugin registers a built-in's name, or a distribution named in "
            "ZSBENCH_LOAD_PLUGINS is not installed; with --check, when a check failed or was skipped (weights, "
            "data or an optional dependency not here); for CI.",
        ),
    ] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Run the conformance kit (zsbench.testing) on the plugins of DIST (default: every "
            "loaded distribution): one row per check, exit 1 when one fails.",
        ),
    ] = False,
    distribution: Annotated[
        str | None,
        typer.Argument(
            metavar="DIST", help="With --check: the distribution whose plugins to check.", show_default=False
        ),
    ] = None,
) -> None:
    """Show every plugin: distribution, version, hooks, why any failed to load, and what it should fix.

    Third-party plugins are tried first in a child process: one whose import or register hook takes over
    ZSBENCH_PLUGIN_TIMEOUT seconds (default 60; 0: no limit), or ends that process, is shown as failed."""
    if check:
        if distribution is not None and not distribution.strip():  # '' would otherwise check everything
            raise typer.BadParameter(
                "empty; name a distribution, or leave DIST out to check every one", param_hint="DIST"
            )
        from zsbench.cli.conformance import run_checks  # imports the kit only when asked for

        with user_errors():
            bounded_plugins()  # the kit then finds them loaded: one that hangs or ends zsbench is failed
        raise typer.Exit(run_checks(distribution, strict=strict))
    if distribution is not None:
        raise typer.BadParameter(f"{distribution!r}: a distribution is named only with --check", param_hint="DIST")
    with user_errors():
        found = bounded_plugins()
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
        stdout().print(table)
        _report_catalog_problems(catalog, include_hook_errors=False)
        for info in sorted(found.infos.values(), key=lambda i: i.key):
            for warning in info.warnings:  # e.g. a hook deprecated with pluggy's warn_on_impl
                err.print(styled("note:", "yellow", f"plugin {info.key}: {warning}"), highlight=False)
            hooks = catalog.hook_seconds.get(info.key, 0.0)
            if info.import_seconds + hooks > SLOW_IMPORT_SECONDS:  # both are paid by every command
                err.print(
                    styled(
                        "note:",
                        "yellow",
                        f"plugin {info.key} took {info.import_seconds:.1f} s to import "
                        f"and {hooks:.1f} s in its register hooks, paid by every zsbench command; move "
                        "heavy imports and work (torch, models, downloads, file scans) into the "
                        "factories, which run only when a component is used",
                    ),
                    highlight=False,
                )
        problem = found.selection_problem
        for name in found.unmatched if problem is None else ():  # the problem's line names them
            err.print(
                styled(
                    "note:",
                    "yellow",
                    f"{name} is named in {ENV_LOAD_PLUGINS} but no installed "
                    "distribution of that name has a `zsbench` entry point",
                ),
                highlight=False,
            )
        if problem is not None:  # every other command stops on it: this one shows what there is, then it
            err.print(styled("error:", "bold red", problem), highlight=False)
            raise typer.Exit(1)
    # --strict: anything that leaves a component unavailable fails (load errors, clashes, missing plugins)
    if strict and (failed or catalog.conflicts or catalog.refused or found.unmatched):
        raise typer.Exit(1)


def _report_failed(found: PluginSet) -> None:
    """One note per plugin that failed to load (an import error, a hang, an end of the process)."""
    for info in sorted(found.failed, key=lambda i: i.key):
        err.print(
            styled("note:", "yellow", f"plugin {info.key} failed to load: {info.error} (see `zsbench plugins`)"),
            highlight=False,
        )


def _report_catalog_problems(catalog, include_hook_errors: bool = True) -> None:
    """Name clashes and failed register hooks, on stderr: they make components unavailable."""
    for kind, name in catalog.conflicts:
        err.print(styled("conflict:", "red", catalog.conflict_message(kind, name)), highlight=False)
    for message in catalog.refusal_messages():  # the built-in keeps its name; the other entry is left out
        err.print(styled("refused:", "red", message), highlight=False)
    if include_hook_errors:
        for key, problem in catalog.hook_errors.items():
            err.print(styled("note:", "yellow", f"plugin {key}: {problem} (see `zsbench plugins`)"), highlight=False)


def list_components(kind: Annotated[Kind, typer.Argument(help="What to list.")]) -> None:
    """List the encoders, datasets, reducers or clusterers that plugins provide, or the protocols.

    Third-party plugins are tried first in a child process, as by `zsbench plugins`."""
    with user_errors():
        if kind.value == "protocols":
            table = Table(title="zsbench protocols")
            for col in ("name", "version", "description"):
                table.add_column(col)
            for row in protocol_names():
                table.add_row(*row)
            stdout().print(table)
            return
        found = bounded_plugins()
        catalog = build_catalog()  # an error naming ZSBENCH_LOAD_PLUGINS when it selected nothing usable
        table = Table(title=f"zsbench {kind.value}")
        for col in ("name", "plugin", "description"):
            table.add_column(col)
        for name in catalog.names(kind.value):
            entry = catalog.entries[kind.value][name]
            table.add_row(name + ("…" if entry.is_family else ""), entry.plugin, entry.description)
        stdout().print(table)
        _report_failed(found)
        _report_catalog_problems(catalog)
