"""Text helpers every renderer shares: Markdown and CSV cells that are safe to show, and "mean ± spread"."""

from __future__ import annotations

import html
import re
import statistics
from collections.abc import Sequence

from zsbench.analysis.stats import Score

DASH = "—"  # no value
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_MARKDOWN = re.compile(r"[\\`*_\[\]|~]")  # one pass: a backslash written by a user cannot cancel ours


def md(text: object) -> str:
    """Text from users, plugins or records as Markdown: raw HTML (``<img onerror>``) is shown, never run
    (in a PR comment or a rendered table), ``|`` does not end a table cell, Markdown's emphasis, code and
    link characters are shown as written, and a line break does not end the row or list item (it becomes a
    space)."""
    escaped = html.escape(str(text), quote=False)
    # Markdown's own inline syntax is shown as written: a name like my_model_v2 or *best* stays literal
    escaped = _MARKDOWN.sub(lambda m: "\\" + m.group(0), escaped)
    return " ".join(escaped.splitlines())


def csv_cell(text: object) -> str:
    """A text cell that a spreadsheet would run as a formula gets a leading ' (OWASP's CSV-injection advice)."""
    text = str(text)
    if text.startswith(_FORMULA):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def mean_pm(mean: float, spread: float | None, spec: str = ".1f") -> str:
    """``mean ± spread`` (just the mean when there is no spread)."""
    if spread is None:
        return format(mean, spec)
    return f"{format(mean, spec)} ± {format(spread, spec)}"


def mean_std(values: Sequence[float], spec: str = ".1f", *, count: bool = False) -> str:
    """Mean ± standard deviation of ``values`` (with ``count``: and ``(n=N)``); one value alone; none a dash."""
    if not values:
        return DASH
    if len(values) == 1:
        return format(values[0], spec)
    return mean_pm(statistics.fmean(values), statistics.stdev(values), spec) + (f" (n={len(values)})" if count else "")


def score_text(score: Score | None) -> str:
    """A score over seeds as ``mean ± half-width`` of its t-interval, AMI x100 to one decimal."""
    return DASH if score is None else mean_pm(score.mean, score.half_width)
