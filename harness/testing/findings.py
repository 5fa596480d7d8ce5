"""One finding per check, and the recorder that runs a component's checks in order."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zsbench.core.manager import plugin_code, reason

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
MAX_MESSAGE = 300  # characters: a finding is one line of a table


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

    @property
    def skipped(self) -> bool:
        return self.status == SKIPPED

    def __str__(self) -> str:
        return f"{self.component} {self.check}: {self.status}: {self.message}"


def one_line(text: str) -> str:
    """``text`` on one line, at most :data:`MAX_MESSAGE` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 1] + "…"


class CheckFailed(Exception):
    """Raised inside a check: the component does not do what the core relies on (the message says what)."""


class CheckSkipped(Exception):
    """Raised inside a check: it cannot run here (the message says why)."""


class Recorder:
    """Runs the checks of one component in order; each becomes one :class:`Finding`.

    A check is a function returning a message (or None: "ok"). :class:`CheckFailed` and
    :class:`CheckSkipped` set its status; any other exception is a failure naming it. Plugin code runs
    inside :func:`zsbench.core.manager.plugin_code`, so a SystemExit from it is its failure, and
    library warnings stay out of the report. After :meth:`block`, later checks are skipped with
    the given reason (nothing to check once the component could not be built).
    """

    def __init__(self, component: str) -> None:
        self.component = component
        self.findings: list[Finding] = []
        self.blocked: str | None = None

    def add(self, check: str, status: str, message: str) -> Finding:
        finding = Finding(check, self.component, status, one_line(message))
        self.findings.append(finding)
        return finding

    def block(self, why: str) -> None:
        self.blocked = self.blocked or why

    def run(self, check: str, fn: Callable[[], Any], *, always: bool = False) -> Finding:
        """Run ``fn`` as check ``check`` (``always``: even after :meth:`block`)."""
        if self.blocked is not None and not always:
            return self.add(check, SKIPPED, self.blocked)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with plugin_code():
                    message = fn()
        except CheckSkipped as exc:
            return self.add(check, SKIPPED, str(exc))
        except CheckFailed as exc:
            return self.add(check, FAILED, str(exc))
        except Exception as exc:
            return self.add(check, FAILED, f"raised {reason(exc)}")
        return self.add(check, PASSED, message or "ok")

    def ok(self, check: str) -> bool:
        """Whether ``check`` ran and passed."""
        return any(f.check == check and f.status == PASSED for f in self.findings)
