"""Documentation promises: every hook is documented; the README's commands are the real ones."""

from __future__ import annotations

import re
from pathlib import Path

from zsbench import hookspecs

ROOT = Path(__file__).resolve().parents[1]


def test_every_hook_is_documented_in_contributing():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    hooks = [name for name, f in vars(hookspecs).items() if hasattr(f, "zsbench_spec")]
    assert hooks
    for name in hooks:
        assert re.search(rf"^#+ .*`{name}\b", text, re.M), f"{name} has no heading in CONTRIBUTING.md"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = 'pip install -e ".[test]" && python -m pytest'
    assert command in readme and command in ci
