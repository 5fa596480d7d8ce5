"""``zsbench new-plugin NAME``: an installable plugin package to start from, with its tests and its CI.

What each ``--kind`` writes is :mod:`zsbench.cli.scaffold`'s: a torch encoder whose placeholder weights ship
in the package (the default), a numpy encoder, or the numpy encoder with an example dataset or clusterer;
a pyproject with the entry point, a README with the next commands, tests that run the conformance kit
(:mod:`zsbench.testing`) strictly, and a GitHub Actions workflow ending in the ``zsbench check`` gate.
"""

from __future__ import annotations

import shlex
from importlib import metadata
from pathlib import Path
from typing import Annotated

import typer

from zsbench.cli.common import err, stdout, user_errors
from zsbench.cli.scaffold import ALLOWED, Kind, PluginNames, plugin_names, write_package
from zsbench.plugin.errors import ZsbenchError
from zsbench.report.console import styled


def installed_clashes(names: PluginNames) -> tuple[list[str], list[str]]:
    """(built-in clashes, clashes with other installed plugins) of the names the package would register.

    Any kind counts: an encoder named like the built-in clusterer would be legal but misleading.
    """
    from zsbench.core.catalog import BUILTIN_DISTRIBUTION, build_catalog

    catalog = build_catalog()
    owners: dict[tuple[str, str], list[str]] = {}
    for kind, entries in catalog.entries.items():
        for entry in entries.values():
            owners.setdefault((kind, entry.name), []).append(entry.plugin)
    for (kind, name), plugins in catalog.conflicts.items():
        owners.setdefault((kind, name), []).extend(plugins)
    builtin: list[str] = []
    other: list[str] = []
    for (kind, name), plugins in sorted(owners.items()):
        if name not in names.components():
            continue
        for plugin in plugins:
            # the package's own plugin key, when an earlier copy of it is installed, is no clash
            if plugin == f"{names.dist}:{names.entry}":
                continue
            said = f"{kind[:-1]} {name!r} (plugin {plugin})"
            (builtin if plugin.split(":", 1)[0] == BUILTIN_DISTRIBUTION else other).append(said)
    return builtin, other


def new_plugin(
    name: Annotated[str, typer.Argument(help=f"The plugin's name, also its encoder's: {ALLOWED}.")],
    parent: Annotated[
        Path, typer.Option("--dir", help="Folder to write zsbench-NAME into (default: the current folder).")
    ] = Path("."),
    kind: Annotated[
        Kind,
        typer.Option(
            "--kind",
            help="torch-encoder: a small torch CNN whose weights ship in the package (placeholder "
            "weights: a seeded random initialisation, to replace with yours; needs zsbench[torch]); numpy-encoder: "
            "colour histograms (numpy + Pillow); dataset or clusterer: that encoder and an example dataset "
            "(synthetic shapes) or clusterer (a Gaussian mixture).",
        ),
    ] = Kind.torch_encoder,
) -> None:
    """Write a plugin package to start from: its components, tests, README and CI workflow (the gate)."""
    with user_errors():
        names = plugin_names(name, kind)
        builtin, other = installed_clashes(names)
        if builtin:
            # Refused rather than warned: a built-in keeps its name, so the package's component would be
            # left out as soon as it is installed; renaming is cheap only before anything is published.
            raise ZsbenchError(
                f"plugin name {name!r}: zsbench already has the built-in {', '.join(builtin)}; pick another name"
            )
        target, files = write_package(name, parent, kind)
    for said in other:
        err.print(
            styled(
                "warning:",
                "yellow",
                f"{said} is already installed: once both are, neither can be "
                "used; rename it in plugin.py or uninstall the other",
            ),
            highlight=False,
        )
    try:
        metadata.distribution(names.dist)
        err.print(
            styled(
                "warning:",
                "yellow",
                f"a distribution named {names.dist} is already installed: installing this one replaces it",
            ),
            highlight=False,
        )
    except metadata.PackageNotFoundError:
        pass
    out = stdout()
    out.print(f"wrote {target}/", highlight=False)
    for rel in files:
        out.print(f"  {rel}", highlight=False)
    if names.spec.weights:
        out.print(
            f"placeholder weights: src/{names.module}/weights/{names.weights_file} is a seeded random "
            "initialisation of the network; replace it with yours and update the pin in plugin.py (README: "
            "Making it yours)",
            highlight=False,
        )
    out.print("next:", highlight=False)
    for step in (
        f"cd {shlex.quote(str(target))}",
        'pip install -e ".[test]"',
        "python -m pytest",
        f"zsbench plugins --check --strict {names.dist}",
        names.try_it(),
        names.baseline(),
        f"zsbench check --baseline zsbench/baseline.json --encoder {names.name}",
    ):
        out.print(f"  {step}", highlight=False)
