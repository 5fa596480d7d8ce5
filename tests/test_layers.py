"""The core's layout is its architecture: imports go down the layers, never sideways into private names.

Layers, bottom to top (CONTRIBUTING draws the tree)::

    plugin < core < storage < engine < analysis < report < api < testing < cli

A module may import its own layer and those below it, at module level or inside a function alike
(a lazy import upwards is still a cycle). Built-in plugins import only the public plugin surface,
``zsbench.plugin``, as a third party's would, and their own package's helpers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "harness"
PLUGINS = ROOT / "plugins"
LAYERS = ["plugin", "core", "storage", "engine", "analysis", "report", "api", "testing", "cli"]
# names the package root (`zsbench/__init__.py`, the facade) defines for everyone
ROOT_NAMES = {"__version__"}


def module_name(path: Path) -> str:
    rel = path.relative_to(CORE).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(["zsbench", *parts])


def layer_of(module: str) -> str | None:
    """The layer of a module of the core (``zsbench.engine.grid`` -> ``engine``), None for the root."""
    parts = module.split(".")
    if len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS else None


def imports(path: Path, package: str) -> list[tuple[int, str, list[str]]]:
    """Every ``zsbench`` import in a file as (line, module, names), relative imports resolved."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names if a.name.split(".")[0] == "zsbench"]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([module] if module else []))
            if module.split(".")[0] == "zsbench":
                found.append((node.lineno, module, [a.name for a in node.names]))
    return found


def core_files() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def test_every_core_module_is_in_a_layer():
    stray = [
        str(p.relative_to(ROOT))
        for p in core_files()
        if layer_of(module_name(p)) is None
        and p.name != "__init__.py"
        or (p.parent == CORE and p.name not in ("__init__.py", "api.py"))
    ]
    assert stray == [], "modules outside the layers: " + ", ".join(stray)


def test_imports_go_down_the_layers():
    wrong = []
    for path in core_files():
        here = module_name(path)
        package = here if path.name == "__init__.py" else here.rpartition(".")[0]
        mine = layer_of(here)
        for line, module, names in imports(path, package):
            if mine is None:  # the facade may reach every layer
                continue
            targets = [module] if module != "zsbench" else [f"zsbench.{n}" for n in names]
            for target in targets:
                theirs = layer_of(target)
                if theirs is None:
                    if target.split(".")[-1] in ROOT_NAMES:
                        continue
                    theirs = "api"  # the facade's own names sit at the api layer
                if LAYERS.index(theirs) > LAYERS.index(mine):
                    wrong.append(f"{path.relative_to(ROOT)}:{line} ({mine}) imports {target} ({theirs})")
    assert wrong == [], "imports going up a layer:\n" + "\n".join(wrong)


def test_no_private_names_across_modules():
    wrong = []
    for path in [*core_files(), *sorted(PLUGINS.rglob("*.py"))]:
        for line, module, names in imports(path, "zsbench"):
            # a package's own private modules (zsbench.plugins._layouts) are its business; private names are not
            private = [
                n
                for n in names
                if n.startswith("_") and not n.startswith("__") and not (path.parent / f"{n}.py").exists()
            ]
            if private:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {', '.join(private)} from {module}")
    assert wrong == [], "\n".join(wrong)


def test_no_import_cycles_between_modules():
    graph: dict[str, set[str]] = {}
    known = {module_name(p) for p in core_files()}
    for path in core_files():
        here = module_name(path)
        package = here if path.name == "__init__.py" else here.rpartition(".")[0]
        edges = set()
        for _, module, names in imports(path, package):
            for target in [module, *(f"{module}.{n}" for n in names)]:
                if target in known and target != here and not here.startswith(target + "."):
                    edges.add(target)
        graph[here] = edges
    # a package's __init__ re-exporting its own modules is not a cycle through them
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt.startswith(node + ".") or node == "zsbench":
                continue
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == [], "import cycles:\n" + "\n".join(cycles)


