"""The published site's pages other than the board: one per record (refused records too) and the findings.

Every string from a record, a file name or a refusal reason passes :func:`zsbench.core.inert.html`;
values that are not text (an identity, options, hardware) are shown as their JSON, escaped the same
way. Each page carries :data:`CSP`, so that no script but the board's own could run even if some text
escaped the escaping. Links are relative: the site works from any folder and from GitHub Pages.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from zsbench.core.inert import html as esc
from zsbench.report.board.html import page_end, page_start
from zsbench.report.board.html_parts import CSP
from zsbench.report.site.findings import TITLES, SiteFinding

# The site's pages besides the board's CSS: key-value tables, the navigation, code.
CSS = """
nav{margin:0 0 .6rem}nav a{margin-right:.8rem}table.kv th{text-align:left;vertical-align:top}
table.kv td{text-align:left}code,td.code{font-family:monospace;white-space:pre-wrap;overflow-wrap:anywhere}
td.text,th.text{text-align:left}td.failed{color:#a00}.why{color:#a00}
figure{margin:.5rem 0}img{max-width:100%;border:1px solid #eee}
"""
DASH = "—"


def nav(up: str) -> str:
    """The links every page has; ``up`` is the way to the site's root ("" or "../")."""
    links = [
        ("index.html", "leaderboard"),
        ("index.html#records", "records"),
        ("index.html#refused", "refused"),
        ("findings.html", "findings"),
    ]
    return "<nav>" + "".join(f'<a href="{up}{target}">{label}</a>' for target, label in links) + "</nav>"


def _page(title: str, body: list[str], up: str) -> str:
    return "\n".join(
        [
            *page_start(title, csp=CSP, css=CSS),
            "<header>",
            nav(up),
            f"<h1>{esc(title)}</h1>",
            "</header>\n<main>",
            *body,
            "</main>",
            *page_end(script=False),
        ]
    )


def _json(value: Any) -> str:
    """A value that is not text, as its JSON, escaped (letters readable, hidden characters visible)."""
    return esc(json.dumps(value, sort_keys=True, ensure_ascii=False))


def _kv(pairs: Sequence[tuple[str, Any]]) -> str:
    """A two-column table: each key with its value (text as text, anything else as JSON)."""
    rows = "".join(
        f'<tr><th>{esc(k)}</th><td class="code">{esc(v) if isinstance(v, str) else _json(v)}</td></tr>'
        for k, v in pairs
    )
    return f'<table class="kv"><tbody>{rows}</tbody></table>'


def _plugin(plugin: Mapping[str, Any] | None) -> str:
    if not plugin:
        return DASH
    return (
        f"{plugin.get('distribution', '?')} {plugin.get('version', '?')} · {plugin.get('plugin', '?')} · "
        f"{plugin.get('name', '?')}"
    )


def record_page(path: str, record: Mapping[str, Any], row: Mapping[str, Any] | None) -> str:
    """A valid record: identity, status (partial and what it lacks, its place on the board), provenance,
    datasets, and every dataset × clusterer × seed AMI with the means. ``row``: its board row, if any."""
    enc = record.get("encoder", {})
    body = [
        f'<p class="meta">Record {esc(path)} · protocol {esc(record.get("protocol_version", "?"))} · '
        f"{esc(record.get('schema', '?'))} · last result at {esc(record.get('last_result_at', '?'))}</p>",
        "<h2>Status</h2>",
    ]
    if record.get("partial"):
        body.append(
            '<p>Partial: never ranked. It lacks:</p>\n<ul class="missing">'
            + "".join(f"<li>{esc(m)}</li>" for m in record.get("missing") or [])
            + "</ul>"
        )
    else:
        body.append("<p>Complete: every protocol clusterer and seed on the full partition of each dataset.</p>")
    body += [f"<p>{_standing(row)}</p>", "<h2>Results: AMI ×100</h2>", *_cells(record)]
    body += [
        "<h2>Identity</h2>",
        _kv(
            [
                ("name", str(enc.get("name", ""))),
                ("identity sha256", str(enc.get("identity_sha256", ""))),
                *((f"identity.{k}", v) for k, v in sorted((enc.get("identity") or {}).items())),
                ("options", enc.get("options", {})),
                ("source", enc.get("source", {})),
                ("plugin", _plugin(enc.get("plugin"))),
            ]
        ),
    ]
    body += ["<h2>Datasets</h2>", _datasets(record), "<h2>Provenance</h2>", _environments(record)]
    return _page(f"{enc.get('name', '?')}", body, "../")


def _environments(record: Mapping[str, Any]) -> str:
    """The environments results were made in (each result names one), side by side: Python, platform,
    hardware, package versions and the plugin behind each component."""
    envs = list(record.get("environments") or [])
    columns = []
    for env in envs:
        values: dict[str, str] = {"python": str(env.get("python", "")), "platform": str(env.get("platform", ""))}
        values |= {
            f"hardware {k}": v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
            for k, v in sorted((env.get("hardware") or {}).items())
        }
        values |= {f"package {k}": str(v) for k, v in sorted((env.get("packages") or {}).items())}
        values |= {f"plugin of the {k}": _plugin(v) for k, v in sorted((env.get("plugins") or {}).items())}
        columns.append(values)
    keys = list(dict.fromkeys(k for values in columns for k in values))
    head = "".join(f"<th>environment {i}</th>" for i in range(len(envs)))
    rows = "".join(
        f"<tr><th>{esc(k)}</th>" + "".join(f'<td class="code">{esc(c.get(k, DASH))}</td>' for c in columns) + "</tr>"
        for k in keys
    )
    return f'<table class="kv environments"><thead><tr><th></th>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _standing(row: Mapping[str, Any] | None) -> str:
    if row is None:
        return "Not on the board (another protocol, or every result left out: see the board's notes)."
    view = (row.get("views") or {}).get("mean") or {}
    rank, overall = view.get("rank"), view.get("overall")
    where = (
        "unranked" + (f": lacks {'; '.join(view['lacks'])}" if view.get("lacks") else "")
        if rank is None
        else f"rank {rank['low']}" + ("" if rank["low"] == rank["high"] else f"–{rank['high']}")
    )
    score = "" if not overall or overall.get("mean") is None else f", overall AMI ×100 {overall['mean']:.1f}"
    return esc(f"On the board (mean over clusterers): {where}{score}.")


def _datasets(record: Mapping[str, Any]) -> str:
    head = "".join(
        f'<th class="text">{h}</th>'
        for h in ("dataset", "group", "samples", "classes", "seeds", "fingerprint", "plugin")
    )
    rows = []
    for name, ds in sorted((record.get("datasets") or {}).items()):
        fp = str(ds.get("fingerprint", ""))
        cells = [
            esc(name),
            esc(ds.get("group", "")),
            esc(ds.get("n_samples", "")),
            esc(ds.get("n_classes", "")),
            esc(", ".join(map(str, ds.get("seeds") or []))),
            f'<span title="{esc(fp)}">{esc(fp[:12])}</span>',
            esc(_plugin(ds.get("plugin"))),
        ]
        rows.append("<tr>" + "".join(f'<td class="text">{c}</td>' for c in cells) + "</tr>")
    return f'<table class="datasets"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _cells(record: Mapping[str, Any]) -> list[str]:
    """Per dataset: clusterer × seed AMI ×100 (a failed result says so, its error listed), each clusterer's
    mean over its seeds, and the dataset's mean over all its successful results."""
    by: dict[str, dict[str, dict[int, Mapping[str, Any]]]] = {}
    for r in record.get("results") or []:
        by.setdefault(str(r.get("dataset")), {}).setdefault(str(r.get("clusterer")), {})[int(r.get("seed", 0))] = r
    order = {c: i for i, c in enumerate(record.get("clusterers") or [])}
    out = []
    for dataset, per in sorted(by.items()):
        seeds = sorted({s for runs in per.values() for s in runs})
        amis = [100 * r["metrics"]["ami"] for runs in per.values() for r in runs.values() if _ok(r)]
        mean = f"{statistics.fmean(amis):.1f}" if amis else DASH
        out.append(f"<h3>{esc(dataset)}: mean AMI ×100 {mean} over {len(amis)} successful result(s)</h3>")
        head = "".join(f"<th>seed {s}</th>" for s in seeds)
        rows, errors = [], []
        for clusterer in sorted(per, key=lambda c: (order.get(c, len(order)), c)):
            runs, cells, mine = per[clusterer], [], []
            for seed in seeds:
                r = runs.get(seed)
                if r is None:
                    cells.append(f"<td>{DASH}</td>")
                elif _ok(r):
                    mine.append(100 * r["metrics"]["ami"])
                    cells.append(f"<td>{mine[-1]:.1f}</td>")
                else:
                    cells.append(f'<td class="failed">{esc(r.get("status") or "failed")}</td>')
                    errors.append(f"{clusterer} / seed {seed}: {r.get('error') or 'no error text'}")
            avg = f"{statistics.fmean(mine):.1f}" if mine else DASH
            rows.append(f'<tr><td class="text">{esc(clusterer)}</td>{"".join(cells)}<td>{avg}</td></tr>')
        out.append(
            f'<table class="cells" data-dataset="{esc(dataset)}"><thead><tr><th class="text">clusterer</th>'
            f"{head}<th>mean</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
        if errors:
            out.append('<ul class="errors">' + "".join(f"<li>{esc(e)}</li>" for e in errors) + "</ul>")
    return out


def _ok(result: Mapping[str, Any]) -> bool:
    return result.get("status") == "ok" and (result.get("metrics") or {}).get("ami") is not None


def refused_page(path: str, reason: str) -> str:
    """A refused record: its file and why the board left it out."""
    body = [
        f'<p class="meta">Record {esc(path)}</p>',
        "<h2>Refused</h2>",
        f'<p class="why reason">{esc(reason)}</p>',
        "<p>The board is built without it. <code>zsbench validate FILE</code> lists every problem of a record "
        "on its own; a record refused beside others (an identity or a look-alike name another record has) "
        "names them.</p>",
    ]
    return _page(f"Refused record: {Path(path).name}", body, "../")


def record_lists(records: Sequence[tuple[str, str, str, bool]], refused: Sequence[tuple[str, str, str]]) -> list[str]:
    """The index's lists under the board: (page, encoder, file, partial) per record; (page, file, reason) per
    refused record."""
    out = ['<section id="records">\n<h2>Records</h2>', '<ul class="records">']
    out += [
        f'<li><a href="{esc(page)}">{esc(name)}</a> ({esc(file)}){" · partial" if partial else ""}</li>'
        for page, name, file, partial in records
    ]
    out += ["</ul>", "</section>", '<section id="refused">\n<h2>Refused records</h2>']
    if refused:
        out.append(
            '<ul class="refused">'
            + "".join(f'<li><a href="{esc(page)}">{esc(file)}</a>: {esc(why)}</li>' for page, file, why in refused)
            + "</ul>"
        )
    else:
        out.append("<p>None: every record is on the board.</p>")
    return out + ["</section>"]


def findings_page(parts: Sequence[SiteFinding], figures: Mapping[str, str], tables: Mapping[str, str]) -> str:
    """The findings: per finding its figure (``figures``: kind -> PNG file) or why there is none, and a link to
    its table (``tables``: kind -> page)."""
    body = []
    for part in parts:
        body.append(f'<section class="finding" id="{part.kind}">\n<h2>{esc(TITLES[part.kind])}</h2>')
        if part.finding is not None:
            body.append(f'<p class="meta">{esc(part.finding.title)}</p>')
        if part.kind in figures:
            alt = part.finding.title if part.finding is not None else TITLES[part.kind]
            body.append(f'<figure><img src="{esc(figures[part.kind])}" alt="{esc(alt)}"></figure>')
        else:
            body.append(f'<p class="why">{esc(part.why or "no figure")}</p>')
        if part.kind in tables:
            body.append(f'<p><a href="{esc(tables[part.kind])}">The table, with its notes</a></p>')
        body.append("</section>")
    return _page("zsbench findings", body, "")


def finding_page(part: SiteFinding) -> str:
    """A finding's table page: what ``zsbench findings KIND --format html`` writes, with the site's CSP."""
    if part.finding is None:
        raise ValueError(f"the {part.kind} finding has no table")
    page = part.finding.html(part.png, meta=list(part.meta), figure_note=part.why)
    anchor = '<meta charset="utf-8">'
    if anchor not in page:  # the page changed shape: fail loudly rather than publish it without its CSP
        raise ValueError("a finding's page has no <meta charset>; the site cannot add its CSP")
    return page.replace(anchor, f'{anchor}<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">', 1)
