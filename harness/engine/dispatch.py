"""How a stage reaches an executor: submitted to it, or run here, inline, when only this process knows the
component (registered in code); its futures taken as they complete, through the future contract alone
(``result()``), and the executor checked against its contract.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from zsbench.core.catalog import origin
from zsbench.core.protocol import Component
from zsbench.engine.session import CheckedExecutor


class Deferred:
    """An inline task, run in this process when its ``result()`` is first asked for: the grid asks as it
    stores, so each inline stage's result is stored before the next one starts (Ctrl-C keeps what finished),
    while the executor's stages, submitted meanwhile, run on its workers."""

    __slots__ = ("call", "value", "error", "ran")
    call: tuple[Any, tuple[Any, ...]]
    value: Any
    error: Exception | None
    ran: bool

    def __init__(self, fn: Any, args: tuple[Any, ...]):
        self.call, self.value, self.error, self.ran = (fn, args), None, None, False

    def result(self, timeout: float | None = None) -> Any:
        if not self.ran:
            fn, args = self.call
            self.ran = True
            try:
                self.value = fn(*args)
            except Exception as exc:  # noqa: BLE001 - delivered through result(), as a future would
                self.error = exc
        if self.error is not None:
            raise self.error
        return self.value


class InlineExecutor:
    """Runs each task in this process, when its result is asked for (used for plugins registered in code)."""

    name, workers, in_process = "inline", 1, True

    def submit(self, fn, *args, resources=None) -> Deferred:
        return Deferred(fn, args)

    def as_completed(self, futures):
        return iter(list(futures))

    def close(self, cancel: bool = False) -> None:
        pass


INLINE = InlineExecutor()


def local_only(component: Component) -> bool:
    return component.entry.distribution == "__main__"  # registered in code: workers cannot see it


def submit(executor, component: Component, fn, *args) -> Any:
    """Submit a stage of ``component``: on ``executor``, or here when only this process knows the component."""
    return (INLINE if local_only(component) else executor).submit(fn, *args)


def completed(executor, futures: Iterable[Any]) -> Iterator[Any]:
    """The futures as they finish: those run here (:class:`Deferred`, run as they are taken) first, then the
    executor's, in the order its ``as_completed`` gives. Futures are used only through the contract: nothing
    but ``result()``."""
    futures = list(futures)
    yield from (f for f in futures if isinstance(f, Deferred))
    rest = [f for f in futures if not isinstance(f, Deferred)]
    if rest:
        yield from executor.as_completed(rest)


def checked(executor) -> Any:
    """``executor`` behind :class:`~zsbench.engine.session.CheckedExecutor` (named by the entry that built
    it), unless it is already or is the inline one: a broken contract is one error naming it, never a
    KeyError or a lost result."""
    if executor is INLINE or isinstance(executor, CheckedExecutor):
        return executor
    entry = origin(executor)
    return CheckedExecutor(
        executor, entry.name if entry else type(executor).__name__, entry.plugin if entry else "unknown"
    )
