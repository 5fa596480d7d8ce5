"""User-facing errors. The CLI prints their message on one line and exits 1."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ZsbenchError(Exception):
    """An error the user can fix; its message says what went wrong and what to do."""


class UnknownComponentError(ZsbenchError):
    def __init__(self, kind: str, name: str, known: Iterable[str]):
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.4)
        hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(known) or 'none'}"
        singular = kind.rstrip("s")
        super().__init__(
            f"unknown {singular} {name!r}; {hint} (see `zsbench list {kind}`)"
        )


class DuplicateComponentError(ZsbenchError):
    pass


class InvalidInputError(ZsbenchError):
    """Embeddings, labels or options that the protocol cannot score."""
