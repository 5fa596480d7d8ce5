"""The paper's findings as tables: one :class:`Finding` per finding, rendered as a terminal table,
Markdown or a self-contained HTML page (the figure inlined as a PNG), and its machine-readable document.

Every cell is text from :mod:`zsbench.analysis`; encoder and dataset names come from users, plugins
and records, so Markdown, HTML and the terminal escape them (:mod:`zsbench.core.inert`). The same finding
gives the same bytes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from zsbench.analysis import proxy as px
from zsbench.analysis.findings import COMPARED, SUPERVISED, Interval, Supervision
from zsbench.core.inert import html as esc
from zsbench.report.text import DASH, md

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222;max-width:70rem}
h1{font-size:1.3rem;margin:0 0 .4rem}.meta{color:#555;margin:.2rem 0}
table{border-collapse:collapse;margin:.8rem 0}th,td{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:right}
th{background:#f4f4f4;white-space:nowrap}th.text,td.text{text-align:left}tr.section td{border-top:2px solid #999}
img{max-width:100%;border:1px solid #eee}.notes li{color:#555}
"""


@dataclass
class Finding:
    """One finding: a title, a table of text cells, notes, and the document ``--format json`` prints."""

    kind: str  # supervision, silhouette, knn
    title: str
    header: list[str]
    rows: list[list[str]]
    text_columns: int = 1  # the first columns are text (left-aligned); the rest numbers
    notes: list[str] = field(default_factory=list)
    caption: str | None = None
    sections: list[int] = field(default_factory=list)  # row indices that start a new section
    doc: dict[str, Any] = field(default_factory=dict)

    def json(self) -> str:
        return json.dumps({"format": f"zsbench-finding/{self.kind}/1", **self.doc}, indent=2) + "\n"

    def markdown(self) -> str:
        align = ["---"] * self.text_columns + ["---:"] * (len(self.header) - self.text_columns)
        lines = [
            f"**{md(self.title)}**",
            "",
            "| " + " | ".join(md(h) for h in self.header) + " |",
            "|" + "|".join(align) + "|",
        ]
        lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in self.rows]
        extra = ([md(self.caption)] if self.caption else []) + [f"- {md(n)}" for n in self.notes]
        return "\n".join(lines + ([""] + extra if extra else [])) + "\n"

    def html(self, png: bytes | None = None, *, meta: Sequence[str] = (), figure_note: str | None = None) -> str:
        """A self-contained page: no external resource, the figure (if any) inlined."""
        head = "".join(
            f'<th class="{"text" if i < self.text_columns else "num"}">{esc(h)}</th>' for i, h in enumerate(self.header)
        )
        body = []
        for i, row in enumerate(self.rows):
            cls = ' class="section"' if i in self.sections and i else ""
            cells = "".join(
                f'<td class="{"text" if j < self.text_columns else "num"}">{esc(c)}</td>' for j, c in enumerate(row)
            )
            body.append(f"<tr{cls}>{cells}</tr>")
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{esc(self.title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{esc(self.title)}</h1>",
        ]
        parts += [f'<p class="meta">{esc(m)}</p>' for m in meta]
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")
        if self.caption:
            parts.append(f'<p class="meta">{esc(self.caption)}</p>')
        if png is not None:
            data = base64.b64encode(png).decode("ascii")
            parts.append(f'<figure><img alt="{esc(self.title)}" src="data:image/png;base64,{data}"></figure>')
        elif figure_note:
            parts.append(f'<p class="meta">{esc(figure_note)}</p>')
        if self.notes:
            parts.append('<ul class="notes">' + "".join(f"<li>{esc(n)}</li>" for n in self.notes) + "</ul>")
        parts.append("</body></html>")
        return "\n".join(parts) + "\n"

    def rich(self):
        from zsbench.report.console import InertTable as Table  # names escaped to one line

        table = Table(title=self.title, caption=self.caption)
        for i, h in enumerate(self.header):
            table.add_column(h, justify="left" if i < self.text_columns else "right")
        for i, row in enumerate(self.rows):
            if i in self.sections and i:
                table.add_section()
            table.add_row(*row)
        return table


def _num(value: float | None, spec: str) -> str:
    return DASH if value is None else format(value, spec)


def interval_text(iv: Interval | None, spec: str = "+.1f") -> str:
    """``mean [low, high] (n)``; ``mean (n)`` without an interval; a dash without a value."""
    if iv is None:
        return DASH
    spread = "" if iv.low is None else f" [{format(iv.low, spec)}, {format(iv.high, spec)}]"
    return f"{format(iv.mean, spec)}{spread} (n={iv.n})"


# -- (a) supervised vs self-supervised, by dataset group ---------------------------------------------


def supervision(s: Supervision) -> Finding:
    fams = s.shown_families
    compared = [f for f in fams if f != SUPERVISED and any(f in g.differences for g in s.groups)]
    compared.sort(key=lambda f: (COMPARED.index(f) if f in COMPARED else len(COMPARED), f))
    header = ["group", "datasets", *(f"{f} AMI×100" for f in fams), *(f"{f} − supervised" for f in compared)]
    rows = [
        [
            g.name,
            str(len(g.datasets)),
            *(interval_text(g.levels.get(f), ".1f") for f in fams),
            *(interval_text(g.differences.get(f)) for f in compared),
        ]
        for g in s.groups
    ]
    members: dict[str, list[str]] = {}
    for enc, fam in sorted(s.families.items()):
        members.setdefault(fam, []).append(enc)
    notes = [f"{f}: {', '.join(members[f])}" for f in fams]
    if s.unclassified:
        notes.append(
            f"left out, family unknown: {', '.join(s.unclassified)}; pass --family NAME=FAMILY (e.g. self-supervised)"
        )
    notes += s.notes
    doc = {
        "protocol": s.protocol,
        "families": s.families,
        "unclassified": s.unclassified,
        "sources": s.sources,
        "groups": [
            {
                "group": g.name,
                "datasets": g.datasets,
                "levels": {f: iv.to_json() for f, iv in g.levels.items()},
                "differences_from_supervised": {f: iv.to_json() for f, iv in g.differences.items()},
            }
            for g in s.groups
        ],
        "notes": s.notes,
    }
    title = (
        f"supervised vs self-supervised encoders by dataset group: AMI ×100, mean over the protocol's "
        f"clusterers and seeds (protocol {s.protocol})"
    )
    caption = (
        "levels: mean over the family's encoders [95% t-interval over encoders] (n encoders); "
        "differences: paired with the supervised encoder of the same backbone on each dataset "
        "[95% t-interval over pairs] (n pairs)"
    )
    return Finding("supervision", title, header, rows, text_columns=1, notes=notes, caption=caption, doc=doc)


# -- (b) the silhouette proxy against AMI ------------------------------------------------------------


def silhouette(corrs: list, pts: list, spec, n_results: int, left_out: list[str]) -> Finding:
    notes: dict[str, list[str]] = {}
    for c in corrs:
        if why := px.note(c):
            notes.setdefault(why, []).append(c.clusterer)
    footer = [f"n/a: {text} ({', '.join(names)})" for text, names in notes.items()] + list(left_out)
    rows = [[c.clusterer, str(c.n), _na(c.spearman), _na(c.pearson)] for c in corrs]
    title = (
        f"label-free proxy: silhouette in the {spec.proxy_reducer} space vs AMI, across encoder × dataset "
        f"cells (protocol {spec.version}, reducer {spec.reducer}, {n_results} results)"
    )
    doc = {
        "protocol": spec.version,
        "reducer": spec.reducer,
        "proxy_space": spec.proxy_reducer,
        "correlations": [{**asdict(c), "note": px.note(c)} for c in corrs],
        "points": [asdict(p) for p in pts],
        "left_out": list(left_out),
    }
    return Finding(
        "silhouette",
        title,
        ["clusterer", "cells", "Spearman ρ", "Pearson r"],
        rows,
        notes=footer,
        caption="cells: encoder × dataset, each averaged over its seeds",
        sections=[i for i, c in enumerate(corrs) if c.clusterer == px.POOLED],
        doc=doc,
    )


def _na(value: float | None) -> str:
    return "n/a" if value is None else format(value, ".3f")


# -- (c) AMI against kNN accuracy --------------------------------------------------------------------


def knn(corrs: list, protocol: str, ks: tuple[int, ...]) -> Finding:
    by: dict[tuple[str, str], dict[int, Any]] = {}
    for c in corrs:
        by.setdefault((c.clusterer, c.backbone), {})[c.k] = c
    rows = [
        [clu, bb, str(max(c.n for c in cs.values())), *(_num(cs[k].spearman, ".3f") if k in cs else DASH for k in ks)]
        for (clu, bb), cs in by.items()
    ]
    title = "Spearman ρ of AMI with kNN top-1 accuracy across encoder × dataset cells, per clusterer and k"
    return Finding(
        "knn",
        title,
        ["clusterer", "backbone", "cells", *(f"k={k}" for k in ks)],
        rows,
        text_columns=2,
        caption=f"cells: encoder × dataset, AMI averaged over seeds; {DASH}: under 3 cells or a constant score",
        doc={"protocol": protocol, "correlations": [asdict(c) for c in corrs]},
    )
