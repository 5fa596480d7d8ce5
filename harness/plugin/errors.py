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
        shown = name if len(name) <= 80 else name[:77] + "..."  # a hostile spec is not echoed whole
        super().__init__(f"unknown {singular} {shown!r}; {hint} (see `zsbench list {kind}`)")


class DuplicateComponentError(ZsbenchError):
    pass


class InvalidInputError(ZsbenchError):
    """Embeddings, labels or options that the protocol cannot score."""


# Seeds become numpy / scikit-learn random states (at most 2**32 - 1) and SQLite integers: checked
# before any work, so a huge one is a one-line error rather than a traceback after the grid ran.
MAX_SEED = 2**32 - 1


def check_seed(value: int, option: str) -> int:
    if not 0 <= int(value) <= MAX_SEED:
        raise InvalidInputError(f"{option} {value} is out of range; seeds are 0 to {MAX_SEED}")
    return int(value)
