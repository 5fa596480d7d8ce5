"""The study's first finding: supervised against self-supervised encoders, by dataset group.

Lowe et al. (2024) find that supervised encoders cluster better than self-supervised (SSL) ones
within their training domain (ImageNet-like data) and worse far outside it, and that fine-tuned
encoders follow the supervised trend. This module measures that on any board.

What is compared, per dataset group (in-domain … far-OOD), on the leaderboard's ``mean`` view
(AMI x100 averaged over the protocol's clusterers and seeds, the same cells a board shows):

- **each family's level**: the mean over the family's encoders of each encoder's group score (the
  mean over the group's datasets), with a 95% t-interval over encoders;
- **the difference that carries the claim**, paired by backbone: for every encoder of a family and
  every dataset of the group, its score minus that of the supervised encoder of the same backbone
  (ResNet, ViT) on the same dataset; the mean over those pairs, with a 95% t-interval over pairs.
  Pairs share datasets, so the interval is a guide to noise, not an exact test.

An encoder's family comes from ``families`` (the caller's), else :func:`study_families` (the study's
encoders, by their zoo names, as the study protocol file's ``[families]`` declares them). Encoders in
neither are listed as unclassified and left out, never guessed.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from zsbench.analysis import board as lb
from zsbench.analysis.knn import BACKBONES, backbone
from zsbench.analysis.stats import CONFIDENCE, t_quantile
from zsbench.core.study import load_study

SUPERVISED = "supervised"
SSL = "self-supervised"
FAMILIES = (SUPERVISED, SSL, "fine-tuned", "language-supervised", "random", "pixels")
OTHER = BACKBONES[-1]  # an encoder whose name shows no known architecture
COMPARED = (SSL, "fine-tuned")  # the families each compared with the supervised encoder of its backbone


@functools.cache
def study_families() -> Mapping[str, str]:
    """The study's encoders (zsbench zoo names) -> family: protocol data, the ``[families]`` table of the
    study protocol file (study-1.toml), read through :func:`zsbench.core.study.load_study`."""
    return MappingProxyType(dict(load_study("1").families))


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float | None  # None with fewer than two replicates
    high: float | None
    n: int  # replicates: encoders for a family's level, (encoder, dataset) pairs for a difference

    def to_json(self) -> dict[str, float | int | None]:
        return {"mean": round(self.mean, 4), "low": _r(self.low), "high": _r(self.high), "n": self.n}


@dataclass(frozen=True)
class Group:
    name: str
    datasets: list[str]
    levels: dict[str, Interval]  # family -> level
    differences: dict[str, Interval]  # family -> its difference from supervised, paired by backbone


@dataclass
class Supervision:
    protocol: str
    groups: list[Group]
    families: dict[str, str]  # encoder (as on the board) -> family
    unclassified: list[str]
    notes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # names in ``families`` that no encoder on the board has

    @property
    def shown_families(self) -> list[str]:
        present = set(self.families.values())
        return [f for f in FAMILIES if f in present] + sorted(present - set(FAMILIES))


def family_of(encoder: str, families: Mapping[str, str]) -> str | None:
    """The family the caller gave, else the study's; a board label such as ``name (record.json)`` counts as
    its encoder name."""
    for name in (encoder, encoder.split(" (", 1)[0]):
        if name in families:
            return families[name]
    return study_families().get(encoder.split(" (", 1)[0])


def interval(values: Sequence[float]) -> Interval | None:
    if not values:
        return None
    mean = statistics.fmean(values)
    if len(values) < 2:
        return Interval(mean, None, None, len(values))
    half = t_quantile(0.5 + CONFIDENCE / 2, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return Interval(mean, mean - half, mean + half, len(values))


def compare(
    results: Iterable,
    *,
    protocol: str = "1",
    families: Mapping[str, str] | None = None,
    encoders: Sequence[str] = (),
    datasets: Sequence[str] | None = None,
) -> Supervision:
    """The finding from sources or results (see :func:`zsbench.analysis.board.build`)."""
    board = lb.build(results, protocol=protocol, view=lb.MEAN, datasets=datasets or None)
    given = dict(families or {})
    fams: dict[str, str] = {}
    scores: dict[str, dict[str, float]] = {}  # encoder -> dataset -> AMI x100 (mean over clusterers, seeds)
    unclassified = []
    on_board = {n for row in board.rows for n in (row.label, row.label.split(" (", 1)[0], row.encoder)}
    for row in board.rows:
        if row.partial or (encoders and row.encoder not in encoders):
            continue
        family = family_of(row.label, given)
        if family is None:
            unclassified.append(row.label)
            continue
        view = row.views.get(lb.MEAN)
        mine = {d: s.mean for d, s in (view.datasets.items() if view else ()) if s is not None}
        if mine:
            fams[row.label], scores[row.label] = family, mine
    anchors = _anchors(fams)
    groups = []
    for g in board.groups:
        names = [d.name for d in board.datasets if d.group == g]
        levels: dict[str, Interval] = {}
        for fam in {*fams.values()}:
            per_encoder = [
                statistics.fmean(s[d] for d in names)
                for e, s in sorted(scores.items())
                if fams[e] == fam and all(d in s for d in names)
            ]
            if (level := interval(per_encoder)) is not None:
                levels[fam] = level
        differences: dict[str, Interval] = {}
        for fam in sorted({*fams.values()} - {SUPERVISED}):
            pairs = [
                scores[e][d] - scores[anchors[backbone(e)]][d]
                for e in sorted(fams)
                if fams[e] == fam and backbone(e) in anchors
                for d in names
                if d in scores[e] and d in scores[anchors[backbone(e)]]
            ]
            if (diff := interval(pairs)) is not None:
                differences[fam] = diff
        groups.append(Group(g, names, levels, differences))
    notes = list(board.notes)
    known = {backbone(e) for e in fams} - {OTHER}
    if len({backbone(e) for e, f in fams.items() if f == SUPERVISED} - {OTHER}) < len(known):
        notes.append("a backbone without a supervised encoder on the board: its encoders have no paired difference")
    if any(backbone(e) == OTHER for e in fams):
        notes.append(
            "encoders of no known backbone (neither ResNet nor ViT by name) count in the levels but "
            "have no paired difference: " + ", ".join(sorted(e for e in fams if backbone(e) == OTHER))
        )
    for bb, anchor in sorted(anchors.items()):
        several = sorted(e for e, f in fams.items() if f == SUPERVISED and backbone(e) == bb)
        if len(several) > 1:
            notes.append(f"{bb}: several supervised encoders ({', '.join(several)}); differences pair with {anchor}")
    unmatched = sorted(n for n in given if n not in on_board)
    return Supervision(
        board.protocol_version, groups, fams, sorted(unclassified), notes, list(board.sources), unmatched
    )


def _anchors(fams: Mapping[str, str]) -> dict[str, str]:
    """Backbone -> the supervised encoder the backbone's others are paired with (the first by name). An
    encoder of no known backbone is paired with none: "other" is not an architecture."""
    anchors: dict[str, str] = {}
    for e in sorted(fams):
        if fams[e] == SUPERVISED and backbone(e) != OTHER:
            anchors.setdefault(backbone(e), e)
    return anchors


def parse_families(pairs: Iterable[str]) -> dict[str, str]:
    """``["NAME=FAMILY", ...]`` from ``--family``; a malformed one is a ValueError naming it."""
    out: dict[str, str] = {}
    for item in pairs:
        name, sep, fam = item.rpartition("=")  # a family has no "=", an encoder name may
        name, fam = name.strip(), fam.strip()
        if not sep or not name or not fam:
            raise ValueError(f"--family {item!r}: write ENCODER=FAMILY, e.g. --family my-model={SSL}")
        if out.get(name, fam) != fam:
            raise ValueError(f"--family {name!r} given twice, as {out[name]!r} and {fam!r}; give one family")
        out[name] = fam
    return out


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
