"""Issue 21: text from users, plugins, files and records is inert in every medium it is printed in.

Each hostile string (escape sequences, the 8-bit CSI, formulas behind whitespace or controls, bidi
overrides, zero-width characters, HTML, Markdown, NUL, line breaks) goes into every output: the
terminal's tables and one-line errors (through the real CLI), the Markdown, CSV, HTML and JSON
boards, the gate's Markdown and JUnit, the findings. None may hold a raw control or format character
(but its own line breaks), live markup or a formula, and each must still show the text.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import types
import unicodedata
import xml.etree.ElementTree as ET

import pytest
from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from typer.testing import CliRunner

import zsbench
from zsbench.analysis import gate
from zsbench.analysis.board import build
from zsbench.cli.app import app
from zsbench.cli.common import write_output
from zsbench.core.inert import csv_cell, html, json_text, markdown, terminal, xml_text
from zsbench.plugin.errors import InvalidInputError
from zsbench.report import gate as gate_report
from zsbench.report.board import render, rich_table
from zsbench.report.console import console, styled
from zsbench.report.findings import Finding
from zsbench.report.run import summary_table
from zsbench.storage.store import ResultStore

from .helpers import Blobs, one_line_error
from .test_trust import grid

HOSTILE = [
    "\x1b[2J",
    "\x1b]8;;http://evil\x1b\\",
    "\x9b31m",
    "\r=2+2",
    " =1+1",
    "@SUM(A1)",
    "\u202egnp.exe",
    "a\u200bb",
    "<script>alert(1)</script>",
    "| --- |",
    "[x](javascript:alert(1))",
    "nul\x00",
    "two\nlines",
    'q" onmouseover="alert(1)',
    "\ufeff\u2066\u061c-1+2",
    "# h1",
    "1. item",
]
SGR = re.compile(r"\x1b\[[0-9;]*m")  # the colours rich itself writes on a terminal


def raw_hidden(text: str, line_breaks: str = "\n") -> list[str]:
    """Control, format, separator and surrogate characters left raw (the medium's own line breaks aside).
    Written from Unicode's categories, not with zsbench's own rule, so a gap in the rule shows here."""
    return [
        f"U+{ord(c):04X}"
        for c in text
        if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") and c not in line_breaks
    ]


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


# -- the rules, one per medium ----------------------------------------------------------------------


def test_terminal_shows_hidden_characters_as_escapes_and_letters_as_they_are():
    assert (
        terminal("a\x1b[2Jb\x9b31m\u202egnp\u200b\x00\x7f\n\r\t")
        == "a\\x1b[2Jb\\x9b31m\\u202egnp\\u200b\\x00\\x7f\\n\\r\\t"
    )
    assert terminal("\ufeff\u2066\u061c\U000e0041\udcff\u2028") == "\\ufeff\\u2066\\u061c\\U000e0041\\udcff\\u2028"
    assert terminal("line\nnext\x1b", lines=True) == "line\nnext\\x1b"
    for plain in ("café 中文 Ελληνικά", "C:\\models\\x", "pkg[extra] :smile:", "\u00a0nbsp"):
        assert terminal(plain) == plain
    for s in HOSTILE:
        assert terminal(terminal(s)) == terminal(s) and not raw_hidden(terminal(s), "")  # idempotent


def test_markdown_neutralises_markup_blocks_and_hidden_characters():
    assert markdown("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    assert markdown("[x](javascript:alert(1))") == "\\[x\\](javascript:alert(1))"
    assert markdown("| --- |") == "\\| --- \\|"
    assert markdown("\x1b[2J") == "\\\\x1b\\[2J"  # renders as \x1b[2J
    assert markdown("two\nlines") == "two lines"
    # a heading, list or rule marker at the start of a list item or a line starts no block
    assert [markdown(s) for s in ("# h1", "  - x", "+", "---", "1. item", "2) x", "-1.5", "-weird", "#hashtag")] == [
        "\\# h1",
        "  \\- x",
        "\\+",
        "\\---",
        "1\\. item",
        "2\\) x",
        "-1.5",
        "-weird",
        "#hashtag",
    ]


@pytest.mark.parametrize(
    "cell, shown",
    [
        ("=2+2", "'=2+2"),
        ("\r=2+2", "'\\r=2+2"),
        (" =1+1", "' =1+1"),
        ("\x00=1", "'\\x00=1"),
        ("\u200b=1", "'\\u200b=1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t-x", "'\\t-x"),
        ("\u00a0+1+1", "'\u00a0+1+1"),
        ("-weird", "'-weird"),
        ("-1.5", "-1.5"),
        ("+3e-2", "+3e-2"),
        ("-inf", "'-inf"),
        ("a=b", "a=b"),
        ("two\nlines", "two\\nlines"),
        ("café", "café"),
    ],
)
def test_csv_guard_looks_past_whitespace_and_controls(cell, shown):
    assert csv_cell(cell) == shown


def test_html_xml_and_json_rules():
    assert html("<script>x</script>\"'\u202e") == "&lt;script&gt;x&lt;/script&gt;&quot;&#x27;\\u202e"
    assert xml_text("a\x00b\x1b\uffff\ud800") == "a\\x00b\\x1b\\uffff\\ud800"
    doc = {"k\u2028": HOSTILE + ["é中文", "\U000e0041"]}
    text = json_text(doc, indent=1)
    assert json.loads(text) == doc and not raw_hidden(text) and "é中文" in text


# -- every output of a board, the gate and the findings -----------------------------------------------

DATASET = "ds \x1b[31m\u202e\x00"


def hostile_board():
    results = []
    for i, name in enumerate(HOSTILE):
        results += grid(
            encoder=name, dataset=DATASET, clusterers=["kmeans"], ami=0.1 + i / 100, weights="abcdef"[i % 6]
        )
    return build(results)


def test_markdown_board_is_inert_and_keeps_its_columns():
    text = render(hostile_board(), "markdown")
    assert not raw_hidden(text)
    table = [ln for ln in text.splitlines() if ln.startswith("|")]
    cells = {len(re.split(r"(?<!\\)\|", ln)) for ln in table}
    assert len(cells) == 1 and len(table) == len(HOSTILE) + 2  # no name opened a cell or a row
    assert "<" not in text and "&lt;script&gt;" in text and "](javascript" not in text.replace("\\](", "")
    for name in HOSTILE:
        assert markdown(name) in text


def test_csv_board_guards_formulas_and_keeps_one_row_per_record():
    rows = list(csv.reader(io.StringIO(render(hostile_board(), "csv"))))
    assert {len(r) for r in rows} == {13} and not raw_hidden("".join(sum(rows, [])))
    encoders = {r[0] for r in rows[1:]}
    assert {"'\\r=2+2", "' =1+1", "'@SUM(A1)", "'\\ufeff\\u2066\\u061c-1+2", "\\x1b[2J", "two\\nlines"} <= encoders
    for cell in (c for r in rows[1:] for c in r[:7]):  # the text columns
        first = cell.lstrip(" \u00a0")
        assert not first.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert {r[6] for r in rows[1:] if r[5] == "dataset"} == {"ds \\x1b[31m\\u202e\\x00"}


def test_html_board_escapes_every_name():
    page = render(hostile_board(), "html")
    assert not raw_hidden(page)
    assert page.count("<script") == 1 and "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the page's own
    assert 'onmouseover="' not in page and "q&quot; onmouseover=&quot;alert(1)" in page
    assert "\\u202egnp.exe" in page and "ds \\x1b[31m\\u202e\\x00" in page


def test_json_board_is_the_same_data_with_nothing_invisible():
    text = render(hostile_board(), "json")
    assert not raw_hidden(text)
    doc = json.loads(text)
    assert {r["encoder"] for r in doc["rows"]} == set(HOSTILE) and doc["suite"] == [DATASET]


def test_terminal_tables_emit_only_their_own_colours():
    out = io.StringIO()
    term = console(file=out, force_terminal=True, color_system="truecolor", width=300)
    board = hostile_board()
    term.print(rich_table(board))
    results = grid(encoder="e", dataset=DATASET, clusterers=HOSTILE[:6], seeds=(0,))
    results[0] = dataclasses.replace(results[0], status="failed", metrics={})
    term.print(summary_table(results, title="run \x1b[2J"))
    shown = SGR.sub("", out.getvalue())
    assert not raw_hidden(shown)
    for name in HOSTILE:
        assert terminal(name) in shown
    # one line per row: the name with a line break does not open a second line in its table
    assert sum("two\\nlines" in ln for ln in shown.splitlines()) == 1


def test_the_console_escapes_what_new_code_forgets():
    out = io.StringIO()
    term = console(file=out, force_terminal=True, color_system="truecolor", width=200)
    table = Table(title="plain rich \x1b[2J")  # not the inert table
    table.add_column("c\x9b")
    table.add_row(Text("cell \u202eexe", style="bold"))

    class Raw:  # a renderable yielding raw segments itself
        def __rich_console__(self, console, options):
            yield Segment("raw \x1b]8;;http://evil\x1b\\ seg")

    term.print(table, Raw(), "str \x00", Text.assemble(("styled \x1b[5m", "red")))
    shown = SGR.sub("", out.getvalue())
    assert not raw_hidden(shown)
    # (a Text cell of a plain rich Table is measured before it is escaped, so it may be cut: InertTable's is not)
    for part in (
        "\\x1b[2J",
        "c\\x9b",
        "\\u202e",
        "raw \\x1b]8;;http://evil\\x1b\\ seg",
        "str \\x00",
        "styled \\x1b[5m",
    ):
        assert part in shown


def test_styled_lines_and_written_reports_stay_one_line_and_inert(capsys):
    out = io.StringIO()
    term = console(file=out, force_terminal=True, one_line=True)
    term.print(styled("error:", "bold red", "bad\x1b[2J\n.json", ("\u202ex", "red")))
    assert SGR.sub("", out.getvalue()) == "error: bad\\x1b[2J\\n.json\\u202ex\n"
    write_output("a report\nwith \x1b[2J\n", None)  # a format that forgot its escaping
    assert capsys.readouterr().out == "a report\nwith \\x1b[2J\n"


def test_gate_markdown_and_junit_are_inert():
    cells = [
        gate.Cell(name, clu, ((0, 50.0), (1, 51.0), (2, 49.0)), ((0, 20.0), (1, 21.0), (2, 19.0)))
        for name, clu in zip(HOSTILE, HOSTILE[::-1], strict=True)
    ]
    report = gate.evaluate(cells, baseline_name="base \x1b[2J", candidate_name="cand \u202e\x00<b>")
    report.notes.append("note \x9b31m <script>")
    text = gate_report.markdown(report)
    assert not raw_hidden(text) and "**all (suite)**" in text
    assert "<" not in re.sub(r"</?(details|summary)>", "", text)
    for name in HOSTILE:
        assert markdown(name) in text
    xml = gate_report.junit(report)
    assert not raw_hidden(xml)
    suite = ET.fromstring(xml.encode())  # XML 1.0 would refuse a NUL or an ESC
    names = {case.get("name") for case in suite.iter("testcase")}
    assert {terminal(n) for n in HOSTILE} <= names
    assert {case.get("classname") for case in suite.iter("testcase")} == {"zsbench.check.cand \\u202e\\x00<b>"}


def test_findings_are_inert_in_every_format():
    finding = Finding(
        "knn",
        "title \x1b[2J",
        ["clusterer", "x"],
        [[name, "1.0"] for name in HOSTILE],
        notes=HOSTILE,
        caption="cap \u202e",
    )
    md = finding.markdown()
    assert not raw_hidden(md) and "\n- \\# h1\n" in md and "\n- 1\\. item\n" in md
    page = finding.html()
    assert not raw_hidden(page) and "<script" not in page
    out = io.StringIO()
    console(file=out, force_terminal=True, width=200).print(finding.rich())
    assert not raw_hidden(SGR.sub("", out.getvalue()))


# -- through the command line ------------------------------------------------------------------------


@pytest.mark.parametrize("args", [("leaderboard", "--registry"), ("verify",)])
def test_a_hostile_file_name_in_an_error_is_one_visible_line(args, tmp_path):
    name = tmp_path / "bad\x1b[2J\u202e\n\x9b.json"
    result = cli(*args, name)
    one_line_error(result, "bad\\x1b[2J\\u202e\\n\\x9b.json")
    assert not raw_hidden(result.output)


def test_hostile_names_in_a_store_are_inert_in_every_board_format(isolated_store):
    with ResultStore(isolated_store) as db:
        for name in HOSTILE[:4]:
            for r in grid(encoder=name, dataset=DATASET, clusterers=["kmeans"]):
                db.add(r)
    for fmt in ("table", "markdown", "csv", "json", "html"):
        result = cli("leaderboard", "-f", fmt)
        assert result.exit_code == 0, result.output
        assert not raw_hidden(result.output), fmt
    table = cli("leaderboard").output
    assert "\\x1b]8;;http://evil\\x1b\\" in table and "\\x9b31m" in table and "ds \\x1b[31m\\u202e\\x00" in table


EVIL = "\x1b[2J\x1b]8;;http://evil\x1b\\ \u202egnp.exe\nsecond line"


def evil_plugin():
    def crashing():
        raise RuntimeError("boom " + EVIL)

    def refusing():
        raise InvalidInputError("fix it " + EVIL)

    @zsbench.hookimpl
    def register_encoders(register):
        register("evil-crash", crashing, description="description " + EVIL)
        register("evil-refuse", refusing, description="refuses")

    @zsbench.hookimpl
    def register_datasets(register):
        register("blobs", Blobs, description="test dataset")

    @zsbench.hookimpl
    def register_clusterers(register):
        raise RuntimeError("hook " + EVIL)

    return types.SimpleNamespace(
        register_encoders=register_encoders,
        register_datasets=register_datasets,
        register_clusterers=register_clusterers,
    )


def test_plugin_messages_are_inert_in_errors_tables_and_tracebacks():
    run = ("run", "--dataset", "blobs", "--reducer", "none", "--clusterer", "kmeans", "--seeds", "1")
    with zsbench.registered(evil_plugin(), "evil"):
        crash = cli(*run, "--encoder", "evil-crash")
        refuse = cli(*run, "--encoder", "evil-refuse")
        listed = cli("list", "encoders")
        plugins = cli("plugins")
        debug = cli("--debug", *run, "--encoder", "evil-refuse")
    one_line_error(refuse, "error: fix it \\x1b[2J\\x1b]8;;http://evil\\x1b\\ \\u202egnp.exe\\nsecond line")
    assert crash.exit_code == 1 and "failed to build: RuntimeError: boom \\x1b[2J" in crash.output
    assert "description \\x1b[2J" in listed.output and "hook \\x1b[2J" in plugins.output
    assert "Traceback" in debug.output and "fix it \\x1b[2J" in debug.output
    for result in (crash, refuse, listed, plugins, debug):
        assert not raw_hidden(result.output), result.output
