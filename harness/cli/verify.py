"""``zsbench verify``: re-score a record from its labels (:mod:`zsbench.analysis.records.verification`) and, with
``--reproduce``, re-run a share of its cells with the installed encoder (:mod:`zsbench.analysis.records.reproduction`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from zsbench.cli.common import err, stdout, user_errors
from zsbench.core.names import shown
from zsbench.plugin.errors import ZsbenchError


def verify(
    record: Annotated[Path, typer.Argument(help="A record file with its labels archive beside it.")],
    reproduce: Annotated[
        bool,
        typer.Option(
            "--reproduce",
            help="Also re-run cells with the installed encoder plugin the record names, on the record's "
            "samples, and compare each AMI with the record's (needs the data and weights).",
        ),
    ] = False,
    seeds: Annotated[
        int | None,
        typer.Option(
            min=1, help="With --reproduce: seeds re-run per dataset x clusterer (default 1: the record's first)."
        ),
    ] = None,
    all_seeds: Annotated[
        bool, typer.Option("--all", help="With --reproduce: re-run every seed of every cell.")
    ] = False,
    choose_seeds: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="With --reproduce: pick the seeds re-run at random, seeded by this number (e.g. a CI run id), "
            "instead of the record's first ones, so a submitter cannot know which are checked.",
        ),
    ] = None,
    tolerance: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="With --reproduce: AMI x100 points any re-run cell may differ from the record (default: its "
            "clusterer's, 5.5 to 15, calibrated on cross-machine UMAP noise; see registry/README.md).",
        ),
    ] = None,
    weights: Annotated[
        Path | None,
        typer.Option(
            help="With --reproduce: a local weights file for the encoder (the record names its file and sha256)."
        ),
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="With --reproduce: where datasets live.")] = None,
    cache: Annotated[
        Path | None,
        typer.Option(
            help="With --reproduce: artifact cache (default: $ZSBENCH_CACHE or the user cache dir; keyed by content). "
            "The re-run's results go to a temporary store, never yours."
        ),
    ] = None,
) -> None:
    """Re-score a record from its stored labels, and with --reproduce re-run it; exit 1 when a score does not follow."""
    from zsbench.analysis.records.verification import verify as rescore

    with user_errors():
        given = [
            o
            for o, v in (
                ("--seeds", seeds),
                ("--all", all_seeds or None),
                ("--choose-seeds", choose_seeds),
                ("--tolerance", tolerance),
                ("--weights", weights),
                ("--data-dir", data_dir),
                ("--cache", cache),
            )
            if v is not None
        ]
        if given and not reproduce:
            raise ZsbenchError(f"{', '.join(given)} apply only with --reproduce; add it or drop them")
        if all_seeds and seeds is not None:
            raise ZsbenchError("--all re-runs every seed and --seeds N some of them; give one")
        from zsbench.engine.limits import check_seeds
        from zsbench.plugin.errors import check_seed

        check_seeds(seeds or 1)  # the counts, before the record is read
        check_seed(choose_seeds or 0, "--choose-seeds")
        report = rescore(record)
    for line in report.mismatches:
        stdout().print(f"{record}: {line}", highlight=False, soft_wrap=True)  # escaped by the console
    if report.mismatches:
        err.print(
            f"{record}: FAILED: {len(report.mismatches)} mismatch(es) in {report.checked} re-scored result(s)",
            highlight=False,
        )
        raise typer.Exit(1)
    err.print(
        f"{record}: verified: {report.checked} result(s) re-scored from their labels agree with the "
        "record (silhouettes need the UMAP spaces and are not re-checked)",
        highlight=False,
    )
    if reproduce:
        _reproduce(record, None if all_seeds else (seeds or 1), choose_seeds, tolerance, weights, data_dir, cache)


def _reproduce(
    path: Path,
    seeds: int | None,
    choose: int | None,
    tolerance: float | None,
    weights: Path | None,
    data_dir: Path | None,
    cache: Path | None,
) -> None:
    from zsbench import api
    from zsbench.analysis import records
    from zsbench.analysis.records import reproduction
    from zsbench.report.progress import RichProgress

    with user_errors():
        record = records.read(path)
        plan = reproduction.prepare(
            record, path, seeds=seeds, choose=choose, weights=str(weights) if weights is not None else None
        )
        dataset_options = {"data_dir": str(data_dir)} if data_dir else None
        results = []
        with RichProgress() as progress, tempfile.TemporaryDirectory(prefix="zsbench-reproduce-") as tmp:
            reproduction.check_samples(record, path, plan.jobs, progress, dataset_options)
            for job in plan.jobs:
                run = api.run(
                    plan.encoder,
                    job.dataset,
                    clusterers=list(job.clusterers),
                    seeds=list(job.seeds),
                    store=Path(tmp) / "results.sqlite",
                    cache=cache,
                    protocol=str(record["protocol_version"]),
                    progress=progress,
                    encoder_options=plan.options or None,
                    dataset_options=dataset_options,
                    max_samples=job.max_samples,
                    subsample_seed=job.subsample_seed,
                    skip_bad=job.skip_bad,
                )
                results += run.results
        outcome = reproduction.compare(record, path, plan, results, tolerance)
    out = stdout()
    out.print(
        f"{'dataset':<20} {'clusterer':<22} {'seed':>6} {'recorded':>9} {'reproduced':>10} {'difference':>10} "
        f"{'tolerance':>9}  verdict",
        highlight=False,
        markup=False,
    )
    for c in outcome.cells:
        got, diff = ("failed", "") if c.reproduced is None else (f"{c.reproduced:.2f}", f"{c.difference:+.2f}")
        verdict = "agree" if c.agrees else "DISAGREE" + (f" ({shown(c.error, 200)})" if c.error else "")
        out.print(
            f"{shown(c.dataset, 40):<20} {shown(c.clusterer, 40):<22} {c.seed:>6} {c.recorded:>9.2f} {got:>10} "
            f"{diff:>10} {c.tolerance:>9.1f}  {verdict}",
            highlight=False,
            markup=False,
        )
    for note in plan.notes:
        err.print(f"{path}: note: {note}", highlight=False)
    n, bad = len(outcome.cells), len(outcome.disagreements)
    seeds_said = (
        "every seed"
        if seeds is None
        else f"{seeds} seed(s)"
        + (f" chosen with --choose-seeds {choose}" if choose is not None else ", the record's first")
    )
    share = f"{n} cell(s) re-run ({seeds_said} per dataset x clusterer) of {len(record['results'])} in the record"
    mean = outcome.mean_difference
    leaning = (
        "no cell was re-run"
        if mean is None
        else f"mean difference {mean:+.2f} AMI points (allowed {outcome.mean_tolerance:.1f} over {outcome.fits} "
        "UMAP fit(s))"
    )
    if not outcome.ok:
        why = (
            f"{bad} of {share} differ from the record by more than their tolerance"
            if bad
            else f"the {share} agree one by one, but lean one way"
        )
        err.print(f"{path}: NOT REPRODUCED: {why}; {leaning}", highlight=False)
        raise typer.Exit(1)
    err.print(f"{path}: reproduced: all {share} agree with the record; {leaning}", highlight=False)
