"""How often `zsbench check` fails a model that did not change, and how small a drop it catches.

The smoke suite: digits, K-Means and agglomerative, 3 seeds. The baseline is seeds 0 to
``--baseline-seeds`` - 1 (3 by default); each of ``--reruns`` re-runs uses three fresh seeds of the
same encoder, which is what a CI job sees when nothing regressed. The gate's decision
(``zsbench.analysis.gate.compare``, the function ``zsbench check`` calls after running) is applied to each
re-run as it is (false alarms) and with every AMI lowered by an injected drop (power). A real
regression is also measured: the same pixels with Gaussian noise added (seeded), whose true AMI
drop is whatever it is.

Usage: python benchmarks/gate_calibration.py [--reruns 20] [--baseline-seeds 3] [--max-samples N]
       [--timing-repeats 3] [--work DIR (reuse its store and cache)]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import zsbench
from zsbench.analysis import gate

CLUSTERERS = ["kmeans", "agglomerative"]
CLI = "from zsbench.cli import main; main()"


def noisy_pixels_plugin(sigma: float):
    """Raw pixels plus seeded Gaussian noise of standard deviation ``sigma`` (pixels in [0, 1])."""
    from zsbench.plugins.raw_pixels import RawPixels

    class Noisy(RawPixels):
        def __init__(self):
            super().__init__()
            self.identity = {**self.identity, "noise_sigma": sigma}

        def embed(self, dataset):
            rng = np.random.default_rng(0)
            for batch in super().embed(dataset):
                yield batch + rng.normal(0.0, sigma, size=batch.shape).astype(batch.dtype)

    class Plugin:
        @zsbench.hookimpl
        def register_encoders(self, register):
            register(f"noisy-pixels-{sigma:g}", Noisy, description="raw pixels with Gaussian noise")

    return Plugin()


def lowered(results, drop: float):
    """The same results with every AMI lowered by ``drop`` points (x100)."""
    return [dataclasses.replace(r, metrics={**r.metrics, "ami": r.ami - drop / 100.0}) for r in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=20)
    parser.add_argument("--max-samples", type=int, default=None)
    parser.add_argument("--timing-repeats", type=int, default=3)
    parser.add_argument("--sigmas", type=float, nargs="*", default=[0.05, 0.1, 0.15, 0.2])
    parser.add_argument("--baseline-seeds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="zsbench-gate-"))
    store, cache = work / "results.sqlite", work / "cache"
    common = dict(dataset="digits", clusterers=CLUSTERERS, store=store, cache=cache, max_samples=args.max_samples)
    nb = args.baseline_seeds
    n_seeds = nb + 3 * args.reruns

    start = time.perf_counter()
    run = zsbench.run("raw-pixels", seeds=list(range(n_seeds)), **common)
    print(
        f"computed {len(run.results)} results over {n_seeds} seeds in {time.perf_counter() - start:.0f} s",
        file=sys.stderr,
    )
    by_seed = {}
    for r in run.results:
        by_seed.setdefault(r.seed, []).append(r)
    baseline = [r for s in range(nb) for r in by_seed[s]]
    reruns = [[r for s in range(t, t + 3) for r in by_seed[s]] for t in range(nb, n_seeds, 3)]

    def compare(candidate):
        return gate.compare(baseline, candidate, baseline_name=f"seeds 0-{nb - 1}", candidate_name="rerun")

    if reruns:
        calibrate(baseline, reruns, compare, args, common)
        # a steadier estimate of the false-alarm rate: every block of baseline size as the baseline of
        # every disjoint triple (pairs share seeds, so they are not independent)
        blocks = [range(b, b + nb) for b in range(0, n_seeds - nb + 1, nb)]
        triples = [range(t, t + 3) for t in range(0, n_seeds - 2, 3)]
        pairs = [(b, t) for b in blocks for t in triples if not set(b) & set(t)]
        alarms = sum(
            not gate.compare(
                [r for s in b for r in by_seed[s]],
                [r for s in t for r in by_seed[s]],
                baseline_name="b",
                candidate_name="t",
            ).passed
            for b, t in pairs
        )
        print(
            f"\nfalse alarms over all {len(pairs)} (baseline block, disjoint triple) pairs of the {n_seeds} seeds: "
            f"{alarms} ({100 * alarms / len(pairs):.1f}%)"
        )
    time_check(work, store, cache, args.timing_repeats)


def calibrate(baseline, reruns, compare, args, common) -> None:
    reports = [compare(c) for c in reruns]
    alarms = sum(not rep.passed for rep in reports)
    thresholds = [rep.suite.threshold for rep in reports]
    deltas = [rep.suite.delta for rep in reports]
    print(
        f"\nsmoke suite: digits ({args.max_samples or 'all'} samples), {', '.join(CLUSTERERS)}, 3 seeds; "
        f"baseline of {args.baseline_seeds} seeds; alpha {gate.ALPHA}, tolerance {gate.TOLERANCE}"
    )
    print(f"false alarms: {alarms} of {len(reports)} re-runs with fresh seeds")
    print(
        f"re-run mean change: median {statistics.median(deltas):+.2f}, range {min(deltas):+.2f} to "
        f"{max(deltas):+.2f} AMI points; allowed drop: median {statistics.median(thresholds):.2f}, range "
        f"{min(thresholds):.2f} to {max(thresholds):.2f}"
    )

    print("\ninjected drop (AMI x100) -> re-runs failed")
    smallest_all = smallest_half = None
    for drop in np.arange(0.5, 8.01, 0.5):
        caught = sum(not compare(lowered(c, drop)).passed for c in reruns)
        print(f"  {drop:4.1f} -> {caught}/{len(reruns)}")
        if smallest_half is None and caught * 2 >= len(reruns):
            smallest_half = drop
        if smallest_all is None and caught == len(reruns):
            smallest_all = drop
    print(f"smallest drop caught in at least half the re-runs: {smallest_half}; in all: {smallest_all}")

    seeds = sorted({r.seed for r in reruns[0]})  # the first re-run's seeds
    print(f"\nreal regression: pixels + Gaussian noise, seeds {seeds[0]}-{seeds[-1]} against the baseline")
    for sigma in args.sigmas:
        with zsbench.registered(noisy_pixels_plugin(sigma), f"noisy-{sigma:g}"):
            cand = zsbench.run(f"noisy-pixels-{sigma:g}", seeds=seeds, **common).results
        rep = compare(cand)
        print(
            f"  sigma {sigma:g}: change {rep.suite.delta:+.2f}, allowed drop {rep.suite.threshold:.2f} -> "
            f"{'FAILED' if not rep.passed else 'passed'}"
        )


def time_check(work: Path, store: Path, cache: Path, repeats: int) -> None:
    """Wall time of the real command in a fresh process: a candidate run on new seeds, nothing cached."""
    record = work / "baseline.json"
    env = {**os.environ, "ZSBENCH_STORE": str(store), "ZSBENCH_CACHE": str(cache)}
    subprocess.run(
        [sys.executable, "-c", CLI, "submit", "--encoder", "raw-pixels", "--partial", "-o", str(record)],
        check=True,
        env=env,
        capture_output=True,
    )
    times = []
    for i in range(repeats):
        fresh = work / f"timing{i}"  # nothing cached: the candidate's stages all run
        cmd = [
            sys.executable,
            "-c",
            CLI,
            "check",
            "--baseline",
            str(record),
            "--first-seed",
            "1000",
            "--store",
            str(fresh / "s.sqlite"),
            "--cache",
            str(fresh / "cache"),
        ]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        print(f"  zsbench check run {i}: {times[-1]:.1f} s, exit {proc.returncode}", file=sys.stderr)
    if times:
        print(
            f"\n`zsbench check` wall time (fresh process, empty cache): median {statistics.median(times):.1f} s "
            f"of {len(times)} ({min(times):.1f}-{max(times):.1f})"
        )


if __name__ == "__main__":
    main()
