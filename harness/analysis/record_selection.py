"""Which of the store's results a registry record takes: one encoder identity, one sample set per
dataset, and (unless partial) only seeds that have every protocol clusterer. Nothing is chosen
silently: where the store holds several identities or sample sets, the user names one.
"""

from __future__ import annotations

from collections.abc import Sequence

from zsbench.analysis import selection
from zsbench.analysis.records import RecordError
from zsbench.core.result import Result


def one_identity(results: Sequence[Result], encoder: str, wanted: str | None) -> str:
    """The identity a record takes: the only one, or the one ``wanted`` (a sha256 prefix) names."""
    found = selection.identities(results, encoder)
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
        sets.setdefault(selection.sample_set(r), []).append(r)
    full = [fp for fp, rs in sets.items() if all(selection.is_full_partition(r) for r in rs)]
    candidates = sorted(sets) if partial or not full else sorted(full)
    chosen = [fp for fp in sorted(sets) if any(fp.startswith(w.lower()) for w in wanted)] if wanted else candidates
    if len(chosen) != 1:

        def described(fp: str) -> str:
            ds = selection.dataset_config(sets[fp][0])
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
        if not all(selection.is_full_partition(r) for r in on):
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
