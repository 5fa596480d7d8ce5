"""Running plugin code so that nothing it raises ends the program and nothing it prints reaches stdout.

:func:`plugin_code` wraps every call into a plugin (an import, a register hook, a factory, embed): SystemExit,
GeneratorExit or a KeyboardInterrupt the plugin raises itself become :class:`PluginExit`, while a real
interrupt (SIGINT, or a SIGTERM the CLI notes with :func:`note_interrupt`) still stops the program; what the
plugin prints goes to stderr. :func:`reason` says a plugin's failure on one line.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any


def reason(exc: BaseException) -> str:
    """``"ExcType: message"`` on one line, for messages about plugin failures."""
    if isinstance(exc, PluginExit):  # name what the plugin raised, not the wrapper
        exc = exc.__cause__ or exc
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__  # a message may end in ":"


class PluginExit(Exception):
    """Plugin code raised SystemExit, GeneratorExit or a KeyboardInterrupt of its own: an ordinary
    failure of that plugin (its ``__cause__`` is what it raised), never the end of the program."""


# Interrupts that really arrived: SIGINT while plugin code ran (counted by plugin_code's handler),
# and SIGTERM, which the CLI turns into KeyboardInterrupt (it calls note_interrupt).
_interrupts = 0


def note_interrupt() -> None:
    """Record that a signal asked this process to stop: plugin_code lets its KeyboardInterrupt through."""
    global _interrupts
    _interrupts += 1


class _PluginStdout:
    """``sys.stdout`` while plugin code runs somewhere: what a thread inside plugin code prints goes
    to stderr, everything else to the stream it replaced. Per thread, so one thread leaving plugin
    code cannot hand another's output to stdout, or leave stderr behind as stdout."""

    def __init__(self, replaced: Any) -> None:
        self.replaced = replaced

    def _target(self) -> Any:
        return sys.stderr if getattr(_inside, "depth", 0) else self.replaced

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def __getattr__(self, name: str) -> Any:  # isatty, encoding, fileno...: the target's
        return getattr(self._target(), name)


_inside = threading.local()  # .depth: how many plugin_code blocks this thread is in
_stdout_lock = threading.Lock()
_open_blocks = 0  # plugin_code blocks open in all threads: the proxy stays while any is


@contextlib.contextmanager
def _plugin_stdout() -> Iterator[None]:
    """Plugin text printed to stdout goes to stderr: stdout carries only zsbench's own output
    (tables, JSON), which scripts read. Python-level only: a C library writing to fd 1 is not caught."""
    global _open_blocks
    with _stdout_lock:
        if _open_blocks == 0 and not isinstance(sys.stdout, _PluginStdout):
            sys.stdout = _PluginStdout(sys.stdout)
        _open_blocks += 1
    _inside.depth = getattr(_inside, "depth", 0) + 1
    try:
        yield
    finally:
        _inside.depth -= 1
        with _stdout_lock:
            _open_blocks -= 1
            # put back what was there, unless someone (rich's live display) has replaced it since
            if _open_blocks == 0 and isinstance(sys.stdout, _PluginStdout):
                sys.stdout = sys.stdout.replaced


@contextlib.contextmanager
def plugin_code() -> Iterator[None]:
    """Run plugin code (an import, a register hook, a factory, embed) so nothing it raises ends the
    program: SystemExit, GeneratorExit or a KeyboardInterrupt it raises itself come out as
    :class:`PluginExit`; ordinary exceptions pass unchanged. A real interrupt passes through: a
    SIGINT is counted by a handler installed for the duration, a SIGTERM by the CLI's handler.
    What it prints to stdout goes to stderr (:func:`_plugin_stdout`).
    """
    with _plugin_stdout():
        with _guarded():
            yield


@contextlib.contextmanager
def _guarded() -> Iterator[None]:
    before = _interrupts
    previous = signal.getsignal(signal.SIGINT)
    # Only the main thread receives signals; SIG_DFL and SIG_IGN never raise KeyboardInterrupt.
    install = threading.current_thread() is threading.main_thread() and callable(previous)
    if install:
        assert callable(previous)  # install: a handler to chain to
        chained = previous

        def counting(signum: int, frame: FrameType | None) -> None:
            note_interrupt()
            chained(signum, frame)  # the default handler raises KeyboardInterrupt

        signal.signal(signal.SIGINT, counting)
    try:
        yield
    except Exception:
        if _interrupts > before:  # the plugin turned the user's Ctrl-C into an error: the stop wins
            raise KeyboardInterrupt from None
        raise
    except BaseException as exc:
        # A handler set outside Python (None) cannot be watched: any KeyboardInterrupt may be real.
        real = _interrupts > before or previous is None
        if isinstance(exc, KeyboardInterrupt) and real:
            raise  # the user (or a SIGTERM) stopped us while plugin code happened to be running
        raise PluginExit(reason(exc)) from exc
    else:
        # A stop that arrived while the block ran but never came out of it (a plugin that swallowed the
        # KeyboardInterrupt, a C callback, e.g. numba's, that ignores it) still stops: a silently ignored
        # Ctrl-C makes the user reach for kill -9, which leaks the pool's semaphores.
        if _interrupts > before:
            raise KeyboardInterrupt
    finally:
        if install:
            signal.signal(signal.SIGINT, previous)
