"""Rich output for the CLI and the progress display: text from users, plugins and records is printed literally.

Every console is made with ``markup=False, emoji=False``, so brackets (``pip install pkg[extra]``, a name like
``enc[/bad]``) and ``:colons:`` are never interpreted, in plain prints and in table cells alike. Colour comes
only from styled ``Text`` parts, built by :func:`styled`.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text


def console(**options: Any) -> Console:
    """A rich Console that never interprets markup or emoji codes in what it prints."""
    return Console(markup=False, emoji=False, **options)


def styled(prefix: str, style: str, *parts: str | tuple[str, str] | Text) -> Text:
    """``prefix`` in ``style``, a space, then ``parts`` literally (a ``(text, style)`` pair is styled too)."""
    return Text.assemble((prefix, style), " ", *parts)
