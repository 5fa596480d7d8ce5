"""The static HTML leaderboard: escaping, determinism, content, and its behaviour in headless Chromium."""

from __future__ import annotations

import html

import pytest

from zsbench.report.board.html import render
from zsbench.report.board.html_parts import CSP

from .helpers import chromium_page

DATASETS = [("cifar10", "in-domain"), ("digits", "far-OOD")]
CLUSTERERS = ["kmeans", "hdbscan"]
# encoder -> AMI per dataset; the overall of the mean view orders them a > b > c.
ENCODERS = {"enc-a": (80.0, 60.0), "enc-b": (70.0, 40.0), "enc-c": (30.0, 20.0)}


def _score(mean: float, interval: bool = True) -> dict:
    low, high = (mean - 2.5, mean + 2.5) if interval else (None, None)
    return {"mean": mean, "low": low, "high": high, "n_seeds": 3}


def make_doc() -> dict:
    """3 encoders, 2 datasets in 2 groups, 2 clusterers, views mean/kmeans/hdbscan."""
    # hdbscan scores differ from kmeans so that hdbscan's own order is c > b > a.
    per_clusterer = {"kmeans": lambda v, i: v, "hdbscan": lambda v, i: 100.0 - v - i}
    rows = []
    for i, (encoder, amis) in enumerate(ENCODERS.items()):
        views = {}
        by_clusterer = {c: [f(v, i) for v in amis] for c, f in per_clusterer.items()}
        by_clusterer["mean"] = [sum(by_clusterer[c][k] for c in CLUSTERERS) / 2 + (3 - i) * 5 for k in range(2)]
        for view in ["mean", *CLUSTERERS]:
            values = by_clusterer[view]
            pairs = list(zip(DATASETS, values, strict=True))
            views[view] = {
                "rank": {"low": i + 1, "high": min(i + 2, 3)} if view != "hdbscan" else {"low": 3 - i, "high": 3 - i},
                "overall": _score(sum(values) / 2),
                "groups": {g: _score(v) for (_, g), v in pairs},
                "datasets": {d: _score(v, interval=view != "kmeans") for (d, _), v in pairs},
            }
        cells = [
            {
                "dataset": d,
                "clusterer": c,
                "ami": _score(by_clusterer[c][k]),
                "silhouette_proxy": None if (c, k, i) == ("hdbscan", 1, 2) else round(0.1 + 0.2 * k + 0.1 * i, 2),
                "n_clusters": 10.0,
            }
            for c in CLUSTERERS
            for k, (d, _) in enumerate(DATASETS)
        ]
        rows.append(
            {
                "encoder": encoder,
                "reducer": "umap",
                "source": f"registry/standard-1/{encoder}.json",
                "views": views,
                "cells": cells,
            }
        )
    return {
        "format": "zsbench-leaderboard/1",
        "protocol_version": "1",
        "metric": "AMI x100",
        "interval": "95% t-interval over seeds",
        "view": "mean",
        "views": ["mean", *CLUSTERERS],
        "clusterers": list(CLUSTERERS),
        "groups": ["in-domain", "far-OOD"],
        "datasets": [
            {"name": d, "group": g, "fingerprint": "0" * 64, "n_samples": 100, "n_classes": 10} for d, g in DATASETS
        ],
        "sources": ["registry/standard-1/enc-a.json", "store /tmp/results.sqlite"],
        "rows": rows,
        "proxy": [
            {"clusterer": "kmeans", "n": 6, "spearman": 0.81, "pearson": 0.77},
            {"clusterer": "hdbscan", "n": 5, "spearman": None, "pearson": None},
            {"clusterer": "pooled", "n": 11, "spearman": 0.64, "pearson": 0.6},
        ],
        "notes": ["1 result of encoder x on digits left out: its sample set differs from the board's"],
    }


def test_strings_from_the_document_are_escaped():
    doc = make_doc()
    doc["rows"][0]["encoder"] = "<script>alert(1)</script>"
    doc["datasets"][0]["name"] = 'a"b&c'
    for row in doc["rows"]:
        for view in row["views"].values():
            view["datasets"]['a"b&c'] = view["datasets"].pop("cifar10")
        for cell in row["cells"]:
            cell["dataset"] = 'a"b&c' if cell["dataset"] == "cifar10" else cell["dataset"]
    doc["notes"].append("</script><img src=x onerror=alert(2)>")
    page = render(doc)
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page
    assert 'a"b&c' not in page and "a&quot;b&amp;c" in page
    assert page.count("<script>") == 1  # only the page's own script


