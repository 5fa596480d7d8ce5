"""The API from a plain script: pool workers re-run the parent's ``__main__`` script, so a script
that calls zsbench outside ``if __name__ == "__main__":`` runs its stages in-process instead of
crashing, and a guarded one keeps its process pool. Each case is a real ``python script.py``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTE = "zsbench: running stages in this process"


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ZSBENCH_WORKERS"}  # let the pool be chosen
    env.update(
        ZSBENCH_STORE=str(tmp_path / "results.sqlite"),
        ZSBENCH_CACHE=str(tmp_path / "cache"),
        ZSBENCH_LOAD_PLUGINS="zsbench",
        HF_HUB_OFFLINE="1",
    )
    return env


def _run_script(tmp_path: Path, source: str, name: str = "script.py") -> subprocess.CompletedProcess:
    script = tmp_path / name
    script.write_text(source)
    return subprocess.run(
        [sys.executable, str(script)], env=_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=600
    )


@pytest.mark.long
def test_readme_python_block_runs_as_a_script(tmp_path):
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"^### From Python\n.*?^```python\n(.*?)^```", readme, re.M | re.S)
    assert block, "README.md has no ```python block under '### From Python'"
    out = _run_script(tmp_path, block.group(1))
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    # unguarded, as written: one note, and the stages ran here rather than in re-importing workers
    assert out.stderr.count(NOTE) == 1, out.stderr


DETECTOR = """\
from zsbench.engine.mainguard import unguarded_script

def where():
    return "unguarded" if unguarded_script() else "guarded"

seen = [where()]
if __name__ == "__main__":
    seen.append(where())
if "__main__" == __name__:
    seen.append(where())
if __name__ != "__main__":
    pass
else:
    seen.append(where())
if __name__ == "__main__" and len(seen) > 0:
    seen.append(where())
seen.append([where() for _ in range(1)][0])  # a comprehension's frame, at top level
print(" ".join(seen))
"""


def test_detector_tells_guarded_from_unguarded_calls(tmp_path):
    out = _run_script(tmp_path, DETECTOR)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["unguarded", "guarded", "guarded", "guarded", "guarded", "unguarded"]
    # no script file: `python -c` (like an interactive session or a notebook) keeps the pool
    code = DETECTOR.replace("seen = [where()]", "seen = []")
    out = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert set(out.stdout.split()) == {"guarded"}


# Records whether the local executor built a pool (False) or ran in-process (True).
SPY = """\
import os
import zsbench
from zsbench.plugins import _executors

in_process = []
_init = _executors.LocalExecutor.__init__

def _spy(self, workers=None):
    _init(self, workers)
    in_process.append(self.in_process)

_executors.LocalExecutor.__init__ = _spy
"""


def test_guarded_script_keeps_the_pool(tmp_path):
    job = """
def job():
    out = zsbench.run("raw-pixels", "digits", clusterers=["kmeans"], seeds=1, max_samples=200,
                      store=False, cache=False, executor_options={"workers": 2})
    assert out.results and not out.failed, out.failed
    print("in_process", in_process)

if "__main__" == __name__:
    job()
"""
    out = _run_script(tmp_path, SPY + job)
    assert out.returncode == 0, out.stderr
    assert "in_process [False]" in out.stdout  # a real pool, whose workers re-ran this script
    assert NOTE not in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_unguarded_script_runs_in_process_or_says_to_add_the_guard(tmp_path):
    # The executor opens before the dataset loads, so a missing folder ends each run right after
    # the choice is made; the README test runs a whole job this way.
    calls = """
for executor in ("local", "local", "dask"):
    try:
        zsbench.run("raw-pixels", "folder:" + os.path.join(os.getcwd(), "no-such-folder"),
                    executor=executor, executor_options={"workers": 2}, store=False)
    except zsbench.ZsbenchError as exc:
        print("error:", exc)
print("in_process", in_process)
"""
    out = _run_script(tmp_path, SPY + calls)
    assert out.returncode == 0, out.stderr
    assert "in_process [True, True]" in out.stdout
    assert out.stderr.count(NOTE) == 1 and "Traceback" not in out.stderr, out.stderr  # noted once
    assert "add that guard" in out.stderr
    errors = [line for line in out.stdout.splitlines() if line.startswith("error:")]
    assert len(errors) == 3 and "no-such-folder" in errors[0]
    assert "executor 'dask' cannot start worker processes here" in errors[2]
    assert 'if __name__ == "__main__":' in errors[2]


def test_a_script_read_from_stdin_runs_in_process(tmp_path):
    # Workers cannot re-run "<stdin>", guard or not.
    code = 'from zsbench.engine.mainguard import pool_hazard\nif __name__ == "__main__":\n    print(pool_hazard())\n'
    out = subprocess.run([sys.executable, "-"], input=code, env=_env(tmp_path), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "<stdin>" in out.stdout and "run it from a file" in out.stdout


def test_a_worker_re_running_the_script_starts_nothing(tmp_path):
    # What a spawn/forkserver worker looks like while it re-runs the parent's script.
    code = (
        "import multiprocessing; multiprocessing.current_process()._inheriting = True\n"
        "import zsbench; zsbench.run(store=False)\nprint('went on')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path), capture_output=True, text=True)
    assert out.returncode == 1 and "went on" not in out.stdout
    assert out.stderr.strip().count("\n") == 0 and "Traceback" not in out.stderr, out.stderr
    assert "re-running the parent's script" in out.stderr
