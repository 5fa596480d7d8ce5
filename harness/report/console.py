"""Rich output for the CLI and the progress display: text from users, plugins and records is printed literally
and inert.

Every console is an :class:`InertConsole`, made with ``markup=False, emoji=False``, so brackets (``pip install
pkg[extra]``, a name like ``enc[/bad]``) and ``:colons:`` are never interpreted, in plain prints and in table
cells alike. It is also the one choke point for hidden characters: every string and ``Text`` it renders, at any
depth (a table's title, caption and cells, a styled line, a progress description), goes through
:func:`zsbench.core.inert.terminal`, so an escape sequence, a bidi override or a zero-width character in a name
or message is shown as ``\\x1b``, ``\\u202e``, ``\\u200b``, never sent to the terminal. Colour comes only from
styled ``Text`` parts, built by :func:`styled`; tables are best built as :class:`InertTable`, whose cells are
escaped before rich measures them (so columns fit) and kept to one line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, overload

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.table import Table
from rich.text import Span, Text

from zsbench.core.inert import terminal


class InertConsole(Console):
    """A rich Console that never interprets markup or emoji codes and never emits a hidden character of what
    it prints. ``one_line``: line breaks inside a string or ``Text`` are shown as ``\\n`` too (stderr, where
    every message is one line)."""

    def __init__(self, *, one_line: bool = False, **options: Any) -> None:
        super().__init__(markup=False, emoji=False, **options)
        self.one_line = one_line

    def render_str(self, text: str, **options: Any) -> Text:
        # Every str printed, and every str cell, title and caption of a table, is turned into Text here,
        # before it is measured: escaped now, its width is the width shown.
        return super().render_str(terminal(text, lines=not self.one_line), **options)

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        if isinstance(renderable, Text):  # Text built by hand (styled parts, a status cell)
            renderable = inert_text(renderable, one_line=self.one_line)
        for segment in super().render(renderable, options):  # nested renderables come back through here
            if segment.control is None and not segment.text.isprintable():
                # the last line of defence, for a renderable that yields raw segments itself; rich's own
                # line breaks are kept, its cursor and screen controls carry .control and pass untouched
                segment = Segment(terminal(segment.text, lines=True), segment.style)
            yield segment


def console(**options: Any) -> InertConsole:
    """A rich Console that never interprets markup or emoji codes nor emits hidden characters of what it prints."""
    return InertConsole(**options)


def inert_text(text: Text, *, one_line: bool = True) -> Text:
    """``text`` with its hidden characters as visible escapes (with ``one_line``, line breaks too), its styles
    kept on the same characters; the same object when there is nothing to escape."""
    plain = text.plain
    if terminal(plain, lines=not one_line) == plain:
        return text
    starts, shown, at = [], [], 0  # where each character of plain starts in the escaped text
    for ch in plain:
        starts.append(at)
        shown.append(terminal(ch, lines=not one_line))
        at += len(shown[-1])
    starts.append(at)
    spans = [Span(starts[min(s.start, len(plain))], starts[min(s.end, len(plain))], s.style) for s in text.spans]
    return Text(
        "".join(shown),
        style=text.style,
        justify=text.justify,
        overflow=text.overflow,
        no_wrap=text.no_wrap,
        end=text.end,
        tab_size=text.tab_size,
        spans=spans,
    )


@overload
def cell(value: str) -> str: ...
@overload
def cell(value: Text) -> Text: ...
@overload
def cell(value: None) -> None: ...
@overload
def cell(value: RenderableType) -> RenderableType: ...
@overload
def cell(value: RenderableType | None) -> RenderableType | None: ...
def cell(value: RenderableType | None) -> RenderableType | None:
    """A table cell, header, title or caption kept to one line and escaped before rich measures it."""
    if isinstance(value, str):
        return terminal(value)
    if isinstance(value, Text):
        return inert_text(value)
    return value


class InertTable(Table):
    """A rich Table whose title, caption, headers and cells (str or Text) are escaped to one line each."""

    def __init__(
        self, *headers: Any, title: str | Text | None = None, caption: str | Text | None = None, **options: Any
    ) -> None:
        super().__init__(*headers, title=cell(title), caption=cell(caption), **options)

    def add_column(self, header: RenderableType = "", *args: Any, **options: Any) -> None:
        super().add_column(cell(header), *args, **options)

    def add_row(self, *renderables: RenderableType | None, **options: Any) -> None:
        super().add_row(*(cell(r) for r in renderables), **options)


def styled(prefix: str, style: str, *parts: str | tuple[str, str] | Text) -> Text:
    """``prefix`` in ``style``, a space, then ``parts`` literally (a ``(text, style)`` pair is styled too), on one
    line: hidden characters and line breaks in any part are shown as escapes."""
    shown = [(terminal(p[0]), p[1]) if isinstance(p, tuple) else cell(p) for p in parts]
    return Text.assemble((terminal(prefix), style), " ", *shown)
