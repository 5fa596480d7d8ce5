"""Parity with the study's own code (issue 13): zsbench's AMI against its cluster.py's on the same files.

The reference runs were made outside the repository: the study's cluster.py (scottclowe/zs-ssl-clustering
@ 5cb58bd7, unmodified) on embeddings in ``<dir>/emb/test__z1.0/<dataset>__<model>.npz`` (keys
``embeddings``, ``y_true``), one row per run in ``<dir>/reference.csv`` (embeddings_file, config_id,
flags, seed, ami, status, ...). This script maps each configuration's flags to zsbench specs
(:func:`to_specs`, written out flag by flag; what it cannot express is skipped and listed), runs zsbench
on the same file with the same seeds (the study's seed and zsbench's seed both become every
``random_state``: PCA's, UMAP's and the clusterer's) and prints a markdown table.

    nice -n 10 python benchmarks/study_parity.py --reference DIR [--kinds pca,none,zscore]
    python benchmarks/study_parity.py --reference DIR --fixture tests/fixtures/study_reference.json

Verdict: "identical" when every seed's AMI agrees to 1e-6; "same" when |mean difference| (AMI x100) <=
max(2 sd, 0.5), sd the larger of the two standard deviations over seeds; "both refuse" when the study
errored and zsbench refuses too (PCA to more dimensions than the input has); otherwise "DIFFERS".
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HDBSCAN_METRICS = {"l1": "manhattan"}  # the study's name -> zsbench's (scipy/sklearn's) for the same metric


def flag_dict(flags: str) -> dict[str, str]:
    """``--a=b --c`` as {"a": "b", "c": ""}."""
    out = {}
    for part in flags.split():
        key, _, value = part.removeprefix("--").partition("=")
        out[key] = value
    return out


def reducer_spec(f: dict[str, str]) -> str:
    """The study's reduction flags as a zsbench reducer spec."""
    zscore = "zscore" in f
    if f.get("dim-reducer-man") == "UMAP":
        if zscore or f.get("dim-reducer") not in (None, "None") or f.get("ndim-reduced-man") != "50":
            raise ValueError("UMAP other than UMAP-50 on the embeddings as they are")
        return "umap"  # UMAP-50, n_neighbors 30, min_dist 0, euclidean: cluster.py's defaults
    if f.get("dim-reducer") == "PCA":
        if not zscore:
            raise ValueError("PCA without the z-score (zsbench's pca always z-scores first)")
        n = f.get("pca-variance") or f.get("ndim-reduced")
        return f"pca:n_components={n}"
    if f.get("dim-reducer") in (None, "None") and f.get("dim-reducer-man") in (None, "None"):
        return "zscore" if zscore else "none"
    raise ValueError(f"reducer {f.get('dim-reducer')}/{f.get('dim-reducer-man')}")


def clusterer_spec(f: dict[str, str]) -> str:
    """The study's clusterer flags as a zsbench clusterer spec."""
    name = f["clusterer-name"]
    scaled = "azscore2" in f and "ndim-correction" in f
    if name == "KMeans":  # k = #classes, k-means++, n_init 1, max_iter 1000 on both sides
        return "kmeans"
    if name == "SpectralClustering":
        if f.get("spectral-assigner") != "cluster_qr" or f.get("spectral-affinity") != "nearest_neighbors":
            raise ValueError("spectral other than nearest_neighbors + cluster_qr")
        return f"spectral:n_neighbors={f['spectral-n-neighbors']}"
    if name == "AgglomerativeClustering":
        opts = f"linkage={f['aggclust-linkage']},metric={f['distance-metric']}"
        if "aggclust-dist-thresh" not in f:
            if scaled or "azscore2" in f:
                raise ValueError("agglomerative with k on scaled data")
            return f"agglomerative:{opts}"
        if not scaled:  # zsbench's agglomerative-no-k always centres, scales and corrects for d
            raise ValueError("agglomerative without k and without --azscore2 --ndim-correction")
        return f"agglomerative-no-k:distance_threshold={f['aggclust-dist-thresh']},{opts}"
    if name == "AffinityPropagation":
        if f.get("affinity-conv-iter") != "15":
            raise ValueError("affinity propagation with convergence_iter other than 15")
        return f"affinity-propagation:damping={f['affinity-damping']}"
    if name == "HDBSCAN":
        if f.get("hdbscan-method") != "eom" or f.get("max-samples") != "0.2":
            raise ValueError("HDBSCAN other than eom with largest cluster 0.2 N")
        metric = HDBSCAN_METRICS.get(f["distance-metric"], f["distance-metric"])
        # cluster.py passes its --min-samples as min_cluster_size (cluster.py:459)
        return f"hdbscan-sklearn:metric={metric},min_cluster_size={f['min-samples']}"
    raise ValueError(f"clusterer {name}")


