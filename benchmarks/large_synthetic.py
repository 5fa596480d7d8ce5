"""Synthetic embeddings n = 50,000, d = 768, 100 Gaussian clusters through the standard protocol.

Which stages run, their times, peak memory, and which clusterers the memory guard refuses (and
with what message). One seed, in-process, so peak memory is this process's.

    python benchmarks/large_synthetic.py [--n 50000] [--d 768] [--clusters 100]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

import zsbench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--d", type=int, default=768)
    parser.add_argument("--clusters", type=int, default=100)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (args.clusters, args.d)).astype(np.float32)
    labels = rng.integers(0, args.clusters, args.n)
    x = centres[labels] + rng.normal(0, 0.7, (args.n, args.d)).astype(np.float32)
    start = time.perf_counter()
    out = zsbench.run_embeddings(x, labels, encoder="synthetic", dataset=f"gauss-{args.n}x{args.d}", seeds=1,
                                 store=False, cache=False, executor_options={"workers": 1})
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    first = out.results[0]
    print(f"n={args.n:,} d={args.d} clusters={args.clusters}: wall {wall:.0f} s, peak RSS {peak:.1f} GiB")
    print(f"  reduce (UMAP-50): {first.timings.get('reduce', 0):.1f} s")
    for r in out.results:
        if r.ok:
            print(f"  {r.clusterer:22s} cluster {r.timings.get('cluster', 0):7.1f} s  score "
                  f"{r.timings.get('score', 0):5.1f} s  AMI x100 {100 * r.ami:5.1f}  "
                  f"clusters {r.metrics['n_clusters']}")
        else:
            print(f"  {r.clusterer:22s} {r.error}")


if __name__ == "__main__":
    main()
