"""The README's quickstart, `zsbench run && zsbench leaderboard`, from the built wheel: the full main
job (raw pixels on digits, six clusterers, three seeds), which tests/test_packaging.py shortens to
one seed and K-Means. Run it by hand before a release (CONTRIBUTING.md, "Releasing zsbench").

It builds the sdist and wheel as tests/wheels.py does, installs the wheel into a fresh venv whose
dependencies come from this environment (no network), and runs both commands from a folder outside
the repository with a fresh store and cache. Prints the leaderboard, the time of each command and
where zsbench was imported from; exits 1 if a command fails or zsbench came from this source tree.

    python benchmarks/wheel_quickstart.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.wheels import build_zsbench_dists, fresh_venv, install_wheel, user_env  # noqa: E402


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="zsbench-quickstart-") as tmp:
        root = Path(tmp)
        dists = build_zsbench_dists()
        print(f"built {dists.sdist.name} and {dists.wheel.name} in {dists.build_seconds:.1f} s")
        start = time.perf_counter()
        python = fresh_venv(root / "venv")
        install_wheel(python, dists.wheel)
        print(f"venv and install: {time.perf_counter() - start:.1f} s")
        work = root / "work"
        work.mkdir()
        env = user_env(work)
        where = subprocess.run(
            [str(python), "-c", "import zsbench; print(zsbench.__file__, zsbench.__version__)"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        print(f"zsbench from {where}")
        if Path(where.split()[0]).is_relative_to(REPO):
            print("zsbench was imported from this source tree, not the wheel")
            return 1
        for command in (["run"], ["leaderboard"]):
            start = time.perf_counter()
            done = subprocess.run([str(python.parent / "zsbench"), *command], cwd=work, env=env)
            print(f"zsbench {' '.join(command)}: exit {done.returncode}, {time.perf_counter() - start:.1f} s")
            if done.returncode:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
