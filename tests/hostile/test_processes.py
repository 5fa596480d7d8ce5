"""Hostile processes and plugins: a killed or terminated run leaves no process behind, and plugin code
that raises (even SystemExit or KeyboardInterrupt) is that plugin's failure, one line, never a crash."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import numpy as np
import psutil
import pytest
from typer.testing import CliRunner

import zsbench
from zsbench.cli.app import app
from zsbench.core import isolation, manager

from ..helpers import Blobs

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process-tree checks use Linux")

SLOWPLUG = """
    import os
    import time

    import numpy as np

    import zsbench


    class Sleepy:  # a reducer that sleeps a minute: a run long enough to stop

        def __init__(self, random_state=None):
            self.random_state = random_state

        def get_params(self, deep=True):
            return {"random_state": self.random_state}

        def set_params(self, **params):
            self.random_state = params.get("random_state", self.random_state)
            return self

        def fit_transform(self, x):
            open(os.path.join(os.environ["SLOWPLUG_MARKS"], f"seed-{self.random_state}"), "w").close()
            time.sleep(60)
            return np.asarray(x, dtype=np.float32)


    @zsbench.hookimpl
    def register_reducers(register):
        register("sleepy", Sleepy, description="sleeps, for tests that stop a run")
"""


def _distribution(root: Path, dist: str, modules: dict[str, str]) -> None:
    """An installed distribution as pip leaves one: ``<dist>-0.1.dist-info`` and its modules."""
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[zsbench]\n" + "".join(f"{name} = {name}\n" for name in modules))
    for name, source in modules.items():
        (root / f"{name}.py").write_text(textwrap.dedent(source))


def _start_run(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """`zsbench run` with a pool of two workers on the sleepy reducer, in its own process group."""
    site, marks = tmp_path / "site", tmp_path / "marks"
    site.mkdir()
    marks.mkdir()
    _distribution(site, "slowplug", {"slowplug": SLOWPLUG})
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 8)  # 24 samples: too few for the UMAP proxy, so no numba start-up
    np.savez(tmp_path / "F.npz", embeddings=rng.normal(size=(24, 4)) + labels[:, None], labels=labels)
    env = {key: value for key, value in os.environ.items() if key != "ZSBENCH_WORKERS"}  # a real pool
    env.update(
        ZSBENCH_STORE=str(tmp_path / "r.sqlite"),
        ZSBENCH_CACHE=str(tmp_path / "cache"),
        ZSBENCH_LOAD_PLUGINS="zsbench,slowplug",
        SLOWPLUG_MARKS=str(marks),
        PYTHONPATH=os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")])),
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from zsbench.cli import main; main()",
            "run",
            "--embeddings",
            str(tmp_path / "F.npz"),
            "--reducer",
            "sleepy",
            "--clusterer",
            "kmeans",
            "--seeds",
            "8",
            "--workers",
            "2",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    return proc, marks


def _wait_for_workers(proc: subprocess.Popen, marks: Path, timeout: float = 60) -> list[psutil.Process]:
    """The run's descendants once a pool worker is inside a task and the pool has both workers."""
    deadline = time.monotonic() + timeout
    while not any(marks.iterdir()) or len(descendants := psutil.Process(proc.pid).children(recursive=True)) < 4:
        if proc.poll() is not None:
            pytest.fail(f"the run ended early ({proc.returncode}): {proc.communicate()[1]}")
        assert time.monotonic() < deadline, "the pool's workers never started their tasks"
        time.sleep(0.05)
    return descendants  # the fork server, two workers, the resource tracker


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    """Those still running; a zombie is dead (an orphan's reaper may be slow, or absent in a container)."""
    alive = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
        except psutil.NoSuchProcess:
            pass
    return alive


def _cleanup(proc: subprocess.Popen, descendants: list[psutil.Process]) -> None:
    """Kill what this test started, by pid: leftovers first, as they hold the run's output pipes."""
    if proc.poll() is None:
        descendants = descendants + psutil.Process(proc.pid).children(recursive=True)
        proc.kill()
    for p in _alive(descendants):
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    proc.communicate(timeout=10)


