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
    found = re.findall(r"^[#\s-]*(zsbench [a-z][a-z-]*(?: +[^\n|&;>`#]+)?)", flat, re.M)
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
    assert {"check", "verify", "baseline"} <= used
    for words in invocations:
        assert _unknown_options(group, words) == [], f"{path.name}: {' '.join(words)}"


# The documents whose commands and paths users copy: each must name only what exists.
DOCUMENTS = [
    "README.md",
    "CONTRIBUTING.md",
    "CHANGELOG.md",
    "registry/README.md",
    "examples/*/README.md",
    "examples/github-actions/*.yml",
    "harness/cli/template/**/*.tmpl",
    ".github/workflows/*.yml",
]
# Where a repository path in a document starts: anything else in backticks is a name, not a path.
TOP = ("harness/", "plugins/", "tests/", "benchmarks/", "examples/", "registry/", ".ci/", ".github/")


def _documents() -> list[Path]:
    files = sorted({f for pattern in DOCUMENTS for f in ROOT.glob(pattern) if f.is_file()})
    assert any(f.name == "README.md" for f in files) and any(f.suffix == ".tmpl" for f in files)
    return files


def _text(path: Path) -> str:
    """A document's text; a template's {{placeholders}} filled as `new-plugin my-encoder` fills them."""
    return re.sub(r"{{\w+}}", "my-encoder", path.read_text(encoding="utf-8"))


def _fenced(text: str, path: Path) -> str:
    """The shell a user copies: fenced bash/sh/console blocks, or the whole file of a workflow or template
    script (its run: steps)."""
    if path.suffix in (".yml", ".yaml") or path.name.endswith((".yml.tmpl", ".yaml.tmpl", ".sh.tmpl")):
        return text
    return "\n".join(re.findall(r"```(?:bash|sh|shell|console|)\n(.*?)```", text, re.S))


def _unknown_options(group, words: list[str]) -> list[str]:
    """What in one ``zsbench ...`` invocation names no command or option of the real CLI."""
    command, rest = group, words[1:]
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):  # typer vendors click: duck-type
        if rest[0] not in command.commands:
            return [f"no command {rest[0]!r}"]
        command, rest = command.commands[rest[0]], rest[1:]
    known = {opt for param in command.params for opt in param.opts + param.secondary_opts}
    known |= {"--help"}
    return [
        w.split("=", 1)[0]
        for w in rest
        if w.startswith("-") and w.split("=", 1)[0] not in known and not re.fullmatch(r"-\d.*", w)
    ]


def test_every_documented_command_and_option_exists():
    import typer.main

    from zsbench.cli.app import app

    group = typer.main.get_command(app)
    problems, seen = [], 0
    for path in _documents():
        for words in _zsbench_commands(_fenced(_text(path), path)):
            seen += 1
            problems += [f"{path.relative_to(ROOT)}: `{' '.join(words)}`: {p}" for p in _unknown_options(group, words)]
    assert seen > 30 and problems == []


def test_every_documented_script_and_repository_path_exists():
    problems = []
    for path in _documents():
        text = _text(path)
        named = set(re.findall(r"`([^`\s]+)`", text)) | set(re.findall(r"\]\(([^)\s#]+)\)", text))
        named |= set(re.findall(r"(?:python|bash) ((?:benchmarks|examples|tests|\.ci)/[\w./-]+)", _fenced(text, path)))
        for name in named:
            rel = name.removeprefix("./")
            if path.parent != ROOT and not rel.startswith(TOP) and (path.parent / rel).exists():
                continue  # a link relative to the document (registry/README.md -> ../README.md)
            if not rel.startswith(TOP) or re.search(r"[<>*{}]|\b[A-Z]+\b|-N\b", rel):
                continue  # not a repository path, or a placeholder (NAME.json, standard-N.toml, <file>)
            if not (ROOT / rel.split("::")[0]).exists():
                problems.append(f"{path.relative_to(ROOT)}: {name}")
    assert problems == []
