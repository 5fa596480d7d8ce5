"""The standard grid at scale: synthetic 768-d embeddings, 100 overlapping clusters, n = 10k, 50k, 100k.

Per n, through ``zsbench.run_embeddings`` (one seed, fresh store and artifact cache in a temporary folder):
each stage's time and peak memory (UMAP-50 reduction, each clusterer), each clusterer's AMI, which O(n^2)
clusterers the memory guard skips on a 24 and a 128 GiB machine (their own ``memory_bytes`` estimates against
80% of the memory, the guard's rule), those estimates against the peaks measured, and time ~ a * n^b per stage.

The data: cluster centres on a smooth 4-d manifold (random points through a random tanh layer), noise that
is isotropic plus 16 random directions per cluster, sizes about 20x apart; seeded. K-Means' AMI on it is
about 50-60 at n = 10k: informative, neither 0 nor 100.

Peak memory: the run's executor (registered here, in code) runs each stage alone in a fresh process, which
first builds the stage's component (importing its libraries; the reducer is also fitted once on a small set,
compiling numba's JIT), then resets the kernel's peak-RSS mark (/proc/self/clear_refs, Linux) and runs the
stage task as any worker would. The peak is VmHWM less the RSS just before: the stage's own (its input read
from the cache included), without interpreter, libraries, JIT or scoring (which runs in the calling
process). RSS, not tracemalloc: scipy and hdbscan allocate outside Python's allocators. Times are the
stages' own, as zsbench records them (no start-up, no compilation).

    python benchmarks/scale.py [--n 10000,50000,100000] [--budget-gib G] [--markdown FILE] [--json FILE]
    (each n is written to FILE as soon as it finishes; progress goes to stderr)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import ctypes
import gc
import json
import multiprocessing
import os
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import zsbench
from zsbench.core.catalog import build_catalog
from zsbench.core.protocol import Component, load_spec
from zsbench.core.registration import memory_need
from zsbench.engine.inputs import available_memory

GIB = 2**30
D, CLASSES = 768, 100
GUARD_FRACTION = 0.8  # zsbench.engine.refusals.memory_refusal: a clusterer may use 80% of the available memory
MACHINES_GIB = (24, 128)
WARM_N = 4500  # above umap's 4096, where it switches from exact neighbours to NN-descent, as at every n run
# Why a stage may grow faster than n log n (shown when it does): the library's algorithm under fixed settings
WHY = {
    "reduce (UMAP-50)": "umap's spectral init (scipy eigsh, which='SM', 51 vectors) under init='spectral'",
    "kmeans": "Lloyd iterations to tol 1e-4 grow with n; each is O(n k d)",
    "spectral": "ARPACK shift-invert for k=100 eigenvectors (eigsh sigma=1) and a brute-force kNN graph (50-d)",
    "agglomerative": "exact Ward without connectivity: O(n^2) distances",
    "agglomerative-no-k": "exact Ward without connectivity: O(n^2) distances",
    "affinity-propagation": "dense n x n messages: O(n^2) per iteration",
    "hdbscan": "exact core distances and MST on a kd-tree in 50 dims, which prunes little",
}
MEASURED: list[dict[str, Any]] = []  # one entry per stage the executor ran, in the calling process


def synthetic(n: int, seed: int = 0, d: int = D, k: int = CLASSES, scale: float = 0.15) -> tuple[Any, Any]:
    """``n`` float32 embeddings of ``d`` dims in ``k`` overlapping clusters, and their labels; deterministic."""
    rng = np.random.default_rng(seed)
    # centres on a curved 4-d manifold: neighbouring clusters overlap, far ones do not
    u = rng.uniform(-1, 1, (k, 4))
    hidden = np.tanh(u @ rng.normal(0, 1.5, (4, 64)) + rng.normal(0, 0.5, 64))
    centres = (hidden @ rng.normal(0, 1, (64, d)) / 8 * scale).astype(np.float32)
    sizes = np.exp(rng.normal(0, 0.6, k))
    y = rng.choice(k, size=n, p=sizes / sizes.sum())
    x = rng.standard_normal((n, d), dtype=np.float32) * np.float32(0.5)
    for c in range(k):  # each cluster stretched along 16 random directions of its own
        idx = np.flatnonzero(y == c)
        basis = rng.normal(0, 1, (16, d)) / np.sqrt(d)
        stretch = np.exp(rng.normal(0, 0.3, 16))
        x[idx] += ((rng.standard_normal((len(idx), 16)) * stretch) @ basis).astype(np.float32)
    x += centres[y]
    return x, y


# -- measuring a stage in a fresh process -----------------------------------------------------------------


def proc_status(field: str) -> int:
    """A /proc/self/status memory field (VmRSS, VmHWM) in bytes."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith(field + ":"))


