"""Documentation promises: every hook is documented; the README's commands are the real ones."""

from __future__ import annotations

import re
from pathlib import Path

from zsbench.plugin import hookspecs

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


def _zsbench_commands(text: str) -> list[list[str]]:
    """Each `zsbench <command> --option ...` invocation in a text, joined across folded lines."""
    flat = re.sub(r"\\\n\s*#?\s*", " ", text)  # shell continuations, also inside comments
    found = re.findall(r"^[#\s-]*(zsbench [a-z]+(?: +[^\n|&;>`#]+)?)", flat, re.M)
    return [line.split() for line in found]


def test_the_github_actions_example_parses_and_uses_real_options():
    import typer.main
    import yaml

    from zsbench.cli.app import app

    path = ROOT / "examples" / "github-actions" / "zsbench-check.yml"
    workflow = yaml.safe_load(path.read_text())
    steps = workflow["jobs"]["zsbench"]["steps"]
    runs = "\n".join(step["run"] for step in steps if "run" in step)
    group = typer.main.get_command(app)
    invocations = _zsbench_commands(runs + "\n" + path.read_text())
    used = {words[1] for words in invocations}
    assert {"check", "verify", "run", "submit"} <= used
    for words in invocations:
        command = group.commands[words[1]]
        known = {opt for param in command.params for opt in param.opts + param.secondary_opts}
        for word in words[2:]:
            if word.startswith("--"):
                assert word in known, f"{path.name}: `zsbench {words[1]}` has no option {word}"
