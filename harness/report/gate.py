"""The CI gate's report as text: the verdict line, a Markdown summary for a pull request, JUnit XML.

The statistics are :mod:`zsbench.analysis.gate`'s.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from zsbench.analysis.gate import Report
from zsbench.core.inert import xml_text
from zsbench.report.text import md, mean_std


def verdict(report: Report) -> str:
    if report.incomplete:
        return f"FAILED: incomplete: {report.incomplete}"
    if report.suite is None:
        return "FAILED: no cell in common between the candidate and the baseline"
    if report.passed:
        return (
            f"passed: mean change {report.suite.delta:+.2f} AMI points; seed noise allows a drop of "
            f"{report.suite.threshold:.2f}"
        )
    which = ", ".join(t.name for t in report.regressed) or "the suite as a whole"
    return (
        f"FAILED: AMI dropped beyond seed noise on {which} (mean change {report.suite.delta:+.2f}, allowed "
        f"drop {report.suite.threshold:.2f})"
    )


def markdown(report: Report) -> str:
    """A summary for a pull-request comment."""
    mark = "✅" if report.passed else "❌"
    lines = [
        f"## {mark} zsbench check: {md(report.candidate)} against {md(report.baseline)}",
        "",
        md(verdict(report)),
        "",
    ]
    if report.suite is not None:
        lines += ["| dataset | change (AMI ×100) | 95% interval | allowed drop | verdict |", "|---|---|---|---|---|"]
        for t in [report.suite, *report.datasets]:
            low, high = t.interval
            state = "regressed" if t.regressed else "improved" if t.improved else "within noise"
            name = "**all (suite)**" if t.name == "suite" else md(t.name)  # our bold, not escaped
            lines.append(f"| {name} | {t.delta:+.2f} | [{low:+.2f}, {high:+.2f}] | {t.threshold:.2f} | {state} |")
        lines += [
            "",
            "<details><summary>Per dataset and clusterer</summary>",
            "",
            "| dataset | clusterer | baseline | candidate | change |",
            "|---|---|---|---|---|",
        ]
        for c in report.cells:
            base, cand = ([v for _, v in side] for side in (c.baseline, c.candidate))
            lines.append(
                f"| {md(c.dataset)} | {md(c.clusterer)} | {mean_std(base, count=True)} | "
                f"{mean_std(cand, count=True)} | {c.delta:+.2f} |"
            )
        lines += ["", "</details>"]
    n = len(report.datasets)
    per_dataset = f"α/{n} per dataset" if n > 1 else "the same for its one dataset"
    lines += [
        "",
        f"One-sided α = {report.alpha:g} for the suite, {per_dataset}; "
        f"drops under {report.tolerance:g} AMI points always pass. Datasets are paired; seeds (AMI averaged "
        f"over the clusterers) measure the noise. {report.seconds:.0f} s.",
    ]
    lines += [f"- {md(n)}" for n in report.notes]
    return "\n".join(lines) + "\n"


def junit(report: Report) -> str:
    """JUnit XML: one test case per dataset, one for the suite, one for the time budget."""
    # ElementTree escapes markup; xml_text drops what XML 1.0 forbids (C0 controls, in names and messages)
    suite = ET.Element("testsuite", name="zsbench check", time=f"{report.seconds:.1f}")
    cases = 0
    failures = 0

    def case(name: str, failure: str | None, output: str) -> None:
        nonlocal cases, failures
        element = ET.SubElement(
            suite, "testcase", classname=xml_text(f"zsbench.check.{report.candidate}"), name=xml_text(name)
        )
        cases += 1
        if failure:
            failures += 1
            ET.SubElement(element, "failure", message=xml_text(failure)).text = xml_text(output)
        else:
            ET.SubElement(element, "system-out").text = xml_text(output)

    for t in ([report.suite] if report.suite else []) + report.datasets:
        text = (
            f"change {t.delta:+.2f} AMI points (95% interval {t.interval[0]:+.2f} to {t.interval[1]:+.2f}); "
            f"allowed drop {t.threshold:.2f}"
        )
        case(t.name, f"AMI dropped beyond seed noise: {text}" if t.regressed else None, text)
    if report.incomplete:
        case("time budget", report.incomplete, report.incomplete)
    elif report.suite is None:
        case("suite", "no cell in common between the candidate and the baseline", "")
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
