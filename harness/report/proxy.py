"""A label-free choice of clusterer (``zsbench proxy --choose``) as text: a terminal table, markdown and JSON.

The proxy's correlation with AMI (``zsbench proxy`` without ``--choose``) is a finding, rendered by
:mod:`zsbench.report.findings`; its figures are :mod:`zsbench.report.figures`. Every name that comes from a
plugin (a clusterer, its settings, an error) is escaped by :mod:`zsbench.core.inert`'s rules for its format.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from zsbench.analysis.proxy.choice import Candidate, Choice
from zsbench.core.inert import json_text, markdown
from zsbench.report.console import InertTable

FORMATS = ("table", "markdown", "json")
TEXT_COLUMNS = ("clusterer", "settings")


def _num(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _clusters(c: Candidate) -> str:
    if c.error:
        return "-"
    return f"{c.found} + noise {100 * c.noise:.0f}%" if c.noise else str(c.found)


def title(choice: Choice) -> str:
    return (
        f"candidates for {choice.encoder} on {choice.dataset}, best silhouette in the {choice.space} space "
        f"first (seed {choice.seed}, {choice.n_samples} images; labels not used)"
    )


def header(choice: Choice) -> list[str]:
    return ["#", "clusterer", "settings", "clusters", "silhouette"] + (["AMI ×100 (check)"] if choice.checked else [])


def shown(choice: Choice, top: int) -> list[Candidate]:
    """The candidates a table shows: the first ``top`` (0: all), best silhouette first."""
    return choice.candidates[:top] if top else list(choice.candidates)


def rows(choice: Choice, top: int) -> list[list[str]]:
    """One row of text per shown candidate: its rank, clusterer, settings, clusters found and silhouette."""
    return [
        [
            str(i + 1) if c.silhouette is not None else "-",
            c.clusterer,
            c.settings,
            _clusters(c),
            "failed" if c.error else _num(c.silhouette, ".4f"),
        ]
        + ([_num(None if c.ami is None else 100 * c.ami, ".1f")] if choice.checked else [])
        for i, c in enumerate(shown(choice, top))
    ]


def caption(choice: Choice, top: int) -> str | None:
    n = len(shown(choice, top))
    return f"{n} of {len(choice.candidates)} candidates shown; --top 0 for all" if n < len(choice.candidates) else None


def verdict(choice: Choice) -> list[str]:
    """The choice, and how it compares with the best candidate by AMI where labels could check it."""
    chosen, best = choice.chosen, choice.best
    if chosen is None:
        return []
    lines = [f"choice: {chosen.describe()}"]
    if choice.checked:
        over = (
            f" (AMI over the {choice.n_labelled} labelled of {choice.n_samples} images)"
            if choice.n_labelled < choice.n_samples
            else ""
        )
        # checked: the labels scored every candidate that clustered, so the choice and the best have an AMI
        assert best is not None and best.ami is not None and chosen.ami is not None
        lines.append(
            f"check with the labels (not used to choose): the proxy's choice scores AMI ×100 "
            f"{100 * chosen.ami:.1f}, the best candidate ({best.clusterer}, {best.settings}) "
            f"{100 * best.ami:.1f}{over}"
        )
    elif choice.n_labelled:
        lines.append(f"no AMI check: the labels have {choice.n_classes} class")
    else:
        lines.append("no labels: no AMI check")
    return lines


def failures(choice: Choice) -> list[tuple[str, str]]:
    """``(candidate, error)`` for each candidate that failed, for the notes on stderr."""
    return [(f"{c.clusterer} {c.settings}", c.error) for c in choice.candidates if c.error]


def to_json(choice: Choice) -> dict[str, Any]:
    """Every candidate (not only the shown ones), the choice, and the check with the labels (None without)."""
    doc: dict[str, Any] = {k: v for k, v in asdict(choice).items() if k != "candidates"}
    doc["candidates"] = [{**asdict(c), "settings": c.settings} for c in choice.candidates]
    chosen, best = choice.chosen, choice.best
    doc["choice"] = None if chosen is None else {**asdict(chosen), "settings": chosen.settings}
    if choice.checked and chosen is not None and best is not None:
        doc["check"] = {
            "chosen_ami": chosen.ami,
            "best_ami": best.ami,
            "best": {**asdict(best), "settings": best.settings},
        }
    else:
        doc["check"] = None
    return doc


def render(choice: Choice, fmt: str, top: int) -> str:
    """The choice as ``markdown`` or ``json`` text (``table`` is drawn by :func:`table`)."""
    if fmt == "json":
        return json_text(to_json(choice), indent=2) + "\n"
    if fmt == "markdown":
        head = header(choice)
        align = ["---" if col in TEXT_COLUMNS else "---:" for col in head]
        text = [f"**{markdown(title(choice))}**", "", "| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
        text += ["| " + " | ".join(markdown(cell) for cell in row) + " |" for row in rows(choice, top)]
        note = caption(choice, top)
        return "\n".join(text + ([note] if note else []) + [""] + [markdown(line) for line in verdict(choice)]) + "\n"
    raise ValueError(f"choice format {fmt!r}: expected markdown or json")


def table(choice: Choice, top: int) -> InertTable:
    """The shown candidates as a terminal table, the choice in bold."""
    out = InertTable(title=title(choice), caption=caption(choice, top))
    for col in header(choice):
        out.add_column(col, justify="left" if col in TEXT_COLUMNS else "right")
    for row, c in zip(rows(choice, top), shown(choice, top), strict=True):
        out.add_row(*row, style="bold" if c is choice.chosen else None)
    return out
