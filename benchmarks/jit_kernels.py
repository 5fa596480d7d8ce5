"""Which numba kernels a new process still compiles with a warm on-disk cache, and why.

Each measurement is a fresh Python process that imports umap the way zsbench's reducer does (inside
:func:`zsbench.plugin.cached_jit`) and fits UMAP-50 (the protocol's settings) once, with numba's
compile events recorded (``numba.core.event``) and its cache loads counted. Two sizes, because umap
takes two paths: below 4,096 points it computes exact neighbours (scikit-learn), at or above it
runs pynndescent's NN-descent. Per size: a cold run (empty cache folder) then ``--repeats`` warm runs;
reported: median seconds, kernels compiled, kernels loaded from the cache, and each kernel compiled
in a warm process with its compile seconds.

    python benchmarks/jit_kernels.py [--sizes 1797 6000] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import collections, json, sys, time
from numba.core import event
from numba.core.caching import Cache

compiled, seconds, loaded = collections.Counter(), collections.defaultdict(float), [0]

class Compiles(event.Listener):
    def on_start(self, ev):
        self.started = time.perf_counter()

    def on_end(self, ev):
        f = ev.data["dispatcher"].py_func
        name = f"{f.__module__}.{f.__qualname__}"
        compiled[name] += 1
        seconds[name] += time.perf_counter() - self.started

event.register("numba:compile", Compiles())
load = Cache.load_overload
def counting(self, *args):
    got = load(self, *args)
    loaded[0] += got is not None
    return got
Cache.load_overload = counting

start = time.perf_counter()
from zsbench.plugin import cached_jit
with cached_jit():
    import umap
import numpy as np
n = int(sys.argv[1])
if n == 1797:
    from sklearn.datasets import load_digits
    x = load_digits().data.astype(np.float32)
else:
    x = np.random.default_rng(0).normal(size=(n, 64)).astype(np.float32)
umap.UMAP(n_components=50, n_neighbors=30, min_dist=0.0, metric="euclidean", random_state=0).fit_transform(x)
order = sorted(compiled, key=lambda k: -seconds[k])
print(json.dumps({"seconds": time.perf_counter() - start, "loaded": loaded[0],
                  "compiled": {k: [compiled[k], round(seconds[k], 2)] for k in order}}))
"""


def child(n: int, cache: str) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([sys.executable, "-c", CHILD, str(n)], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1797, 6000])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as cache:
            cold = child(n, cache)
            warm = [child(n, cache) for _ in range(args.repeats)]
        w = warm[-1]
        print(
            f"n={n}: cold {cold['seconds']:.1f} s ({len(cold['compiled'])} kernels compiled); warm "
            f"{statistics.median(r['seconds'] for r in warm):.1f} s (median of {len(warm)}; {w['loaded']} loaded "
            f"from the cache, {len(w['compiled'])} compiled, "
            f"{sum(s for _, s in w['compiled'].values()):.1f} s compiling)"
        )
        for name, (count, seconds) in w["compiled"].items():
            if seconds >= 0.5:
                print(f"    still compiled: {name} ({count}x, {seconds:.1f} s)")


if __name__ == "__main__":
    main()