def _rows(store: Path) -> int:
    if not store.exists():
        return 0
    with sqlite3.connect(store) as db:
        try:
            return db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def _wait_gone(procs: list[psutil.Process], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while _alive(procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(procs), [p.cmdline() for p in _alive(procs)]


@linux_only
def test_kill_9_of_the_run_leaves_no_worker_forkserver_or_tracker_behind(tmp_path):
    proc, marks = _start_run(tmp_path)
    descendants: list[psutil.Process] = []
    try:
        descendants = _wait_for_workers(proc, marks)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
        _wait_gone(descendants)  # workers mid-task, the fork server, the resource tracker
    finally:
        _cleanup(proc, descendants)


@linux_only
def test_sigterm_stops_the_run_like_ctrl_c(tmp_path):
    proc, marks = _start_run(tmp_path)
    descendants: list[psutil.Process] = []
    try:
        descendants = _wait_for_workers(proc, marks)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 143, err
        assert "Traceback" not in err
        said = [line for line in err.splitlines() if "terminated" in line]
        assert said == ["terminated (SIGTERM); results finished so far are in the store"], err
        # Nothing had finished (every reduction sleeps); what had is kept, as after Ctrl-C (test_cli).
        assert _rows(tmp_path / "r.sqlite") == 0
        _wait_gone(descendants)
    finally:
        _cleanup(proc, descendants)


class Failing:
    """An encoder whose embed() raises."""

    identity = {"name": "failing"}

    def embed(self, dataset):
        raise RuntimeError("boom")
        yield  # a generator, as encoders are


def _failing_plugin() -> types.SimpleNamespace:
    @zsbench.hookimpl
    def register_encoders(register):
        register("failing", Failing, description="embed() raises")

    @zsbench.hookimpl
    def register_datasets(register):
        register("blobs", Blobs, description="test dataset")

    return types.SimpleNamespace(register_encoders=register_encoders, register_datasets=register_datasets)


def test_encoder_that_raises_is_one_line_naming_its_plugin_and_debug_shows_the_traceback(monkeypatch):
    monkeypatch.delenv("ZSBENCH_DEBUG", raising=False)
    args = [
        "run",
        "--encoder",
        "failing",
        "--dataset",
        "blobs",
        "--reducer",
        "none",
        "--clusterer",
        "kmeans",
        "--seeds",
        "1",
    ]
    with zsbench.registered(_failing_plugin(), "failing"):
        plain = CliRunner().invoke(app, args)
        debug = CliRunner().invoke(app, ["--debug", *args])
        monkeypatch.setenv("ZSBENCH_DEBUG", "1")
        by_env = CliRunner().invoke(app, args)
    assert plain.exit_code == 1, plain.output
    error = [line for line in plain.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "Traceback" not in plain.stderr
    assert "__main__:failing" in error[0] and "distribution __main__" in error[0]
    assert "RuntimeError: boom" in error[0]
    for result in (debug, by_env):
        assert result.exit_code == 1
        assert "Traceback" in result.stderr and "RuntimeError: boom" in result.stderr
        assert 'raise RuntimeError("boom")' in result.stderr  # the plugin's own frame


@pytest.fixture
def hostile_site(tmp_path, monkeypatch):
    """Two installed plugins: one calls sys.exit(3) at import, one's register hook raises KeyboardInterrupt."""
    _distribution(tmp_path, "zsb_exits", {"zsb_exits_mod": "import sys\nsys.exit(3)\n"})
    _distribution(
        tmp_path,
        "zsb_interrupts",
        {
            "zsb_interrupts_mod": """
        import zsbench

        @zsbench.hookimpl
        def register_encoders(register):
            raise KeyboardInterrupt
    """
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", "zsbench,zsb_exits,zsb_interrupts")
    manager.reset()
    yield
    manager.reset()


def test_plugin_exiting_at_import_or_interrupting_in_a_hook_is_listed_as_failed(hostile_site):
    result = CliRunner().invoke(app, ["plugins"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "zsb_exits:zsb_exits_mod" in text and "failed: SystemExit: 3" in text
    assert "zsb_interrupts:zsb_interrupts_mod" in text
    assert "failed: register_encoders raised KeyboardInterrupt" in text
    listed = CliRunner().invoke(app, ["list", "encoders"])
    assert listed.exit_code == 0 and "raw-pixels" in listed.stdout
    assert "zsb_interrupts:zsb_interrupts_mod: register_encoders raised KeyboardInterrupt" in " ".join(
        listed.stderr.split()
    )


def test_a_ctrl_c_the_plugin_swallows_still_stops(ctrl_c):
    """A plugin (or a C callback, as numba's compiler) that catches the user's KeyboardInterrupt does not
    make zsbench ignore Ctrl-C; nor does one that turns it into an error."""

    def swallows():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        except KeyboardInterrupt:
            pass

    def converts():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        except KeyboardInterrupt:
            raise RuntimeError("interrupted") from None

    for plugin in (swallows, converts):
        with pytest.raises(KeyboardInterrupt), isolation.plugin_code():
            plugin()
    with isolation.plugin_code():  # an interrupt that came before the block is not this block's
        pass


def test_a_real_ctrl_c_during_plugin_code_still_stops(ctrl_c):
    def register_encoders(register):
        os.kill(os.getpid(), signal.SIGINT)  # the user's Ctrl-C arrives while the hook runs
        time.sleep(1)

    with pytest.raises(KeyboardInterrupt), isolation.plugin_code():
        register_encoders(None)
    with pytest.raises(isolation.PluginExit, match="KeyboardInterrupt"), isolation.plugin_code():
        raise KeyboardInterrupt  # raised by the plugin itself: its failure
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
