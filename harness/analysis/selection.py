"""Which results are taken together: one identity and one sample set, the latest result per cell.

Every figure zsbench shows (run summary, leaderboard, proxy, gate) and every registry record is built
from results selected here, so none ever averages two encoder identities (other weights or
preprocessing) or two sample sets (another ``--max-samples`` or data version) of one dataset. A record
takes one identity, one sample set per dataset, and (unless partial) only seeds that have every protocol
clusterer (:func:`one_identity`, :func:`one_sample_set`, :func:`complete`); nothing is chosen silently:
where the store holds several identities or sample sets, the user names one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zsbench.analysis.records import RecordError
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


# ------------------------------------------------------------------ what a registry record takes


def one_identity(results: Sequence[Result], encoder: str, wanted: str | None) -> str:
    """The identity a record takes: the only one, or the one ``wanted`` (a sha256 prefix) names."""
    found = identities(results, encoder)
    listing = "; ".join(s.describe() for s in found)
    if wanted:
        match = [s for s in found if s.sha256.startswith(wanted.lower())]
        if len(match) != 1:
            raise RecordError(
                f"--identity {wanted} matches {len(match)} of the identities of {encoder} in the store: {listing}"
            )
        return match[0].sha256
    if len(found) > 1:
        raise RecordError(
            f"the store holds {len(found)} identities of {encoder} (other weights, preprocessing or "
            f"options), latest first: {listing}. A record is one identity: pass --identity SHA"
        )
    return found[0].sha256


def one_sample_set(
    results: Sequence[Result], dataset: str, encoder: str, wanted: Sequence[str], partial: bool = False
) -> str:
    """The sample set of ``dataset`` a record takes: the one ``wanted`` names, else the only candidate.

    A complete record can only be made of a full partition, so the candidates are the full sample
    sets (all of them when there is none: the completeness check then names what is missing). A
    partial record can be of any sample set (a gate baseline is a subsample), so every sample set is
    a candidate: with more than one, the user names it, and nothing is ever picked silently.
    """
    sets: dict[str, list[Result]] = {}
    for r in results:
        sets.setdefault(sample_set(r), []).append(r)
    full = [fp for fp, rs in sets.items() if all(is_full_partition(r) for r in rs)]
    candidates = sorted(sets) if partial or not full else sorted(full)
    chosen = [fp for fp in sorted(sets) if any(fp.startswith(w.lower()) for w in wanted)] if wanted else candidates
    if len(chosen) != 1:

        def described(fp: str) -> str:
            ds = dataset_config(sets[fp][0])
            size = (
                f"{ds['max_samples']} samples, subsample seed {ds.get('subsample_seed', 0)}"
                if ds.get("max_samples")
                else f"the full partition, {sets[fp][0].config.get('n_samples')} samples"
            )
            return f"{fp[:12]} ({size}; last run {max(str(r.created_at) for r in sets[fp])})"

        listing = "; ".join(described(fp) for fp in sorted(sets))
        asked = f"--sample-set {', '.join(wanted)} matches {len(chosen)} of them; " if wanted else ""
        raise RecordError(
            f"{dataset}: the store holds {len(sets)} sample set(s) of {encoder} (data versions or "
            f"subsamples): {listing}; {asked}choose one with --sample-set FINGERPRINT"
        )
    return chosen[0]


def complete(results: list[Result], spec, partial: bool, left_out: list[str]) -> tuple[list[Result], list[str]]:
    """Per dataset: the seeds that have every protocol clusterer. Returns the results a record keeps
    (complete seeds only, or everything when ``partial``) and what is missing, one line per dataset."""
    missing: list[str] = []
    kept: list[Result] = []
    for name in sorted({r.dataset for r in results}):
        on = [r for r in results if r.dataset == name]
        by_seed: dict[int, set[str]] = {}
        for r in on:
            by_seed.setdefault(r.seed, set()).add(r.clusterer)
        whole = sorted(s for s, clu in by_seed.items() if clu >= set(spec.clusterers))
        lacks = []
        absent = [c for c in spec.clusterers if not any(r.clusterer == c for r in on)]
        if absent:
            lacks.append(f"no result of {', '.join(absent)}")
        if len(whole) < spec.seeds:
            lacks.append(
                f"{len(whole)} seed(s) with every clusterer ({', '.join(map(str, whole)) or 'none'}), "
                f"the protocol needs {spec.seeds}"
            )
        if not all(is_full_partition(r) for r in on):
            lacks.append(f"a subsample of {on[0].config.get('n_samples')} samples, not the full partition")
        if lacks:
            missing.append(f"{name}: {', '.join(lacks)}")
        if partial or lacks:
            kept += on
        else:
            kept += [r for r in on if r.seed in whole]
            dropped = sorted({r.seed for r in on} - set(whole))
            if dropped:
                left_out.append(
                    f"{name}: seed(s) {', '.join(map(str, dropped))} lack some clusterer and are left "
                    "out (a record holds every clusterer for each seed)"
                )
    # a board scores a row seed by seed over the seeds all its datasets share: so must a complete record
    complete = [{r.seed for r in kept if r.dataset == name} for name in sorted({r.dataset for r in kept})]
    common = sorted(set.intersection(*complete)) if complete else []
    if len(complete) > 1 and len(common) < spec.seeds:
        missing.append(
            f"the datasets share {len(common)} seed(s) ({', '.join(map(str, common)) or 'none'}), "
            f"the protocol needs {spec.seeds} common to all"
        )
    return kept, missing
