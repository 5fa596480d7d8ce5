"""Progress reporting: the core reports stages; the CLI shows them with rich, the API stays quiet."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Protocol

log = logging.getLogger("zsbench")


class Progress(Protocol):
    def stage(
        self, description: str, total: int | None = None
    ) -> contextlib.AbstractContextManager[Callable[[int], None]]: ...

    def note(self, message: str) -> None: ...


class NullProgress:
    @contextlib.contextmanager
    def stage(self, description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        def advance(n: int = 1) -> None:
            return None

        yield advance

    def note(self, message: str) -> None:
        log.warning(message)
