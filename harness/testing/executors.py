"""Checks of an executor: tasks run and return, errors come back through ``result()``, ``as_completed``
yields every future, and ``close(cancel=True)`` stops a running task at once (Ctrl-C in a run)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from zsbench.core.catalog import Entry
from zsbench.core.isolation import reason
from zsbench.engine.session import takes_keyword
from zsbench.testing import tasks
from zsbench.testing.findings import DEFAULT_TIMEOUT_S, CheckFailed, Finding, Recorder, within
from zsbench.testing.subjects import as_entry, component_name, create

EXECUTOR_CHECKS = ("create", "unknown-option", "submit", "exceptions", "as-completed", "close")
RESULT_TIMEOUT_S = 60.0  # a task of the checks takes a moment; past this the executor lost it
PROBE_S = 0.2  # a task this long: when submit() itself takes that long, the executor runs tasks at submit
SLOW_TASK_S = 30.0  # the task running while close(cancel=True) is called
# What "at once" means for close(cancel=True): dask's nanny gives a busy worker 4 s before killing it.
CLOSE_WITHIN_S = 8.0


def check_executor(
    executor: Entry | Callable[..., Any],
    name: str | None = None,
    *,
    options: Mapping[str, Any] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT_S,
) -> list[Finding]:
    """Check an executor (a catalog entry, or a factory named ``name``) built with ``options``.

    By default a factory with a ``workers`` parameter gets ``workers=2``: a real pool, so the tasks
    (module-level functions of :mod:`zsbench.testing.tasks`) are pickled to other processes. Each check
    fails after ``timeout`` seconds (None: no limit); an executor that hangs is then abandoned, unclosed.
    """
    entry = as_entry("executors", executor, name)
    if options is None:
        options = {"workers": 2} if takes_keyword(entry.factory, "workers") else {}
    rec = Recorder(component_name(entry), timeout)
    built = create(rec, entry, lambda: entry.create(**options), close=close_quietly)
    state: dict[str, bool] = {}
    silenced = logging.root.manager.disable
    logging.disable(logging.CRITICAL)  # the task that fails on purpose, and the one cancelled, are logged as errors
    try:
        rec.run("submit", lambda: submit(built, state))
        rec.run("exceptions", lambda: exceptions(built))
        rec.run("as-completed", lambda: as_completed(built))
        rec.run("close", lambda: close(built, state))
    finally:
        if built is not None and not state.get("closed"):
            # once a check timed out the executor may be stuck: closing it is tried, not waited for
            within(lambda: close_quietly(built), 0 if rec.timed_out else rec.timeout, name="zsbench-check close")
        logging.disable(silenced)
    return rec.findings


def close_quietly(executor: Any) -> None:
    with contextlib.suppress(Exception):
        executor.close(cancel=True)


def submit(executor: Any, state: dict[str, bool]) -> str:
    start = time.perf_counter()
    future = executor.submit(tasks.pause, PROBE_S, resources=None)
    state["synchronous"] = time.perf_counter() - start >= PROBE_S
    value = future.result(timeout=RESULT_TIMEOUT_S)
    if value != PROBE_S:
        raise CheckFailed(f"result() returned {value!r}; expected the task's return value {PROBE_S!r}")
    value = executor.submit(tasks.square, 7).result(timeout=RESULT_TIMEOUT_S)
    if value != 49:
        raise CheckFailed(f"square(7) came back as {value!r}")
    return "tasks run and return their values" + (" (at submit, in this process)" if state["synchronous"] else "")


def exceptions(executor: Any) -> str:
    message = "zsbench.testing: a task that fails"
    try:
        future = executor.submit(tasks.fail, message)
    except Exception as exc:
        raise CheckFailed(
            f"submit() raised the task's error ({reason(exc)}); the future's result() should raise it"
        ) from None
    try:
        future.result(timeout=RESULT_TIMEOUT_S)
    except ValueError as exc:
        if message not in str(exc):
            raise CheckFailed(f"result() raised ValueError {exc}, not the task's message") from None
        return "result() raises the task's ValueError"
    except Exception as exc:
        raise CheckFailed(f"result() raised {reason(exc)}, not the task's ValueError") from None
    raise CheckFailed("result() returned although the task raised ValueError")


def as_completed(executor: Any) -> str:
    futures = [executor.submit(tasks.square, i) for i in range(4)]
    seen = list(executor.as_completed(futures))
    if sorted(map(id, seen)) != sorted(map(id, futures)):
        raise CheckFailed(
            f"as_completed yielded {len(seen)} futures for the {len(futures)} given (each of them, once, is expected)"
        )
    values = sorted(f.result(timeout=RESULT_TIMEOUT_S) for f in seen)
    if values != [0, 1, 4, 9]:
        raise CheckFailed(f"the futures' results are {values}, expected [0, 1, 4, 9]")
    return "yields each of 4 futures once"


def close(executor: Any, state: dict[str, bool]) -> str:
    if not takes_keyword(executor.close, "cancel", any_keyword=True):
        raise CheckFailed(
            "close() takes no cancel=: on Ctrl-C or an error a run then waits for every queued "
            "task; accept close(cancel=False) and stop at once when it is True"
        )
    if state.get("synchronous"):
        executor.close(cancel=True)
        state["closed"] = True
        what = "tasks run at submit, so nothing is left to stop"
    else:
        executor.submit(tasks.pause, SLOW_TASK_S)
        time.sleep(0.5)  # let it start: cancel must stop running tasks, not only queued ones
        start = time.perf_counter()
        executor.close(cancel=True)
        took = time.perf_counter() - start
        state["closed"] = True
        if took > CLOSE_WITHIN_S:
            raise CheckFailed(
                f"close(cancel=True) took {took:.1f} s with a task running; stop at once (it is "
                "what a run calls on Ctrl-C or an error)"
            )
        what = f"close(cancel=True) returned in {took:.1f} s with a task running"
    try:
        executor.close()
    except Exception as exc:
        raise CheckFailed(f"a second close() raised {reason(exc)}; closing twice must be safe") from None
    return f"{what}; a second close() is safe"
