"""What the grid, the cache and the executors buy, measured side by side in one session.

1. digits (raw pixels), the six clusterers x 3 seeds: one zsbench grid (each reduction fitted once
   per seed, shared) against the study's way (every (clusterer, seed) an independent run that
   redoes its own reduction), both after a warm-up so neither pays numba's compilation. The AMIs
   must be identical.
2. The same grid run again through the CLI against the finished store and cache (median of 3).
3. A small grid through a Dask LocalCluster (2 workers) against the local process pool (2 workers).

    python benchmarks/grid_reuse.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import zsbench

CLUSTERERS = ["kmeans", "spectral", "agglomerative", "agglomerative-no-k", "affinity-propagation", "hdbscan"]


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> None:
    zsbench.run(seeds=[9], clusterers=["kmeans"], store=False, cache=False, executor_options={"workers": 1})  # warm-up
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        grid_s, grid = timed(
            lambda: zsbench.run(seeds=3, store=tmp / "g.sqlite", cache=tmp / "g-cache", executor_options={"workers": 1})
        )
        independent, amis = [], {}
        for clusterer in CLUSTERERS:
            for seed in range(3):
                s, out = timed(
                    lambda c=clusterer, sd=seed: zsbench.run(
                        seeds=[sd], clusterers=[c], store=False, cache=False, executor_options={"workers": 1}
                    )
                )
                independent.append(s)
                amis[(clusterer, seed)] = out.results[0].ami
        same = all(amis[(r.clusterer, r.seed)] == r.ami for r in grid.results)
        print("1. digits, raw pixels, 6 clusterers x 3 seeds (in-process, after warm-up)")
        print(f"   zsbench grid: {grid_s:6.1f} s   ({grid.computed['reduce']} reductions fitted)")
        print(
            f"   independent runs (the study's way): {sum(independent):6.1f} s "
            f"({len(independent)} runs, {len(independent)} reductions)"
        )
        print(f"   speed-up x{sum(independent) / grid_s:.1f}; identical AMI in all 18 cells: {same}")

        env = {**os.environ, "ZSBENCH_STORE": str(tmp / "g.sqlite"), "ZSBENCH_CACHE": str(tmp / "g-cache")}
        reruns = []
        for _ in range(3):
            s, proc = timed(lambda: subprocess.run(["zsbench", "run"], env=env, capture_output=True, text=True))
            assert proc.returncode == 0, proc.stderr
            reruns.append(s)
        print("2. the same grid again through the CLI (finished store and cache)")
        print(
            f"   wall time, median of 3: {statistics.median(reruns):.2f} s (runs: "
            f"{', '.join(f'{r:.2f}' for r in reruns)}); {proc.stderr.strip().splitlines()[-1]}"
        )

        print("3. digits, 6 clusterers x 3 seeds, fresh cache: Dask LocalCluster vs local pool, 2 workers each")
        for name in ("local", "dask"):
            s, out = timed(
                lambda n=name: zsbench.run(
                    seeds=3, store=False, cache=tmp / f"{n}-cache", executor=n, executor_options={"workers": 2}
                )
            )
            print(f"   {name:5s}: {s:6.1f} s (start-up included)")
            if name == "local":
                local_s = s
        print(f"   dask / local wall-time ratio: {s / local_s:.2f}")


if __name__ == "__main__":
    sys.exit(main())
