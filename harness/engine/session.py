"""What a run opens before its stages: the artifact cache, the executor, and the embeddings already in the
cache (a subsample's rows among them: :func:`cached_embedding`), found by :mod:`zsbench.engine.keys`' keys.

Shared by ``zsbench run`` (the facade) and ``zsbench proxy --choose``, so both key embeddings the same way.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from zsbench.core.catalog import Catalog, Entry
from zsbench.core.inert import terminal
from zsbench.core.protocol import ProtocolSpec, load_spec
from zsbench.engine.inputs import DatasetView
from zsbench.engine.keys import embed_key, sample_fingerprint
from zsbench.engine.limits import check_workers
from zsbench.plugin.errors import InvalidInputError, ZsbenchError
from zsbench.storage.cache import ArtifactCache

CacheArg = str | os.PathLike[str] | ArtifactCache | None | bool


@contextlib.contextmanager
def open_cache(cache: CacheArg) -> Iterator[ArtifactCache]:
    """``None``: the default cache; a path or cache: that; ``False``: a throw-away one for this run. A shared
    cache is leased while the run uses it, so a `zsbench cache gc` meanwhile keeps what the run uses."""
    if cache is False:
        with tempfile.TemporaryDirectory(prefix="zsbench-run-") as tmp:
            yield ArtifactCache(tmp)
        return
    art = cache if isinstance(cache, ArtifactCache) else ArtifactCache(None if cache is True else cache)
    with art.lease():
        yield art


ENV_WORKERS = "ZSBENCH_WORKERS"
# The executor a run uses unless told otherwise: the standard protocol file's default_executor (a plugin,
# found by name like any other; the same under every protocol, since it changes no result).
DEFAULT_EXECUTOR = load_spec("1").default_executor


def takes_keyword(fn: Any, name: str, *, any_keyword: bool = False) -> bool:
    """Whether ``fn`` has a parameter ``name`` (or, with ``any_keyword``, a ``**kwargs``); False when
    its signature cannot be read (a builtin)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    if name in params and params[name].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.VAR_POSITIONAL,
    ):
        return True
    return any_keyword and any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def env_workers() -> int | None:
    """``$ZSBENCH_WORKERS`` as a number of workers (None: unset or empty); anything but a positive
    integer is a one-line error naming the variable."""
    raw = os.environ.get(ENV_WORKERS, "").strip()
    if not raw:
        return None
    try:
        workers = int(raw)
    except ValueError:
        workers = 0
    if workers < 1:
        shown = raw if len(raw) <= 40 else raw[:37] + "..."
        raise InvalidInputError(
            f"{ENV_WORKERS}={shown!r} is not a number of workers; set it to a positive "
            f"integer (e.g. {ENV_WORKERS}=4) or unset it"
        )
    return workers