def to_specs(flags: str) -> tuple[str, str]:
    """(reducer, clusterer) zsbench specs for one configuration's cluster.py flags; ValueError if none."""
    f = flag_dict(flags)
    return reducer_spec(f), clusterer_spec(f)


def load_reference(path: Path) -> dict[tuple[str, str], dict]:
    """reference.csv grouped by (embeddings file, config id): flags, kind and {seed: AMI or None}."""
    configs: dict[tuple[str, str], dict] = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            entry = configs.setdefault(
                (row["embeddings_file"], row["config_id"]),
                {"flags": row["flags"], "kind": row["kind"], "ami": {}, "k": {}},
            )
            ok = row["status"] == "ok"
            entry["ami"][int(row["seed"])] = float(row["ami"]) if ok else None
            entry["k"][int(row["seed"])] = int(row["n_clusters_pred"]) if ok else None
    return configs


def mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def run_zsbench(npz: Path, plan: dict[tuple[str, tuple[int, ...]], list[str]], cache: Path) -> dict:
    """{(reducer, clusterer, seed): (AMI or None, error)} for every (reducer, seeds) group of ``plan``."""
    import zsbench

    data = np.load(npz)
    x, y = data["embeddings"], data["y_true"]
    out = {}
    for (reducer, seeds), clusterers in plan.items():
        start = time.perf_counter()
        try:
            result = zsbench.run_embeddings(
                x,
                y,
                encoder=npz.stem,
                dataset="digits",
                reducer=reducer,
                clusterers=clusterers,
                seeds=list(seeds),
                store=False,
                cache=cache,
                executor_options={"workers": 1},
            )
        except zsbench.ZsbenchError as exc:  # a reducer refused before any clustering (e.g. too many dims)
            out.update({(reducer, c, s): (None, str(exc)) for c in clusterers for s in seeds})
            continue
        labels = [canon(c) for c in clusterers]
        for rec in result.to_records():
            ami = rec["metrics"].get("ami") if rec["status"] == "ok" else None
            out[(reducer, clusterers[labels.index(rec["clusterer"])], int(rec["seed"]))] = (ami, rec["error"])
        print(
            f"  {npz.name} {reducer} x {len(clusterers)} clusterer(s) x seeds {list(seeds)}: "
            f"{time.perf_counter() - start:.1f}s",
            file=sys.stderr,
            flush=True,
        )
    return out


def canon(spec: str) -> str:
    """A spec as zsbench labels it in results (string options quoted)."""
    from zsbench.core.catalog import build_catalog
    from zsbench.core.protocol import Component

    return Component.resolve(build_catalog(), "clusterers", spec).label


def verdict(study: list[float | None], ours: list[float | None]) -> tuple[str, str, str, str]:
    """(study cell, zsbench cell, difference, verdict), AMI x100."""
    if all(v is None for v in study):
        return (
            "error",
            ("refused" if all(v is None for v in ours) else "ran"),
            "",
            ("both refuse" if all(v is None for v in ours) else "DIFFERS"),
        )
    if any(v is None for v in ours):
        return "", "error", "", "DIFFERS"
    (sm, ss), (zm, zs) = mean_sd([100 * v for v in study]), mean_sd([100 * v for v in ours])
    diff = zm - sm
    if all(abs(a - b) <= 1e-6 for a, b in zip(study, ours, strict=True)):
        word = "identical"
    else:
        word = "same" if abs(diff) <= max(2 * max(ss, zs), 0.5) else "DIFFERS"
    return f"{sm:.2f} ± {ss:.2f}", f"{zm:.2f} ± {zs:.2f}", f"{diff:+.2f}", word


