"""Issue 11, case 19: names from users, plugins and records cannot inject HTML into Markdown (a
pull-request comment) or formulas into CSV (a spreadsheet)."""

from __future__ import annotations

import csv
import io

from zsbench.analysis import gate
from zsbench.analysis.board import build
from zsbench.report.board import render
from zsbench.report.gate import markdown

from ..test_trust import grid

IMG = "<img src=x onerror=alert(1)>"
SVG = "<svg onload=alert(1)>|x"
FORMULA = '=HYPERLINK("x")'


def board():
    results = grid(encoder=IMG, dataset=FORMULA, clusterers=["kmeans"], ami=0.5)
    # a second encoder whose AMI varies over seeds, so the interval reaches below zero
    results += [
        r
        for s, ami in enumerate((0.0, 0.02, -0.01))
        for r in grid(encoder="-weird", dataset=FORMULA, clusterers=["kmeans"], seeds=(s,), ami=ami, weights="b")
    ]
    return build(results)


def test_markdown_board_escapes_html_in_names():
    text = render(board(), "markdown")
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "<img" not in text and "<" not in text.replace("&lt;", "")


def test_csv_neutralises_formulas_but_keeps_negative_numbers():
    rows = list(csv.DictReader(io.StringIO(render(board(), "csv"))))
    assert {r["name"] for r in rows if r["level"] == "dataset"} == {"'" + FORMULA}
    assert {r["encoder"] for r in rows} == {IMG, "'-weird"}
    weird = [r for r in rows if r["encoder"] == "'-weird" and r["level"] == "overall"]
    assert weird and all(float(r["ci_low"]) < 0 and r["ci_low"].startswith("-") for r in weird)


def test_gate_markdown_escapes_html_in_names():
    cell = gate.Cell(SVG, IMG, ((0, 50.0), (1, 51.0), (2, 49.0)), ((0, 40.0), (1, 41.0), (2, 39.0)))
    report = gate.evaluate([cell], baseline_name=IMG, candidate_name="<b>cand</b>")
    report.notes.append("note <script>alert(1)</script>")
    text = markdown(report)
    assert "&lt;img src=x onerror=alert(1)&gt;" in text and "&lt;svg onload=alert(1)&gt;\\|x" in text
    assert "&lt;script&gt;" in text and "&lt;b&gt;cand&lt;/b&gt;" in text
    html_tags = (
        text.replace("<details>", "").replace("</details>", "").replace("<summary>", "").replace("</summary>", "")
    )
    assert "<" not in html_tags.replace("&lt;", "")