@contextlib.contextmanager
def open_executor(catalog: Catalog, name: str | None, options: Mapping[str, Any] | None) -> Iterator[Any]:
    """Build the executor and close it afterwards, using only :class:`zsbench.plugin.Executor`'s contract,
    each call checked (:class:`CheckedExecutor`). A failing close after an error leaves that error the one
    reported (the close failure is a note on it); after a finished run it is a one-line warning."""
    from zsbench.engine import mainguard

    mainguard.stop_if_bootstrapping()  # a pool worker re-running the parent's script: start nothing
    # "dask:workers=4": the factory's options, merged with those given apart (--workers, --scheduler)
    entry, options = catalog.with_options(
        "executors", name or DEFAULT_EXECUTOR, options, "executor_options (--workers, --scheduler)"
    )
    name = entry.name
    # only a factory that names `workers` gets it: forcing it on another would be "unknown option"
    given = "--workers"
    if "workers" not in options and takes_keyword(entry.factory, "workers"):
        workers = env_workers()  # e.g. 1 in tests and small CI jobs
        if workers is not None:
            options["workers"], given = workers, ENV_WORKERS
    check_workers(options.get("workers"), given)  # before any process starts
    # Workers re-run the main script: its unguarded zsbench calls would run again, a script read
    # from stdin cannot run at all. Decide before any worker exists.
    hazard = mainguard.pool_hazard()
    if hazard and name == DEFAULT_EXECUTOR:
        if str(options.get("workers", "")).strip() != "1":
            options["workers"] = 1  # the local executor's in-process mode
            mainguard.note_in_process(hazard)
    elif hazard and not options.get("scheduler"):  # a running cluster starts no processes here
        raise ZsbenchError(f"executor {name!r} cannot start worker processes here: {hazard}")
    executor = CheckedExecutor(entry.create(**options), name, entry.plugin)
    try:
        yield executor
    except BaseException as exc:
        # Ctrl-C or an error: drop queued stages instead of waiting for them (finished ones are stored)
        try:
            executor.close(cancel=True)
        except ExecutorError as failure:  # the first error is the real one; --debug shows this note
            exc.add_note(str(failure))
        raise
    try:
        executor.close()
    except ExecutorError as failure:
        # every stage finished and every result was made (and stored): a broken close loses nothing
        print(terminal(f"warning: {failure}; the run had finished, nothing was lost"), file=sys.stderr)


class ExecutorError(ZsbenchError):
    """An executor broke its contract or failed to run a task; the message names it and its plugin."""


def _has(obj: Any, method: str) -> bool:
    try:
        return callable(getattr(obj, method, None))
    except Exception:  # an attribute that raises is as good as none
        return False


def _article(value: Any) -> str:
    if value is None:
        return "None"
    kind = type(value).__name__
    return f"{'an' if kind[:1].lower() in 'aeiou' else 'a'} {kind}"


class CheckedExecutor:
    """An executor seen through its contract only: ``submit``, ``as_completed``, ``close`` and futures'
    ``result()``. A broken promise, or an exception out of the executor, becomes one
    :class:`ExecutorError` naming it and its plugin (a ZsbenchError of its own passes unchanged)."""

    def __init__(self, executor: Any, name: str, plugin: str):
        self.inner, self.label = executor, f"executor {name!r} (plugin {plugin})"
        missing = [f"{m}()" for m in ("submit", "as_completed", "close") if not _has(executor, m)]
        if missing:
            raise self.broke(f"its factory returned {_article(executor)}, which has no {', no '.join(missing)}")
        # read once: close(cancel=True) when close takes it, else close()
        self.cancellable = takes_keyword(executor.close, "cancel", any_keyword=True)

    @property
    def runs_embedding(self) -> bool:
        try:
            return bool(getattr(self.inner, "runs_embedding", False))
        except Exception:  # a property that raises: embed here, as without the attribute
            return False

    def call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``, plugin code: what it raises is this executor's failure."""
        from zsbench.core.isolation import plugin_code, reason

        try:
            with plugin_code():  # its own SystemExit or KeyboardInterrupt too
                return fn(*args, **kwargs)
        except ZsbenchError:
            raise
        except Exception as exc:
            raise ExecutorError(f"{self.label} failed: {what} raised {reason(exc)}") from exc

    def broke(self, what: str) -> ExecutorError:
        return ExecutorError(f"{self.label} broke the contract: {what}")

    def submit(self, fn: Callable[..., Any], *args: Any, resources: Mapping[str, float] | None = None) -> CheckedFuture:
        extra = {} if resources is None else {"resources": resources}
        future = self.call("submit", self.inner.submit, fn, *args, **extra)
        if not callable(getattr(future, "result", None)):
            raise self.broke(f"submit returned {_article(future)}, not a future")
        return CheckedFuture(future, self, getattr(fn, "__name__", "a task"))

    def as_completed(self, futures: Iterable[CheckedFuture]) -> Iterator[CheckedFuture]:
        """Each of ``futures`` once, as the executor yields them; never one it was not given."""
        given = list(futures)
        waiting = {id(f.inner): f for f in given}  # by identity: a future need not be hashable
        if not waiting:
            return
        found = self.call("as_completed", self.inner.as_completed, [f.inner for f in given])
        try:
            it = iter(found)
        except TypeError:
            raise self.broke(f"as_completed returned {_article(found)}, not an iterator of futures") from None
        done = object()
        while waiting:
            got = self.call("as_completed", next, it, done)
            if got is done:
                raise self.broke(
                    f"as_completed finished without yielding {len(waiting)} of the {len(given)} submitted futures"
                )
            mine = waiting.pop(id(got), None)
            if mine is None:
                twice = any(f.inner is got for f in given)
                raise self.broke(
                    "as_completed yielded "
                    + ("a future twice" if twice else "None" if got is None else "a future it was not given")
                )
            yield mine

    def close(self, cancel: bool = False) -> None:
        what = "close(cancel=True)" if cancel and self.cancellable else "close()"
        try:
            self.call(what, self.inner.close, **({"cancel": True} if what != "close()" else {}))
        except ExecutorError:
            raise
        except ZsbenchError as exc:  # its own error too is only a failure to close: named, never the run's error
            raise ExecutorError(f"{self.label} failed: {what} raised: {exc}") from exc


