"""``zsbench baseline``: the gate's baseline, made from a run of its own and nothing else.

A baseline is what every later ``zsbench check`` compares with, so it must be exactly the suite the
check will run: this encoder at its current identity, the declared sample set, clusterers and seeds.
It is therefore never taken from the user's results store (which may hold a full-partition run, an
older identity or another subsample of the same dataset): the run goes to a store made for it and
thrown away afterwards. The artifact cache is shared, as everywhere: it is keyed by content, so a
reused embedding or reduction is the one this configuration would compute.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from zsbench.cli.common import err, user_errors
from zsbench.plugin.errors import ZsbenchError, check_seed

BASELINE_SEEDS = 9  # 3x the protocol's: more power for the gate at no cost to each check (README, CI gate)


def baseline(
    encoder: Annotated[
        str,
        typer.Option(help="The encoder to make the baseline of; NAME or NAME:key=value,... (its current identity)."),
    ],
    dataset: Annotated[
        list[str] | None, typer.Option(help="A dataset of the suite, repeatable (default: the protocol's).")
    ] = None,
    clusterer: Annotated[
        list[str] | None, typer.Option(help="A clusterer of the suite, repeatable (default: the protocol's six).")
    ] = None,
    seeds: Annotated[
        int,
        typer.Option(min=2, help="Seeds of the baseline (more seeds: more power for every check at no cost to it)."),
    ] = BASELINE_SEEDS,
    first_seed: Annotated[int, typer.Option(min=0, help="The first seed; the check starts from it too.")] = 0,
    max_samples: Annotated[
        int | None,
        typer.Option(
            min=2,
            help="A smoke suite: a seeded, stratified subsample of this many images per dataset (default: the "
            "full partition). Every check then runs the same subsample.",
        ),
    ] = None,
    subsample_seed: Annotated[int, typer.Option(min=0, help="Seed of the --max-samples subsample.")] = 0,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="The record to write; its labels archive goes beside it (.labels.npz)."),
    ] = Path("zsbench/baseline.json"),
    weights: Annotated[Path | None, typer.Option(help="A local weights file for the encoder.")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Where datasets live.")] = None,
    cache: Annotated[
        Path | None,
        typer.Option(help="Artifact cache (default: $ZSBENCH_CACHE or the user cache dir); shared, keyed by content."),
    ] = None,
) -> None:
    """Make a CI gate baseline: run the encoder on a declared suite in a store of its own and write its record.

    Commit both files it writes; `zsbench check --baseline FILE` then runs the same suite on every
    change and compares like with like."""
    from zsbench import api
    from zsbench.analysis.records import registry as reg
    from zsbench.analysis.records.submission import make_record
    from zsbench.core.identity import short
    from zsbench.engine.request import RunRequest
    from zsbench.report.console import styled
    from zsbench.report.progress import RichProgress
    from zsbench.storage.cache import ArtifactCache
    from zsbench.storage.store import ResultStore

    with user_errors():
        from zsbench.engine.limits import check_samples, check_seeds

        check_seeds(seeds)  # the counts, before any seed is made
        check_samples(max_samples)
        seed_list = [check_seed(s, "--first-seed + --seeds") for s in range(first_seed, first_seed + seeds)]
        if output.is_dir():
            raise ZsbenchError(f"--output {output} is a folder; pass a file such as {output / 'baseline.json'}")
        if output.suffix != ".json":
            raise ZsbenchError(
                f"--output {output}: a baseline record is a .json file (its labels go beside it); "
                "pass e.g. zsbench/baseline.json"
            )
        with tempfile.TemporaryDirectory(prefix="zsbench-baseline-") as scratch:
            store = Path(scratch) / "baseline.sqlite"
            with RichProgress() as progress:
                run = api.run_request(
                    RunRequest(
                        encoders=encoder,
                        datasets=dataset or None,
                        clusterers=clusterer or None,
                        seeds=seed_list,
                        store=store,
                        cache=cache,
                        encoder_options={"weights": str(weights)} if weights else None,
                        dataset_options={"data_dir": str(data_dir)} if data_dir else None,
                        max_samples=max_samples,
                        subsample_seed=subsample_seed,
                    ),
                    progress,
                )
            if run.failed:
                for r in run.failed:
                    err.print(
                        styled("failed", "red", f"{r.dataset} / {r.clusterer} seed {r.seed}: {r.error}"),
                        highlight=False,
                    )
                raise ZsbenchError(
                    f"{len(run.failed)} of {len(run.results)} results of the baseline run failed "
                    "(above), so no baseline was written: a baseline holds only results that every "
                    "check can reproduce; fix the cause, or leave that clusterer or dataset out"
                )
            name = run.results[0].encoder
            with ResultStore(store, readonly=True) as db:
                submission = make_record(db.results(), name, cache=ArtifactCache(cache), partial=True)
            path = reg.write(submission, output)
        record = submission.record
        datasets = ", ".join(
            f"{d} ({info['max_samples']} samples)" if info.get("max_samples") else f"{d} (full partition)"
            for d, info in record["datasets"].items()
        )
        err.print(
            f"wrote {path} and {record['labels']['file']}: {name} identity "
            f"{short(record['encoder']['identity_sha256'])} on {datasets}; clusterers "
            f"{', '.join(record['clusterers'])}; seeds {seed_list[0]}-{seed_list[-1]}"
            + ("" if record["partial"] else "; complete for the protocol"),
            highlight=False,
        )
        err.print(
            f"commit both files; CI then runs: zsbench check --baseline {path} --encoder {encoder}", highlight=False
        )
