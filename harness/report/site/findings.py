"""The paper's three findings for the published site: each one's table (a :class:`Finding`) and its figure
as PNG bytes, or why there is none.

The same analyses and figures as ``zsbench findings supervision|silhouette|knn`` with their defaults
(the study's encoder families, k = 20), from the board's sources. A finding the records cannot support
(no encoder of a known family, no complete record, no kNN accuracy) is not an error here: the site
says why it has no figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zsbench.plugin.errors import ZsbenchError
from zsbench.report.findings import Finding

KINDS = ("supervision", "silhouette", "knn")
TITLES = {
    "supervision": "Supervised against self-supervised encoders, by dataset group",
    "silhouette": "The label-free proxy: silhouette against AMI",
    "knn": "AMI against kNN accuracy",
}


@dataclass(frozen=True)
class SiteFinding:
    """One finding: its table (None when the sources cannot support it) and figure, and why either is absent."""

    kind: str
    finding: Finding | None
    png: bytes | None
    why: str | None  # why there is no figure (and, without a finding, no table)
    meta: tuple[str, ...] = ()


def findings(sources: Sequence[Any], protocol: str) -> list[SiteFinding]:
    """The three findings from the board's sources (records and, with ``--store``, a store), built as
    ``zsbench findings`` builds them with its defaults; one the sources cannot support says why."""
    from zsbench.report.findings import builds

    meta = tuple(builds.meta(sources, protocol))
    out = []
    for kind, build in (("supervision", builds.supervision), ("silhouette", builds.silhouette), ("knn", builds.knn)):
        try:
            built = build(sources, protocol)
        except ZsbenchError as exc:  # e.g. a finding its inputs cannot give; the site still builds
            out.append(SiteFinding(kind, None, None, f"no table or figure: {exc}", meta))
            continue
        png, why = builds.png(built.draw)
        out.append(SiteFinding(kind, built.finding, png, why, meta))
    return out
