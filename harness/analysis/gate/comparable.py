"""Whether a candidate's results compare with a gate baseline's: like with like, or one line why not.

The gate's test is only meaningful between results that differ in the encoder alone: the same
protocol version, the same reducer and clusterer settings (seeds aside), and the same samples of
each dataset. Anything else (a baseline made by another zsbench whose protocol or library defaults
moved, a candidate record of another subsample, a clusterer the candidate never ran) would show up
as a "regression" or hide one, so it is refused, naming what differs and how to remake the baseline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from zsbench.analysis.records import RecordError
from zsbench.core.result import Result

REMAKE = "make the baseline again with this zsbench (`zsbench baseline`), or check with the zsbench that made it"
SEED_PARAMS = ("random_state",)  # the seed, which the candidate draws from the baseline's on purpose


def settings(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """A reducer's or clusterer's recorded settings without the seed: what must match between the two sides."""
    config = config or {}
    params = {k: v for k, v in (config.get("params") or {}).items() if k not in SEED_PARAMS}
    return {"class": config.get("class"), "params": params}


def _differing(mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> list[str]:
    def canon(value: Any) -> str:
        return json.dumps(value, sort_keys=True, default=str)

    names = sorted(set(mine["params"]) | set(theirs["params"]))
    out = [
        f"{k}: {canon(mine['params'].get(k))} vs {canon(theirs['params'].get(k))}"
        for k in names
        if canon(mine["params"].get(k)) != canon(theirs["params"].get(k))
    ]
    if mine["class"] != theirs["class"]:
        out.insert(0, f"class: {mine['class']} vs {theirs['class']}")
    return out


def _baseline_settings(record: Mapping[str, Any], what: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(dataset, clusterer) -> the baseline's settings of ``what`` ("reducer" or "clusterer")."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in record["results"]:
        if entry.get("status") == "ok" and what in entry.get("config", {}):
            out.setdefault((entry["dataset"], entry["clusterer"]), settings(entry["config"][what]))
    return out


def require_comparable(
    record: Mapping[str, Any],
    results: Iterable[Result],
    datasets: Sequence[str],
    clusterers: Sequence[str],
    baseline: str,
) -> None:
    """Raise one line unless ``results`` (the candidate's) compare with the baseline ``record`` on the suite
    (``datasets`` x ``clusterers``): protocol, reducer, clusterer settings and sample set of every cell."""
    results = [r for r in results if r.dataset in datasets and r.clusterer in clusterers]
    protocol = str(record["protocol_version"])
    for r in results:
        if str(r.protocol_version) != protocol:
            raise RecordError(
                f"the candidate's results are of protocol {r.protocol_version} and the baseline "
                f"{baseline} of protocol {protocol}: scores of two protocols are never compared; "
                f"{REMAKE}"
            )
        if r.reducer != record["reducer"]:
            raise RecordError(
                f"the candidate's {r.dataset} results were reduced with {r.reducer} and the baseline "
                f"{baseline}'s with {record['reducer']}; {REMAKE}"
            )
        theirs = record["datasets"][r.dataset]
        mine = (r.config.get("dataset") or {}).get("fingerprint")
        if mine != theirs["fingerprint"]:
            sample = lambda d: f"{d['max_samples']} samples" if d.get("max_samples") else "the full partition"  # noqa: E731
            raise RecordError(
                f"the candidate's samples of {r.dataset} ({sample(r.config.get('dataset') or {})}, fingerprint "
                f"{str(mine)[:8]}) differ from the baseline's ({sample(theirs)}, {theirs['fingerprint'][:8]}) in "
                f"{baseline}: another data version, split or --max-samples; scores compare only on the same samples"
            )
    for what in ("reducer", "clusterer"):
        base = _baseline_settings(record, what)
        for r in results:
            if not r.ok or (r.dataset, r.clusterer) not in base or what not in r.config:
                continue
            diff = _differing(settings(r.config[what]), base[(r.dataset, r.clusterer)])
            if diff:
                label = r.reducer if what == "reducer" else r.clusterer
                raise RecordError(
                    f"the {what} {label} of the candidate runs with other settings than the baseline "
                    f"{baseline}'s on {r.dataset} (candidate vs baseline: {'; '.join(diff[:3])}"
                    f"{' ...' if len(diff) > 3 else ''}); {REMAKE}"
                )
    ran = {(r.dataset, r.clusterer) for r in results}
    # a dataset the candidate did not reach (a spent --time-budget) is the gate's to report, not a mismatch
    reached = {r.dataset for r in results}
    absent = [f"{d} / {c}" for d in datasets if d in reached for c in clusterers if (d, c) not in ran]
    if absent:
        raise RecordError(
            f"the candidate has no results for {', '.join(absent)} of the baseline {baseline}'s suite "
            f"(clusterers {', '.join(clusterers)}): compare like with like, with --clusterer and "
            "--dataset naming what both have"
        )
