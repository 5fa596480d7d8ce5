"""Issue 22, features in one place per layer: protocol data lives in the protocol files, renderings in report/.

- the study encoders' families are the study protocol file's ``[families]``, not a table in analysis code;
- the executor a run uses by default is the standard protocol file's ``default_executor``, not a name in
  the engine's code;
- the commands that show results (kNN, the proxy's choice, boards, findings, the gate) render nothing themselves:
  report/ does.
"""

from __future__ import annotations

import ast
from pathlib import Path

from zsbench.analysis import findings as supervision
from zsbench.core.study import load_study

HARNESS = Path(__file__).resolve().parent.parent / "harness"


def _strings(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_the_study_families_are_the_protocol_files():
    families = dict(load_study("1").families)
    assert dict(supervision.study_families()) == families
    assert families["resnet50-supervised"] == supervision.SUPERVISED
    assert families["vitb14-dinov2"] == supervision.SSL  # a zoo encoder the study did not configure
    assert set(families.values()) <= set(supervision.FAMILIES)
    # every encoder the study configures has a family
    assert {e.name for e in load_study("1").encoders} <= set(families)


def test_no_encoder_name_is_written_in_the_supervision_code():
    names = set(load_study("1").families)
    assert not names & _strings(HARNESS / "analysis" / "findings.py")


# commands whose tables show the environment (the cache's usage, what is installed, a plugin's kit findings),
# not results; every other command prints what report/ made
NOT_RESULTS = {"cache.py", "plugins.py", "conformance.py"}
RENDERING = {"csv", "json", "io", "rich.table", "Table", "InertTable", "md", "csv_cell", "json_text", "markdown"}


def _imported(path: Path) -> set[str]:
    """What ``path`` imports for itself: modules and names, except those report/ gives it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and not (node.module or "").startswith("zsbench.report"):
            found |= {node.module or "", *(a.name for a in node.names)}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_commands_that_show_results_render_nothing_themselves():
    for path in sorted((HARNESS / "cli").glob("*.py")):
        if path.name not in NOT_RESULTS:
            assert not _imported(path) & RENDERING, f"cli/{path.name} renders; move it to report/"


def test_the_default_executor_is_the_protocol_files_and_no_engine_code_names_it():
    from zsbench.core.catalog import build_catalog
    from zsbench.core.protocol import load_spec
    from zsbench.engine.session import DEFAULT_EXECUTOR

    name = load_spec("1").default_executor
    assert DEFAULT_EXECUTOR == name == load_spec("study").default_executor
    assert build_catalog().get("executors", name).name == name  # a registered executor
    for path in sorted((HARNESS / "engine").rglob("*.py")):
        assert name not in _strings(path), f"{path.name} names the default executor {name!r}; use DEFAULT_EXECUTOR"
