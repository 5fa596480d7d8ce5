"""Grids: every distinct stage once, nothing recomputed on a rerun, interruption and concurrency safe,
and the same results whichever executor runs them."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import types

import numpy as np
import pytest
from PIL import Image

import zsbench
from zsbench.storage.cache import ArtifactCache


def _tree(root, shift=0, classes=3, per_class=10):
    rng = np.random.default_rng(shift)
    for c in range(classes):
        (root / f"c{c}").mkdir(parents=True)
        for i in range(per_class):
            pixels = np.clip(30 + 70 * c + shift + rng.integers(-20, 21, (10, 10)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / f"c{c}" / f"{i}.png")
    return root


@pytest.fixture
def two_folders(tmp_path):
    return [f"folder:{_tree(tmp_path / 'a')}", f"folder:{_tree(tmp_path / 'b', shift=5)}"]


GRID = {
    "encoder": "raw-pixels",
    "clusterers": ["kmeans", "agglomerative"],
    "reducer": ["none", "pca:n_components=5"],
    "seeds": 2,
}


def test_each_distinct_stage_runs_once_and_a_rerun_recomputes_nothing(two_folders, tmp_path):
    store, cache = tmp_path / "r.sqlite", tmp_path / "cache"
    first = zsbench.run(dataset=two_folders, store=store, cache=cache, **GRID)
    assert len(first.results) == 2 * 2 * 2 * 2 and not first.failed
    # reductions: 2 datasets x 2 reducers x 2 seeds, plus the UMAP proxy space per dataset x seed
    assert first.computed == {"reduce": 8 + 4, "labels": 16}
    second = zsbench.run(dataset=two_folders, store=store, cache=cache, **GRID)
    assert second.computed == {"reduce": 0, "labels": 0} and second.reused["results"] == 16
    assert [r.ami for r in second.results] == [r.ami for r in first.results]
    assert len(zsbench.ResultStore(store).results()) == 16  # nothing stored twice
    # a new store over the same cache: every stage comes from the cache, the scores are recomputed
    third = zsbench.run(dataset=two_folders, store=tmp_path / "other.sqlite", cache=cache, **GRID)
    assert third.computed == {"reduce": 0, "labels": 0} and third.reused["labels"] == 16
    assert [r.metrics for r in third.results] == [r.metrics for r in first.results]


def test_a_corrupted_artifact_is_recomputed_never_used(two_folders, tmp_path):
    cache = ArtifactCache(tmp_path / "cache")
    first = zsbench.run(dataset=two_folders[0], store=False, cache=cache.root, **GRID)
    victim = next(e for e in cache.entries() if e.stage == "labels")
    victim.path.write_bytes(victim.path.read_bytes()[:-7])  # truncated
    again = zsbench.run(dataset=two_folders[0], store=False, cache=cache.root, **GRID)
    assert again.computed["labels"] == 1
    assert [r.metrics for r in again.results] == [r.metrics for r in first.results]
    assert cache.verify() == []


@pytest.mark.parametrize("executor, options", [("local", {"workers": 2}), ("dask", {"workers": 2})])
def test_executors_give_the_same_results_as_in_process(executor, options, two_folders, tmp_path):
    pytest.importorskip("distributed") if executor == "dask" else None
    inline = zsbench.run(dataset=two_folders[0], store=False, cache=False, **GRID)
    pooled = zsbench.run(
        dataset=two_folders[0],
        store=False,
        cache=tmp_path / executor,
        executor=executor,
        executor_options=options,
        **GRID,
    )
    assert pooled.computed["labels"] == 8
    assert [(r.clusterer, r.seed, r.metrics) for r in pooled.results] == [
        (r.clusterer, r.seed, r.metrics) for r in inline.results
    ]
    where = pooled.results[0].config["embedded_on"]
    if executor == "dask":  # the embedding ran on a cluster worker, not in this process
        assert where.rsplit(":", 1)[1] != str(os.getpid())
    else:  # a local pool leaves embedding (and any GPU) to the calling process
        assert where == "here"


def test_a_clusterer_that_would_not_fit_in_memory_is_refused_and_recorded(two_folders):
    from sklearn.cluster import KMeans

    @zsbench.hookimpl
    def register_clusterers(register):
        register("greedy", lambda: KMeans(n_clusters=2, n_init=1), memory_bytes=lambda n, d: 10**15)

    with zsbench.registered(types.SimpleNamespace(register_clusterers=register_clusterers), "greedy"):
        out = zsbench.run(
            dataset=two_folders[0], clusterers=["greedy", "kmeans"], reducer="none", seeds=1, store=False, cache=False
        )
    refused, ok = out.results
    assert ok.ok and not refused.ok
    assert "greedy refused: it needs about 931322.6 GiB" in refused.error and "--max-samples" in refused.error


CLI_GRID = [
    "run",
    "--encoder",
    "raw-pixels",
    "--clusterer",
    "kmeans",
    "--clusterer",
    "agglomerative",
    "--reducer",
    "none",
    "--seeds",
    "4",
    "--workers",
    "1",
]


def _zsbench(args, env):
    return subprocess.Popen(
        [sys.executable, "-c", "from zsbench.cli import main; main()", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _rows(store):
    if not store.exists():
        return 0
    with sqlite3.connect(store) as db:
        try:
            return db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def test_kill_9_then_rerun_loses_nothing_and_recomputes_nothing_finished(two_folders, tmp_path):
    env = {**os.environ, "ZSBENCH_STORE": str(tmp_path / "r.sqlite"), "ZSBENCH_CACHE": str(tmp_path / "cache")}
    args = [*CLI_GRID, "--dataset", two_folders[0]]
    victim = _zsbench(args, env)
    deadline = time.time() + 120
    while _rows(tmp_path / "r.sqlite") < 2 and time.time() < deadline and victim.poll() is None:
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    stored_before = _rows(tmp_path / "r.sqlite")
    assert 0 < stored_before < 8, "the kill should land mid-grid"
    rerun = _zsbench(args, env)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert f"reused {stored_before} stored result(s)" in " ".join(err.split())
    assert _rows(tmp_path / "r.sqlite") == 8  # every result exactly once
    assert ArtifactCache(tmp_path / "cache").verify() == []


def test_two_concurrent_runs_share_a_store_and_cache_without_corruption(two_folders, tmp_path):
    env = {**os.environ, "ZSBENCH_STORE": str(tmp_path / "r.sqlite"), "ZSBENCH_CACHE": str(tmp_path / "cache")}
    runs = [_zsbench([*CLI_GRID, "--dataset", two_folders[0]], env) for _ in range(2)]
    for proc in runs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert ArtifactCache(tmp_path / "cache").verify() == []
    results = zsbench.ResultStore(tmp_path / "r.sqlite").results()
    assert {(r.clusterer, r.seed) for r in results} == {(c, s) for c in ("kmeans", "agglomerative") for s in range(4)}
    assert all(r.ok for r in results)
