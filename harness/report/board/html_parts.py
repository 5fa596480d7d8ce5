"""The HTML board's parts: per-view sortable tables, heat maps, AMI-against-proxy scatters, the page's CSS
and its one script, from a leaderboard document (what `zsbench leaderboard --format json` prints).

:mod:`zsbench.report.board.html` makes them a page, and :mod:`zsbench.report.site` the published site's index.
Every string from the document passes :func:`zsbench.core.inert.html`.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Callable
from typing import Any

from zsbench.core.inert import html as esc

Href = Callable[[dict], str | None]  # a board row -> the relative URL its encoder links to, or None

DASH = "—"
# matplotlib's viridis at 9 even stops: perceptually uniform and readable in grey-scale print.
_VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"]

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}
h1{margin:0 0 .3rem}h2{margin:1.6rem 0 .4rem}.meta{color:#555;margin:.2rem 0}
table{border-collapse:collapse;margin:.5rem 0}th,td{padding:.2rem .5rem;border-bottom:1px solid #ddd;text-align:right}
th{background:#f4f4f4;white-space:nowrap}td.encoder,td.identity,td.reducer,th.text{text-align:left}td.identity{font-family:monospace}
th button{font:inherit;font-weight:bold;border:0;background:none;cursor:pointer;padding:0}
.arrow{display:inline-block;width:1em;color:#777}
table.heat td{border:1px solid #fff;text-align:center;min-width:3.5rem}
.legend{display:flex;align-items:center;gap:.5rem;margin:.3rem 0}
.legend .bar{width:220px;height:12px;border:1px solid #999}
.scatters{display:flex;flex-wrap:wrap;gap:1rem}svg text{font-family:system-ui,sans-serif;font-size:11px}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
@media print{.controls,.arrow{display:none}.panel[hidden]{display:block}body{margin:0}}
"""

# Sorting compares each cell's data-value (numeric for data-type="num"); cells without one go last.
SCRIPT = """
(function () {
  "use strict";
  var select = document.getElementById("view");
  function show() {
    document.querySelectorAll(".panel").forEach(function (p) {
      p.hidden = p.getAttribute("data-view") !== select.value;
    });
  }
  select.addEventListener("change", show);
  show();
  document.querySelectorAll("table.board").forEach(function (table) {
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    heads.forEach(function (th) {
      th.addEventListener("click", function () {
        var col = th.cellIndex, numeric = th.getAttribute("data-type") === "num";
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col].getAttribute("data-value"), y = b.cells[col].getAttribute("data-value");
          if (x === null || y === null) return (x === null) - (y === null);
          var c = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
          return dir === "ascending" ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
        heads.forEach(function (h) {
          h.removeAttribute("aria-sort");
          h.querySelector(".arrow").textContent = "";
        });
        th.setAttribute("aria-sort", dir);
        th.querySelector(".arrow").textContent = dir === "ascending" ? "\\u25b2" : "\\u25bc";
      });
    });
  });
})();
"""

# A Content-Security-Policy source allowing exactly this script (inline, as <script>SCRIPT</script>).
SCRIPT_SOURCE = "'sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode() + "'"
# Every page of the board (the HTML board, the site's pages): nothing loads but the page itself, its PNG
# figures and inline styles; the only script that may run is the board's own, by its hash; no <base>, no
# form. So even an escaping bug could not run a script from a record. (A meta tag cannot set
# frame-ancestors or sandbox.)
CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
    f"script-src {SCRIPT_SOURCE}; base-uri 'none'; form-action 'none'"
)


def _score(score: dict | None) -> str:
    """'89.8 [87.2, 92.4]', '89.8' without an interval, or a dash when missing."""
    if score is None or score.get("mean") is None:
        return DASH
    text = f"{score['mean']:.1f}"
    if score.get("low") is not None and score.get("high") is not None:
        text += f" [{score['low']:.1f}, {score['high']:.1f}]"
    return text


def _rank(rank: dict | None) -> str:
    if rank is None:
        return DASH
    return str(rank["low"]) if rank["low"] == rank["high"] else f"{rank['low']}–{rank['high']}"


def _mean(score: dict | None) -> float | None:
    return None if score is None else score.get("mean")


