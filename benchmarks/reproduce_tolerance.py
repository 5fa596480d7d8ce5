"""How far a re-run's AMI may honestly differ from a record's: the tolerance of `zsbench verify --reproduce`.

The same seed on the same machine reproduces a result exactly. Another machine (other CPU, BLAS,
thread count, numba build) gives a slightly different UMAP and so a slightly different AMI. No
second machine is at hand, so these proxies of one are measured, each against the reference (the
pipeline, ``zsbench.run``, in this process), for every seed, dataset and protocol clusterer:

- ``same``: the reference's embeddings scored again in a fresh process, nothing changed (expected: 0);
- ``ulp``: every embedding value moved by one float32 ulp, up or down at random (seeded), which is
  the size of a rounding difference between two BLAS kernels or two compilers;
- ``threads``: one thread for numba, OpenMP and BLAS (``*_NUM_THREADS=1``) instead of the default;
- ``cpu``: numba compiling for a generic x86-64 CPU (``NUMBA_CPU_NAME=generic``: no AVX or FMA) and
  OpenBLAS using another CPU's kernels (``OPENBLAS_CORETYPE=Prescott``): another CPU's arithmetic.

The datasets are digits by raw pixels, all 1,797 samples and a seeded stratified subsample
(``--subsample``). Also reported: the seed-to-seed spread of each cell (the SD of AMI over seeds).

How the default tolerances follow (``zsbench.analysis.records.reproduction.TOLERANCES``; registry/README.md):
the proxies that change the UMAP at all (``ulp``, ``cpu``) are pooled per clusterer, as the RMS of
the changes over proxies, datasets and seeds (the SD of a change whose expected value is 0). A
clusterer's tolerance per cell is max(FLOOR, K x its RMS), K = 4 (a forgery is tens of points off,
so false alarms, not power, set K), FLOOR = 1 AMI point; a clusterer not measured gets the largest.
Clusterers differ (spectral's RMS is twice K-Means'), so one tolerance for all would be the
noisiest one's and let a forgery through on the others. The script prints the values; its figures
(2-core AMD EPYC, numpy's OpenBLAS 0.3.31, numba 0.68.1, umap-learn 0.5.12, 4 seeds, subsample
500) are in registry/README.md.

Usage: python benchmarks/reproduce_tolerance.py [--seeds 4] [--subsample 500] [--work DIR (reuses
       the proxies' results it holds)]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

K = 4.0
FLOOR = 1.0  # AMI x100
THREADS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
PROXIES = {
    "same": {},
    "ulp": {},
    "threads": dict.fromkeys(THREADS, "1"),
    "cpu": {"NUMBA_CPU_NAME": "generic", "OPENBLAS_CORETYPE": "Prescott"},
}


def reference(work: Path, seeds: list[int], subsample: int) -> dict[str, dict[str, float]]:
    """Run the pipeline on both sample sets; save each embedding and its labels for the proxies."""
    import zsbench
    from zsbench.core.protocol import load_spec
    from zsbench.storage.cache import ArtifactCache

    clusterers = load_spec("1").clusterers
    out = {}
    for name, max_samples in (("digits", None), (f"digits-{subsample}", subsample)):
        cache = work / f"cache-{name}"
        run = zsbench.run(
            "raw-pixels",
            "digits",
            clusterers=clusterers,
            seeds=seeds,
            max_samples=max_samples,
            store=False,
            cache=cache,
        )
        out[name] = {f"{r.clusterer}/{r.seed}": r.ami for r in run.results if r.ok}
        entries = {e.stage: e for e in ArtifactCache(cache).entries() if e.stage in ("embed", "truth")}
        np.savez(work / f"{name}.npz", x=np.load(entries["embed"].path), y=np.load(entries["truth"].path))
    return out


def proxy(work: Path, name: str, seeds: list[int]) -> None:
    """In a fresh process (its environment set by the caller): score the saved embeddings again."""
    import zsbench
    from zsbench.core.protocol import load_spec

    clusterers = load_spec("1").clusterers
    out = {}
    for path in sorted(work.glob("digits*.npz")):
        data = np.load(path)
        x = data["x"]
        if name == "ulp":
            up = np.random.default_rng(0).random(x.shape) < 0.5
            x = np.where(up, np.nextafter(x, np.float32(np.inf)), np.nextafter(x, np.float32(-np.inf)))
            x = x.astype(data["x"].dtype)
        run = zsbench.run_embeddings(
            x,
            data["y"],
            encoder="raw-pixels",
            dataset="digits",
            clusterers=clusterers,
            seeds=seeds,
            store=False,
            cache=False,
        )
        out[path.stem] = {f"{r.clusterer}/{r.seed}": r.ami for r in run.results if r.ok}
    (work / f"{name}.json").write_text(json.dumps(out))


def rms(values: list[float]) -> float:
    """The root mean square: the SD of a change whose expected value is 0."""
    return (statistics.fmean(v * v for v in values)) ** 0.5 if values else 0.0


def report(ref: dict[str, dict[str, float]], proxies: dict[str, dict[str, dict[str, float]]]) -> None:
    clusterers = sorted({k.split("/")[0] for cells in ref.values() for k in cells})

    def changes(pname: str, clusterer: str) -> list[float]:
        got = proxies[pname]
        return [
            100 * (got[ds][k] - v)
            for ds, cells in ref.items()
            for k, v in cells.items()
            if k.startswith(f"{clusterer}/") and k in got.get(ds, {})
        ]

    print("\nAMI x100 change against the reference, per proxy and clusterer (both datasets, all seeds):")
    print(f"{'proxy':8} {'clusterer':22} {'exact':>7} {'mean|d|':>8} {'RMS':>6} {'max|d|':>7}")
    for pname in proxies:
        every = []
        for c in [*clusterers, None]:
            d = changes(pname, c) if c else every
            every += d if c else []
            print(
                f"{pname:8} {c or '(all)':22} {sum(x == 0 for x in d):>3}/{len(d):<3} "
                f"{statistics.fmean(map(abs, d)):8.2f} {rms(d):6.2f} {max(map(abs, d)):7.2f}"
            )
    print("\nseed-to-seed SD of AMI x100 (the reference), per dataset and clusterer:")
    for ds, cells in ref.items():
        row = [
            f"{c} {statistics.pstdev([100 * v for k, v in cells.items() if k.startswith(f'{c}/')]):.2f}"
            for c in clusterers
        ]
        print(f"  {ds}: " + ", ".join(row))
    moving = [
        p for p in proxies if p != "same" and any(changes(p, c).count(0.0) < len(changes(p, c)) for c in clusterers)
    ]
    per = {c: rms([d for p in moving for d in changes(p, c)]) for c in clusterers}
    print(
        f"\ncross-environment RMS change (AMI x100) per clusterer, pooled over {', '.join(moving)}, and its "
        f"tolerance max({FLOOR:g}, {K:g} x RMS), beside the largest single change:"
    )
    for c, v in per.items():
        print(
            f"  {c:22} RMS {v:5.2f}  tolerance {max(FLOOR, K * v):5.1f}  largest "
            f"{max(abs(d) for p in moving for d in changes(p, c)):5.2f}"
        )
    same = [d for c in clusterers for d in changes("same", c)]
    print(f"same seed, same machine, fresh process: {same.count(0.0)}/{len(same)} cells exact")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--subsample", type=int, default=500)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--proxy", choices=list(PROXIES), help=argparse.SUPPRESS)  # the child process's part
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    work = args.work or Path(tempfile.mkdtemp(prefix="zsbench-reproduce-"))
    if args.proxy:
        return proxy(work, args.proxy, seeds)
    start = time.perf_counter()
    ref = reference(work, seeds, args.subsample)
    print(f"reference: {sum(map(len, ref.values()))} results in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    got = {}
    for name, env in PROXIES.items():
        if (work / f"{name}.json").exists():  # from an earlier run in this --work folder
            got[name] = json.loads((work / f"{name}.json").read_text())
            continue
        t0 = time.perf_counter()
        cmd = [sys.executable, __file__, "--proxy", name, "--seeds", str(args.seeds), "--work", str(work)]
        subprocess.run(cmd, check=True, env={**os.environ, "ZSBENCH_WORKERS": "1", **env})
        got[name] = json.loads((work / f"{name}.json").read_text())
        print(f"proxy {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    report(ref, got)


if __name__ == "__main__":
    main()
