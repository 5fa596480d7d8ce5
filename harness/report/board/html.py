"""One self-contained HTML page of a leaderboard document (what `zsbench leaderboard --format json` prints).

Inline CSS and JS, no external resources, so the file works opened from file:// with no network. Tables,
heat maps and scatters (drawn by :mod:`zsbench.report.board.html_parts`) are in the HTML, so the data reads
without JS; the script only sorts rows and switches views. Output is deterministic: the same document gives
byte-identical HTML. The published site (:mod:`zsbench.report.site`) is this page with links, a
Content-Security-Policy and its record lists, and its other pages start and end as these do.
"""

from __future__ import annotations

from collections.abc import Sequence

from zsbench.core.inert import html as esc
from zsbench.report.board.html_parts import (
    CSS,
    SCRIPT,
    Href,
    board_table,
    heatmap,
    legend,
    ordered,
    scatter,
    view_label,
    x_domain,
)

__all__ = ["page_end", "page_start", "render"]

# Without JS every view is shown, so no data is out of reach.
_NOSCRIPT = "<noscript><style>.panel[hidden]{display:block}.controls{display:none}</style></noscript>"


def page_start(title: str, *, csp: str | None = None, css: str = "", noscript: bool = False) -> list[str]:
    """A page's lines up to ``<body>``: the board's CSS (plus ``css``), and ``csp`` as a meta tag, first in
    the head so that it governs everything after it."""
    out = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">']
    if csp is not None:
        out.append(f'<meta http-equiv="Content-Security-Policy" content="{esc(csp)}">')
    out += [
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>\n<style>{CSS}{css}</style>",
    ]
    if noscript:
        out.append(_NOSCRIPT)
    out.append("</head>\n<body>")
    return out


def page_end(script: bool = True) -> list[str]:
    """A page's last lines: the board's script (sorting, views) when the page has a board."""
    return ([f"<script>{SCRIPT}</script>"] if script else []) + ["</body>\n</html>\n"]


def render(
    doc: dict,
    *,
    csp: str | None = None,
    href: Href | None = None,
    nav: str = "",
    after: Sequence[str] = (),
    css: str = "",
) -> str:
    """The leaderboard document as one self-contained HTML5 page.

    For the site: ``csp`` a Content-Security-Policy, ``href(row)`` the link of a row's encoder, ``nav``
    and ``after`` HTML (already escaped) before the title and after the scatters, ``css`` more style."""
    views = list(doc.get("views") or ["mean"])
    selected = doc.get("view") if doc.get("view") in views else views[0]
    rows = list(doc.get("rows", []))
    metric = str(doc.get("metric", "AMI x100")).replace("x100", "×100")
    out = page_start("zsbench leaderboard", csp=csp, css=css, noscript=True)
    out += [
        "<header>\n" + (f"{nav}\n" if nav else "") + "<h1>zsbench leaderboard</h1>",
        f'<p class="meta">Protocol version {esc(doc.get("protocol_version", "?"))} · metric {esc(metric)}'
        f" · intervals: {esc(doc.get('interval', ''))}</p>",
        f'<p class="meta suite">Suite (the datasets rows are ranked on): {esc(", ".join(doc.get("suite", [])))}. '
        "A row is one encoder identity; rows without every suite dataset and clusterer are not ranked.</p>",
        '<p class="meta">Sources:</p>\n<ul class="sources">',
    ]
    out += [f"<li>{esc(s)}</li>" for s in doc.get("sources", [])]
    out.append("</ul>")
    if doc.get("notes"):
        out.append('<p class="meta">Notes:</p>\n<ul class="notes">')
        out += [f"<li>{esc(n)}</li>" for n in doc["notes"]]
        out.append("</ul>")
    out.append("</header>\n<main>")
    options = "".join(
        f'<option value="{esc(v)}"{" selected" if v == selected else ""}>{esc(view_label(v))}</option>' for v in views
    )
    out.append(
        f'<p class="controls"><label for="view">View: </label><select id="view" autocomplete="off">{options}'
        "</select> (click a column header to sort)</p>"
    )
    for view in views:
        in_order = ordered(rows, view)
        hidden = "" if view == selected else " hidden"
        out += [
            f'<section class="panel" data-view="{esc(view)}"{hidden}>',
            f"<h2>Leaderboard: {esc(view_label(view))}</h2>",
            board_table(doc, view, in_order, href),
            f"<h3>AMI ×100 by encoder and dataset: {esc(view_label(view))}</h3>",
            legend(),
            heatmap(doc, view, in_order),
            "</section>",
        ]
    pooled = next((p for p in doc.get("proxy", []) if p.get("clusterer") == "pooled"), None)
    rho = pooled.get("spearman") if pooled else None
    pooled_text = "n/a" if rho is None or pooled is None else f"ρ = {rho:.2f} (n = {pooled['n']})"
    out += [
        "<section>\n<h2>AMI against the label-free proxy</h2>",
        "<p>Each point is one encoder on one dataset (mean over seeds): x is the silhouette of the predicted "
        "clusters in UMAP space, which needs no labels; y is AMI ×100. Panels give the Spearman rank correlation "
        f"per clusterer; pooled over clusterers, Spearman {esc(pooled_text)}.</p>",
        '<div class="scatters">',
    ]
    domain = x_domain(rows)
    out += [scatter(doc, c, domain) for c in doc.get("clusterers", [])]
    out += ["</div>\n</section>", *after, "</main>", *page_end()]
    return "\n".join(out)
