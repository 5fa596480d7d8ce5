"""One finding per check, and the recorder that runs a component's checks in order."""

from __future__ import annotations

import contextlib
import io
import math
import sys
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from zsbench.core.isolation import plugin_code, reason

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
MAX_MESSAGE = 300  # characters: a finding is one line of a table
# Each check's time limit: a check running past it fails and is abandoned (a hung plugin cannot hang the kit).
DEFAULT_TIMEOUT_S = 60.0
QUOTED = 60  # characters of a plugin's stray stdout quoted by the quiet check


@dataclass(frozen=True)
class Finding:
    """What one check found about one component.

    ``check`` names the check (``"deterministic"``), ``component`` is ``"kind:name"``
    (``"clusterer:kmeans"``, ``"plugin:<distribution>:<entry point>"``), ``status`` is ``"passed"``,
    ``"failed"`` or ``"skipped"`` (the check could not run here: weights or data not present, an
    optional dependency missing, a family of components), ``message`` one line saying what was seen.
    """

    check: str
    component: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        """True unless the check failed: a skipped check found nothing wrong."""
        return self.status != FAILED

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    def ok(self, strict: bool = False) -> bool:
        """Whether this finding lets a check run pass: passed, or skipped when not ``strict``. Strict (a CI
        machine that has every weight, dataset and optional dependency) counts a skipped check as failed."""
        return self.status == PASSED or (self.status == SKIPPED and not strict)

    @property
    def skipped(self) -> bool:
        return self.status == SKIPPED

    def __str__(self) -> str:
        return f"{self.component} {self.check}: {self.status}: {self.message}"


def one_line(text: str) -> str:
    """``text`` on one line, at most :data:`MAX_MESSAGE` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


class CheckFailed(Exception):
    """Raised inside a check: the component does not do what the core relies on (the message says what)."""


class CheckSkipped(Exception):
    """Raised inside a check: it cannot run here (the message says why)."""


def time_limit(timeout: float | None) -> float | None:
    """``timeout`` checked: a positive number of seconds, or None (no limit)."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < math.inf:
        raise ValueError(f"timeout must be a positive number of seconds (or None: no limit), got {timeout!r}")
    return float(timeout)


@dataclass
class Outcome:
    """How a call run by :func:`within` ended: ``done`` False when it was still running at the limit."""

    done: bool
    value: Any = None
    error: BaseException | None = None


def within(fn: Callable[[], Any], timeout: float | None, name: str = "zsbench-check") -> Outcome:
    """Call ``fn`` (plugin code) in a daemon thread and wait at most ``timeout`` seconds for it.

    A call still running then is abandoned: its thread goes on in the background and dies with the
    interpreter, so a plugin that hangs (a sleeping ``embed``, a ``close`` that never returns) costs
    the kit ``timeout`` seconds, not forever."""
    outcome = Outcome(False)

    def target() -> None:
        try:
            with plugin_code():
                outcome.value = fn()
        except BaseException as exc:  # handed to the caller, which says what it was
            outcome.error = exc

    thread = threading.Thread(target=target, daemon=True, name=name)
    thread.start()
    thread.join(timeout)
    outcome.done = not thread.is_alive()
    return outcome


class StdoutTap:
    """``sys.stderr`` while a check runs: text that reaches it through ``sys.stdout`` (the core hands
    plugin prints on to stderr, so they stay out of results tables) is kept for the quiet check and not
    shown; everything else passes on to ``stream``."""

    def __init__(self, stream: TextIO, kept: io.StringIO) -> None:
        self.stream, self.kept = stream, kept

    def write(self, text: str) -> int:
        forwarder = sys._getframe(1).f_locals.get("self")  # the object whose write() called this one
        if sys.stdout is self or (forwarder is not None and forwarder is sys.stdout):
            return self.kept.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, encoding, fileno...: the stream's
        return getattr(self.stream, name)


class Recorder:
    """Runs the checks of one component in order; each becomes one :class:`Finding`.

    A check is a function returning a message (or None: "ok"). :class:`CheckFailed` and
    :class:`CheckSkipped` set its status; any other exception is a failure naming it. Plugin code runs
    inside :func:`zsbench.core.isolation.plugin_code`, so a SystemExit from it is its failure, and
    library warnings stay out of the report. Each check runs in a daemon thread for at most
    ``timeout`` seconds: past that it fails ("timed out") and every later check is skipped (the
    component may be stuck). What a check writes to ``sys.stdout`` is kept for :meth:`quiet`.
    After :meth:`block`, later checks are skipped with the given reason (nothing to check once the
    component could not be built).
    """

    def __init__(self, component: str, timeout: float | None = DEFAULT_TIMEOUT_S) -> None:
        self.component = component
        self.timeout = time_limit(timeout)
        self.findings: list[Finding] = []
        self.blocked: str | None = None
        self.timed_out = False
        self.printed: list[tuple[str, str]] = []  # (check, what it wrote to sys.stdout)

    def add(self, check: str, status: str, message: str) -> Finding:
        finding = Finding(check, self.component, status, one_line(message))
        self.findings.append(finding)
        return finding

    def block(self, why: str) -> None:
        self.blocked = self.blocked or why

    def run(self, check: str, fn: Callable[[], Any], *, always: bool = False) -> Finding:
        """Run ``fn`` as check ``check`` (``always``: even after :meth:`block`, unless a check timed out)."""
        if self.blocked is not None and (self.timed_out or not always):
            return self.add(check, SKIPPED, self.blocked)
        written = io.StringIO()
        # Warnings and stdout are process-wide: silenced and captured here, around the wait, so an
        # abandoned check cannot leave them changed.
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(written),
            contextlib.redirect_stderr(StdoutTap(sys.stderr, written)),
        ):
            warnings.simplefilter("ignore")
            outcome = within(fn, self.timeout, name=f"zsbench-check {self.component} {check}")
        if written.getvalue():
            self.printed.append((check, written.getvalue()))
        if not outcome.done:
            self.timed_out = True
            self.blocked = f"not run: {check} timed out"
            return self.add(
                check,
                FAILED,
                f"timed out after {self.timeout:g} s: still running, abandoned (a run "
                "would wait for it forever); its later checks are skipped",
            )
        exc = outcome.error
        if isinstance(exc, CheckSkipped):
            return self.add(check, SKIPPED, str(exc))
        if isinstance(exc, CheckFailed):
            return self.add(check, FAILED, str(exc))
        if isinstance(exc, KeyboardInterrupt):  # not the plugin's own (plugin_code made that a PluginExit)
            raise exc
        if exc is not None:
            return self.add(check, FAILED, f"raised {reason(exc)}")
        return self.add(check, PASSED, outcome.value or "ok")

    def quiet(self) -> Finding:
        """The ``quiet`` check: building and using the component wrote nothing to ``sys.stdout``, where
        zsbench prints its results tables (a plugin says things with ``logging`` or ``warnings``)."""
        if self.printed:
            check, text = self.printed[0]
            return self.add(
                "quiet",
                FAILED,
                f"wrote to stdout during {check}: {text[:QUOTED]!r}; stdout holds "
                "zsbench's results, so use logging or warnings instead of print",
            )
        if not self.ok("create"):
            return self.add("quiet", SKIPPED, self.blocked or "not built (see create)")
        return self.add("quiet", PASSED, "wrote nothing to stdout while built and used")

    def ok(self, check: str) -> bool:
        """Whether ``check`` ran and passed."""
        return any(f.check == check and f.status == PASSED for f in self.findings)
