"""``zsbench store``: look after the results store (:mod:`zsbench.storage.store`).

Importing this module (the CLI does) also shows the store's warnings about skipped rows as one
``warning:`` line each, instead of Python's two-line warning with a source line.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

from zsbench.cli.common import err, stdout, user_errors

store_app = typer.Typer(help="Check the results store (rows that cannot be read back).", no_args_is_help=True)


@store_app.command("check")
def check(
    store: Annotated[
        Path | None,
        typer.Option("--store", help="Results store (SQLite file). Default: $ZSBENCH_STORE or the user data dir."),
    ] = None,
) -> None:
    """List the rows that cannot be read (bad JSON, wrong types, nulls, damaged pages); exit 1 when there are any."""
    from zsbench.storage.store import ResultStore, default_path

    with user_errors():
        # An explicit path, so a missing default store is an error here too, not an empty store.
        with ResultStore(store or default_path(), readonly=True) as db:
            n, bad = db.check()
            path = db.path
    for problem in bad:
        stdout().print(str(problem), highlight=False, soft_wrap=True)  # row ID: COLUMN PROBLEM (DETAIL), escaped
    if bad:
        rows = len({b.id for b in bad})
        ids = sorted({b.id for b in bad})
        drop = (
            f"; to drop them: sqlite3 {path} 'DELETE FROM results WHERE id IN ({', '.join(map(str, ids))})'"
            if len(ids) <= 100
            else ""
        )
        err.print(f"{path}: {n} rows, {rows} unreadable (run, leaderboard and submit skip them){drop}", highlight=False)
        raise typer.Exit(1)
    err.print(f"{path}: {n} rows, all readable", highlight=False)


def show_store_warnings(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` for the CLI: a StoreWarning is one ``warning:`` line; others as before."""
    from zsbench.storage.store import StoreWarning

    if isinstance(category, type) and issubclass(category, StoreWarning):
        from zsbench.report.console import styled

        err.print(styled("warning:", "yellow", str(message)), highlight=False, soft_wrap=True)
    else:
        _previous(message, category, filename, lineno, file, line)


_previous = warnings.showwarning
warnings.showwarning = show_store_warnings
