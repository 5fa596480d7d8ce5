"""Wall time of rerunning a finished grid, against `zsbench --help` in the same conditions.

Makes digits raw-pixel embeddings (.npz), runs `zsbench run --embeddings F --seeds 2` once to fill a
fresh store and artifact cache (temporary folders, through ZSBENCH_STORE and ZSBENCH_CACHE), then times
``--repeats`` reruns and as many `zsbench --help`, alternately so that both see the same machine load.
Reported: the medians, their ratio, and which heavy libraries the rerun imported (none is the aim).
``--cold`` also times reruns whose parameters memo was deleted first, so that every estimator is built
and imported again, as every rerun did before the memo (an upper bound: the memo is recorded again too).

Python writes no bytecode where PYTHONDONTWRITEBYTECODE is set, and then every process compiles
zsbench's modules again; an installed zsbench has its bytecode, so here it is kept in a temporary
folder (PYTHONPYCACHEPREFIX) and both commands run once before timing.

    python benchmarks/rerun.py [--repeats 5] [--cold 0]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from zsbench.storage.params import FOLDER

HEAVY = ("umap", "numba", "pynndescent", "sklearn", "torch", "hdbscan", "pandas", "scipy")
MODULES = """
import json, sys
from zsbench.cli import main
if __name__ == "__main__":
    sys.argv = ["zsbench", *sys.argv[1:]]
    try:
        main()
    except SystemExit:
        pass
    print(json.dumps(sorted({m.partition(".")[0] for m in sys.modules})))
"""


def digits_npz(path: Path) -> None:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = np.round(bunch.images * 255 / 16).reshape(len(bunch.images), -1) / 255.0  # as the raw-pixels encoder
    np.savez(path, embeddings=x.astype(np.float32), labels=bunch.target)


def zsbench() -> list[str]:
    found = shutil.which("zsbench")
    return [found] if found else [sys.executable, "-c", "from zsbench.cli import main; main()"]


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cold", type=int, default=0, help="also time this many reruns without the memo")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zsbench-rerun-") as tmp:
        root = Path(tmp)
        npz, cache = root / "digits.npz", root / "cache"
        digits_npz(npz)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(
            ZSBENCH_STORE=str(root / "results.sqlite"),
            ZSBENCH_CACHE=str(cache),
            PYTHONPYCACHEPREFIX=str(root / "pycache"),
        )
        run = [*zsbench(), "run", "--embeddings", str(npz), "--seeds", "2"]
        help_ = [*zsbench(), "--help"]
        print(f"first run (fills the store and cache): {timed(run, env):.1f} s", flush=True)
        timed(help_, env)
        reruns, helps = [], []
        for _ in range(args.repeats):
            reruns.append(timed(run, env))
            helps.append(timed(help_, env))
        last = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stderr.strip().splitlines()
        print(f"rerun says: {last[-1]}")
        rerun, help_s = statistics.median(reruns), statistics.median(helps)
        print(
            f"rerun of the finished grid, median of {args.repeats}: {rerun:.2f} s "
            f"(min {min(reruns):.2f}, max {max(reruns):.2f})"
        )
        print(f"zsbench --help, median of {args.repeats}: {help_s:.2f} s (min {min(helps):.2f}, max {max(helps):.2f})")
        print(f"ratio rerun / --help: {rerun / help_s:.2f}")
        driver = root / "modules.py"
        driver.write_text(MODULES)
        out = subprocess.run(
            [sys.executable, str(driver), *run[len(zsbench()) :]], env=env, capture_output=True, text=True, check=True
        )
        loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
        print(
            f"heavy libraries the rerun imported: {', '.join(sorted(loaded & set(HEAVY))) or 'none'} "
            f"(checked: {', '.join(HEAVY)})"
        )
        if args.cold:
            cold = []
            for _ in range(args.cold):
                shutil.rmtree(cache / FOLDER, ignore_errors=True)
                cold.append(timed(run, env))
            print(
                f"rerun with the memo deleted (every estimator built, as before the memo), median of "
                f"{args.cold}: {statistics.median(cold):.2f} s"
            )


if __name__ == "__main__":
    main()
