"""Hostile plugins at load time: ZSBENCH_LOAD_PLUGINS selecting nothing is named; a plugin that never returns
from its import or a register hook, or ends the process there, is named as failed by the diagnostic commands
(`zsbench plugins`, `plugins --check`, `zsbench list`), within ZSBENCH_PLUGIN_TIMEOUT, and the rest still listed.

The commands that could hang or end run in their own process, guarded, so a regression fails here instead of
hanging the suite or ending it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

import zsbench
from zsbench.cli.app import app
from zsbench.core import manager

from ..helpers import one_line_error
from ..test_plugins import fabricate_distribution
from .test_processes import hostile_site  # noqa: F401  (a fixture, used by name)

LIMIT_S = "1.5"  # ZSBENCH_PLUGIN_TIMEOUT here: each hanging plugin costs this much
GUARD_S = 40  # a command still running after this hangs

FINE = """
    import zsbench

    @zsbench.hookimpl
    def register_reducers(register):
        register("fine-reducer", lambda: None, description="still listed")
"""


def _mark(name: str) -> str:
    """Plugin source noting its process id, so the test can see the process is gone afterwards."""
    return f"import os\nopen(os.path.join(os.environ['MARKS'], '{name}'), 'w').write(str(os.getpid()))\n"


SPINS = _mark("spins") + "import time\nwhile True:\n    time.sleep(0.05)\n"  # loops at import
STALLS = (  # never returns from a register hook (blocked in C, not in a Python loop)
    _mark("stalls")
    + "import threading\nimport zsbench\n\n@zsbench.hookimpl\ndef register_encoders(register):\n"
    + "    threading.Event().wait()\n"
)
QUITS = "import os\nprint('bye from quits')\nos._exit(7)\n"  # ends the process at import
CRASHES = "import ctypes\nctypes.string_at(0)\n"  # a segmentation fault at import
QUITS_IN_HOOK = "import os\nimport zsbench\n\n@zsbench.hookimpl\ndef register_datasets(register):\n    os._exit(5)\n"


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


def _install(site: Path, plugins: dict[str, str]) -> None:
    for dist, source in plugins.items():
        module = dist.replace("-", "_") + "_mod"
        fabricate_distribution(site, dist, "0.1", {"plugin": module}, {module: source})


def _start(site: Path, *args: str, marks: Path | None = None) -> subprocess.Popen:
    """`zsbench ARGS` in a session of its own, seeing the distributions installed in ``site``."""
    env = {
        **os.environ,
        "ZSBENCH_PLUGIN_TIMEOUT": LIMIT_S,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
        "MARKS": str(marks or site),
    }
    return subprocess.Popen(
        [sys.executable, "-c", "from zsbench.cli import main; main()", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _finish(proc: subprocess.Popen) -> tuple[int, dict[str, list[str]], str]:
    """Exit status, table rows (see _rows) and stderr (flattened to single spaces) of a command that must end."""
    try:
        out, err = proc.communicate(timeout=GUARD_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"{' '.join(proc.args[3:])} still running after {GUARD_S} s: a plugin hangs it")
    return proc.returncode, _rows(out), " ".join(err.split())


def _rows(table: str) -> dict[str, list[str]]:
    """A table's rows by their first cell, each cell's wrapped lines joined."""
    rows: dict[str, list[str]] = {}
    last: list[str] = []
    for line in table.splitlines():
        if not line.startswith("│"):
            continue
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        if cells[0]:
            last = rows[cells[0]] = cells
        else:  # a wrapped row goes on
            last[:] = [" ".join(filter(None, pair)) for pair in zip(last, cells, strict=True)]
    return rows


@pytest.mark.parametrize("value", ["junk", "", " , ", "zsb-broken"])
def test_load_plugins_selecting_nothing_usable_is_named(value, tmp_path, monkeypatch, fresh_plugins):
    _install(tmp_path, {"zsb-broken": "raise ImportError('needs libfoo')\n"})
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", value)
    said = f"ZSBENCH_LOAD_PLUGINS={value!r} selects"
    run = cli("run", "--encoder", "raw-pixels", "--dataset", "digits", "--reducer", "umap", "--seeds", "1")
    one_line_error(run, said, "unset it", "zsbench", "zsb-broken")  # installed distributions it could name
    one_line_error(cli("list", "reducers"), said)
    shown = cli("plugins")  # the table of what there is, then the same line
    assert shown.exit_code == 1 and said in " ".join(shown.stderr.split())
    if value == "zsb-broken":
        assert "only plugins that failed to load (zsb-broken:plugin" in " ".join(shown.stderr.split())
        assert "failed: ImportError: needs libfoo" in shown.stdout
    with pytest.raises(zsbench.ZsbenchError, match="ZSBENCH_LOAD_PLUGINS="):
        zsbench.run("raw-pixels", "digits", seeds=1)
    with zsbench.registered(object(), "mine"):  # registering into an empty selection is not refused
        assert "__main__:mine" in manager.get_plugins().infos


def test_a_plugin_that_never_returns_is_failed_within_the_limit_and_the_rest_listed(tmp_path, monkeypatch):
    marks = tmp_path / "marks"
    marks.mkdir()
    _install(tmp_path, {"zsb-spins": SPINS, "zsb-stalls": STALLS, "zsb-fine": FINE})
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", "zsbench,zsb-spins,zsb-stalls,zsb-fine")
    commands = (
        ["plugins"],
        ["list", "reducers"],
        ["plugins", "--check", "zsb-fine"],
        ["plugins", "--check", "zsb-spins"],
    )
    started = [_start(tmp_path, *args, marks=marks) for args in commands]  # side by side: each waits on its limit
    (code, table, notes), (listed_code, listed, listed_notes), (check_code, checked, _), (_, spun, _) = map(
        _finish, started
    )
    # the kit on the hung distribution itself: its load failed, so it is not loaded again for lazy-imports
    assert "not loaded (see loads)" in " ".join(" ".join(row) for row in spun.values()), spun
    spins = f"failed: its import took over {LIMIT_S} s (ZSBENCH_PLUGIN_TIMEOUT): it may hang"
    stalls = f"failed: its register_encoders hook took over {LIMIT_S} s (ZSBENCH_PLUGIN_TIMEOUT)"
    assert code == 0, notes
    assert table["zsb-spins:plugin"][-1].startswith(spins) and table["zsb-stalls:plugin"][-1].startswith(stalls)
    assert table["zsb-fine:plugin"][-2:] == ["register_reducers", "ok"] and "zsbench:raw_pixels" in table
    assert listed_code == 0 and listed["fine-reducer"][1] == "zsb-fine:plugin" and "umap" in listed
    assert f"plugin zsb-spins:plugin {spins.replace('failed', 'failed to load')}" in listed_notes
    assert f"plugin zsb-stalls:plugin {stalls.replace('failed', 'failed to load')}" in listed_notes
    assert checked["plugin:zsb-fine:plugin"][2] == "passed" and check_code == 1  # its reducer builds None
    for mark in marks.iterdir():  # the child processes that hung are gone
        assert not psutil.pid_exists(int(mark.read_text())) or psutil.Process(int(mark.read_text())).status() in (
            psutil.STATUS_ZOMBIE,
            psutil.STATUS_DEAD,
        ), mark.name


@pytest.mark.usefixtures("hostile_site")  # sys.exit(3) at import; KeyboardInterrupt in a register hook
def test_a_plugin_that_ends_the_process_is_named_and_the_rest_listed(tmp_path, monkeypatch):
    _install(tmp_path, {"zsb-quits": QUITS, "zsb-crashes": CRASHES, "zsb-quits-hook": QUITS_IN_HOOK, "zsb-fine": FINE})
    selection = "zsbench,zsb_exits,zsb_interrupts,zsb-quits,zsb-crashes,zsb-quits-hook,zsb-fine"
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", selection)
    (code, table, notes), (listed_code, listed, listed_notes) = map(
        _finish, [_start(tmp_path, "plugins"), _start(tmp_path, "list", "encoders")]
    )
    quits = "its import ended the process (exit status 7: os._exit, or a crash); it last printed: bye from quits"
    crashes = "its import ended the process (killed by SIGSEGV: a crash or a signal)"
    quits_hook = "its register_datasets hook ended the process (exit status 5: os._exit, or a crash)"
    assert code == 0, notes
    for key, why in (
        ("zsb-quits:plugin", quits),
        ("zsb-crashes:plugin", crashes),
        ("zsb-quits-hook:plugin", quits_hook),
    ):
        assert table[key][-1] == f"failed: {why}"
        assert f"plugin {key} failed to load: {why}" in listed_notes
    assert table["zsb_exits:zsb_exits_mod"][-1] == "failed: SystemExit: 3"  # as before, in this process
    assert table["zsb_interrupts:zsb_interrupts_mod"][-1] == "failed: register_encoders raised KeyboardInterrupt"
    assert table["zsb-fine:plugin"][-1] == "ok" and table["zsbench:clusterers"][-1] == "ok"
    assert listed_code == 0 and listed["raw-pixels"][1] == "zsbench:raw_pixels"


def test_the_limit_is_named_when_it_is_not_a_number_and_0_turns_it_off(tmp_path, monkeypatch, fresh_plugins):
    _install(tmp_path, {"zsb-fine": FINE})
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", "zsbench,zsb-fine")
    for value in ("soon", "-1", "nan", "inf", "1e9"):
        monkeypatch.setenv("ZSBENCH_PLUGIN_TIMEOUT", value)
        manager.reset()
        one_line_error(cli("plugins"), f"ZSBENCH_PLUGIN_TIMEOUT={value!r} is not a number of seconds", "unset it")
    monkeypatch.setenv("ZSBENCH_PLUGIN_TIMEOUT", "0")  # no limit: loaded in this process, as before
    manager.reset()
    result = cli("plugins")
    assert result.exit_code == 0 and "zsb-fine:plugin" in result.stdout


def test_a_run_names_an_import_slower_than_the_limit(tmp_path, monkeypatch, capfd, fresh_plugins):
    # a run does not pay for a child process: it cannot stop the import, but says which plugin it is
    _install(tmp_path, {"zsb-slowish": "import time\ntime.sleep(0.8)\n" + textwrap.dedent(FINE)})
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", "zsb-slowish")
    monkeypatch.setenv("ZSBENCH_PLUGIN_TIMEOUT", "0.3")
    found = manager.discover()
    assert found.infos["zsb-slowish:plugin"].ok
    said = " ".join(capfd.readouterr().err.split())
    assert "plugin zsb-slowish:plugin is still importing after 0.3 s (ZSBENCH_PLUGIN_TIMEOUT)" in said
    assert "leave its distribution out of ZSBENCH_LOAD_PLUGINS" in said