def reset_peak() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux); False where that cannot be done."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
        return True
    return False


def stage_child(fn: Callable[..., dict[str, Any]], args: tuple[Any, ...], out: str) -> None:
    """In a fresh process: load the stage's libraries (and compile the reducer's JIT), then run ``fn(*args)``
    and write its report and peak memory to ``out``."""
    kind = "reducers" if fn.__name__ == "reduce_task" else "clusterers"
    component = Component.resolve(build_catalog(), kind, args[2])
    start = time.perf_counter()
    if kind == "reducers":  # a few epochs compile the same kernels as the full fit
        warm_up = component.build(seed=0)
        warm_up.set_params(**{"n_epochs": 10} if "n_epochs" in warm_up.get_params() else {})
        warm_up.fit_transform(synthetic(WARM_N, seed=1)[0])
        del warm_up
    else:
        component.build(seed=0, n_clusters=2)  # the factory imports the estimator's libraries
    warm = time.perf_counter() - start
    gc.collect()
    # hand glibc's free memory back, or the stage would reuse pages the warm-up left and hide them from the peak
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    before = proc_status("VmRSS")
    reset_peak()  # main() checked that it can
    report = fn(*args)
    Path(out).write_text(
        json.dumps({"report": report, "peak": proc_status("VmHWM") - before, "rss_before": before, "warm_up_s": warm})
    )


def run_fresh(fn: Callable[..., dict[str, Any]], args: tuple[Any, ...], n: int) -> dict[str, Any]:
    """``fn(*args)`` in a fresh spawned process; a process that dies is that stage's error, not the run's."""
    stage, label = ("reduce" if fn.__name__ == "reduce_task" else "cluster"), args[2]
    say(f"n={n:,}: {stage} {label} ...")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        start = time.perf_counter()
        proc = multiprocessing.get_context("spawn").Process(target=stage_child, args=(fn, args, str(out)))
        proc.start()
        proc.join()
        wall = time.perf_counter() - start
        died = "killed (SIGKILL: out of memory?)" if proc.exitcode == -9 else f"exit code {proc.exitcode}"
        probe = (
            json.loads(out.read_text())
            if out.exists()
            else {"report": {"error": f"{stage} {label}: its process died, {died}", "seconds": wall}, "peak": None}
        )
    report = probe["report"]
    MEASURED.append(
        {
            "n": n,
            "stage": stage,
            "label": label,
            "seconds": report.get("seconds"),
            "wall_s": wall,
            "peak_bytes": probe["peak"],
            "warm_up_s": probe.get("warm_up_s"),
            "error": report.get("error"),
        }
    )
    say(
        f"n={n:,}: {stage} {label}: {report.get('seconds', 0):.1f} s, peak +{gib(probe['peak'])} GiB"
        + (f", ERROR {report['error']}" if report.get("error") else "")
    )
    return report


class FreshProcessExecutor:
    """An executor (zsbench.plugin.Executor's contract) running each stage alone in a fresh process."""

    def __init__(self, n: int = 0):
        self.n, self.pool = n, concurrent.futures.ThreadPoolExecutor(1)  # one stage at a time

    def submit(self, fn, *args, resources=None):
        return self.pool.submit(run_fresh, fn, args, self.n)

    def as_completed(self, futures):
        return concurrent.futures.as_completed(list(futures))

    def close(self, cancel: bool = False) -> None:
        self.pool.shutdown(wait=not cancel, cancel_futures=cancel)


@zsbench.hookimpl
def register_executors(register):
    register("scale-probe", FreshProcessExecutor, description="each stage alone in a fresh process, peak measured")


# -- the run ----------------------------------------------------------------------------------------------


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def guard_estimates(n: int) -> dict[str, float]:
    """Bytes each protocol clusterer that declares ``memory_bytes`` says it needs for n x 768 (the guard's d:
    the embedding's, not the reduction's)."""
    catalog = build_catalog()
    entries = {name: catalog.get("clusterers", name) for name in load_spec("standard").clusterers}
    return {name: float(memory_need(e, name, n, D)) for name, e in entries.items() if e.meta.get("memory_bytes")}


