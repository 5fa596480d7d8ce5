"""The live progress display of the CLI (rich), on stderr."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator


def _Rate():
    """Items per second of a stage with a total (images/s while embedding)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task):
            if task.total is None or not task.speed:
                return Text("")
            return Text(f"{task.speed:,.0f}/s", style="progress.data.speed")

    return Rate()


class RichProgress:
    """A live bar for the running stage on stderr (stdout carries only results), and one line
    per finished stage that took long enough to matter."""

    def __init__(self, min_seconds_to_log: float = 0.5) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        from zsbench.report.console import console

        # stage names and notes carry user text: never markup, never a hidden character, one line each
        self.console = console(stderr=True, one_line=True)
        self.min_seconds = min_seconds_to_log
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            _Rate(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            # off a terminal (CI logs, pipes) no live bar: it would leave a blank line
            # before the one-line error; the "done" lines still say what ran
            disable=not self.console.is_terminal,
        )

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    @contextlib.contextmanager
    def stage(self, description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        import time

        from zsbench.core.inert import terminal
        from zsbench.report.console import styled

        # escaped before the bar measures it (the console would escape it anyway, after measuring)
        task = self._progress.add_task(terminal(description), total=total)
        start = time.perf_counter()

        def advance(n: int = 1) -> None:
            self._progress.advance(task, n)

        try:
            yield advance
        finally:
            self._progress.remove_task(task)
            seconds = time.perf_counter() - start
            if seconds >= self.min_seconds:
                self._progress.console.print(
                    styled("done", "dim", description, " ", (f"{seconds:.1f} s", "dim")), highlight=False
                )

    def note(self, message: str) -> None:
        from zsbench.report.console import styled

        self._progress.console.print(styled("note:", "yellow", message), highlight=False)