@pytest.mark.parametrize("path", sorted(PLUGINS.rglob("*.py")), ids=lambda p: p.name)
def test_builtin_plugins_use_only_the_public_plugin_surface(path):
    wrong = []
    for line, module, names in imports(path, "zsbench.plugins"):
        if module == "zsbench.plugin" or module == "zsbench.plugins" or module.startswith("zsbench.plugins."):
            continue
        wrong.append(f"{path.name}:{line} imports {module}" + (f" ({', '.join(names)})" if names else ""))
    assert wrong == [], "built-in plugins import only zsbench.plugin, as a third party would:\n" + "\n".join(wrong)


# The cut: what each layer holds, one entry per responsibility. A capability (the board, records, the gate, the
# proxy, findings, kNN) has one home per layer, named after it: a module, or a package whose own module
# (__init__.py) is the capability and whose modules are its parts. Shared helpers are named for what they share.
# A new module is a decision: it is added here, with its one job, or it joins the module whose job it does.
CUT = {
    "plugin": {
        "hookspecs": "the plugin contract: the hooks and their typed register callbacks",
        "protocols": "what the core relies on of a component (typing Protocols) and the Register type",
        "errors": "user-facing errors: one line, exit 1",
        "identity": "what an encoder identity may hold, and content hashes of files and folders",
        "datasets": "helpers for dataset plugins: where data lives, reading images safely, fingerprints",
        "weights": "getting a published weights file onto disk and proving it is that file",
        "checkpoints": "reading a checkpoint into a network, every key and shape checked",
        "torch": "TorchEncoder, the engine behind every torch encoder",
        "preprocess": "the declared image preprocessing",
        "devices": "the device and the compute precision",
        "jit": "numba kernels compiled once per machine",
        "paths": "where zsbench keeps things on this machine",
        "system": "facts about the machine a plugin runs on",
    },
    "core": {
        "manager": "plugin discovery: each entry point loaded in isolation",
        "selection": "which plugins load (ZSBENCH_LOAD_PLUGINS) and the time one may take",
        "probe": "loading a third-party plugin in a child process, bounded in time",
        "isolation": "running plugin code so nothing it raises ends the program or reaches stdout",
        "registration": "what one register call may say",
        "catalog": "components by kind and name, from the plugins' hooks",
        "names": "the grammar of component names and NAME:key=value specs",
        "unicode_names": "names people read: NFC, nothing hidden, no look-alikes",
        "protocol": "the standard protocol: settings, components, the embedding stage",
        "protocols": "the protocol files (data)",
        "schemas": "the JSON schemas of records (data)",
        "study": "the study protocol: each encoder's own configuration, as data",
        "identity": "an encoder's identity, as content",
        "metrics": "scores of a labelling, the same for every plugin",
        "knn": "weighted kNN accuracy of embeddings",
        "result": "one result per clustering",
        "provenance": "what produced a result",
        "progress": "progress reporting the core emits",
        "inert": "text made inert for the medium it is shown in",
    },
    "storage": {
        "store": "the results store's API: add, finished, results, check",
        "database": "the store's SQLite file: connecting, schema version, migration",
        "rows": "the results table's schema, and reading a row back into a Result",
        "salvage": "reading the results table past damage",
        "failures": "why the store could not be written, in one line",
        "cache": "the artifact cache: reading, writing and maintaining entries",
        "layout": "the cache's addresses: content keys and where an entry's files are",
        "params": "the memo of components' parameters beside the cache",
        "leases": "live runs' leases on the cache, which gc honours",
    },
    "engine": {
        "request": "the run as one value, validated once",
        "keys": "every key zsbench writes",
        "pipeline": "the run's orchestration: samples, embeddings, the grid, the store",
        "embed": "embedding a dataset's selected samples, keyed by content",
        "inputs": "labels, embeddings and .npz files the protocol can score",
        "components": "a run's components and seeds, resolved before any work",
        "configured": "the pairs a protocol that configures each encoder runs (the study)",
        "params": "components' parameters as the protocol builds them, from the memo when valid",
        "jobs": "a grid's jobs, built with their keys",
        "grid": "planning and running the grid",
        "dispatch": "how a stage reaches an executor",
        "stages": "the stage tasks an executor runs",
        "scoring": "scoring a clustering into a result",
        "refusals": "configurations refused before the work they would fail at",
        "limits": "the bound of every count option, checked before planning",
        "session": "what a run opens before its stages: cache, executor, embeddings already there",
        "knn": "kNN accuracy beside the clustering results",
        "mainguard": "calls from a script's unguarded top level",
    },
    "analysis": {
        "board": "the leaderboard: AMI per encoder, dataset and group; its rows and where results come from",
        "records": "registry records: the format; validation, verification, reproduction, submission, the folder",
        "gate": "the CI gate's verdict, and whether a candidate compares with its baseline",
        "proxy": "the label-free proxy's correlation with AMI, and choosing a clusterer by it",
        "findings": "the supervision finding (the proxy's and kNN's are theirs)",
        "knn": "kNN accuracy as a score: its board and its correlation with AMI",
        "selection": "shared: which results are taken together (figures and records)",
        "stats": "shared: the statistics every figure uses",
    },
    "report": {
        "board": "the leaderboard as text, and its HTML page and parts",
        "findings": "the findings as tables, and building each from a board's sources",
        "site": "the published site: board, one page per record, findings",
        "gate": "the gate's verdict line, Markdown summary and JUnit XML",
        "knn": "the kNN board as text",
        "proxy": "a label-free choice of clusterer as text",
        "run": "the summary a run prints: per clusterer, mean ± std over seeds",
        "figures": "shared: every figure (matplotlib, lazily)",
        "console": "shared: markup-free consoles and inert tables",
        "text": "shared: safe Markdown and CSV cells, numbers as text",
        "progress": "shared: the live progress display",
    },
    "testing": {
        "suite": "every check of a distribution, run once and only when asked",
        "parametrize": "the checks as pytest cases",
        "plugins": "the checks of a plugin itself: loads, hooks run, names",
        "findings": "one finding per check, and the recorder",
        "subjects": "what the checks run on: the component and tiny inputs",
        "encoders": "the checks of an encoder",
        "datasets": "the checks of a dataset",
        "estimators": "building and running the reducer and clusterer checks",
        "estimator_checks": "what each reducer and clusterer check asks",
        "executors": "the checks of an executor",
        "imports": "the lazy-imports check",
        "tasks": "module-level tasks the executor checks submit",
    },
    # one module per command (knn: the kNN board of `leaderboard --metric knn`), and what they share
    "cli": {
        "app": "the zsbench command: the app, its callback, the commands registered",
        "common": "shared: consoles, errors into exit codes, common options",
        "run": "zsbench run",
        "leaderboard": "zsbench leaderboard",
        "knn": "zsbench leaderboard --metric knn",
        "plugins": "zsbench plugins and zsbench list",
        "conformance": "zsbench plugins --check",
        "registry": "zsbench submit and validate",
        "verify": "zsbench verify",
        "baseline": "zsbench baseline",
        "check": "zsbench check",
        "proxy": "zsbench proxy",
        "findings": "zsbench findings",
        "site": "zsbench site",
        "cache": "zsbench cache",
        "store": "zsbench store",
        "new_plugin": "zsbench new-plugin",
        "scaffold": "the package new-plugin writes, per kind",
        "template": "new-plugin's templates (a folder of package data)",
    },
}


@pytest.mark.parametrize("layer", sorted(CUT))
def test_each_layer_holds_what_the_cut_names(layer):
    folder = CORE / layer
    entries = {p.stem for p in folder.glob("*.py") if p.name != "__init__.py"}
    entries |= {p.name for p in folder.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert entries - set(CUT[layer]) == set(), f"{layer}/ holds modules the cut does not name; add each to CUT"
    assert set(CUT[layer]) - entries == set(), f"the cut names modules {layer}/ does not hold"


def test_no_core_module_is_too_long():
    long = [
        f"{p.relative_to(ROOT)} ({n} lines)"
        for p in [*core_files(), *sorted(PLUGINS.rglob("*.py"))]
        if (n := len(p.read_text().splitlines())) > 320
    ]
    assert long == [], "modules past ~300 lines; split them by job: " + ", ".join(long)
