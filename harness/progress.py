"""Progress reporting: the core reports stages; the CLI shows them with rich, the API stays quiet."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Protocol

log = logging.getLogger("zsbench")


class Progress(Protocol):
    def stage(self, description: str, total: int | None = None
              ) -> contextlib.AbstractContextManager[Callable[[int], None]]: ...

    def note(self, message: str) -> None: ...


class NullProgress:
    @contextlib.contextmanager
    def stage(self, description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        yield lambda n=1: None

    def note(self, message: str) -> None:
        log.warning(message)


class RichProgress:
    """Bars on stderr, so stdout carries only results (tables, JSON, CSV)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn,
                                   TextColumn, TimeElapsedColumn)

        self.console = Console(stderr=True)
        self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(),
                                  console=self.console, transient=False)

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    @contextlib.contextmanager
    def stage(self, description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        task = self._progress.add_task(description, total=total if total is not None else 1)

        def advance(n: int = 1) -> None:
            self._progress.advance(task, n)

        try:
            yield advance
        finally:
            if total is None:
                self._progress.update(task, completed=1)

    def note(self, message: str) -> None:
        self._progress.console.print(f"[yellow]note:[/] {message}")
