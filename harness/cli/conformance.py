"""``zsbench plugins --check [DIST]``: the conformance kit's findings (:mod:`zsbench.testing`) as a table."""

from __future__ import annotations

from collections import Counter

from rich.table import Table
from rich.text import Text

from zsbench.cli.common import err, stdout
from zsbench.plugin.errors import ZsbenchError
from zsbench.report.console import styled
from zsbench.testing import FAILED, PASSED, SKIPPED, Finding, Suite, distributions

STYLES = {PASSED: "green", FAILED: "red", SKIPPED: "yellow"}


def run_checks(distribution: str | None = None) -> int:
    """Check every plugin and component of ``distribution`` (default: every loaded distribution), print
    one row per finding and a summary; the exit code: 1 when a check failed, else 0."""
    try:
        names = [distribution] if distribution else distributions()
        if not names:
            raise ZsbenchError("no plugins are loaded; install one, or check ZSBENCH_LOAD_PLUGINS")
        suites = [Suite(name) for name in names]
    except ZsbenchError as exc:
        err.print(styled("error:", "bold red", str(exc)), highlight=False, soft_wrap=True)
        return 1
    findings: list[Finding] = []
    with err.status("checking") as status:  # drawn on a terminal only
        for suite in suites:
            findings += suite.run(lambda component: status.update(f"checking {component}"))
    title = f"zsbench conformance: {', '.join(names)}"
    table = Table(title=title)
    for column in ("component", "check", "result", "message"):
        table.add_column(column)
    for finding in findings:
        table.add_row(finding.component, finding.check, Text(finding.status, style=STYLES[finding.status]),
                      finding.message)
    out = stdout()
    out.print(table)
    counts = Counter(f.status for f in findings)
    components = len({f.component for f in findings})
    out.print(styled(f"{counts[FAILED]} failed" if counts[FAILED] else "all passed", "red" if counts[FAILED] else
                     "green", f"({len(findings)} checks of {components} components: {counts[PASSED]} passed, "
                     f"{counts[FAILED]} failed, {counts[SKIPPED]} skipped)"), highlight=False)
    return 1 if counts[FAILED] else 0
