"""``zsbench run``: one evaluation or a whole grid, with progress, a summary and resumption."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TypedDict

import typer

from zsbench.cli.common import err, stdout, user_errors
from zsbench.plugin.errors import ZsbenchError


class _Where(TypedDict):
    """Where a run keeps and computes its stages: the RunRequest fields both kinds of run take alike."""

    store: Path | None
    cache: Path | None
    executor: str | None
    executor_options: dict[str, int | str]


def run(
    encoder: Annotated[
        list[str] | None,
        typer.Option(
            help="Encoder, repeatable for a grid; NAME or NAME:key=value,... (options of its factory, e.g. "
            "raw-pixels:size=16; default: the protocol's)."
        ),
    ] = None,
    dataset: Annotated[
        list[str] | None, typer.Option(help="Dataset name, repeatable for a grid (default: the protocol's).")
    ] = None,
    clusterer: Annotated[
        list[str] | None,
        typer.Option(help="Clusterer, repeatable; NAME or NAME:key=value,... (default: the protocol's six)."),
    ] = None,
    reducer: Annotated[
        list[str] | None,
        typer.Option(help="Reducer, repeatable; NAME or NAME:key=value,... (default: the protocol's UMAP-50)."),
    ] = None,
    seeds: Annotated[int | None, typer.Option(min=1, help="Number of seeds (0..N-1).")] = None,
    protocol: Annotated[
        str,
        typer.Option(
            help="standard (one configuration for every encoder) or study (each study encoder's tuned "
            "reducer and clusterers; --clusterer then only narrows by name); see `zsbench list protocols`."
        ),
    ] = "standard",
    embeddings: Annotated[
        Path | None,
        typer.Option(help="Score precomputed embeddings: an .npz with arrays 'embeddings' (n, d) and 'labels' (n,)."),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where datasets live (default: $ZSBENCH_DATA_DIR or the user data dir).")
    ] = None,
    download: Annotated[bool, typer.Option(help="Download the dataset when its source allows it.")] = False,
    max_samples: Annotated[
        int | None, typer.Option(min=2, help="Cluster a seeded, stratified subsample of this many images.")
    ] = None,
    subsample_seed: Annotated[int, typer.Option(help="Seed of the --max-samples subsample.")] = 0,
    skip_bad: Annotated[
        bool, typer.Option(help="Leave out images that cannot be decoded (counted in the results).")
    ] = False,
    weights: Annotated[
        Path | None, typer.Option(help="A local weights file for the encoder (.safetensors or a torch checkpoint).")
    ] = None,
    precision: Annotated[
        str,
        typer.Option(
            help="Compute precision of every encoder of the run: fp32 (the default), bf16 (autocast, on a GPU or on a "
            "CPU with native bf16: AVX512-BF16, AMX or Arm BF16; about 2x faster there) or fp16 (GPU only). "
            "Recorded in the encoder identity: results of two precisions never mix. Torch encoders take it; "
            "others (raw-pixels) refuse it."
        ),
    ] = "fp32",
    name: Annotated[
        str | None, typer.Option(help="With --embeddings: the encoder name to record (default: the file's stem).")
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option(help="Where stages run: local (process pool, the default) or dask; see `zsbench list executors`."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (default: one per core; 1 runs in this process).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="With --executor dask: an existing scheduler, tcp://host:port (default: a local cluster)."),
    ] = None,
    cache: Annotated[
        Path | None, typer.Option(help="Artifact cache folder (default: $ZSBENCH_CACHE or the user cache dir).")
    ] = None,
    store: Annotated[
        Path | None, typer.Option(help="Results store (SQLite file). Default: $ZSBENCH_STORE or the user data dir.")
    ] = None,
    knn: Annotated[
        bool,
        typer.Option(
            "--knn",
            help="Also score weighted kNN top-1 accuracy (k = 10, 20, 100, 200): clusters each dataset's "
            "test partition and embeds its train partition (datasets with a split option only).",
        ),
    ] = False,
) -> None:
    """Run a protocol (the standard one by default) over encoders x datasets x reducers x seeds x clusterers.

    Every distinct stage runs once and is cached; rerunning the same command after an interruption
    recomputes nothing that finished.
    """
    from zsbench import api
    from zsbench.engine.inputs import load_npz
    from zsbench.engine.request import RunRequest
    from zsbench.report.progress import RichProgress

    with user_errors():
        if embeddings is not None and encoder:
            raise ZsbenchError(
                "pass either --encoder or --embeddings, not both (with --embeddings, --name sets the encoder name)"
            )
        if embeddings is None and name is not None:
            raise ZsbenchError("--name applies only with --embeddings")
        given = [
            flag
            for flag, value in (
                ("--weights", weights),
                ("--precision", precision != "fp32"),
                ("--data-dir", data_dir),
                ("--download", download),
                ("--max-samples", max_samples),
                ("--skip-bad", skip_bad),
                ("--knn", knn),
            )
            if value
        ]
        if embeddings is not None and given:
            raise ZsbenchError(
                f"{', '.join(given)} {'apply' if len(given) > 1 else 'applies'} to --encoder/--dataset "
                "runs, not to --embeddings (embedded already); drop "
                f"{'them' if len(given) > 1 else 'it'}"
            )
        executor_options: dict[str, int | str] = {
            **({"workers": workers} if workers else {}),
            **({"scheduler": scheduler} if scheduler else {}),
        }
        where: _Where = {"store": store, "cache": cache, "executor": executor, "executor_options": executor_options}
        if embeddings is not None:
            x, y, source = load_npz(embeddings)
            request = RunRequest(
                encoders=name or embeddings.stem,
                datasets=dataset[0] if dataset else embeddings.stem,
                clusterers=clusterer,
                reducers=reducer,
                seeds=seeds,
                protocol=protocol,
                **where,
            )
            with RichProgress() as progress:
                result = api.run_embeddings_request(x, y, request, source=source, progress=progress)
        else:
            request = RunRequest(
                encoders=encoder or None,
                datasets=dataset or None,
                clusterers=clusterer,
                reducers=reducer,
                seeds=seeds,
                protocol=protocol,
                encoder_options={
                    **({"weights": str(weights)} if weights else {}),
                    **precision_option(precision, encoder, protocol),
                },
                dataset_options={
                    **({"data_dir": str(data_dir)} if data_dir else {}),
                    **({"download": True} if download else {}),
                },
                max_samples=max_samples,
                subsample_seed=subsample_seed,
                skip_bad=skip_bad,
                knn=knn,
                **where,
            )
            with RichProgress() as progress:
                result = api.run_request(request, progress)
        if not _summarise(result, err):
            raise typer.Exit(1)


def precision_option(precision: str, encoders: list[str] | None, protocol: str) -> dict[str, str]:
    """``--precision`` as the option each encoder of the run gets. None for fp32, so an fp32 encoder's
    identity (which hashes its options) stays what it always was; any other value is checked before any
    work: the value, the device's support for it, and that every encoder's factory takes ``precision``."""
    if precision == "fp32":
        return {}
    from zsbench.core.catalog import build_catalog
    from zsbench.core.protocol import load_spec
    from zsbench.plugin.devices import check_precision, compute_dtype

    check_precision(precision)
    catalog = build_catalog()
    for text in encoders or [load_spec(protocol).default_encoder]:
        entry, _ = catalog.with_options("encoders", text)
        try:
            entry.check_options({"precision": precision})
        except ZsbenchError:
            raise ZsbenchError(
                f"--precision {precision}: encoder {entry.name!r} takes no precision option (only "
                "torch encoders do); run it without --precision, in a run of its own"
            ) from None
    compute_dtype(precision)  # this machine's device can run it
    return {"precision": precision}


def recomputed_line(recomputed) -> str | None:
    """One line naming the corrupt cache entries a run dropped and recomputed, or None."""
    if not recomputed:
        return None
    named = ", ".join(f"{stage} {key[:12]} ({reason})" for stage, key, reason in recomputed)
    return f"recomputed {len(recomputed)} corrupt cache entr{'y' if len(recomputed) == 1 else 'ies'}: {named}"


def knn_cells(rows) -> dict[tuple[str, str], list]:
    cells: dict[tuple[str, str], list] = {}
    for r in rows:
        cells.setdefault((r.encoder, r.dataset), []).append(r)
    return cells


def _summarise(result, err) -> bool:
    """Print the run's table and summary on stderr; False when no result succeeded (exit 1)."""
    from zsbench.analysis import selection
    from zsbench.core.identity import short
    from zsbench.report.board import rich_table
    from zsbench.report.console import styled
    from zsbench.report.run import summary_table

    first = result.results[0]
    cells = {(r.encoder, r.dataset, r.reducer) for r in result.results}
    if len(cells) == 1:
        title = (
            f"{first.encoder} ({short(selection.identity(first))}) on {first.dataset}: {first.reducer}, "
            f"{len({r.seed for r in result.results})} seed(s), run {result.run_id}"
        )
        stdout().print(summary_table(result.results, title))
    else:
        stdout().print(rich_table(result.leaderboard(), title=f"zsbench run {result.run_id}"))
    seen: dict[str, list[str]] = {}
    for r in result.results:
        for message in r.config.get("warnings", []):
            seen.setdefault(message, []).append(f"{r.clusterer} seed {r.seed}")
    for message, concerns in seen.items():  # each distinct warning once, with what it concerns
        shown = ", ".join(concerns[:3]) + (f" and {len(concerns) - 3} more" if len(concerns) > 3 else "")
        err.print(styled("warning", "yellow", f"{message} ({shown})"), highlight=False)
    for r in result.failed:
        err.print(styled("failed", "red", f"{r.clusterer} seed {r.seed}: {r.error}"), highlight=False)
    for (enc, ds), rows in knn_cells(getattr(result, "knn", [])).items():
        if rows[0].run_id != result.run_id:  # found in the store under its key: nothing embedded or scored
            reused = f" (stored by run {rows[0].run_id}, reused)"
        else:
            reused = " (train embedding from the cache)" if rows[0].config["train"]["embedding_reused"] else ""
        accs = ", ".join(f"k={r.metrics['k']} {100 * r.metrics['knn_top1']:.1f}" for r in rows)
        err.print(f"kNN top-1 of {enc} on {ds}: {accs}{reused}", highlight=False)
    if (line := recomputed_line(getattr(result, "recomputed", None))) is not None:
        err.print(styled("warning", "yellow", line), highlight=False)
    reused, computed = result.reused, result.computed
    n_ok = len(result.results) - len(result.failed)
    where = f" in {result.store_path}" if result.store_path else ""
    summary = (
        f"{n_ok} results{where}; {len(result.failed)} failed. Computed {computed.get('reduce', 0)} "
        f"reduction(s) and {computed.get('labels', 0)} clustering(s); reused "
        f"{reused.get('results', 0)} stored result(s), {reused.get('reduce', 0)} reduction(s) and "
        f"{reused.get('labels', 0)} clustering(s) from the cache"
    )
    if n_ok == 0:  # nothing to score is a failed run (exit 1), though each result records its reason
        err.print(styled("error:", "bold red", f"no result succeeded (reasons above): {summary}"), highlight=False)
    else:
        err.print(summary, highlight=False)
    return n_ok > 0
