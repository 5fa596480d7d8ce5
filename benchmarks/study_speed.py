"""The default job against the study's own per-job pipeline, on the same embeddings (issue 14).

The study (Lowe et al. 2024, scottclowe/zs-ssl-clustering) runs one process per clusterer and seed:
its ``zs_ssl_clustering/cluster.py`` loads the embeddings, fits UMAP-50 and clusters. zsbench runs
the same grid (UMAP-50 then six clusterers, three seeds) in one command that fits UMAP once per seed
and shares it. Both run here on digits raw pixels (zsbench's ``raw-pixels`` encoder, saved to an .npz
in the study's layout), with the standard protocol's settings written as cluster.py flags:

- study: 18 fresh processes, one per (clusterer, seed), one after another (as its job scripts do),
  summed wall time;
- zsbench: ``zsbench run --embeddings FILE`` with a fresh store and artifact cache and a warm JIT cache
  (one untimed run first, on another store and cache), wall time, the median of ``--repeats``.

Reported: both times, their ratio (the figure), and AMI x100 per clusterer (mean over seeds) of both.
The study's code is run from a checkout you give (``--study``; nothing of it is imported here), with
an interpreter that has its dependencies (``--python``, default this one).

    python benchmarks/study_speed.py --study PATH/TO/zs-ssl-clustering [--python PY] [--seeds 3] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# The standard protocol (standard-1.toml) as cluster.py flags: UMAP to 50 dims (n_neighbors 30 and
# min_dist 0 are cluster.py's defaults) then each clusterer with the protocol's settings.
UMAP = "--dim-reducer=None --dim-reducer-man=UMAP --ndim-reduced-man=50 --no-zscore"
FLAGS = {
    "kmeans": f"{UMAP} --no-zscore2 --no-ndim-correction --clusterer-name=KMeans",
    "spectral": f"{UMAP} --no-zscore2 --no-ndim-correction --clusterer-name=SpectralClustering "
    "--spectral-assigner=cluster_qr --spectral-affinity=nearest_neighbors --spectral-n-neighbors=10",
    "agglomerative": f"{UMAP} --no-zscore2 --no-ndim-correction --clusterer-name=AgglomerativeClustering "
    "--distance-metric=euclidean --aggclust-linkage=ward",
    "agglomerative-no-k": f"{UMAP} --azscore2 --ndim-correction --clusterer-name=AgglomerativeClustering "
    "--distance-metric=euclidean --aggclust-linkage=ward --aggclust-dist-thresh=2.0",
    "affinity-propagation": f"{UMAP} --no-zscore2 --no-ndim-correction --clusterer-name=AffinityPropagation "
    "--affinity-damping=0.9 --affinity-conv-iter=15",
    "hdbscan": f"{UMAP} --no-zscore2 --no-ndim-correction --clusterer-name=HDBSCAN --hdbscan-method=eom "
    "--min-samples=5 --max-samples=0.2 --distance-metric=euclidean",
}
AMI_LINE = re.compile(r"^\s*AMI\s*\.*\s*([0-9.]+)\s*$", re.M)  # cluster.py prints "  AMI ......  0.1234"


def embeddings(folder: Path) -> Path:
    """zsbench's raw-pixels embedding of digits, as the study's cluster.py and zsbench both read it."""
    from zsbench.core.catalog import build_catalog

    catalog = build_catalog()
    ds = catalog.get("datasets", "digits").create()
    x = np.concatenate(list(catalog.get("encoders", "raw-pixels").create().embed(ds))).astype(np.float32)
    y = np.asarray(ds.labels, dtype=np.int64)
    target = folder / "test__z1.0" / "digits__raw-pixels.npz"  # not "raw": cluster.py rebuilds that itself
    target.parent.mkdir(parents=True)
    np.savez(target, embeddings=x, y_true=y)
    np.savez(folder / "zsbench.npz", embeddings=x, labels=y)
    return folder / "zsbench.npz"


def study(src: Path, python: str, emb: Path, seeds: list[int]) -> tuple[float, dict[str, list[float]]]:
    total, amis = 0.0, {}
    env = {**os.environ, "PYTHONPATH": str(src)}
    for name, flags in FLAGS.items():
        for seed in seeds:
            cmd = [
                python,
                "zs_ssl_clustering/cluster.py",
                "--dataset",
                "digits",
                "--model",
                "raw-pixels",
                "--embedding-dir",
                str(emb),
                "--partition",
                "test",
                "--disable-wandb",
                "--no-save-pred",
                "--workers",
                "1",
                f"--seed={seed}",
                *flags.split(),
            ]
            start = time.perf_counter()
            out = subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True)
            total += time.perf_counter() - start
            found = AMI_LINE.search(out.stdout)
            if out.returncode or not found:
                sys.exit(f"the study's cluster.py failed ({name}, seed {seed}):\n{out.stderr[-2000:]}")
            amis.setdefault(name, []).append(100 * float(found.group(1)))
            print(f"  study {name} seed {seed}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return total, amis


def zsbench_run(npz: Path, folder: Path, seeds: list[int]) -> tuple[float, dict[str, list[float]]]:
    from zsbench.storage.store import ResultStore

    store = folder / "results.sqlite"
    env = {**os.environ, "ZSBENCH_STORE": str(store), "ZSBENCH_CACHE": str(folder / "cache")}
    cmd = [
        "zsbench",
        "run",
        "--embeddings",
        str(npz),
        "--name",
        "raw-pixels",
        "--dataset",
        "digits",
        "--seeds",
        str(len(seeds)),
    ]
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    amis: dict[str, list[float]] = {}
    for r in ResultStore(store, readonly=True).results():
        if r.ok:
            amis.setdefault(r.clusterer, []).append(100 * r.metrics["ami"])
    return wall, amis


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", type=Path, required=True, help="a checkout of scottclowe/zs-ssl-clustering")
    parser.add_argument("--python", default=sys.executable, help="an interpreter with the study's dependencies")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3, the protocol's)")
    parser.add_argument(
        "--repeats", type=int, default=3, help="zsbench runs timed (median); the study's 18 processes run once"
    )
    args = parser.parse_args()
    args.seeds = list(range(args.seeds))
    if not (args.study / "zs_ssl_clustering" / "cluster.py").is_file():
        sys.exit(f"--study {args.study}: no zs_ssl_clustering/cluster.py there; pass a checkout of the study's code")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        npz = embeddings(tmp / "emb")
        (tmp / "warm").mkdir()
        zsbench_run(npz, tmp / "warm", args.seeds)  # fills the JIT cache; its results are not used
        times = []
        for i in range(args.repeats):  # each on a fresh store and artifact cache
            (tmp / f"timed{i}").mkdir()
            wall, our_ami = zsbench_run(npz, tmp / f"timed{i}", args.seeds)
            times.append(wall)
        ours = statistics.median(times)
        theirs, their_ami = study(args.study, args.python, tmp / "emb", args.seeds)
    jobs = len(FLAGS) * len(args.seeds)
    print(f"digits raw pixels, {len(FLAGS)} clusterers x {len(args.seeds)} seeds:")
    print(f"  study, {jobs} cluster.py processes one after another: {theirs:.1f} s")
    print(
        f"  zsbench run --embeddings (fresh store and cache, warm JIT cache): {ours:.1f} s (median of "
        f"{len(times)}: {', '.join(f'{t:.1f}' for t in times)})"
    )
    print(f"  ratio: {theirs / ours:.1f}x\n")
    print("| clusterer | study AMI ×100 | zsbench AMI ×100 |\n|---|---:|---:|")
    for name in FLAGS:
        a, b = their_ami.get(name, []), our_ami.get(name, [])
        print(f"| {name} | {_mean_sd(a)} | {_mean_sd(b)} |")


def _mean_sd(v: list[float]) -> str:
    if len(v) > 1:
        return f"{statistics.fmean(v):.1f} ± {statistics.stdev(v):.1f}"
    return f"{v[0]:.1f}" if v else "–"


if __name__ == "__main__":
    main()
