"""CONTRIBUTING's "to change X, touch Y", done the way a contributor would: each answer is exercised here.

- a clusterer is a plugin: one hook, nothing in the core; it runs from the CLI and the API, and shows on the board;
- an output format of the board is one function in ``report/board`` added to its ``RENDERERS``; the CLI takes it;
- a run option is one field of ``RunRequest``, its CLI option, and the code that uses it: a copy of the package
  with exactly those three edits carries a throwaway option from the CLI and from the API to the grid, through
  every level between them unchanged.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
from sklearn.cluster import KMeans
from typer.testing import CliRunner

import zsbench
from zsbench.cli.app import app

from .helpers import throwaway_plugin

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli():
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


def test_a_clusterer_is_one_hook_and_runs_from_the_cli_and_the_api(cli, isolated_store):
    @zsbench.hookimpl
    def register_clusterers(register):
        register("halves", lambda: KMeans(n_clusters=2, n_init=1, random_state=0), description="two clusters")

    mine = types.SimpleNamespace(register_clusterers=register_clusterers)
    run = ["--encoder", "mean-std", "--dataset", "blobs", "--reducer", "none", "--seeds", "2", "--clusterer", "halves"]
    with zsbench.registered(throwaway_plugin(), "throwaway"), zsbench.registered(mine, "mine"):
        result = cli("run", *run)
        assert result.exit_code == 0, result.output
        board = json.loads(cli("leaderboard", "-f", "json", "-c", "halves").stdout)
        api = zsbench.run("mean-std", "blobs", reducer="none", clusterers=["halves"], seeds=[2])
    assert [row["encoder"] for row in board["rows"]] == ["mean-std"]
    assert board["views"] == ["halves"]
    stored = zsbench.ResultStore(isolated_store).results()
    assert sorted((r.clusterer, r.seed, r.status) for r in stored) == [("halves", s, "ok") for s in (0, 1, 2)]
    assert [(r.clusterer, r.seed, r.ok) for r in api.results] == [("halves", 2, True)]


def test_an_output_format_is_one_function_in_report_and_the_cli_takes_it(cli, smoke, monkeypatch):
    from zsbench.report import board as report

    def lines(board, by="auto"):
        return "".join(f"{row.encoder} = {row.views[board.views[0]].overall.mean:.4f}\n" for row in board.rows)

    store = str(smoke / "results.sqlite")
    unknown = cli("leaderboard", "--store", store, "-f", "lines")
    assert unknown.exit_code == 2 and "'lines' is not a board format" in unknown.output, unknown.output
    monkeypatch.setitem(report.RENDERERS, "lines", lines)
    result = cli("leaderboard", "--store", store, "-f", "lines")
    assert result.exit_code == 0, result.output
    shown = result.stdout.splitlines()
    assert shown and all(re.fullmatch(r".+ = \d+\.\d{4}", line) for line in shown), result.stdout
    assert "lines" in report.formats()


# The three edits CONTRIBUTING names for a run option, as a contributor would make them.
FIELD = ("engine/request.py", "    knn: bool = False\n", "    knn: bool = False\n    note: str | None = None\n")
OPTION = [
    (
        "cli/run.py",
        ') -> None:\n    """Run a protocol',
        '    note: Annotated[str | None, typer.Option(help="A note.")] = None,\n) -> None:\n    """Run a protocol',
    ),
    (
        "cli/run.py",
        "                encoders=encoder or None,\n",
        "                encoders=encoder or None,\n note=note,\n",
    ),
]
USE = (
    "    if request.note is not None:\n"
    "        print(f'the grid has the note {request.note!r}', file=__import__('sys').stderr)\n"
)


def _patched_copy(tmp: Path) -> Path:
    """The package as the editable install lays it out (``zsbench/`` is harness/, ``zsbench/plugins`` is
    plugins/), with a run option added by the three edits and nothing else."""
    package = tmp / "zsbench"
    shutil.copytree(ROOT / "harness", package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "plugins", package / "plugins", ignore=shutil.ignore_patterns("__pycache__"))
    for rel, old, new in [FIELD, *OPTION]:
        path = package / rel
        text = path.read_text()
        assert text.count(old) == 1, f"{rel} no longer has the line CONTRIBUTING's recipe edits: {old!r}"
        path.write_text(text.replace(old, new.replace("\n note=", "\n                note=")))
    # the code that uses it: the grid, at the bottom of the levels the request passes through
    grid = package / "engine" / "grid.py"
    text = grid.read_text()
    head = re.search(r"\ndef execute\([^)]*\)[^:]*:\n", text)
    assert head, "engine/grid.py has no execute(); update the recipe"
    grid.write_text(text[: head.end()] + USE + text[head.end() :])
    return tmp


@pytest.mark.long
def test_a_run_option_is_a_field_a_cli_option_and_its_use(tmp_path):
    copy = _patched_copy(tmp_path / "src")
    env = {
        **os.environ,
        "PYTHONPATH": str(copy),
        "ZSBENCH_STORE": str(tmp_path / "results.sqlite"),
        "ZSBENCH_CACHE": str(tmp_path / "cache"),
    }
    common = ["--encoder", "raw-pixels", "--dataset", "digits", "--reducer", "none", "--clusterer", "kmeans"]
    cli = subprocess.run(
        [sys.executable, "-c", "from zsbench.cli import main; main()", "run", *common, "--seeds", "1"]
        + ["--max-samples", "200", "--note", "from the CLI"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert cli.returncode == 0, cli.stderr
    assert "the grid has the note 'from the CLI'" in cli.stderr
    api = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import zsbench; assert zsbench.__file__.startswith({str(copy)!r}), zsbench.__file__; "
            "r = zsbench.run_request(zsbench.RunRequest(encoders='raw-pixels', datasets='digits', "
            "reducers='none', clusterers=['kmeans'], seeds=1, max_samples=200, note='from the API')); "
            "assert r.results and all(x.ok for x in r.results)",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert api.returncode == 0, api.stderr
    assert "the grid has the note 'from the API'" in api.stderr