def one_n(n: int, budget: float, tmp: Path) -> dict[str, Any]:
    """The standard grid at ``n``, one seed, fresh store and cache; what each stage took."""
    x, y = synthetic(n)
    estimates = guard_estimates(n)
    skipped = {c: e for c, e in estimates.items() if e > GUARD_FRACTION * budget}
    order = list(load_spec("standard").clusterers)
    clusterers = [c for c in order if c not in skipped]
    reset_peak()
    start = time.perf_counter()
    out = zsbench.run_embeddings(
        x,
        y,
        encoder="synthetic",
        dataset=f"synthetic-{n}",
        clusterers=clusterers,
        seeds=[0],
        store=tmp / f"results-{n}.sqlite",
        cache=tmp / f"cache-{n}",
        executor="scale-probe",
        executor_options={"n": n},
    )
    wall = time.perf_counter() - start
    stages = {(m["stage"], m["label"]): m for m in MEASURED if m["n"] == n}
    rows = [{**m, "stage": "reduce (UMAP-50)"} for (s, _), m in stages.items() if s == "reduce"]
    for r in out.results:
        m = stages.get(("cluster", r.clusterer), {})
        refused = (r.error or "").startswith(f"clusterer {r.clusterer} refused")
        rows.append(
            {
                "stage": r.clusterer,
                "seconds": m.get("seconds"),
                "peak_bytes": m.get("peak_bytes"),
                "estimate_bytes": estimates.get(r.clusterer),
                "ami": None if r.ami is None else 100 * r.ami,
                "n_clusters": r.metrics.get("n_clusters"),
                "score_s": r.timings.get("score"),
                "skipped": refused,
                "error": None if refused else r.error,
            }
        )
    rows += [{"stage": c, "estimate_bytes": e, "skipped": True} for c, e in skipped.items()]
    rows.sort(key=lambda r: -1 if r["stage"] not in order else order.index(r["stage"]))  # the protocol's order
    return {
        "n": n,
        "wall_s": wall,
        "driver_peak_bytes": proc_status("VmHWM"),
        "budget_bytes": budget,
        "rows": rows,
        "guard": {
            f"{size} GiB": {c: e > GUARD_FRACTION * size * GIB for c, e in estimates.items()} for size in MACHINES_GIB
        },
        "estimates": estimates,
    }


# -- the report -------------------------------------------------------------------------------------------


def fit(ns: list[int], values: list[float | None]) -> float | None:
    """b of values ~ a * n^b, least squares on log-log; None with fewer than two points."""
    pts = [(a, v) for a, v in zip(ns, values, strict=True) if v and v > 0]
    if len({a for a, _ in pts}) < 2:
        return None
    return float(np.polyfit(np.log([a for a, _ in pts]), np.log([v for _, v in pts]), 1)[0])


def gib(b: float | None) -> str:
    return "-" if b is None else f"{b / GIB:.2f}" if b < 10 * GIB else f"{b / GIB:.0f}"


def time_cell(r: dict[str, Any]) -> str:
    if r.get("skipped"):
        return f"skipped (guard: {gib(r.get('estimate_bytes'))} GiB)"
    if r.get("error"):
        return "failed"
    ami = "" if r.get("ami") is None else f", AMI {r['ami']:.1f}"
    return "-" if r.get("seconds") is None else f"{r['seconds']:.1f}{ami}"


def memory_cell(r: dict[str, Any]) -> str:
    peak, est = r.get("peak_bytes"), r.get("estimate_bytes")
    if r.get("skipped"):
        return f"skipped (needs {gib(est)})"
    if peak is None:
        return "-"
    return f"{gib(peak)} / {gib(est)} ({peak / est:.0%})" if est else gib(peak)