def _colour(value: float) -> tuple[str, str]:
    """Background on the viridis scale for an AMI in 0..100, and a text colour that reads on it."""
    t = min(max(value / 100.0, 0.0), 1.0) * (len(_VIRIDIS) - 1)
    i = min(int(t), len(_VIRIDIS) - 2)
    a, b = (tuple(int(c[k : k + 2], 16) for k in (1, 3, 5)) for c in _VIRIDIS[i : i + 2])
    rgb = [round(x + (y - x) * (t - i)) for x, y in zip(a, b, strict=True)]
    luminance = (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255
    return "#{:02x}{:02x}{:02x}".format(*rgb), "#000" if luminance > 0.45 else "#fff"


def _view_of(row: dict, view: str) -> dict:
    return (row.get("views") or {}).get(view) or {}


def ordered(rows: list[dict], view: str) -> list[dict]:
    """Rows by the view's overall mean, best first, missing last; ties keep the document's order."""

    def key(row: dict) -> tuple[bool, float]:
        mean = _mean(_view_of(row, view).get("overall"))
        return (mean is None, -(mean or 0.0))

    return sorted(rows, key=key)


def view_label(view: str) -> str:
    return "mean over clusterers" if view == "mean" else f"clusterer {view}"


def board_table(doc: dict, view: str, rows: list[dict], href: Href | None = None) -> str:
    """The view's sortable table; ``href(row)``, when given, links a row's encoder (a relative URL or None)."""
    groups, datasets = doc.get("groups", []), doc.get("datasets", [])
    heads = [
        ("rank", "rank", "num"),
        ("encoder", "encoder", "text"),
        ("identity", "identity", "text"),
        ("reducer", "reducer", "text"),
        ("overall", "overall", "num"),
    ]
    heads += [(f"group:{g}", g, "num") for g in groups]
    heads += [(f"dataset:{d['name']}", d["name"], "num") for d in datasets]
    th = []
    for key, label, kind in heads:
        # Rows arrive sorted by overall, descending: the header says so from the start.
        sort = ' aria-sort="descending"' if key == "overall" else ""
        arrow = "▼" if sort else ""
        th.append(
            f'<th data-key="{esc(key)}" data-type="{kind}" class="{kind}"{sort}>'
            f'<button type="button">{esc(label)}</button><span class="arrow">{arrow}</span></th>'
        )
    out = [f'<table class="board" data-view="{esc(view)}"><thead><tr>{"".join(th)}</tr></thead><tbody>']
    for row in rows:
        v = _view_of(row, view)
        rank = v.get("rank")
        rank_value = f' data-value="{esc(rank["low"])}"' if rank else ""
        name = esc(_label(row))
        link = href(row) if href is not None else None
        sha = str(row.get("identity_sha256") or "")
        cells = [
            f'<td class="rank"{rank_value}>{esc(_rank(rank))}</td>',
            f'<td class="encoder" data-value="{name}">'
            + (f'<a href="{esc(link)}">{name}</a>' if link else name)
            + "</td>",
            # the short identity; the full sha256 (and what keeps a row unranked) on hover
            f'<td class="identity" data-value="{esc(sha[:12])}" title="{esc(_identity_title(sha, v))}">'
            f"{esc(sha[:12])}</td>",
            f'<td class="reducer" data-value="{esc(row.get("reducer", ""))}">{esc(row.get("reducer", ""))}</td>',
        ]
        scores = [v.get("overall")] + [(v.get("groups") or {}).get(g) for g in groups]
        scores += [(v.get("datasets") or {}).get(d["name"]) for d in datasets]
        for score in scores:
            mean = _mean(score)
            value = "" if mean is None else f' data-value="{mean:.4f}"'
            cells.append(f"<td{value}>{esc(_score(score))}</td>")
        out.append(f"<tr>{''.join(cells)}</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def heatmap(doc: dict, view: str, rows: list[dict]) -> str:
    datasets = doc.get("datasets", [])
    head = "".join(f'<th title="{esc(d.get("group", ""))}">{esc(d["name"])}</th>' for d in datasets)
    out = [
        f'<table class="heat" data-view="{esc(view)}"><thead><tr><th class="text">encoder</th>{head}</tr>'
        "</thead><tbody>"
    ]
    for row in rows:
        scores = _view_of(row, view).get("datasets") or {}
        cells = []
        for d in datasets:
            score = scores.get(d["name"])
            mean = _mean(score)
            if mean is None:
                cells.append(f'<td style="background:#eee">{DASH}</td>')
            else:
                bg, fg = _colour(mean)
                cells.append(f'<td style="background:{bg};color:{fg}" title="{esc(_score(score))}">{mean:.1f}</td>')
        out.append(f'<tr><th class="text">{esc(_label(row))}</th>{"".join(cells)}</tr>')
    out.append("</tbody></table>")
    return "\n".join(out)


def legend() -> str:
    stops = ",".join(f"{c} {100 * i / (len(_VIRIDIS) - 1):.1f}%" for i, c in enumerate(_VIRIDIS))
    return (
        f'<div class="legend"><span>0</span><span class="bar" style="background:linear-gradient(to right,{stops})">'
        "</span><span>100</span><span>AMI ×100</span></div>"
    )


def _fmt_tick(t: float) -> str:
    return f"{round(t, 2) + 0.0:g}"  # + 0.0 turns -0.0 into 0.0


def x_domain(rows: list[dict]) -> tuple[float, float, float]:
    """Silhouette axis: the data range widened to tenths (within -1..1), and a tick step."""
    xs = [c["silhouette_proxy"] for r in rows for c in r.get("cells", []) if c.get("silhouette_proxy") is not None]
    # A small margin keeps points off the axes.
    lo = max(-1.0, math.floor((min(xs) - 0.02) * 10) / 10) if xs else -1.0
    hi = min(1.0, math.ceil((max(xs) + 0.02) * 10) / 10) if xs else 1.0
    if hi - lo < 0.2:
        lo, hi = max(-1.0, lo - 0.1), min(1.0, hi + 0.1)
    step = next(s for s in (0.1, 0.2, 0.25, 0.5) if (hi - lo) / s <= 6.001)
    return lo, hi, step


def scatter(doc: dict, clusterer: str, domain: tuple[float, float, float]) -> str:
    w, h, left, right, top, bottom = 300, 230, 42, 12, 24, 36
    lo, hi, step = domain

    def sx(x: float) -> float:
        return left + (x - lo) / (hi - lo) * (w - left - right)

    def sy(y: float) -> float:
        return h - bottom - min(max(y, 0.0), 100.0) / 100 * (h - top - bottom)

    proxy = next((p for p in doc.get("proxy", []) if p.get("clusterer") == clusterer), None)
    rho = proxy.get("spearman") if proxy else None
    title = f"{clusterer}: " + ("ρ n/a" if rho is None else f"ρ = {rho:.2f}") + f", n = {proxy['n'] if proxy else 0}"
    parts = [
        f'<svg class="scatter" data-clusterer="{esc(clusterer)}" width="{w}" height="{h}" role="img" '
        f'aria-label="{esc(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{w / 2:.0f}" y="14" text-anchor="middle" font-weight="bold">{esc(title)}</text>',
    ]
    x0, x1, y0, y1 = left, w - right, h - bottom, top
    for y in (0, 25, 50, 75, 100):
        parts.append(
            f'<line x1="{x0}" x2="{x1}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" stroke="#e4e4e4"/>'
            f'<text x="{x0 - 4}" y="{sy(y) + 4:.1f}" text-anchor="end">{y}</text>'
        )
    first = math.ceil(lo / step - 1e-9)
    for t in (k * step for k in range(first, math.floor(hi / step + 1e-9) + 1)):  # no drift from summing steps
        parts.append(
            f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{y1}" y2="{y0}" stroke="#e4e4e4"/>'
            f'<text x="{sx(t):.1f}" y="{y0 + 14}" text-anchor="middle">{_fmt_tick(t)}</text>'
        )
    parts.append(
        f'<path d="M{x0},{y1}V{y0}H{x1}" fill="none" stroke="#666"/>'
        f'<text x="{(x0 + x1) / 2:.0f}" y="{h - 4}" text-anchor="middle">silhouette (UMAP space)</text>'
        f'<text transform="translate(11,{(y0 + y1) / 2:.0f}) rotate(-90)" text-anchor="middle">'
        "AMI ×100</text>"
    )
    for row in doc.get("rows", []):
        for cell in row.get("cells", []):
            sil, ami = cell.get("silhouette_proxy"), _mean(cell.get("ami"))
            if cell.get("clusterer") != clusterer or sil is None or ami is None:
                continue
            tip = f"{_label(row)} / {cell['dataset']}: AMI {ami:.1f}, silhouette {sil:.2f}"
            parts.append(
                f'<circle cx="{sx(sil):.1f}" cy="{sy(ami):.1f}" r="3.5" fill="#2c728e" fill-opacity="0.75">'
                f"<title>{esc(tip)}</title></circle>"
            )
    parts.append("</svg>")
    return "\n".join(parts)


def _identity_title(sha: str, view: dict[str, Any]) -> str:
    lacks = view.get("lacks") or []
    return f"identity sha256 {sha}" + (f"; unranked: lacks {'; '.join(lacks)}" if lacks else "")


def _label(row: dict[str, Any]) -> str:
    """The row's display name: the encoder, marked when the same encoder also comes from another source."""
    return str(row.get("label") or row["encoder"])
