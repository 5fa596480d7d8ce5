"""A new process's first UMAP-50 fit: umap's numba kernels compiled in that process, or loaded from disk.

zsbench imports umap inside :func:`zsbench.plugin.cached_jit`, so umap's kernels are cached on disk and a
new process (a run, a pool worker) loads them instead of compiling them again. Each repeat here is a fresh
Python process that imports umap and fits UMAP-50 (the protocol's settings) on 1,797 x 64 digits:

- ``compiled``: umap imported plainly (no cache for its kernels, as without zsbench's wrapper);
- ``cached``: umap imported as the zsbench reducer imports it, the cache already warm.

Both arms share numba's cache folder for pynndescent (which caches its own kernels either way). Reported:
the median seconds of import + first fit per arm, their ratio, and whether both embeddings are identical.

    python benchmarks/jit_cache.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CHILD = r"""
import hashlib, json, sys, time
start = time.perf_counter()
if sys.argv[1] == "cached":
    from zsbench.plugin import cached_jit
    with cached_jit():
        import umap
else:
    import umap
import numpy as np
from sklearn.datasets import load_digits
x = load_digits().data.astype(np.float32)
z = umap.UMAP(n_components=50, n_neighbors=30, min_dist=0.0, metric="euclidean", random_state=0).fit_transform(x)
print(json.dumps({"seconds": time.perf_counter() - start,
                  "sha256": hashlib.sha256(np.ascontiguousarray(z).tobytes()).hexdigest()}))
"""


def one(arm: str) -> dict:
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", CHILD, arm], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    one("cached")  # warm the cache (and pynndescent's) once
    runs: dict[str, list[dict]] = {"compiled": [], "cached": []}
    for _ in range(args.repeats):  # interleaved, so machine noise falls on both arms alike
        for arm in runs:
            runs[arm].append(one(arm))
    median = {arm: statistics.median(r["seconds"] for r in rs) for arm, rs in runs.items()}
    same = len({r["sha256"] for rs in runs.values() for r in rs}) == 1
    for arm, rs in runs.items():
        each = ", ".join(f"{r['seconds']:.1f}" for r in rs)
        print(f"{arm:>9}: median {median[arm]:.1f} s over {len(rs)} fresh processes ({each})")
    print(f"ratio compiled / cached: {median['compiled'] / median['cached']:.1f}x; identical embeddings: {same}")


if __name__ == "__main__":
    main()