def markdown(done: list[dict[str, Any]]) -> str:
    """The tables, for what has finished so far."""
    ns = [d["n"] for d in done]
    cols = " | ".join(f"n = {n:,}" for n in ns)
    rule = "|---|" + "---|" * len(ns)
    names = list(dict.fromkeys(r["stage"] for d in done for r in d["rows"]))
    cell = {(d["n"], r["stage"]): r for d in done for r in d["rows"]}
    lines = [
        f"Synthetic {D}-d embeddings, {CLASSES} overlapping clusters, the standard protocol, seed 0, "
        f"{os.cpu_count()} cores. Each stage alone in a fresh process; times without JIT compilation.",
        "",
        "**Time (s), AMI x100, and time ~ n^b**",
        "",
        f"| stage | {cols} | b |",
        rule + "---|",
    ]
    for name in names:
        rows = [cell.get((n, name), {}) for n in ns]
        b = fit(ns, [None if r.get("error") else r.get("seconds") for r in rows])
        flag = "" if b is None or b <= 1.25 else " worse than n log n" + (f": {WHY[name]}" if name in WHY else "")
        lines.append(
            f"| {name} | " + " | ".join(map(time_cell, rows)) + f" | {'-' if b is None else f'{b:.2f}'}{flag} |"
        )
    lines += [
        "| scoring, all clusterers (calling process) | "
        + " | ".join(f"{sum(r.get('score_s') or 0 for r in d['rows']):.0f}" for d in done)
        + " | |",
        "| wall, whole grid (with process starts, JIT warm-up) | "
        + " | ".join(f"{d['wall_s']:.0f}" for d in done)
        + " | |",
    ]
    if min(ns) <= 10_000 < max(ns):
        lines += ["", "UMAP runs 500 epochs up to 10,000 samples and 200 above: its b across 10k is not one curve."]
    lines += [
        "",
        "**Peak memory (GiB): measured / the guard's estimate** (target: within 25%)",
        "",
        f"| stage | {cols} | peak ~ n^c |",
        rule + "---|",
    ]
    for name in names:
        rows = [cell.get((n, name), {}) for n in ns]
        c = fit(ns, [r.get("peak_bytes") for r in rows])
        lines.append(f"| {name} | " + " | ".join(map(memory_cell, rows)) + f" | {'-' if c is None else f'{c:.2f}'} |")
    lines.append(
        "| calling process (embeddings, scoring) | " + " | ".join(gib(d["driver_peak_bytes"]) for d in done) + " | |"
    )
    lines += [
        "",
        f"**Memory guard: skipped where the estimate is over {GUARD_FRACTION:.0%} of the memory**",
        "",
        f"| machine | clusterer | {cols} |",
        "|---|---|" + "---|" * len(ns),
    ]
    for gb in MACHINES_GIB:
        for name in done[0]["estimates"]:
            lines.append(
                f"| {gb} GiB | {name} | "
                + " | ".join(
                    f"{'skipped' if d['guard'][f'{gb} GiB'][name] else 'runs'} ({gib(d['estimates'][name])} GiB)"
                    for d in done
                )
                + " |"
            )
    failures = [f"- n = {d['n']:,}, {r['stage']}: {r['error']}" for d in done for r in d["rows"] if r.get("error")]
    return "\n".join(lines + ([""] + failures if failures else [])) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="10000,50000,100000", help="sample counts, comma-separated")
    parser.add_argument(
        "--budget-gib",
        type=float,
        default=None,
        help="pretend a machine with this much memory available (default: this one's)",
    )
    parser.add_argument("--markdown", type=Path, default=None, help="also write the tables here")
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    args = parser.parse_args()
    ns = [int(v) for v in args.n.replace("_", "").split(",") if v.strip().isdigit()]
    if not ns or len(ns) != len(args.n.split(",")) or min(ns) < 200:
        sys.exit(f"--n {args.n!r}: give sample counts of at least 200, separated by commas (10000,50000)")
    if args.budget_gib is not None and args.budget_gib <= 0:
        sys.exit(f"--budget-gib {args.budget_gib}: give the memory of the machine to pretend, in GiB")
    if not reset_peak():
        sys.exit("this benchmark measures peak memory through /proc/self/clear_refs: run it on Linux")
    budget = args.budget_gib * GIB if args.budget_gib else float(available_memory() or 0) or float("inf")
    done: list[dict[str, Any]] = []
    plugin = types.SimpleNamespace(register_executors=register_executors)
    with tempfile.TemporaryDirectory(prefix="zsbench-scale-") as tmp, zsbench.registered(plugin, "scale-probe"):
        for n in ns:
            say(f"n={n:,}: start (memory budget {budget / GIB:.1f} GiB)")
            try:
                done.append(one_n(n, budget, Path(tmp)))
            except zsbench.ZsbenchError as exc:
                sys.exit(f"n={n:,}: {exc}")
            say(f"n={n:,}: done in {done[-1]['wall_s']:.0f} s")
            if args.json:
                args.json.write_text(json.dumps({"runs": done, "measured": MEASURED}, indent=1))
            if args.markdown:
                args.markdown.write_text(markdown(done))
    print(markdown(done))


if __name__ == "__main__":
    main()
