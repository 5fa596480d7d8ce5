"""What a run opens and keys before its stages: the artifact cache, the executor, sample and embedding keys.

Shared by ``zsbench run`` (the facade) and ``zsbench proxy --choose``, so both key embeddings the same way.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import tempfile
from collections.abc import Iterator, Mapping
from typing import Any

from zsbench.core.catalog import Catalog
from zsbench.core.protocol import ProtocolSpec
from zsbench.plugin.datasets import fingerprint
from zsbench.plugin.errors import ZsbenchError
from zsbench.storage.cache import ArtifactCache, cache_key

CacheArg = str | os.PathLike[str] | ArtifactCache | None | bool


@contextlib.contextmanager
def open_cache(cache: CacheArg) -> Iterator[ArtifactCache]:
    """``None``: the default cache; a path or cache: that; ``False``: a throw-away one for this run."""
    if cache is False:
        with tempfile.TemporaryDirectory(prefix="zsbench-run-") as tmp:
            yield ArtifactCache(tmp)
    else:
        yield cache if isinstance(cache, ArtifactCache) else ArtifactCache(None if cache in (None, True) else cache)


ENV_WORKERS = "ZSBENCH_WORKERS"
# The executor a run uses unless told otherwise (a built-in plugin, found by name like any other).
DEFAULT_EXECUTOR = "local"


def takes_keyword(fn: Any, name: str, *, any_keyword: bool = False) -> bool:
    """Whether ``fn`` has a parameter ``name`` (or, with ``any_keyword``, a ``**kwargs``); False when
    its signature cannot be read (a builtin)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    if name in params and params[name].kind not in (inspect.Parameter.POSITIONAL_ONLY,
                                                    inspect.Parameter.VAR_POSITIONAL):
        return True
    return any_keyword and any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


@contextlib.contextmanager
def open_executor(catalog: Catalog, name: str | None, options: Mapping[str, Any] | None) -> Iterator[Any]:
    """Build the executor and close it afterwards, using only :class:`zsbench.plugin.Executor`'s contract."""
    from zsbench.engine import mainguard

    mainguard.stop_if_bootstrapping()  # a pool worker re-running the parent's script: start nothing
    # "dask:workers=4": the factory's options, merged with those given apart (--workers, --scheduler)
    entry, options = catalog.with_options("executors", name or DEFAULT_EXECUTOR, options,
                                          "executor_options (--workers, --scheduler)")
    name = entry.name
    # only a factory that names `workers` gets it: forcing it on another would be "unknown option"
    if "workers" not in options and os.environ.get(ENV_WORKERS) and takes_keyword(entry.factory, "workers"):
        options["workers"] = int(os.environ[ENV_WORKERS])  # e.g. 1 in tests and small CI jobs
    # Workers re-run the main script: its unguarded zsbench calls would run again, a script read
    # from stdin cannot run at all. Decide before any worker exists.
    hazard = mainguard.pool_hazard()
    if hazard and name == DEFAULT_EXECUTOR:
        if str(options.get("workers", "")).strip() != "1":
            options["workers"] = 1  # the local executor's in-process mode
            mainguard.note_in_process(hazard)
    elif hazard and not options.get("scheduler"):  # a running cluster starts no processes here
        raise ZsbenchError(f"executor {name!r} cannot start worker processes here: {hazard}")
    executor = entry.create(**options)
    # read once: close(cancel=True) when close takes it, else close(); an error inside close propagates
    cancellable = takes_keyword(executor.close, "cancel", any_keyword=True)
    try:
        yield executor
    except BaseException:
        # Ctrl-C or an error: drop queued stages instead of waiting for them (finished ones are stored)
        if cancellable:
            executor.close(cancel=True)
        else:
            executor.close()
        raise
    executor.close()


def sample_fingerprint(view, selection: dict[str, Any]) -> str:
    """The fingerprint of the samples a run clusters: ids, labels, split and selection rule."""
    return fingerprint(view.ids, view.labels.astype(str).tolist(),
                       {"split": view.info.get("split"), **selection_rule(selection)})


def embed_key(spec: ProtocolSpec, enc_entry, described: Mapping[str, Any], dataset: str, fingerprint_: str) -> str:
    """An embedding's cache key; `zsbench run` and `zsbench proxy --choose` share embeddings through it.

    It holds the encoder's identity by content (:func:`zsbench.identity.describe`), never a path:
    the same weights file reached through two paths is embedded once.
    """
    return cache_key({"stage": "embed", "protocol": spec.version, "encoder": enc_entry.name,
                      "identity_sha256": described["identity_sha256"], "plugin": enc_entry.provenance,
                      "dataset": dataset, "fingerprint": fingerprint_})


def selection_rule(selection: dict[str, Any]) -> dict[str, Any]:
    """The parts of the sample selection that change which samples are clustered."""
    return {k: selection[k] for k in ("max_samples", "subsample_seed", "n_bad_skipped") if k in selection}
