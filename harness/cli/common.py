"""What every command shares: the consoles, the one place errors become exit codes, common options.

The bottom of the CLI layer: command modules import it, it imports none of them."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from zsbench.core.inert import terminal
from zsbench.plugin.errors import ZsbenchError
from zsbench.report.console import console, styled

# Never markup: user, plugin and record text is printed literally; colour comes from styled() Text parts.
# The consoles escape hidden characters (ESC, bidi overrides...) of all they print; on stderr, where every
# message is one line, line breaks inside a message too, so an error stays one line.
err = console(stderr=True, soft_wrap=True, one_line=True)


def stdout() -> Console:
    # Piped output (files, CI logs) is not squeezed into 80 columns; a terminal keeps its width.
    return console(width=None if sys.stdout.isatty() else 240)


_debug = False  # --debug of the command being run (see set_debug)


def set_debug(value: bool) -> None:
    """``--debug`` for the command being run (the app resets it when the command ends)."""
    global _debug
    _debug = value


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """User mistakes end in one line on stderr and exit 1, never a traceback (``--debug`` or
    ZSBENCH_DEBUG=1 prints the traceback instead). Ctrl-C exits 130; SIGTERM (``kill``, ``timeout``,
    systemd) stops the same way, queued work dropped and finished results kept, and exits 143."""
    from zsbench.core.isolation import note_interrupt

    terminated: list[int] = []
    on_main = threading.current_thread() is threading.main_thread()  # only it may set handlers
    previous = signal.getsignal(signal.SIGTERM) if on_main else None

    def on_sigterm(signum: int, frame: object) -> None:
        terminated.append(signum)
        # A second SIGTERM during the clean-up ends the process at once, as it did before.
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
        note_interrupt()  # a real stop, even while plugin code runs (see isolation.plugin_code)
        raise KeyboardInterrupt

    if on_main:
        signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    except ZsbenchError as exc:
        if _debug or os.environ.get("ZSBENCH_DEBUG", "") not in ("", "0"):
            # with its cause: the plugin's own frames; a message's escape sequences shown, not run
            sys.stderr.write(terminal("".join(traceback.format_exception(exc)), lines=True))
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


def write_output(text: str, output: Path | None) -> None:
    """A report to stdout, or to ``--output`` (then a note on stderr); an unwritable file is one line."""
    # Each format escapes its text (zsbench.core.inert), which leaves no hidden character but line breaks, so
    # this changes nothing there; it keeps a format that forgot from sending an escape sequence to a terminal.
    text = terminal(text, lines=True)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ZsbenchError(f"cannot write {output}: {exc.strerror or exc}; pass another --output") from None
    err.print(f"wrote {output}", highlight=False)


StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help="Results store (SQLite file). Default: $ZSBENCH_STORE or the user data dir."),
]


RegistryOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--registry",
        "-r",
        help="Registry record file or folder (repeatable). With it, the local store is "
        "included only when --store is given.",
    ),
]


def store_choice(registry: list[Path] | None, store: Path | None) -> Path | None | bool:
    """The store a command reads beside records: the one named, else the default when no record is named,
    else none (False)."""
    return store if (store is not None or not registry) else False


def sources(registry: list[Path] | None, store: Path | None):
    """Results to read: the records named and/or a store (the default store when no record is named)."""
    from zsbench.analysis.board.sources import load_sources

    return load_sources(registry or [], store_choice(registry, store))
