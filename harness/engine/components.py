"""A run's components (reducers, clusterers, the proxy reducer) and seeds, resolved before any work.

Each component is checked as it is resolved (a bad parameter fails now, not after an hour of
embedding), through the run's :class:`zsbench.engine.params.Params`: from the memo when that build
already passed with the same code and libraries, so a finished grid's rerun imports no estimator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from zsbench.core.catalog import Catalog
from zsbench.core.protocol import Component, ProtocolSpec
from zsbench.engine.configured import Pair, configured_clusterers, configured_pairs
from zsbench.engine.params import Params

Names = str | Sequence[str] | None


@dataclass(frozen=True)
class Components:
    """The reducers and clusterers of a run, and the reducer of its proxy (silhouette) space."""

    reducers: list[Component]
    clusterers: list[Component]
    proxy: Component
    # a protocol that configures each encoder (the study): the clusterers it keeps, by name; the pairs
    # each embedding gets come from :func:`zsbench.engine.configured.configured_pairs`
    configured: list[str] | None = None
    resolved: dict[tuple[str, str], Component] = field(default_factory=dict)
    # the components' parameters (stage keys, checks), with the run's memo
    params: Params = field(default_factory=Params, compare=False, repr=False)

    def pairs(self, catalog: Catalog, spec: ProtocolSpec, encoder: str, dataset: str) -> list[Pair] | None:
        """``encoder``'s (reducer, clusterer) pairs on ``dataset``; None: the cross product of the run's."""
        if self.configured is None:
            return None
        return configured_pairs(
            catalog, spec, encoder, dataset, self.configured, self.resolved, resolve=self.params.resolve
        )


def names(value: Names, default: str) -> list[str]:
    if value is None:
        return [default]
    return [value] if isinstance(value, str) else list(value)


def components(
    catalog: Catalog,
    spec: ProtocolSpec,
    reducers: Names,
    clusterers: Sequence[str] | None,
    params: Params | None = None,
) -> Components:
    """The run's components, each checked (``params``: the run's, with the memo; default: built here)."""
    params = params or Params()
    proxy = params.resolve(catalog, "reducers", spec.proxy_reducer)
    if spec.study is not None:
        return Components([], [], proxy, configured_clusterers(spec, reducers, clusterers), params=params)
    chosen = list(clusterers) if clusterers else list(spec.clusterers)
    return Components(
        [params.resolve(catalog, "reducers", r) for r in names(reducers, spec.reducer)],
        [params.resolve(catalog, "clusterers", c) for c in chosen],
        proxy,
        params=params,
    )
