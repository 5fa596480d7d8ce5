"""Trying third-party plugins in a child process first, under a time limit: for the diagnostic commands.

A plugin that loops at import, or whose register hook never returns, would hang ``zsbench plugins``,
``plugins --check`` and ``zsbench list``; one that calls ``os._exit`` (or crashes the interpreter) would end
them with no word. :func:`bounded_plugins` first loads every selected third-party entry point in a child
``python``, one at a time, importing it and calling its register hooks with a register that keeps nothing;
the child says on a pipe when each step starts and ends. A step still running after ZSBENCH_PLUGIN_TIMEOUT
seconds (default 60), or a child that ends mid-step, names that plugin: it is recorded as failed with the
reason and never imported here, and a new child goes on with the rest. What passed is then loaded in this
process as any command loads it. The built-in plugins are trusted and not tried; with no third-party
plugin selected no child starts. ``zsbench run`` does not pay for this: it only names an import that takes
longer than the limit (:mod:`zsbench.core.manager`).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import pluggy

from zsbench.core.catalog import KINDS
from zsbench.core.isolation import plugin_code
from zsbench.core.manager import PluginSet, current_plugins, discovered
from zsbench.core.selection import ENV_PLUGIN_TIMEOUT, is_builtin, plugin_timeout, select
from zsbench.plugin import hookspecs
from zsbench.plugin.errors import ZsbenchError

# the child: this process's sys.path (tests and scripts add to it), then the keys already tried
CHILD = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from zsbench.core.probe import child; child(json.loads(sys.argv[2]))"
)
IMPORT = "import"  # the step of loading an entry point; the others are register hooks' names
STARTUP_S = 15.0  # at least this long for the child to start (a fresh interpreter importing zsbench)


def bounded_plugins() -> PluginSet:
    """The process-wide plugin set, its third-party plugins tried first in a child process (unless it is
    discovered already, or ZSBENCH_PLUGIN_TIMEOUT is 0): what hung or ended the child is failed, not loaded."""
    if discovered():
        return current_plugins()
    limit = plugin_timeout()
    return current_plugins(refused=probe(limit) if limit is not None else None)


def probe(limit: float) -> dict[str, str]:
    """The selected third-party plugins whose import or register hook took over ``limit`` seconds or
    ended the child process, each with why (one line)."""
    if all(is_builtin(point.distribution) for point in select().points):
        return {}
    refused: dict[str, str] = {}
    tried: list[str] = []
    while True:
        run = _run_child(tried + sorted(refused), limit)
        tried += run.done
        if run.finished:
            return refused
        if run.culprit is None or run.culprit in refused:  # nothing new to blame: no progress to make
            raise ZsbenchError(
                f"the child process that tries third-party plugins first {run.ended}, outside any plugin's "
                f"steps; set {ENV_PLUGIN_TIMEOUT}=0 to load them in this process, without a limit"
            )
        refused[run.culprit] = run.why


@dataclass
class _Run:
    """What one child process said: the keys it finished, and how it ended."""

    done: list[str] = field(default_factory=list)
    finished: bool = False
    culprit: str | None = None  # the plugin whose step it was in when it hung or ended
    why: str = ""
    ended: str = ""  # how the child ended, for a child that failed before any plugin


def _run_child(tried: list[str], limit: float) -> _Run:
    run = _Run()
    step: tuple[str, str] | None = None  # (key, step) started and not finished
    last: str | None = None  # the last key started
    wait = max(limit, STARTUP_S)  # until the child is ready; then each step gets the limit
    with tempfile.TemporaryFile() as errors, _child([json.dumps(sys.path), json.dumps(tried)], errors) as child:
        lines: queue.Queue[bytes] = queue.Queue()
        assert child.stdout is not None
        threading.Thread(target=_read, args=(child.stdout, lines), daemon=True, name="zsbench-probe").start()
        while True:
            try:
                line = lines.get(timeout=wait)
            except queue.Empty:
                took = f"took over {limit:g} s ({ENV_PLUGIN_TIMEOUT})"
                advice = f": it may hang; make it quicker, or raise {ENV_PLUGIN_TIMEOUT}"
                return _blame(run, step, last, took, advice, f"did not start within {wait:g} s")
            message = _message(line)
            if message is None:  # the end of its output: the child ended
                said = _last_words(errors)
                ended = f"ended the process ({_status(child, limit)})"
                return _blame(run, step, last, ended, said, ended.replace("the process ", "") + said)
            wait = limit
            if message.get("end"):
                run.finished = True
                return run
            key = str(message.get("key"))
            if message.get("done"):
                run.done.append(key)
                step = None
            elif "step" in message:
                step, last = (key, str(message["step"])), key


def _blame(run: _Run, step: tuple[str, str] | None, last: str | None, what: str, more: str, ended: str) -> _Run:
    """``run`` ended in the middle of ``step`` (or just after ``last``'s steps): that plugin ``what``."""
    run.ended = ended
    if step is not None:
        run.culprit, run.why = step[0], f"{_step(step[1])} {what}{more}"
    elif last is not None:  # between two plugins: something the last one left running
        run.culprit, run.why = last, f"just after loading it, something it started {what}{more}"
    return run


@contextlib.contextmanager
def _child(args: list[str], errors: IO[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    """The child process, in a session of its own; it and whatever it started are killed on the way out."""
    posix = hasattr(os, "killpg")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=errors,
        start_new_session=posix,
    )
    try:
        yield child
    finally:
        if child.poll() is None:  # still running (hung): it and what it started, while its id is still its own
            with contextlib.suppress(OSError):
                if posix:
                    os.killpg(child.pid, signal.SIGKILL)
                else:
                    child.kill()
        child.wait()


def _read(stream: IO[bytes], lines: queue.Queue[bytes]) -> None:
    """The child's lines, then b"" at the end; the pipe is closed here, once nothing holds it open."""
    with stream, contextlib.suppress(OSError, ValueError):
        for line in stream:
            lines.put(line)
    lines.put(b"")


def _message(line: bytes) -> dict[str, Any] | None:
    """A line of the child's, or None at the end of its output; a line that is not its JSON is ignored."""
    if not line:
        return None
    try:
        message = json.loads(line)
    except ValueError:
        return {}
    return message if isinstance(message, dict) else {}


def _step(step: str) -> str:
    return "its import" if step == IMPORT else f"its {step} hook"


def _status(child: subprocess.Popen[bytes], limit: float) -> str:
    try:
        code = child.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        return "its output closed"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}: a crash or a signal"
    return f"exit status {code}: os._exit, or a crash"


def _last_words(errors: IO[bytes]) -> str:
    """The child's last line on stderr, cut short, or nothing."""
    errors.seek(0, os.SEEK_END)
    errors.seek(max(0, errors.tell() - 2048))
    lines = [ln.strip() for ln in errors.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    if not lines:
        return ""
    last = lines[-1] if len(lines[-1]) <= 160 else lines[-1][:157] + "..."
    return f"; it last printed: {last}"


def child(tried: list[str]) -> None:
    """In the child: load each selected third-party entry point not in ``tried`` and call its register
    hooks, saying on the pipe (this process's stdout at start) when each step starts and ends."""
    pipe = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # what a plugin prints, even from C, goes to stderr: the pipe carries only these lines

    def say(**message: object) -> None:
        pipe.write(json.dumps(message) + "\n")
        pipe.flush()

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    plugins = PluginSet(pm)
    say(ready=True)
    for point in select().points:
        key = point.key
        if is_builtin(point.distribution) or key in tried:
            continue
        say(key=key, step=IMPORT)
        try:
            with plugin_code():
                loaded = point.entry_point.load()
        except Exception:  # an ordinary failure: this process's discovery says what it was
            say(key=key, done=True)
            continue
        plugins.add(loaded, key, point.distribution, point.version, point.entry_point.value)
        for hook in plugins.infos[key].hooks:
            if hook not in KINDS.values():
                continue
            say(key=key, step=hook)
            for impl in getattr(pm.hook, hook).get_hookimpls():
                if impl.plugin_name == key:
                    with contextlib.suppress(Exception), plugin_code():
                        impl.function(register=_keep_nothing)
        say(key=key, done=True)
    say(end=True)


def _keep_nothing(*args: object, **kwargs: object) -> None:
    """The register a plugin's hooks get in the child: the catalog is built in the parent."""
