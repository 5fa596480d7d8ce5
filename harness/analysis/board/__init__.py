"""The leaderboard: per encoder, AMI x100 per dataset, dataset group and overall, with intervals and ranks.

Rules, so that a board can be trusted and rebuilt:

- One protocol version per board. Per dataset, only results on one sample set compare: the
  fingerprint most rows used (ties: the smallest hash); other results are left out with a note.
- A cell is (row, dataset, clusterer); per seed it holds the AMI of the latest result. A *view* is
  one clusterer, or ``mean``: the average over the protocol's clusterers (those some row scored on
  that dataset, so one that none could run there is left out for all). A dataset's score in a
  view, a group's (mean over its datasets) and the overall (mean over all the board's datasets)
  are computed per seed, over the seeds every part has, then summarised as mean and 95%
  t-interval over seeds. A row missing a part gets no score there rather than a flattering one.
- Ranks are intervals: A ranks above B only when Welch's t-test over their per-seed overall scores
  says so (one-sided, 2.5%). Seeds of different encoders share only a random state, so they are not
  paired. Rows that cannot be told apart share a range ("1–3").
- A row is one encoder identity from one source; the suite (the datasets most rows cover, or
  those asked for) is what rows are scored and ranked on; only rows with every suite dataset and
  every clusterer of a view, from no partial record, are ranked in it.
- Output is deterministic: inputs are sorted before aggregation and numbers are rounded, so two
  builds from the same records are byte-identical. Rendering is :mod:`zsbench.report.board`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from zsbench.analysis import selection
from zsbench.analysis.board.rows import LOCAL, Dataset, Row, label_rows, lacks, rank, row_order, view_scores
from zsbench.analysis.stats import finite
from zsbench.core.identity import short
from zsbench.core.result import Result
from zsbench.engine.knn import KNN_VERSION

GROUPS = ("in-domain", "domain-shift", "near-OOD", "fine-grained", "far-OOD")  # the study's order
MEAN = "mean"  # the view averaged over the protocol's clusterers


@dataclass
class Leaderboard:
    protocol_version: str
    view: str
    views: list[str]
    clusterers: list[str]
    groups: list[str]
    datasets: list[Dataset]  # the suite: the datasets rows are scored and ranked on
    rows: list[Row]
    sources: list[str]
    notes: list[str]  # refused records last, as refusal() lines
    failed: int
    refused: list[tuple[str, str]] = field(default_factory=list)  # (record file, reason), each left out

    def cells(self, row: Row) -> list[tuple[str, str]]:
        order = {d.name: i for i, d in enumerate(self.datasets)}
        clu = {c: i for i, c in enumerate(self.clusterers)}
        return sorted((k for k in row.ami if k[0] in order), key=lambda k: (order[k[0]], clu[k[1]]))

    @property
    def suite(self) -> list[str]:
        return [d.name for d in self.datasets]


def refusal(file: str, reason: str) -> str:
    """A refused record as every format lists it under the board (the table: one stderr line each)."""
    return f"refused: {file}: {reason}"


def build(
    results: Iterable[Any],
    *,
    protocol: str = "1",
    view: str = MEAN,
    datasets: Sequence[str] | None = None,
    all_identities: bool = False,
    refused: Sequence[tuple[str, str]] = (),
    record_notes: Sequence[str] = (),
) -> Leaderboard:
    """A board from ``Source`` objects (see :func:`zsbench.analysis.board.sources.gather`) or plain results.

    ``datasets`` is the suite to compare (default: the datasets most rows cover). Each row is one
    encoder identity from one source; by default only the latest identity of each encoder name per
    source is shown (``all_identities`` shows each as its own row). ``refused`` (file, reason) and
    ``record_notes`` come from gathering the records: the board lists them.
    """
    from zsbench.core.protocol import load_spec
    from zsbench.plugin.errors import ZsbenchError

    spec = load_spec(protocol)
    sources: list[tuple[str, list[Result], bool]] = []
    loose: list[Result] = []
    for item in results:
        if isinstance(item, Result):
            loose.append(item)
        else:
            sources.append((item.name, list(item.results), bool(getattr(item, "partial", False))))
    if loose:
        sources.append((LOCAL, loose, False))
    notes: list[str] = list(record_notes)
    # kNN rows (zsbench run --knn) are not a clustering protocol: never counted as left out
    other_protocols = sum(
        1 for _, rs, _ in sources for r in rs if r.protocol_version not in (spec.version, KNN_VERSION)
    )
    if other_protocols:
        notes.append(
            f"{other_protocols} result(s) of other protocol versions left out "
            f"(this board is protocol {spec.version}; see --protocol)"
        )

    # per source: the latest result per cell, of each encoder's latest identity (unless all are asked for)
    latest: dict[tuple, Result] = {}
    partial_sources = {name for name, _, partial in sources if partial}
    for name, rs, _ in sources:
        mine = [r for r in rs if r.protocol_version == spec.version]
        newest = selection.current(mine)
        hidden: dict[str, set[str]] = {}
        for r in selection.latest(mine):
            sha = selection.identity(r)
            if not all_identities and sha != newest[r.encoder]:
                hidden.setdefault(r.encoder, set()).add(sha)
                continue
            red, clu = spec.cell(r.reducer, r.clusterer)  # the study's cells: its clusterers, by name
            latest[(r.encoder, sha, red, name, r.dataset, selection.sample_set(r), clu, r.seed)] = r
        for enc, shas in sorted(hidden.items()):
            where = "" if name == LOCAL else f" in {name}"
            notes.append(
                f"{enc}: {len(shas)} earlier identit{'y' if len(shas) == 1 else 'ies'}{where} hidden "
                f"({', '.join(sorted(short(s) for s in shas))}); the board shows the latest, "
                f"{short(newest[enc])} (--all-identities shows each as its own row)"
            )
    failed = sum(1 for r in latest.values() if not _scored(r))
    unscorable = sum(1 for r in latest.values() if r.ok and r.ami is not None and not _scored(r))
    if unscorable:
        notes.append(
            f"{unscorable} result(s) left out as not scored: their AMI, silhouette or cluster count is "
            "not a finite number (NaN or infinity); run them again"
        )

    # one sample set per dataset: the fingerprint most rows used
    users: dict[str, dict[str, set]] = {}
    for (enc, sha, red, src, ds, fp, _, _), r in latest.items():
        if _scored(r):
            users.setdefault(ds, {}).setdefault(fp, set()).add((enc, sha, red, src))
    chosen = {ds: min(fps, key=lambda fp: (-len(fps[fp]), fp)) for ds, fps in users.items()}
    for ds, fps in sorted(users.items()):
        for fp, rows_ in sorted(fps.items()):
            if fp != chosen[ds]:
                who = ", ".join(sorted(f"{e}" + (f" ({red})" if red != spec.reducer else "") for e, _, red, _ in rows_))
                notes.append(
                    f"{ds}: results of {who} left out: their sample set (fingerprint {fp[:8]}) differs "
                    f"from the board's ({chosen[ds][:8]}), e.g. another --max-samples or data version"
                )

    rows: dict[tuple[str, str, str, str], Row] = {}
    info: dict[str, Dataset] = {}
    clusterers: set[str] = set()
    for (enc, sha, red, src, ds, fp, clu, seed), r in sorted(latest.items(), key=lambda kv: _sort_key(kv[0])):
        if not _scored(r) or fp != chosen.get(ds):
            continue
        row = rows.setdefault((enc, sha, red, src), Row(enc, sha, red, src, {}, {}, {}, partial=src in partial_sources))
        assert r.ami is not None  # _scored: a finite AMI
        row.ami.setdefault((ds, clu), {})[seed] = 100.0 * float(r.ami)
        if r.metrics.get("silhouette_proxy") is not None:
            row.silhouette.setdefault((ds, clu), {})[seed] = float(r.metrics["silhouette_proxy"])
        if r.metrics.get("n_clusters") is not None:
            row.n_clusters.setdefault((ds, clu), {})[seed] = float(r.metrics["n_clusters"])
        clusterers.add(clu)
        if ds not in info:
            dsc = selection.dataset_config(r)
            group = (dsc.get("info") or {}).get("group") or dsc.get("group") or "other"
            info[ds] = Dataset(ds, str(group), fp, r.metrics.get("n_samples"), r.metrics.get("n_classes"))

    # the suite: the datasets rows are compared on
    coverage = {ds: sum(1 for row in rows.values() if any(k[0] == ds for k in row.ami)) for ds in info}
    if datasets:
        unknown = [d for d in datasets if d not in info]
        if unknown:
            raise ZsbenchError(
                f"no results on {', '.join(map(repr, unknown))} for this board; datasets with "
                f"results: {', '.join(sorted(info)) or 'none'}"
            )
        suite = list(dict.fromkeys(datasets))
    else:
        most = max(coverage.values(), default=0)
        suite = [ds for ds in info if coverage[ds] == most]
        outside = sorted(ds for ds in info if coverage[ds] < most)
        if outside:
            notes.append(
                f"not in the suite, as fewer rows have them (rows with each: "
                f"{', '.join(f'{ds} {coverage[ds]}' for ds in outside)}; suite datasets: {most}): "
                f"{', '.join(outside)}; choose the suite with --dataset"
            )
    info = {ds: d for ds, d in info.items() if ds in suite}

    standard = list(spec.clusterers)
    ordered = sorted(clusterers, key=lambda c: (standard.index(c) if c in standard else len(standard), c))
    in_mean = [c for c in standard if c in clusterers]
    groups = sorted(
        {d.group for d in info.values()}, key=lambda g: (GROUPS.index(g) if g in GROUPS else len(GROUPS), g)
    )
    board_datasets = sorted(info.values(), key=lambda d: (groups.index(d.group), d.name))
    views = ([MEAN] if in_mean else []) + ordered
    # The mean view of a dataset averages the protocol's clusterers that some row scored on it: one
    # no row could run there (affinity propagation refused by the memory guard on a large dataset)
    # leaves every row alike, while a row missing one that others have gets no score.
    averaged = {
        d.name: [c for c in in_mean if any((d.name, c) in row.ami for row in rows.values())] for d in board_datasets
    }
    for d in board_datasets:
        absent = [c for c in in_mean if c not in averaged[d.name]]
        if absent:
            notes.append(
                f"{d.name}: the mean over clusterers leaves out {', '.join(absent)}, which no row has "
                "a result for there"
            )
    if view not in views and rows:
        raise ZsbenchError(f"no view {view!r} on this board; choose one of {', '.join(views)}")
    board_rows = list(rows.values())
    label_rows(board_rows)
    for row in board_rows:
        for name in views:
            needed = averaged if name == MEAN else {d.name: [name] for d in board_datasets}
            row.views[name] = view_scores(row, needed, board_datasets, groups)
            row.lacks[name] = lacks(row, row.views[name], needed, board_datasets)
    for name in views:
        rank(board_rows, name)
    board_rows.sort(key=lambda row: row_order(row, view))
    for row in board_rows:
        if row.lacks.get(view):
            notes.append(f"unranked: {row.label} ({short(row.identity)}) lacks {'; '.join(row.lacks[view])}")
    notes += [refusal(file, reason) for file, reason in refused]
    return Leaderboard(
        spec.version,
        view,
        views,
        ordered,
        groups,
        board_datasets,
        board_rows,
        sorted(name for name, _, _ in sources),
        notes,
        failed,
        list(refused),
    )


def _scored(r: Result) -> bool:
    """An ok result whose AMI, and the other metrics a board averages, are finite numbers: a store's
    JSON may hold NaN or infinity, which would poison every mean it enters."""
    return (
        r.ok
        and finite(r.ami)
        and all(r.metrics.get(m) is None or finite(r.metrics[m]) for m in ("silhouette_proxy", "n_clusters"))
    )


def _sort_key(key: tuple) -> tuple:
    return tuple("" if v is None else v for v in key)
