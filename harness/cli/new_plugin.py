"""``zsbench new-plugin NAME``: an installable plugin package to start from, with its tests.

The package's files are templates shipped with zsbench (``template/*.tmpl``, package data): a real,
small encoder and a dataset or clusterer, a pyproject with the entry point, a README with the next
commands, and tests that run the conformance kit (:mod:`zsbench.testing`).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from enum import StrEnum
from importlib import metadata, resources
from pathlib import Path
from typing import Annotated

import typer

from zsbench.cli.common import err, stdout, user_errors
from zsbench.plugin.errors import InvalidInputError, ZsbenchError
from zsbench.report.console import styled

NAME_RULE = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
MAX_NAME = 40
ALLOWED = "lowercase letters, digits, and single '-' or '_' between them, starting with a letter"


class Kind(StrEnum):
    """What the package registers beside its encoder."""

    dataset = "dataset"
    clusterer = "clusterer"


# per kind: the suffix of the component's name, the `zsbench run` option that selects it, extra dependencies
KIND_PARTS = {
    Kind.dataset: ("shapes", "--dataset", ""),
    Kind.clusterer: ("gmm", "--clusterer", '\n    "scikit-learn>=1.3",'),
}


@dataclass(frozen=True)
class PluginNames:
    """The names one plugin NAME gives: distribution, module, entry point, components."""

    name: str  # the encoder's name, as users type it
    kind: Kind

    @property
    def dist(self) -> str:
        return f"zsbench-{self.name}"

    @property
    def entry(self) -> str:
        return self.name.replace("-", "_")

    @property
    def module(self) -> str:
        return f"zsbench_{self.entry}"

    @property
    def component(self) -> str:
        """The dataset's or clusterer's name."""
        return f"{self.name}-{KIND_PARTS[self.kind][0]}"

    def components(self) -> dict[str, str]:
        """Every component the package registers: name -> kind (plural, as the catalog says)."""
        return {self.name: "encoders", self.component: f"{self.kind.value}s"}


def plugin_names(name: str, kind: Kind = Kind.dataset) -> PluginNames:
    """Check NAME and derive the package's names from it; a bad one is one line naming the rule."""
    if name in ("zsbench",) or name.startswith(("zsbench-", "zsbench_")):
        rest = name.partition("zsbench")[2].lstrip("-_") or "my-encoder"
        raise InvalidInputError(f"plugin name {name!r}: leave out the zsbench- prefix, which the package name "
                                f"gets anyway (zsbench new-plugin {rest})")
    if len(name) > MAX_NAME or not NAME_RULE.fullmatch(name):
        shown = name if len(name) <= MAX_NAME else name[:MAX_NAME] + "..."
        raise InvalidInputError(f"plugin name {shown!r} is not allowed: use {ALLOWED} "
                                f"(at most {MAX_NAME} characters), e.g. my-encoder")
    return PluginNames(name, kind)


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
    builtin, other = [], []
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


def check_target(target: Path) -> None:
    """Never overwrite: the target must be absent or an empty folder."""
    try:
        if target.is_dir() and not any(target.iterdir()):
            return
    except OSError as exc:
        raise ZsbenchError(f"cannot read {target}: {exc.strerror or exc}; pass another --dir") from None
    if target.exists() or target.is_symlink():
        raise ZsbenchError(f"{target} already exists and is not an empty folder; nothing was written. Pass "
                           "another --dir, or pick another name")


def render(template: str, names: PluginNames) -> str:
    """A template's text with its ``{{placeholders}}`` filled in."""
    _, run_option, dependencies = KIND_PARTS[names.kind]
    text = (resources.files("zsbench.cli") / "template" / template).read_text(encoding="utf-8")
    values = {"name": names.name, "module": names.module, "entry": names.entry, "kind": names.kind.value,
              "component": names.component, "run_option": run_option, "dependencies": dependencies}
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def package_files(names: PluginNames) -> dict[str, str]:
    """Relative path -> text of every file of the package."""
    kind = names.kind.value
    return {
        "pyproject.toml": render("pyproject.toml.tmpl", names),
        "README.md": render("README.md.tmpl", names),
        f"src/{names.module}/__init__.py": render("init.py.tmpl", names),
        f"src/{names.module}/plugin.py": render("plugin.py.tmpl", names) + render(f"{kind}.py.tmpl", names),
        "tests/test_plugin.py": render("test_plugin.py.tmpl", names) + render(f"test_{kind}.py.tmpl", names),
    }


def write_package(name: str, parent: Path, kind: Kind = Kind.dataset) -> tuple[Path, list[str]]:
    """Write the package for plugin ``name`` to ``parent/zsbench-NAME``; (its folder, the files written)."""
    names = plugin_names(name, kind)
    target = parent / names.dist
    check_target(target)
    files = package_files(names)
    try:
        for rel, text in files.items():
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ZsbenchError(f"cannot write {target}: {exc.strerror or exc}; pass another --dir") from None
    return target, list(files)


def new_plugin(
    name: Annotated[str, typer.Argument(help=f"The plugin's name, also its encoder's: {ALLOWED}.")],
    parent: Annotated[Path, typer.Option(
        "--dir", help="Folder to write zsbench-NAME into (default: the current folder).")] = Path("."),
    kind: Annotated[Kind, typer.Option(
        "--kind", help="What the package registers beside its encoder: an example dataset (synthetic shapes) "
        "or clusterer (a Gaussian mixture).")] = Kind.dataset,
) -> None:
    """Write a plugin package to start from: an encoder, a dataset or clusterer, its tests, a README."""
    with user_errors():
        names = plugin_names(name, kind)
        builtin, other = installed_clashes(names)
        if builtin:
            # Refused rather than warned: a built-in keeps its name, so the package's component would be
            # left out as soon as it is installed; renaming is cheap only before anything is published.
            raise ZsbenchError(f"plugin name {name!r}: zsbench already has the built-in {', '.join(builtin)}; "
                               "pick another name")
        target, files = write_package(name, parent, kind)
    for said in other:
        err.print(styled("warning:", "yellow", f"{said} is already installed: once both are, neither can be "
                         "used; rename it in plugin.py or uninstall the other"), highlight=False)
    try:
        metadata.distribution(names.dist)
        err.print(styled("warning:", "yellow", f"a distribution named {names.dist} is already installed: "
                         "installing this one replaces it"), highlight=False)
    except metadata.PackageNotFoundError:
        pass
    out = stdout()
    out.print(f"wrote {target}/", highlight=False)
    for rel in files:
        out.print(f"  {rel}", highlight=False)
    out.print("next:", highlight=False)
    for step in (f"cd {shlex.quote(str(target))}", "pip install -e .", f"zsbench plugins --check {names.dist}",
                 "python -m pytest",
                 f"zsbench run --encoder {names.name} {KIND_PARTS[kind][1]} {names.component} --seeds 1"):
        out.print(f"  {step}", highlight=False)
