"""``zsbench cache``: list, size, clean and check the artifact cache (:mod:`zsbench.storage.cache`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from zsbench.cli.common import err, stdout, user_errors

cache_app = typer.Typer(
    help="List, size, clean and check the artifact cache (embeddings, reductions, ...).", no_args_is_help=True
)

CacheOpt = Annotated[
    Path | None, typer.Option("--cache", help="Artifact cache folder. Default: $ZSBENCH_CACHE or the user cache dir.")
]


def _human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).isoformat(sep=" ", timespec="seconds")


def _describe(spec: dict[str, Any]) -> str:
    if spec.get("label"):
        return str(spec["label"])
    return " / ".join(str(spec[k]) for k in ("encoder", "dataset", "reducer", "clusterer") if spec.get(k))


@cache_app.command("ls")
def ls(
    stage: Annotated[str | None, typer.Option(help="Only this stage (e.g. embed).")] = None, cache: CacheOpt = None
) -> None:
    """List cached artifacts, most recently used first."""
    from rich.table import Table

    from zsbench.storage.cache import ArtifactCache

    with user_errors():
        store = ArtifactCache(cache)
        rows = sorted((e for e in store.entries() if stage in (None, e.stage)), key=lambda e: e.last_used, reverse=True)
        if not rows:
            err.print(f"no {stage + ' ' if stage else ''}artifacts in {store.root}", highlight=False)
            return
        table = Table(title=f"artifact cache {store.root}")
        for col in ("stage", "key", "shape", "dtype", "size", "last used", "description"):
            table.add_column(col, justify="right" if col == "size" else "left")
        for e in rows:
            table.add_row(
                e.stage,
                e.key[:12],
                "×".join(map(str, e.shape)) or "()",
                e.dtype,
                _human(e.nbytes),
                e.last_used[:16].replace("T", " "),
                _describe(e.spec),
            )
        stdout().print(table)


@cache_app.command()
def du(cache: CacheOpt = None) -> None:
    """Artifacts and their size per stage, and in total."""
    from rich.table import Table

    from zsbench.storage.cache import ArtifactCache

    with user_errors():
        store = ArtifactCache(cache)
        usage = store.du()
        table = Table(title=f"artifact cache {store.root}")
        for col in ("stage", "artifacts", "size"):
            table.add_column(col, justify="left" if col == "stage" else "right")
        for stage, (count, size) in sorted(usage.items()):
            table.add_row(stage, str(count), _human(size))
        table.add_section()
        table.add_row("total", str(sum(c for c, _ in usage.values())), _human(sum(s for _, s in usage.values())))
        stdout().print(table)


@cache_app.command()
def gc(
    older_than: Annotated[
        float | None,
        typer.Option("--older-than", metavar="DAYS", min=0, help="Also remove artifacts not used for this many days."),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Remove every artifact.")] = False,
    cache: CacheOpt = None,
) -> None:
    """Remove leftovers of interrupted runs, and artifacts unused for --older-than DAYS (or --all)."""
    from zsbench.storage.cache import ArtifactCache

    with user_errors():
        store = ArtifactCache(cache)
        before = store.du()
        files, freed = store.gc(older_than_days=older_than, everything=all_)
        after = store.du()
        out = stdout()
        for stage, (count, size) in sorted(before.items()):
            left, left_size = after.get(stage, (0, 0))
            if count > left:
                out.print(f"{stage}: removed {count - left} artifact(s), {_human(size - left_size)}", highlight=False)
        out.print(f"removed {files} file(s), freed {_human(freed)} in {store.root}", highlight=False)
        kept, leases = store.kept
        if kept:
            runs = ", ".join(f"{lease} since {_when(lease.since)}" for lease in leases)
            elsewhere = "".join(
                f"; lease {lease.path} is of another host: delete it if that run has ended"
                for lease in leases
                if not lease.here
            )
            out.print(
                f"kept {kept} artifact(s) in use by a running zsbench ({runs}); run gc again when it has ended"
                + elsewhere,
                highlight=False,
                soft_wrap=True,
            )


@cache_app.command()
def verify(
    keep: Annotated[bool, typer.Option("--keep", help="Only report bad artifacts; do not remove them.")] = False,
    cache: CacheOpt = None,
) -> None:
    """Checksum every artifact; exit 1 if any is bad (removed unless --keep, recomputed when next needed)."""
    from zsbench.report.console import styled
    from zsbench.storage.cache import ArtifactCache

    with user_errors():
        store = ArtifactCache(cache)
        problems = store.verify(remove=not keep)
        checked = sum(count for count, _ in store.du().values())
    out = stdout()
    for stage, key, problem in problems:
        out.print(styled("bad", "red", f"{stage} {key[:12]}: {problem}"), highlight=False)
    if problems:
        action = "kept (--keep)" if keep else "removed; they are recomputed when next needed"
        out.print(f"{len(problems)} bad artifact(s) in {store.root}, {action}", highlight=False)
        raise typer.Exit(1)
    out.print(f"all {checked} artifact(s) in {store.root} ok", highlight=False)
