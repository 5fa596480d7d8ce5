"""Wall time from `zsbench new-plugin NAME` to a green `zsbench check`, following the generated README by
hand, and a cold against a warm `zsbench check` (the CI gate's step).

The README path: `zsbench new-plugin NAME` (a torch encoder), then every command of the generated
README's bash block, in order, in the package's folder, each timed: the editable install, its tests, the
strict kit, a quick run, the baseline recipe, the check. They run in a venv that sees this environment's
packages (so nothing is downloaded but what pip's build isolation fetches, unless ``--offline``), with a
fresh results store and artifact cache; numba's cache is this machine's (``--cold-numba``: an empty one).

Then the gate alone, as CI runs it after restoring its caches (``--repeats`` times each, alternately):
cold, with an empty NUMBA_CACHE_DIR, artifact cache and results store; warm, with the numba cache and
artifact cache of an earlier check kept and a fresh results store (CI keeps no store).

    python benchmarks/scaffold_to_gate.py [--repeats 3] [--offline] [--cold-numba] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import site
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NAME = "gate-demo"
SHIM = """#!{python}
import sys
from {module} import main
if __name__ == "__main__":
    sys.argv[0] = "{name}"
    sys.exit(main())
"""


def make_venv(path: Path) -> Path:
    """A venv seeing this interpreter's packages (zsbench, torch, pytest...), with `zsbench` and `pip` in its
    bin/ so the README's bare commands run in it."""
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # when this interpreter is itself a venv, --system-site-packages skips it: add its sites explicitly
    parents = [p for p in site.getsitepackages() if os.path.isdir(p)]
    Path(purelib, "_outer.pth").write_text("import site; " + "; ".join(f"site.addsitedir({p!r})" for p in parents))
    for name, module in (("zsbench", "zsbench.cli"), ("pip", "pip._internal.cli.main")):
        script = path / "bin" / name
        script.write_text(SHIM.format(python=python, module=module, name=name))
        script.chmod(0o755)
    return path


def readme_commands(root: Path) -> list[str]:
    """The commands of the generated README's first bash block, comments dropped."""
    block = re.search(r"```bash\n(.*?)```", (root / "README.md").read_text(), re.S).group(1)
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def timed(command: str, cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(["bash", "-eo", "pipefail", "-c", command], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"`{command}` failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="cold and warm checks, each (median reported)")
    parser.add_argument("--offline", action="store_true", help="pip without network: no build isolation, no index")
    parser.add_argument("--cold-numba", action="store_true", help="the README path with an empty numba cache")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="zsbench-scaffold-"))
    try:
        venv = make_venv(scratch / "venv")
        env = {
            **os.environ,
            "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "VIRTUAL_ENV": str(venv),
            "ZSBENCH_LOAD_PLUGINS": f"zsbench,zsbench-{NAME}",
            "HF_HUB_OFFLINE": "1",
            "ZSBENCH_STORE": str(scratch / "store" / "results.sqlite"),
            "ZSBENCH_CACHE": str(scratch / "cache"),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
        env.pop("PYTEST_ADDOPTS", None)
        if args.offline:  # PIP_NO_BUILD_ISOLATION=0 is pip's spelling of --no-build-isolation
            env.update({"PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0"})
        if args.cold_numba:
            env["NUMBA_CACHE_DIR"] = str(scratch / "numba-readme")

        steps: list[tuple[str, float]] = [("zsbench new-plugin", timed(f"zsbench new-plugin {NAME}", scratch, env))]
        root = scratch / f"zsbench-{NAME}"
        for command in readme_commands(root):
            steps.append((command, timed(command, root, env)))
        total = sum(seconds for _, seconds in steps)
        for command, seconds in steps:
            print(f"{seconds:7.1f} s  {command}")
        print(f"{total:7.1f} s  ({total / 60:.1f} min) from new-plugin to a green check, by the README")

        check = f"zsbench check --baseline zsbench/baseline.json --encoder {NAME}"
        kept = {"NUMBA_CACHE_DIR": str(scratch / "numba-kept"), "ZSBENCH_CACHE": str(scratch / "cache-kept")}
        timed(check, root, {**env, **kept, "ZSBENCH_STORE": str(scratch / "prime" / "results.sqlite")})  # fills them
        cold, warm = [], []
        for i in range(args.repeats):  # alternately, so both see the same machine load
            fresh = {
                "NUMBA_CACHE_DIR": str(scratch / f"numba-cold-{i}"),
                "ZSBENCH_CACHE": str(scratch / f"cache-{i}"),
                "ZSBENCH_STORE": str(scratch / f"cold-{i}" / "results.sqlite"),
            }
            cold.append(timed(check, root, {**env, **fresh}))
            warm.append(timed(check, root, {**env, **kept, "ZSBENCH_STORE": str(scratch / f"warm-{i}" / "r.sqlite")}))
        for label, times in (
            ("cold (empty numba cache, artifact cache, store)", cold),
            ("warm (numba and artifact caches kept, fresh store)", warm),
        ):
            print(
                f"zsbench check, {label}: median {statistics.median(times):.1f} s of "
                f"{', '.join(f'{s:.1f}' for s in times)}"
            )
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "readme_steps": steps,
                        "readme_total_s": total,
                        "check_cold_s": cold,
                        "check_warm_s": warm,
                        "offline": args.offline,
                        "cold_numba": args.cold_numba,
                    },
                    indent=2,
                )
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