def test_deterministic():
    assert render(make_doc()) == render(make_doc())
    assert render(make_doc()).startswith("<!DOCTYPE html>")


def test_content():
    doc = make_doc()
    page = render(doc)
    for name in [*ENCODERS, "cifar10", "digits", "in-domain", "far-OOD", *doc["sources"], doc["notes"][0]]:
        assert html.escape(name) in page
    for view in doc["views"]:
        assert f'<table class="board" data-view="{view}">' in page
        assert f'<table class="heat" data-view="{view}">' in page
    assert page.count('<select id="view"') == 1
    assert "AMI ×100" in page
    assert "70.0 [67.5, 72.5]" in page  # a score with its interval
    assert '<td data-value="80.0000">80.0</td>' in page  # kmeans' dataset scores have no interval
    assert "1–2" in page  # a rank interval
    assert "kmeans: ρ = 0.81, n = 6" in page and "hdbscan: ρ n/a, n = 5" in page
    assert "ρ = 0.64 (n = 11)" in page
    assert "<title>enc-b / digits: AMI 40.0, silhouette 0.40</title>" in page
    # 12 cells less the one without a silhouette
    assert page.count("<circle") == 11
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page


def test_null_scores_render_a_dash():
    doc = make_doc()
    view = doc["rows"][1]["views"]["kmeans"]
    view["rank"] = view["overall"] = view["datasets"]["digits"] = view["groups"]["far-OOD"] = None
    page = render(doc)
    board = page.split('<table class="board" data-view="kmeans">')[1].split("</table>")[0]
    enc_b = next(r for r in board.split("<tr>") if 'data-value="enc-b"' in r)
    assert enc_b.count(">—<") == 4
    assert board.index("enc-b") > board.index("enc-c")  # missing overall sorts last


@pytest.mark.browser
def test_page_in_headless_chromium(tmp_path):
    path = tmp_path / "leaderboard.html"
    # as `zsbench leaderboard --format html` writes it: under the CSP that lets only the board's script run
    path.write_text(render(make_doc(), csp=CSP), encoding="utf-8")
    with chromium_page() as (page, errors):
        page.goto(path.as_uri())

        board = 'table.board[data-view="mean"]'

        def encoders(selector: str = board) -> list[str]:
            return page.locator(f"{selector} tbody td.encoder").all_inner_texts()

        overall = page.locator(f'{board} th[data-key="overall"]')
        assert encoders() == ["enc-a", "enc-b", "enc-c"]
        assert overall.get_attribute("aria-sort") == "descending"
        overall.click()
        assert encoders() == ["enc-c", "enc-b", "enc-a"]
        assert overall.get_attribute("aria-sort") == "ascending"
        assert "▲" in overall.inner_text()
        overall.click()
        assert encoders() == ["enc-a", "enc-b", "enc-c"]
        assert overall.get_attribute("aria-sort") == "descending"
        assert "▼" in overall.inner_text()
        encoder = page.locator(f'{board} th[data-key="encoder"]')
        encoder.click()
        encoder.click()
        assert encoders() == ["enc-c", "enc-b", "enc-a"]
        assert overall.get_attribute("aria-sort") is None

        hdbscan = 'table.board[data-view="hdbscan"]'
        assert page.locator(board).is_visible() and not page.locator(hdbscan).is_visible()
        page.select_option("#view", "hdbscan")
        assert page.locator(hdbscan).is_visible() and not page.locator(board).is_visible()
        assert page.locator('table.heat[data-view="hdbscan"]').is_visible()
        assert encoders(hdbscan) == ["enc-c", "enc-b", "enc-a"]  # each view is ordered by its own overall
        assert page.locator("svg.scatter").count() == 2

        shot = tmp_path / "leaderboard.png"  # kept for a look when debugging: pytest --basetemp
        page.screenshot(path=str(shot), full_page=True)

    assert shot.is_file() and shot.stat().st_size > 0
    assert not errors, errors
