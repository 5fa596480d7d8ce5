"""``zsbench site``: the published board, a static site built from registry records (see
:mod:`zsbench.report.site`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zsbench.cli.common import RegistryOpt, StoreOpt, err, store_choice, user_errors


def site(
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Folder to write the site into (made if missing; an earlier site there is "
            "replaced, a folder holding anything else is refused).",
        ),
    ],
    registry: RegistryOpt = None,
    store: StoreOpt = None,
    protocol: Annotated[
        str, typer.Option(help="Protocol whose results the board shows: standard (also 1) or study.")
    ] = "standard",
) -> None:
    """Write the board as a static site: index.html (the board; each row links to its record's page),
    records/<slug>.html per record (a refused record's with its reason) and findings.html (the findings'
    figures). Links are relative and a Content-Security-Policy lets no script run but the board's own:
    publish the folder as it is (GitHub Pages: .github/workflows/site.yml)."""
    from zsbench.analysis.board import refusal
    from zsbench.report.site import build, write

    with user_errors():
        # the default store only when no record is named, as every command that reads records
        built = build(registry or [], store_choice(registry, store), protocol=protocol)
        write(built, output)
    pages = sum(1 for name in built.files if name.startswith("records/"))
    err.print(
        f"wrote {output}: index.html, findings.html, {pages} record page(s) ({len(built.refused)} of refused "
        f"records), {len(built.figures)} figure(s)",
        highlight=False,
    )
    for path, why in built.refused:
        err.print(refusal(path, why), highlight=False)
