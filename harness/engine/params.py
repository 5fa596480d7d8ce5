"""Components' parameters as the protocol builds them, for stage keys and checks; from the memo when valid.

Keying a stage needs the estimator's ``get_params(deep=False)`` (:func:`zsbench.engine.keys.stage_key`);
building the estimator imports its library (UMAP: numba, pynndescent, scikit-learn; seconds). A run's
:class:`Params` asks the memo beside the artifact cache (:class:`zsbench.storage.params.ParamsMemo`)
first, so a run whose results are all stored builds nothing. The memo is keyed by everything that
decides the build (the component's label and options, its entry's plugin provenance and factory, the
seed and k, the Python environment) and an entry holds only while the source files and library
versions behind it are unchanged; the parameters it returns are the built estimator's exactly
(canonical JSON, put into keys as written), so every key is what building would give. It relies on
what stages already rely on (a worker builds a component again from its label): a factory's estimator
depends on its code, its options and the installed libraries alone. Components registered in code
(``__main__``) or built by closures are never memoised.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Any

from zsbench.core.catalog import Catalog
from zsbench.core.protocol import Component
from zsbench.engine.keys import memo_key
from zsbench.storage.cache import ArtifactCache, default_root
from zsbench.storage.layout import canonical_json
from zsbench.storage.params import ParamsMemo, sources

CHECK_K = 2  # the k a component is checked with when resolved (Component.resolve's)


def modules_behind(component: Component, estimator: Any) -> list[str]:
    """The modules whose code decides ``estimator``'s parameters: the factory's package (as loaded), the
    estimator's class and its bases, and the protocol's build."""
    module = component.entry.factory
    while isinstance(module, functools.partial):
        module = module.func
    name = module.__module__
    package = name.rpartition(".")[0] or name
    loaded = [m for m in list(sys.modules) if m == package or m.startswith(package + ".")]
    return [name, *sorted(loaded), *(c.__module__ for c in type(estimator).__mro__), Component.__module__]


def cache_root(cache: Any) -> Path | None:
    """The folder of a run's artifact cache (``--cache``, ``$ZSBENCH_CACHE`` or the default; None for a
    throw-away cache), without opening it."""
    if cache is False:
        return None
    if isinstance(cache, ArtifactCache):
        return cache.root
    return default_root() if cache in (None, True) else Path(os.fspath(cache)).expanduser()


class Params:
    """The parameters of a run's components; from ``memo`` where it holds them, else by building."""

    def __init__(self, memo: ParamsMemo | None = None) -> None:
        self.memo = memo
        self.known: dict[str, str] = {}  # memo key -> parameters, found or built in this run
        self.built = 0  # estimators built (tests: a finished rerun builds none)

    @classmethod
    def for_cache(cls, cache: Any) -> Params:
        """With the memo of the artifact cache ``cache`` (a path, an ArtifactCache, None: the default)."""
        root = cache_root(cache)
        return cls(ParamsMemo(root) if root is not None else None)

    def recall(self, key: str | None) -> str | None:
        if key is None:
            return None
        if key not in self.known and self.memo is not None and (found := self.memo.get(key)) is not None:
            self.known[key] = found
        return self.known.get(key)

    def remember(self, key: str | None, component: Component, estimator: Any, text: str) -> None:
        if key is None:
            return
        self.known[key] = text
        if self.memo is not None and (depends := sources(modules_behind(component, estimator))) is not None:
            self.memo.put(key, text, depends)

    def build(self, component: Component, seed: int, n_clusters: int | None) -> Any:
        self.built += 1
        return component.build(seed=seed, n_clusters=n_clusters)

    def text(self, component: Component, *, seed: int, n_clusters: int | None = None) -> str:
        """``get_params(deep=False)`` of ``component`` built with ``seed`` and ``n_clusters``, as canonical
        JSON (:func:`zsbench.storage.layout.canonical_json`): what a stage key holds."""
        key = memo_key(component, "params", seed, n_clusters)
        if (found := self.recall(key)) is not None:
            return found
        estimator = self.build(component, seed, n_clusters)
        text = canonical_json(estimator.get_params(deep=False))
        self.remember(key, component, estimator, text)
        return text

    def of(self, component: Component, *, seed: int, n_clusters: int | None = None) -> dict[str, Any]:
        """The same parameters as a dict (JSON values: what cannot be JSON is its ``str()``)."""
        return json.loads(self.text(component, seed=seed, n_clusters=n_clusters))

    def check(self, component: Component) -> None:
        """:meth:`Component.check` of the component built as :meth:`Component.resolve` builds it, unless
        the memo says that build passed with the same code and libraries."""
        key = memo_key(component, "checked", 0, CHECK_K)
        if self.recall(key) is not None:
            return
        estimator = self.build(component, 0, CHECK_K)
        component.check(estimator)
        self.remember(key, component, estimator, canonical_json(estimator.get_params(deep=False)))

    def resolve(self, catalog: Catalog, kind: str, spec: str) -> Component:
        """:meth:`Component.resolve`, its check through :meth:`check`."""
        component = Component.resolve(catalog, kind, spec, validate=False)
        self.check(component)
        return component
