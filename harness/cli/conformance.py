"""``zsbench plugins --check [DIST]``: the conformance kit's findings (:mod:`zsbench.testing`) as a table.

Each component's result is said on stderr as soon as its checks end (a long check shows progress, and a
run stopped from outside keeps what it found); the table of every finding follows on stdout."""

from __future__ import annotations

import functools
from collections import Counter

from rich.text import Text

from zsbench.cli.common import err, stdout
from zsbench.plugin.errors import ZsbenchError
from zsbench.report.console import InertTable, styled
from zsbench.testing import DEFAULT_TIMEOUT_S, FAILED, PASSED, SKIPPED, Finding, Suite, distributions

STYLES = {PASSED: "green", FAILED: "red", SKIPPED: "yellow"}
SHOWN = 10  # skipped checks named in a strict summary; the table above has every one


def run_checks(distribution: str | None = None, timeout: float | None = DEFAULT_TIMEOUT_S, strict: bool = False) -> int:
    """Check every plugin and component of ``distribution`` (default: every loaded distribution), print
    one line per component as its checks end, then one row per finding and a summary; each check fails
    after ``timeout`` seconds. The exit code: 1 when a check failed (or, with ``strict``, was skipped),
    else 0."""
    try:
        if distribution is not None and not distribution.strip():
            raise ZsbenchError("the distribution to check is empty; name one, or leave DIST out to check all")
        names = [distribution] if distribution is not None else distributions(timeout=timeout)
        if not names:
            raise ZsbenchError("no plugins are loaded; install one, or check ZSBENCH_LOAD_PLUGINS")
        suites = [Suite(name, timeout=timeout) for name in names]
    except ZsbenchError as exc:
        err.print(styled("error:", "bold red", str(exc)), highlight=False, soft_wrap=True)
        return 1
    findings: list[Finding] = []
    with err.status("checking") as status:  # drawn on a terminal only
        for suite in suites:
            # Text, not str: a status's str is read as markup, and a component's name may hold brackets
            findings += suite.run(
                lambda component: status.update(Text(f"checking {component}")), functools.partial(said, strict=strict)
            )
    title = f"zsbench conformance: {', '.join(names)}"
    table = InertTable(title=title)  # a plugin's names and messages, escaped to one line each
    for column in ("component", "check", "result", "message"):
        table.add_column(column)
    for finding in findings:
        table.add_row(
            finding.component, finding.check, Text(finding.status, style=STYLES[finding.status]), finding.message
        )
    out = stdout()
    out.print(table)
    counts = Counter(f.status for f in findings)
    components = len({f.component for f in findings})
    skips = [f"{f.component} {f.check}" for f in findings if f.skipped] if strict else []
    count = "s count as failures" if len(skips) > 1 else " counts as a failure"
    strictly = f"strict: {len(skips)} skipped check{count}{' too' if counts[FAILED] else ''}" if skips else ""
    named = f"{', '.join(skips[:SHOWN])}{f' and {len(skips) - SHOWN} more' if len(skips) > SHOWN else ''}"
    head = f"{counts[FAILED]} failed" if counts[FAILED] else strictly or "all passed"
    tail = "" if not skips else f": {named}" if not counts[FAILED] else f"; {strictly}: {named}"
    bad = bool(counts[FAILED] or skips)
    out.print(
        styled(
            head,
            "red" if bad else "green",
            f"({len(findings)} checks of {components} components: "
            f"{counts[PASSED]} passed, {counts[FAILED]} failed, {counts[SKIPPED]} skipped){tail}",
        ),
        highlight=False,
        soft_wrap=True,
    )
    return 1 if bad else 0


def said(component: str, findings: list[Finding], strict: bool = False) -> None:
    """One line on stderr for a component whose checks ended: its counts, and the checks that failed (with
    ``strict``, and those skipped)."""
    counts = Counter(f.status for f in findings)
    failed = [f.check for f in findings if f.failed]
    skipped = [f.check for f in findings if f.skipped] if strict else []
    status = FAILED if failed or skipped else PASSED
    parts = [f"{counts[FAILED]} failed ({', '.join(failed)})"] if failed else []
    parts += [f"{counts[n]} {n}" for n in (PASSED, SKIPPED) if counts[n]]
    if skipped:
        parts[-1] += f" ({', '.join(skipped)}; strict: failed)"
    err.print(
        styled(f"{status:>6}", STYLES[status], component, f": {', '.join(parts)}"), highlight=False, soft_wrap=True
    )
