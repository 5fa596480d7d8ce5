"""Wall time of the default `zsbench run` (raw pixels, digits, six clusterers, 3 seeds) and its split.

Each repeat runs the real CLI in a fresh process against a fresh store and cache, then reads the per-stage
timings that the run recorded. Reported: the median wall time over repeats, the median split by
stage, and the AMI x100 per clusterer (mean ± std over seeds) of the last repeat.

    python benchmarks/default_run.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from zsbench.storage.store import ResultStore


def one_run(store: Path) -> tuple[float, dict[str, float], list]:
    # a fresh store and artifact cache each time: nothing may come from a previous repeat
    env = {**os.environ, "ZSBENCH_STORE": str(store), "ZSBENCH_CACHE": str(store.with_suffix(".cache"))}
    start = time.perf_counter()
    subprocess.run(["zsbench", "run"], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    results = ResultStore(store).results()
    split: dict[str, float] = defaultdict(float)
    seen_seeds = set()
    for r in results:
        if r.seed not in seen_seeds:  # embed, reduce and proxy are shared by a seed's clusterers
            seen_seeds.add(r.seed)
            split["reduce (UMAP-50, per seed, summed)"] += r.timings.get("reduce", 0.0)
            split["proxy space (reused)"] += r.timings.get("proxy", 0.0)
        split[f"cluster {r.clusterer}"] += r.timings.get("cluster", 0.0)
        split["score (all metrics)"] += r.timings.get("score", 0.0)
    split["embed"] = results[0].timings["embed"]
    # stages run on a process pool, so their times add up across workers and may exceed the wall
    split["sum of stage times (all workers)"] = sum(split.values())
    return wall, dict(split), results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    walls, splits, results = [], defaultdict(list), []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            wall, split, results = one_run(Path(tmp) / f"run{i}.sqlite")
            walls.append(wall)
            for k, v in split.items():
                splits[k].append(v)
            print(f"repeat {i}: {wall:.1f} s", flush=True)
    print(
        f"\nwall time, median of {args.repeats}: {statistics.median(walls):.1f} s "
        f"(min {min(walls):.1f}, max {max(walls):.1f})"
    )
    print("\nmedian seconds by stage:")
    for k, v in sorted(splits.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"  {k:45s} {statistics.median(v):7.2f}")
    print("\nAMI x100 per clusterer (last repeat, mean ± std over seeds):")
    by = defaultdict(list)
    for r in results:
        by[r.clusterer].append(100 * r.ami)
    for name, v in by.items():
        print(f"  {name:22s} {statistics.fmean(v):5.1f} ± {statistics.stdev(v):.1f}")


if __name__ == "__main__":
    main()
