"""``zsbench submit`` and ``validate``: registry records (:mod:`zsbench.analysis.records.registry`,
:mod:`zsbench.analysis.records`, ``validation``); ``verify`` is :mod:`zsbench.cli.verify`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zsbench.cli.common import err, stdout, user_errors


def submit(
    encoder: Annotated[str, typer.Option(help="The encoder whose results to submit.")],
    dataset: Annotated[
        list[str] | None,
        typer.Option(help="Only these datasets, repeatable (default: every dataset the encoder ran on)."),
    ] = None,
    registry: Annotated[
        Path, typer.Option(help="Registry folder; the record goes to REGISTRY/standard-<protocol>/<encoder>.json.")
    ] = Path("registry"),
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the record here instead.")] = None,
    protocol: Annotated[str, typer.Option(help="Protocol version.")] = "1",
    labels: Annotated[
        bool,
        typer.Option(help="Pack the true and predicted labels beside the record, so `zsbench verify` can re-score it."),
    ] = True,
    store: Annotated[
        Path | None, typer.Option(help="Results store (SQLite file). Default: $ZSBENCH_STORE or the user data dir.")
    ] = None,
    cache: Annotated[
        Path | None,
        typer.Option(help="Artifact cache holding the labels (default: $ZSBENCH_CACHE or the user cache dir)."),
    ] = None,
    identity: Annotated[
        str | None,
        typer.Option(help="The encoder identity to submit (a prefix of its sha256), when the store holds several."),
    ] = None,
    sample_set: Annotated[
        list[str] | None,
        typer.Option(
            help="A dataset's sample set (a prefix of its fingerprint), when the store holds several; repeatable."
        ),
    ] = None,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="Write what there is when the results are not complete (missing clusterers, seeds or "
            "the full partition); the record is marked partial and never ranked.",
        ),
    ] = False,
) -> None:
    """Write a registry record of one encoder identity's standard-track results from the local store.

    A record is complete (per dataset: the full partition, every protocol clusterer, the protocol's
    seeds) or refused, naming what is missing; --partial writes it marked partial instead."""
    from zsbench.analysis.records import registry as reg
    from zsbench.analysis.records.submission import make_record
    from zsbench.storage.cache import ArtifactCache
    from zsbench.storage.store import ResultStore

    with user_errors():
        with ResultStore(store, readonly=True) as db:
            submission = make_record(
                db.results(),
                encoder,
                protocol=protocol,
                datasets=dataset,
                cache=ArtifactCache(cache) if labels else None,
                with_labels=labels,
                identity=identity,
                sample_sets=sample_set or (),
                partial=partial,
            )
        record = submission.record  # its encoder name is the NFC of --encoder
        path = output or reg.record_path(registry, record["protocol_version"], record["encoder"]["name"])
        # into the registry, it must also stand beside the records there (one identity, names told apart)
        path = reg.write(submission, path, registry=None if output else path.parent)
        ok = sum(1 for r in record["results"] if r["status"] == "ok")
        err.print(
            f"wrote {path}: {ok} result(s) ({len(record['results']) - ok} failed) on "
            f"{len(record['datasets'])} dataset(s) x {len(record['clusterers'])} clusterer(s) x "
            f"{len(record['seeds'])} seed(s)"
            + (f", labels in {record['labels']['file']}" if record["labels"] else ", without labels")
            + f"; identity {record['encoder']['identity_sha256'][:12]}"
            + (" (PARTIAL: " + "; ".join(record["missing"]) + ")" if record["partial"] else ""),
            highlight=False,
        )
        for reason in submission.left_out:
            err.print(f"left out: {reason}", highlight=False)


def validate(
    paths: Annotated[list[Path], typer.Argument(help="Record files, or folders to search for *.json records.")],
) -> None:
    """Check registry records against their schema and for consistency, each alone and as a set (one
    identity per record, names that cannot be mistaken for another's); exit 1 naming each problem."""
    from zsbench.analysis import records
    from zsbench.analysis.board.sources import cross_check
    from zsbench.analysis.records.validation import checked

    with user_errors():
        files = records.record_files(paths)
        if not files:
            raise records.RecordError(f"no *.json records in {', '.join(map(str, paths))}")
        problems, valid, bad = [], [], 0
        for path in files:
            record, found = checked(path)
            problems += found
            bad += bool(found)
            if record is not None:
                valid.append((path, record))
        across = cross_check(valid)
    problems += [f"{path}: {why}" for path, why in across.refused]
    for problem in problems:
        stdout().print(problem, highlight=False, soft_wrap=True)  # record text: escaped by the console
    for note in across.notes:
        err.print(f"note: {note}", highlight=False)
    bad += len(across.refused)
    err.print(
        f"{len(files)} record(s) checked; {bad} with problems" if problems else f"{len(files)} record(s) valid",
        highlight=False,
    )
    if problems:
        raise typer.Exit(1)