def write_fixture(reference: dict, emb_dir: Path, path: Path, chosen: list[str]) -> None:
    """The study's AMIs for ``chosen`` configs on digits raw pixels, as numbers (see tests/test_study_parity.py)."""
    raw = np.load(emb_dir / "digits__raw.npz")
    emb = np.ascontiguousarray(raw["embeddings"], dtype=np.float32)
    entries = []
    for config in chosen:
        ref = reference[("digits__raw.npz", config)]
        reducer, clusterer = to_specs(ref["flags"])
        # seed 0 only: every further seed costs the test another UMAP fit (the silhouette proxy's space)
        entries.append(
            {
                "config": config,
                "study_flags": ref["flags"],
                "reducer": reducer,
                "clusterer": clusterer,
                "seed": 0,
                "ami": ref["ami"][0],
                "n_clusters": ref["k"][0],
            }
        )
    doc = {
        "about": "AMI of the study's own cluster.py (scottclowe/zs-ssl-clustering @ 5cb58bd7, unmodified) "
        "on digits raw pixels; made by benchmarks/study_parity.py --fixture",
        "embeddings": {
            "encoder": "raw-pixels",
            "dataset": "digits",
            "shape": list(emb.shape),
            "dtype": "float32",
            "sha256": hashlib.sha256(emb.tobytes()).hexdigest(),
            "labels_sha256": hashlib.sha256(np.asarray(raw["y_true"], np.int64).tobytes()).hexdigest(),
        },
        "configs": entries,
    }
    configs = ",\n  ".join(json.dumps(e) for e in doc.pop("configs"))  # one line per configuration
    path.write_text(json.dumps(doc, indent=1)[:-2] + f',\n "configs": [\n  {configs}\n ]\n}}\n')


FIXTURE_CONFIGS = [
    "km-pca0.9",
    "sc-none-nn10",
    "sc-pca0.8-nn10",
    "sc-zscore-nn10",
    "ac-k-pca0.9-average-cosine",
    "ac-k-pca0.85-average-chebyshev",
    "ac-nok-pca0.9-average-cosine-t0.71",
    "ac-nok-pca0.85-average-chebyshev-t2.0",
    "ap-pca0.8-d0.85",
    "hdb-pca0.95-euclidean-ms5",  # AP on PCA costs 2.5 s a run: damping 0.9 is on UMAP
    # UMAP-50 costs the test nothing more: it is also the silhouette proxy's space, fitted anyway
    "km-umap50",
    "ac-k-umap50-ward-euclidean",
    "ac-nok-umap50-ward-euclidean-t2.0",
    "ac-nok-umap50-average-chebyshev-t1.0",
    "ap-umap50-d0.9",
    "hdb-umap50-l1-ms5",
    "hdb-umap50-euclidean-ms2",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True, help="folder with reference.csv and emb/")
    parser.add_argument(
        "--kinds",
        default="PCA,none,zscore-only,UMAP-50",
        help="config kinds to run, in this order (reference.csv's kind column)",
    )
    parser.add_argument("--files", default="digits__raw.npz,digits__effnetlite0.npz")
    parser.add_argument("--fixture", type=Path, help="write the test fixture here instead of running")
    args = parser.parse_args()
    reference = load_reference(args.reference / "reference.csv")
    emb_dir = args.reference / "emb" / "test__z1.0"
    if args.fixture:
        write_fixture(reference, emb_dir, args.fixture, FIXTURE_CONFIGS)
        return
    kinds, files = args.kinds.split(","), args.files.split(",")
    rows, skipped, mapping = [], {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            for file in files:
                plan: dict[tuple[str, tuple[int, ...]], list[str]] = defaultdict(list)
                todo = []
                for (f, config), ref in sorted(reference.items()):
                    if f != file or ref["kind"] != kind:
                        continue
                    try:
                        reducer, clusterer = to_specs(ref["flags"])
                    except ValueError as exc:
                        skipped[config] = str(exc)
                        continue
                    mapping[config] = (reducer, clusterer)
                    seeds = tuple(sorted(ref["ami"]))
                    if clusterer not in plan[(reducer, seeds)]:
                        plan[(reducer, seeds)].append(clusterer)
                    todo.append((config, ref, reducer, clusterer, seeds))
                if not todo:
                    continue
                ours = run_zsbench(emb_dir / file, plan, Path(tmp) / "cache")
                for config, ref, reducer, clusterer, seeds in todo:
                    cells = verdict([ref["ami"][s] for s in seeds], [ours[(reducer, clusterer, s)][0] for s in seeds])
                    rows.append((config, file.removeprefix("digits__").removesuffix(".npz"), len(seeds), *cells))
    print("| config | file | seeds | study AMI x100 | zsbench AMI x100 | diff | verdict |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    counts = defaultdict(int)
    for row in rows:
        counts[row[-1]] += 1
    print(f"\n{len(rows)} (config, file) pairs: " + ", ".join(f"{n} {w}" for w, n in sorted(counts.items())))
    print("\n| config | zsbench reducer | zsbench clusterer |\n|---|---|---|")
    for config, (reducer, clusterer) in sorted(mapping.items()):
        print(f"| {config} | {reducer} | {clusterer} |")
    if skipped:
        print("\nNot expressible in zsbench (skipped): " + "; ".join(f"{c}: {why}" for c, why in skipped.items()))


if __name__ == "__main__":
    main()
