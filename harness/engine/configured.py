"""The grid of a protocol that configures each encoder (the study): its (reducer, clusterer) pairs.

Under the standard protocol a run is the cross product of its reducers and clusterers. Under the
study each encoder has its own reducer and clusterer settings per clusterer
(:meth:`zsbench.core.study.StudyProtocol.configuration`), so the grid gets, per embedding, the pairs
of that encoder on that dataset. The proxy (silhouette) space stays the standard's UMAP-50.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from zsbench.core.catalog import Catalog
from zsbench.core.names import parse_spec, shown
from zsbench.core.protocol import Component, ProtocolSpec
from zsbench.plugin.errors import ZsbenchError

Pair = tuple[Component, Component]  # (reducer, clusterer)


def configured_clusterers(
    spec: ProtocolSpec, reducers: Sequence[str] | str | None, clusterers: Sequence[str] | None
) -> list[str]:
    """The protocol clusterers a configured run keeps. The protocol fixes reducers and parameters:
    ``--reducer`` is refused; ``--clusterer`` may only narrow the protocol's clusterers by name."""
    if reducers:
        raise ZsbenchError(
            f"--reducer does not apply under protocol {spec.version}: it sets each encoder's reducer "
            "per clusterer; leave --reducer out (or run the standard protocol)"
        )
    if not clusterers:
        return list(spec.clusterers)
    chosen = []
    for given in clusterers:
        name, params = parse_spec(given)
        if params or name not in spec.clusterers:
            raise ZsbenchError(
                f"--clusterer {shown(given)!r}: under protocol {spec.version} --clusterer only "
                f"chooses among its clusterers by name ({', '.join(spec.clusterers)}); their "
                "settings are the protocol's"
            )
        chosen.append(name)
    return list(dict.fromkeys(chosen))


def configured_pairs(
    catalog: Catalog,
    spec: ProtocolSpec,
    encoder: str,
    dataset: str,
    clusterers: Sequence[str],
    resolved: dict[tuple[str, str], Component] | None = None,
    resolve: Callable[[Catalog, str, str], Component] = Component.resolve,
) -> list[Pair]:
    """``encoder``'s (reducer, clusterer) on ``dataset`` for each of ``clusterers``; an encoder the protocol
    does not cover is one line naming the encoders it does. ``resolved`` shares components between calls;
    ``resolve`` makes each (a run's :meth:`zsbench.engine.params.Params.resolve`, which checks it through the
    memo)."""
    if spec.study is None:
        raise ZsbenchError(f"protocol {spec.label} runs one configuration for every encoder; it has no pairs")
    resolved = {} if resolved is None else resolved

    def component(kind: str, text: str) -> Component:
        if (kind, text) not in resolved:
            resolved[(kind, text)] = resolve(catalog, kind, text)
        return resolved[(kind, text)]

    pairs = []
    for name in clusterers:
        reducer, clusterer = spec.study.configuration(encoder, name, dataset)
        pairs.append((component("reducers", reducer), component("clusterers", clusterer)))
    return pairs
