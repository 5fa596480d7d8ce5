"""``zsbench check``: the CI gate for a model release (:mod:`zsbench.analysis.gate`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zsbench.analysis.gate import ALPHA, TOLERANCE
from zsbench.cli.common import err, stdout, user_errors
from zsbench.plugin.errors import ZsbenchError, check_seed

if TYPE_CHECKING:
    from zsbench.core.result import Result


def check(
    baseline: Annotated[Path, typer.Option(help="The baseline registry record (see `zsbench submit`).")],
    encoder: Annotated[
        str | None,
        typer.Option(
            help="Run this encoder on the baseline's suite; NAME or NAME:key=value,... (default: the baseline's "
            "encoder)."
        ),
    ] = None,
    candidate: Annotated[
        Path | None, typer.Option(help="Read the candidate's results from this record instead of running it.")
    ] = None,
    dataset: Annotated[
        list[str] | None, typer.Option(help="Only these datasets of the baseline, repeatable (default: all of them).")
    ] = None,
    clusterer: Annotated[
        list[str] | None, typer.Option(help="Only these clusterers of the baseline, repeatable (default: all of them).")
    ] = None,
    seeds: Annotated[
        int | None,
        typer.Option(
            min=2,
            help="Seeds to run (default: the protocol's 3; a baseline with more seeds gives the test more "
            "power at no cost to the check).",
        ),
    ] = None,
    first_seed: Annotated[
        int | None,
        typer.Option(
            min=0, help="First seed to run (default: the baseline's first, so an unchanged model reproduces it)."
        ),
    ] = None,
    max_samples: Annotated[
        int | None,
        typer.Option(
            min=2, help="Subsample size of a smoke suite; must match the baseline's (default: the baseline's)."
        ),
    ] = None,
    time_budget: Annotated[
        float | None,
        typer.Option(min=0, help="Seconds; datasets not started within it are not run and the check fails."),
    ] = None,
    alpha: Annotated[
        float,
        typer.Option(
            min=1e-6, max=0.5, help="One-sided false-alarm level of the suite test (per dataset: alpha / datasets)."
        ),
    ] = ALPHA,
    tolerance: Annotated[
        float, typer.Option(min=0, help="Drops smaller than this many AMI x100 points always pass.")
    ] = TOLERANCE,
    markdown: Annotated[Path | None, typer.Option(help="Write a Markdown summary here (a PR comment).")] = None,
    junit: Annotated[Path | None, typer.Option(help="Write JUnit XML here.")] = None,
    weights: Annotated[Path | None, typer.Option(help="A local weights file for the candidate encoder.")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Where datasets live.")] = None,
    store: Annotated[Path | None, typer.Option(help="Results store for the candidate's run.")] = None,
    cache: Annotated[Path | None, typer.Option(help="Artifact cache for the candidate's run.")] = None,
) -> None:
    """Fail (exit 1) when a candidate's AMI drops below its baseline record's by more than seed noise."""
    from zsbench.analysis import gate, records
    from zsbench.analysis.board.sources import record_results
    from zsbench.analysis.gate.comparable import require_comparable
    from zsbench.analysis.records.validation import validate
    from zsbench.core.protocol import load_spec
    from zsbench.report.gate import junit as junit_xml
    from zsbench.report.gate import markdown as markdown_text
    from zsbench.report.gate import verdict

    start = time.perf_counter()
    with user_errors():
        from zsbench.engine.limits import check_samples, check_seeds

        check_seeds(seeds or 1)  # the counts, before anything is read or planned
        check_seed(first_seed or 0, "--first-seed")
        check_samples(max_samples)
        problems = validate(baseline)
        if problems:
            raise records.RecordError(problems[0])
        record = records.read(baseline)
        try:
            load_spec(record["protocol_version"])
        except ZsbenchError:
            raise ZsbenchError(
                f"the baseline {baseline} is of protocol {record['protocol_version']}, which this "
                "zsbench does not run (`zsbench list protocols`): check with the zsbench that made it, "
                "or make the baseline again with this one (`zsbench baseline`)"
            ) from None
        suite_datasets = _subset("dataset", dataset, list(record["datasets"]), baseline)
        suite_clusterers = _subset("clusterer", clusterer, record["clusterers"], baseline)
        base_results = record_results(record)
        notes: list[str] = []
        incomplete = None
        if candidate is not None:
            if encoder or weights or seeds or first_seed is not None or max_samples:
                raise ZsbenchError(
                    "--candidate reads finished results; --encoder, --weights, --seeds, --first-seed "
                    "and --max-samples apply only when the check runs the candidate"
                )
            problems = validate(candidate)
            if problems:
                raise records.RecordError(problems[0])
            cand_record = records.read(candidate)
            cand_results = record_results(cand_record)
            name = f"{cand_record['encoder']['name']} ({candidate.name})"
        else:
            name = encoder or record["encoder"]["name"]
            n = seeds or load_spec(record["protocol_version"]).seeds
            first = record["seeds"][0] if first_seed is None else first_seed
            seed_list = [check_seed(s, "--first-seed + --seeds") for s in range(first, first + n)]
            cand_results, incomplete = _run(
                record,
                name,
                suite_datasets,
                suite_clusterers,
                seed_list,
                max_samples,
                time_budget,
                start,
                weights,
                data_dir,
                store,
                cache,
                baseline,
            )
            notes.append(
                f"candidate seeds {seed_list[0]}–{seed_list[-1]}; baseline seeds {', '.join(map(str, record['seeds']))}"
            )
        if candidate is not None:
            lacking = [d for d in suite_datasets if not any(r.dataset == d for r in cand_results)]
            if lacking:
                raise ZsbenchError(
                    f"the candidate {candidate} has no results on {', '.join(lacking)} of the baseline "
                    f"{baseline}'s suite; compare like with like: --dataset names what both have"
                )
        require_comparable(record, cand_results, suite_datasets, suite_clusterers, str(baseline))
        if cand_results:  # nothing ran (a spent time budget): no identity to compare
            notes.append(_identity_note(record["encoder"], cand_results))
        else:
            notes = [n for n in notes if not n.startswith("candidate seeds")]
        report = gate.compare(
            base_results,
            cand_results,
            baseline_name=f"{record['encoder']['name']} ({baseline.name})",
            candidate_name=name,
            datasets=suite_datasets,
            clusterers=suite_clusterers,
            alpha=alpha,
            tolerance=tolerance,
        )
        report.incomplete = incomplete
        report.notes += notes
        report.seconds = time.perf_counter() - start
        _write(markdown, markdown_text(report))
        _write(junit, junit_xml(report))
    stdout().print(markdown_text(report), markup=False, highlight=False)
    if not report.passed:
        err.print(verdict(report), highlight=False)
        raise typer.Exit(1)


def _subset(kind: str, chosen: list[str] | None, available: list[str], baseline: Path) -> list[str]:
    if not chosen:
        return available
    unknown = [c for c in chosen if c not in available]
    if unknown:
        raise ZsbenchError(
            f"{kind} {', '.join(unknown)} is not in the baseline {baseline} (it has "
            f"{', '.join(available)}); drop it or submit a baseline that includes it"
        )
    return list(chosen)


def check_store() -> Path:
    """Where a check keeps the candidate's results unless --store is given: beside the default store
    and never it (``results.sqlite`` -> ``results.check.sqlite``: a name derived from the user's, so
    it cannot be the same file), so a candidate's weights never reach the user's leaderboard or
    submissions; persistent, so re-running a check reuses what finished."""
    from zsbench.storage.store import default_path

    store = default_path()
    return store.with_name(f"{store.stem}.check{store.suffix or '.sqlite'}")


def _run(
    record: dict[str, Any],
    encoder: str,
    datasets: list[str],
    clusterers: list[str],
    seeds: list[int],
    max_samples: int | None,
    budget: float | None,
    start: float,
    weights,
    data_dir,
    store,
    cache,
    baseline: Path,
):
    from zsbench import api
    from zsbench.engine.request import RunRequest
    from zsbench.report.console import styled
    from zsbench.report.progress import RichProgress

    store = store if store is not None else check_store()

    results: list[Result] = []
    with RichProgress() as progress:
        for i, name in enumerate(datasets):
            elapsed = time.perf_counter() - start
            if budget is not None and elapsed > budget:
                left = ", ".join(datasets[i:])
                return results, (
                    f"time budget of {budget:g} s used up after {elapsed:.0f} s; not run: {left}. Raise "
                    "--time-budget, or use a smaller suite (--dataset, --clusterer, --max-samples)"
                )
            described = record["datasets"][name]
            wanted = described.get("max_samples")
            if max_samples is not None and max_samples != wanted:
                raise ZsbenchError(
                    f"--max-samples {max_samples} differs from the baseline's for {name} "
                    f"({wanted or 'all samples'}) in {baseline}; results compare only on the same samples: drop "
                    "--max-samples or make a baseline with it"
                )
            run = api.run_request(
                RunRequest(
                    encoders=encoder,
                    datasets=name,
                    clusterers=clusterers,
                    seeds=seeds,
                    store=store,
                    cache=cache,
                    protocol=str(record["protocol_version"]),
                    encoder_options={"weights": str(weights)} if weights else None,
                    dataset_options={"data_dir": str(data_dir)} if data_dir else None,
                    max_samples=wanted,
                    subsample_seed=described.get("subsample_seed", 0),
                ),
                progress,
            )
            for r in run.failed:
                err.print(
                    styled("failed", "red", f"{r.dataset} / {r.clusterer} seed {r.seed}: {r.error}"), highlight=False
                )
            results += run.results
    return results, None


def _identity_note(baseline: dict[str, Any], results) -> str:
    """What truly changed in the encoder between the baseline and the candidate: the identity fields
    and options that differ as JSON values (a tuple and a list of the same numbers do not)."""
    from zsbench.analysis import selection
    from zsbench.core.identity import differences, short

    candidate = next((r.config.get("encoder") or {} for r in results), {})
    shas = next(
        (
            f"candidate identity {short(selection.identity(r))}, baseline "
            f"{short(str(baseline.get('identity_sha256', '')))}: "
            for r in results
        ),
        "",
    )
    changed = differences(
        {"identity": baseline.get("identity") or {}, "options": baseline.get("options") or {}},
        {"identity": candidate.get("identity") or {}, "options": candidate.get("options") or {}},
    )
    changed = [c.removeprefix("identity.") for c in changed]
    if not changed:
        return shas + "the candidate's encoder identity (weights, preprocessing, options) equals the baseline's"
    return shas + "encoder identity differs from the baseline's in: " + ", ".join(changed)


def _write(path: Path | None, text: str) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ZsbenchError(f"cannot write {path}: {exc.strerror or exc}; pass another path") from None