class CheckedFuture:
    """A future of a :class:`CheckedExecutor`: ``result()`` is the task's outcome (a dict) or an ExecutorError."""

    def __init__(self, inner: Any, executor: CheckedExecutor, task: str):
        self.inner, self.executor, self.task = inner, executor, task

    def result(self, timeout: float | None = None) -> dict[str, Any]:
        # the core's tasks catch their own errors: an exception here is the executor's failure to run one
        args = () if timeout is None else (timeout,)
        value = self.executor.call(f"result() of {self.task}", self.inner.result, *args)
        if not isinstance(value, dict):
            raise self.executor.broke(
                f"result() of {self.task} returned {_article(value)}, not the task's return value (a dict)"
            )
        return value


@dataclass(frozen=True)
class Cached:
    """An embedding found in the artifact cache, and what its entry records about how it was made."""

    x: np.ndarray
    packages: dict[str, str] | None  # the libraries that made it, where it was made (None: not recorded)
    rows_of: str | None  # the key of the embedding of the whole dataset its rows were taken from, if so


def cached_embedding(
    cache: ArtifactCache,
    key: str,
    spec: ProtocolSpec,
    enc_entry: Entry,
    described: Mapping[str, Any],
    dataset: str,
    view: DatasetView,
) -> Cached | None:
    """The embedding ``key`` of ``view`` from the cache; else, for a subsample, its rows of the cached embedding
    of the samples it was drawn from (same encoder identity, same dataset: the whole's fingerprint is in that
    key); else None. The whole is never embedded to serve a subsample.

    An encoder embeds each image on its own (eval mode: BatchNorm uses its running statistics, folded into
    the convolutions), so the rows are the subsample's embedding, up to the float rounding a batch's size
    may change, which an identity leaves out as it leaves out the batch size.
    """
    x = cache.get("embed", key)
    if x is not None:
        made = cache.spec("embed", key)
        return Cached(np.asarray(x), made.get("packages"), made.get("rows_of"))
    whole = view.whole_view()
    if whole is None:
        return None
    # a full run with --skip-bad that found nothing to skip embedded the same samples under its own key
    for rule in ({}, {"n_bad_skipped": 0}):
        whole_key = embed_key(spec, enc_entry, described, dataset, sample_fingerprint(whole, rule))
        x = cache.get("embed", whole_key)
        if x is not None and len(x) == len(whole):
            # fancy indexing copies only these rows out of the read-only memory map
            return Cached(np.asarray(x[view.rows_in(whole)]), cache.spec("embed", whole_key).get("packages"), whole_key)
    return None
