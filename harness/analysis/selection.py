"""Which results a figure may combine: one identity and one sample set, the latest result per cell.

Every figure zsbench shows (run summary, leaderboard, proxy, gate, registry record) is built from
results selected here, so none ever averages two encoder identities (other weights or
preprocessing) or two sample sets (another ``--max-samples`` or data version) of one dataset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zsbench.core.identity import of_config, short
from zsbench.core.result import Result


def identity(result: Result) -> str:
    """The sha256 of the encoder identity that produced ``result``."""
    config = result.config if isinstance(result.config, Mapping) else {}
    encoder = config.get("encoder")
    return of_config(encoder if isinstance(encoder, Mapping) else {"name": result.encoder})


def dataset_config(result: Result) -> Mapping[str, Any]:
    config = result.config if isinstance(result.config, Mapping) else {}
    described = config.get("dataset")
    return described if isinstance(described, Mapping) else {}


def sample_set(result: Result) -> str:
    """The fingerprint of the samples ``result`` clustered (ids, labels, split, subsample rule)."""
    return str(dataset_config(result).get("fingerprint", ""))


def is_full_partition(result: Result) -> bool:
    """Whether ``result`` clustered its dataset's whole partition (no ``--max-samples`` subsample)."""
    return dataset_config(result).get("max_samples") is None


def cell(result: Result) -> tuple:
    """What one result is a replicate of: encoder identity, reducer, dataset, sample set, clusterer, seed."""
    return (
        result.encoder,
        identity(result),
        result.reducer,
        result.dataset,
        sample_set(result),
        result.clusterer,
        result.seed,
    )


def embedding(result: Result) -> str | None:
    """The content hash of the embeddings behind ``result`` where its identity cannot tell it: a file
    of precomputed embeddings (its ``source.sha256``). None for an encoder whose identity is its content."""
    config = result.config if isinstance(result.config, Mapping) else {}
    encoder = config.get("encoder")
    if not isinstance(encoder, Mapping):
        encoder = {}
    source = encoder.get("source")
    if not isinstance(source, Mapping):
        source = {}
    digest = source.get("sha256")
    return digest if isinstance(digest, str) else None


def latest(results: Iterable[Result]) -> list[Result]:
    """The latest result per :func:`cell`, in input order of those kept.

    Later means a later ``created_at``; among equal timestamps, later in ``results`` (a store lists
    oldest first), so a rerun of a configuration replaces it instead of weighing twice. The seeds of
    one identity on one sample set also share one :func:`embedding`, that of the newest result: two
    files of precomputed embeddings under one name never mix seed by seed.
    """
    best: dict[tuple, tuple[tuple[str, int], Result]] = {}
    for position, r in enumerate(results):
        order = (str(r.created_at or ""), position)
        key = cell(r)
        if key not in best or order >= best[key][0]:
            best[key] = (order, r)
    newest: dict[tuple, tuple[tuple[str, int], Result]] = {}
    for order, r in best.values():
        group = cell(r)[:5]
        if group not in newest or order >= newest[group][0]:
            newest[group] = (order, r)
    kept = [(order, r) for order, r in best.values() if embedding(r) == embedding(newest[cell(r)[:5]][1])]
    return [r for _, r in sorted(kept, key=lambda pair: pair[0][1])]


@dataclass(frozen=True)
class IdentitySummary:
    """One identity of an encoder in a set of results, as `submit` and the board describe it."""

    encoder: str
    sha256: str
    last: str  # created_at of its latest result
    results: int
    datasets: tuple[tuple[str, int | None, int, int], ...]  # (dataset, samples, clusterers, seeds)

    def describe(self) -> str:
        parts = [
            f"{name}: {n if n is not None else '?'} samples, {c} clusterer(s) x {s} seed(s)"
            for name, n, c, s in self.datasets
        ]
        return f"{short(self.sha256)} (last run {self.last}; {'; '.join(parts)})"


def identities(results: Iterable[Result], encoder: str) -> list[IdentitySummary]:
    """The identities of ``encoder`` among ``results``, latest first."""
    by: dict[str, list[Result]] = {}
    for r in results:
        if r.encoder == encoder:
            by.setdefault(identity(r), []).append(r)
    out = []
    for sha, rs in by.items():
        per: dict[str, list[Result]] = {}
        for r in rs:
            per.setdefault(r.dataset, []).append(r)
        datasets = tuple(
            (name, _samples(group), len({r.clusterer for r in group}), len({r.seed for r in group}))
            for name, group in sorted(per.items())
        )
        out.append(IdentitySummary(encoder, sha, max(str(r.created_at) for r in rs), len(rs), datasets))
    return sorted(out, key=lambda s: (s.last, s.sha256), reverse=True)


def _samples(results: Sequence[Result]) -> int | None:
    given = [r.config.get("n_samples") for r in results if isinstance(r.config, Mapping)]
    counts = [c for c in given if isinstance(c, int)]
    return max(counts) if counts else None


def current(results: Iterable[Result]) -> dict[str, str]:
    """Per encoder name, the identity of its most recent result (the one a board shows by default)."""
    newest: dict[str, tuple[tuple[str, int], str]] = {}
    for position, r in enumerate(results):
        order = (str(r.created_at or ""), position)
        if r.encoder not in newest or order >= newest[r.encoder][0]:
            newest[r.encoder] = (order, identity(r))
    return {name: sha for name, (_, sha) in newest.items()}
