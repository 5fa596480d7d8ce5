"""The published board (`zsbench site`): every page and link, records refused with their reason, hostile
text inert under a strict CSP, byte-identical builds, and the site in headless Chromium."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from typer.testing import CliRunner

from zsbench.analysis import records
from zsbench.analysis.records import registry
from zsbench.analysis.records.submission import make_record
from zsbench.cli.app import app
from zsbench.plugin.errors import ZsbenchError
from zsbench.report import site
from zsbench.report.board.html_parts import SCRIPT
from zsbench.report.site.pages import CSP
from zsbench.storage.store import ResultStore

from .helpers import chromium_page

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = "<script>alert(1)</script>"  # the hostile record's encoder name
# in its identity and a failed result's error: markup, a bidi override that would reorder the page, ESC
HOSTILE_TEXT = "<img src=x onerror=alert(1)> \u202egnp.exe \x1b[2J"
REFUSED = "<img src=x onerror=alert(2)>.json"  # an invalid record, under a hostile file name


def _as(results, encoder: str, shift: float, identity: dict | None = None):
    """The results as if from another encoder whose AMI is shifted by ``shift`` points."""
    out = []
    for r in results:
        ami = min(1.0, r.metrics["ami"] + shift / 100 + (r.seed % 3 - 1) / 100)
        config = {**r.config, "encoder": {"name": encoder, "identity": identity or {"n": encoder}}}
        out.append(dataclasses.replace(r, encoder=encoder, metrics={**r.metrics, "ami": ami}, config=config))
    return out


@pytest.fixture(scope="module")
def folder(smoke, tmp_path_factory) -> Path:
    """A registry of alpha and beta (partial records of the smoke suite), a hostile record, and one invalid."""
    with ResultStore(smoke / "results.sqlite") as db:
        results = [r for r in db.results() if r.seed < 3]
    root = tmp_path_factory.mktemp("site") / "registry"
    for name, shift in (("alpha", 0.0), ("beta", -30.0)):
        submission = make_record(_as(results, name, shift), name, with_labels=False, partial=True)
        registry.write(submission, registry.record_path(root, "1", name))
    hostile = _as(results, HOSTILE, -10.0, identity={"n": HOSTILE_TEXT})
    hostile[0] = dataclasses.replace(
        hostile[0], status="failed", error=f"it broke: {HOSTILE_TEXT}", metrics={}, timings={}
    )
    submission = make_record(hostile, HOSTILE, with_labels=False, partial=True)
    registry.write(submission, registry.record_path(root, "1", HOSTILE))
    bad = records.read(registry.record_path(root, "1", "alpha"))
    bad["results"][0]["metrics"]["ami"] = 1.5
    (root / "standard-1" / REFUSED).write_text(records.dumps(bad))
    return root


@pytest.fixture(scope="module")
def built(folder) -> site.Site:
    return site.build([folder], False)


def _pages(built: site.Site) -> dict[str, str]:
    return {name: data.decode("utf-8") for name, data in built.files.items() if name.endswith(".html")}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.scripts: list[dict] = []
        self.csp: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        self.links += [a[k] for k in ("href", "src") if k in a and tag != "svg"]
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "script":
            self.scripts.append(a)
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp.append(a["content"])


def _parse(text: str) -> _Links:
    parser = _Links()
    parser.feed(text)
    return parser


def test_every_link_resolves_to_a_written_page_and_every_record_has_one(built, folder):
    pages = _pages(built)
    assert {"index.html", "findings.html"} <= set(pages)
    for name, text in pages.items():
        for link in _parse(text).links:
            if link.startswith("data:image/png;base64,"):  # a finding's page inlines its figure
                continue
            parts = urlsplit(link)
            assert not parts.scheme and not parts.netloc and not link.startswith("/"), f"{name}: {link}"
            target = (Path(name).parent / unquote(parts.path)).as_posix() if parts.path else name
            target = os.path.normpath(target)
            assert target in built.files, f"{name} links to {link}: no such file"
            if parts.fragment:
                assert parts.fragment in _parse(pages[target]).ids, f"{name}: {link}: no such id"
    # each valid record has its page, linked from its board row; the refused one too, with its reason
    index = pages["index.html"]
    board = index.split('<table class="board" data-view="mean">')[1].split("</table>")[0]
    for name in ("alpha", "beta", HOSTILE):
        page = f"records/{registry.slug(name)}.html"
        assert page in pages and f'<a href="{page}">' in board
    assert built.records == 3 and len(built.refused) == 1
    refused_page = next(p for p in pages if p.startswith("records/img_src_x_onerror_alert_2"))
    reason = "results[0].metrics.ami: 1.5 is greater than the maximum of 1"
    assert reason in pages[refused_page] and reason in index
    assert f'<a href="{refused_page}">' in index.split('<section id="refused">')[1]


def test_a_record_page_holds_identity_provenance_and_cells(built, folder):
    page = _pages(built)["records/alpha.html"]
    record = records.read(registry.record_path(folder, "1", "alpha"))
    assert "<h1>alpha</h1>" in page and "Partial: never ranked" in page and "On the board" in page
    assert record["encoder"]["identity_sha256"] in page and all(f"<li>{m}</li>" in page for m in record["missing"])
    for text in (
        "identity.n",
        "options",
        "package numpy",
        "hardware cpus",
        "plugin of the clusterer",
        "digits: mean AMI ×100",
        "<th>seed 2</th>",
        ">kmeans<",
        ">agglomerative<",
    ):
        assert text in page, text
    first = next(r for r in record["results"] if r["clusterer"] == "kmeans" and r["seed"] == 0)
    cells = page.split('<table class="cells" data-dataset="digits">')[1].split("</table>")[0]
    assert cells.count("<tr>") == 1 + 2  # the header, kmeans and agglomerative
    assert f"<td>{100 * first['metrics']['ami']:.1f}</td>" in cells


def test_hostile_text_is_shown_as_text_and_only_the_boards_script_may_run(built):
    pages = _pages(built)
    hostile = pages[f"records/{registry.slug(HOSTILE)}.html"]
    for name, text in pages.items():
        assert "<script>alert" not in text and "<img src=x" not in text, name
        assert "\x1b" not in text and "\u202e" not in text, name
        parsed = _parse(text)
        # the policy first in the head, on every page; no script but the board's own, inline, on the index
        assert parsed.csp == [CSP] and text.index("Content-Security-Policy") < text.index("<style>"), name
        assert len(parsed.scripts) == (1 if name == "index.html" else 0) and not any(
            s.get("src") for s in parsed.scripts
        ), name
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escaped in pages["index.html"] and f"<h1>{escaped}</h1>" in hostile
    shown = "&lt;img src=x onerror=alert(1)&gt; \\u202egnp.exe \\x1b[2J"  # hidden characters as visible escapes
    assert shown in hostile and f"kmeans / seed 0: it broke: {shown}" in hostile
    assert '<td class="failed">failed</td>' in hostile
    assert "&lt;img src=x onerror=alert(2)&gt;.json" in pages["index.html"]
    # the policy allows exactly the script the index holds
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in CSP and f"<script>{SCRIPT}</script>" in pages["index.html"]
    assert "default-src 'none'" in CSP and "unsafe-inline" not in CSP.split("script-src")[1]


def test_two_builds_are_byte_identical_whatever_the_order_or_folder(built, folder, tmp_path):
    files = records.record_files([folder])
    again = site.build(files[::-1], False)
    assert again.files == built.files
    for out in (tmp_path / "a", tmp_path / "b" / "site"):
        site.write(again, out)
    a = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*") if p.is_file()}
    b = {
        p.relative_to(tmp_path / "b" / "site"): p.read_bytes()
        for p in (tmp_path / "b" / "site").rglob("*")
        if p.is_file()
    }
    assert a == b and {str(p) for p in a} == {*built.files, site.MARKER}


def test_the_registrys_site_has_the_findings_figures_and_says_why_one_is_missing():
    first, second = (site.build([ROOT / "registry"], False) for _ in range(2))
    assert first.files == second.files  # the PNGs too
    assert first.figures == ["findings/silhouette.png", "findings/supervision.png"]
    assert all(first.files[f].startswith(b"\x89PNG\r\n\x1a\n") for f in first.figures)
    page = first.files["findings.html"].decode()
    assert '<img src="findings/silhouette.png"' in page and '<a href="findings/silhouette.html">' in page
    assert "no table or figure: no encoder × dataset cells with both AMI (protocol 1) and kNN accuracy" in page
    table = first.files["findings/silhouette.html"].decode()
    assert "Spearman ρ" in table and _parse(table).csp == [CSP]
    assert first.records == 4 and not first.refused
    index = first.files["index.html"].decode()
    assert '<a href="records/raw-pixels.html">raw-pixels</a>' in index
    assert "None: every record is on the board." in index


def test_no_page_names_the_builders_local_paths(built, folder):
    """The site is published: records are named by their place in the registry, never by where the
    builder keeps them (the fixture's registry lies under a temporary folder given as an absolute path)."""
    assert folder.is_absolute()
    for name, data in built.files.items():
        text = data.decode("utf-8", "replace")
        assert str(folder) not in text and str(folder.parent) not in text, name
    assert "standard-1/alpha.json" in built.files["index.html"].decode()


def test_without_matplotlib_the_findings_page_says_why_it_has_no_figure(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    built = site.build([ROOT / "registry"], False)
    assert built.figures == []
    page = built.files["findings.html"].decode()
    assert page.count("no figure: matplotlib is not installed (pip install &#x27;zsbench[plot]&#x27;)") == 2
    assert '<a href="findings/silhouette.html">' in page  # the table needs no matplotlib


def test_a_site_replaces_its_earlier_build_and_never_writes_into_another_folder(built, folder, tmp_path):
    out = tmp_path / "site"
    stale = out / "records" / "gone.html"
    site.write(built, out)
    stale.write_text("a record since removed")
    (out / site.MARKER).write_text((out / site.MARKER).read_text() + "records/gone.html\n../outside.html\n")
    (tmp_path / "outside.html").write_text("not the site's")
    site.write(built, out)
    assert not stale.exists() and (tmp_path / "outside.html").exists()  # a marker cannot name a file outside
    other = tmp_path / "docs"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ZsbenchError, match="holds files but no zsbench site"):
        site.write(built, other)
    assert [p.name for p in other.iterdir()] == ["notes.txt"]


def test_the_command_writes_the_site_and_names_the_refused_record(folder, tmp_path):
    out = tmp_path / "public"
    result = CliRunner().invoke(app, ["site", "--registry", str(folder), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}: index.html, findings.html, 4 record page(s) (1 of refused records)" in result.output
    assert "refused: " in result.output and "1.5 is greater than the maximum of 1" in result.output
    assert (out / "index.html").is_file() and (out / "records" / "alpha.html").is_file()
    assert (out / site.MARKER).read_text().splitlines() == sorted(
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != site.MARKER
    )
    again = CliRunner().invoke(app, ["site", "--registry", str(folder), "-o", str(tmp_path)])  # holds public/
    assert again.exit_code == 1 and "holds files but no zsbench site" in again.output


@pytest.mark.browser
def test_the_site_in_headless_chromium(built, tmp_path):
    out = tmp_path / "site"
    site.write(built, out)
    with chromium_page() as (page, errors):
        page.goto((out / "index.html").as_uri())

        board = 'table.board[data-view="mean"]'

        def encoders() -> list[str]:
            return page.locator(f"{board} tbody td.encoder").all_inner_texts()

        # the hostile name shown as text (partial records are labelled so)
        assert sorted(encoders()) == sorted(f"{name} (partial)" for name in ("alpha", "beta", HOSTILE))
        header = page.locator(f'{board} th[data-key="encoder"]')
        header.click()  # sorting is the script's: it ran under the policy
        assert header.get_attribute("aria-sort") == "ascending"
        assert encoders() == sorted(encoders()) and encoders()[0].startswith(HOSTILE)
        header.click()
        assert encoders() == sorted(encoders(), reverse=True)
        assert page.locator("#refused li").count() == 1
        assert "1.5 is greater than the maximum of 1" in page.locator("#refused").inner_text()

        page.locator(f"{board} td.encoder a", has_text="alpha").click()
        page.wait_for_url("**/records/alpha.html")
        assert page.locator("h1").inner_text() == "alpha"
        assert page.locator('table.cells[data-dataset="digits"] tbody tr').count() == 2
        page.locator("nav a", has_text="leaderboard").click()
        page.wait_for_url("**/index.html")
        page.locator(f"{board} td.encoder a", has_text="alert").click()
        assert page.locator("h1").inner_text() == HOSTILE
        assert "\\u202egnp.exe" in page.locator("ul.errors").inner_text()
        page.goto((out / "findings.html").as_uri())
        assert page.locator("section.finding").count() == 3
    assert not errors, errors  # no page error, no CSP violation by the board's own script, no dialog
