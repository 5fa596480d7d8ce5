"""Rerunning a finished grid is instant: stage keys come from the parameters memo beside the artifact
cache, so nothing is built (no UMAP, numba or scikit-learn import), no worker starts and nothing is
written; the keys are exactly those that building the estimators gives, and a memo that no longer
matches the installed libraries (or is damaged) is rebuilt, never trusted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from typer.testing import CliRunner

from zsbench.cli.app import app
from zsbench.core.catalog import build_catalog
from zsbench.core.protocol import Component, load_spec
from zsbench.engine.configured import configured_pairs
from zsbench.engine.jobs import reduce_job
from zsbench.engine.keys import labels_key
from zsbench.engine.params import Params, memo_key
from zsbench.storage.layout import cache_key
from zsbench.storage.params import ParamsMemo
from zsbench.storage.store import ResultStore

EMB = "e" * 64  # an embedding's key
RED = "r" * 64  # a reduction's key
HEAVY = ("umap", "numba", "pynndescent", "torch", "sklearn", "hdbscan")


def built_key(stage: str, spec, input_key: str, comp: Component, seed: int, n_clusters: int | None = None) -> str:
    """A stage key as zsbench computed it before the memo: from the built estimator's get_params."""
    estimator = comp.build(seed=seed, n_clusters=n_clusters)
    return cache_key(
        {
            "stage": stage,
            "protocol": spec.stage_version,
            "input": input_key,
            "component": comp.label,
            "plugin": comp.entry.provenance,
            "params": estimator.get_params(deep=False),
            "seed": seed,
        }
    )


def keys(spec, pairs, params: Params) -> list[str]:
    out = []
    for red, clu in pairs:
        for seed in (0, 3):
            out.append(reduce_job(spec, red, seed, EMB, "enc", "ds", params).key)
            out += [labels_key(spec, RED, clu, params.text(clu, seed=seed, n_clusters=k), seed) for k in (None, 10)]
    return out


def reference(spec, pairs) -> list[str]:
    out = []
    for red, clu in pairs:
        for seed in (0, 3):
            out.append(built_key("reduce", spec, EMB, red, seed))
            out += [built_key("labels", spec, RED, clu, seed, k) for k in (None, 10)]
    return out


def test_memo_keys_equal_the_keys_of_built_estimators(tmp_path):
    catalog = build_catalog()
    standard, study = load_spec("standard"), load_spec("study")
    umap = Component.resolve(catalog, "reducers", standard.reducer)
    cases = [(standard, [(umap, Component.resolve(catalog, "clusterers", c)) for c in standard.clusterers])]
    for encoder in ("raw-pixels", "vitb16-dino"):
        cases.append((study, configured_pairs(catalog, study, encoder, "digits", study.clusterers)))
    for spec, pairs in cases:
        expected = reference(spec, pairs)
        first = Params(ParamsMemo(tmp_path))  # builds, and records
        assert keys(spec, pairs, first) == expected and first.built > 0
        again = Params(ParamsMemo(tmp_path))  # a later run: every parameter from the memo
        assert keys(spec, pairs, again) == expected and again.built == 0
    # a component's options are part of the memo's key: a different option is a different entry
    assert memo_key(Component.resolve(catalog, "clusterers", "kmeans:n_init=3"), "params", 0, 2) != memo_key(
        Component.resolve(catalog, "clusterers", "kmeans"), "params", 0, 2
    )


def memo_file(tmp_path, comp: Component) -> tuple[Params, os.PathLike]:
    params = Params(ParamsMemo(tmp_path))
    params.text(comp, seed=0, n_clusters=3)
    return params, tmp_path / ".params" / f"{memo_key(comp, 'params', 0, 3)}.json"


def test_a_memo_from_other_library_versions_or_damaged_is_rebuilt_never_trusted(tmp_path):
    kmeans = Component.resolve(build_catalog(), "clusterers", "kmeans")
    truth = kmeans.build(seed=0, n_clusters=3).get_params(deep=False)
    _, path = memo_file(tmp_path, kmeans)
    entry = json.loads(path.read_text())
    assert entry["distributions"].get("scikit-learn")  # KMeans's own library is recorded
    stale = {**entry, "params": entry["params"].replace('"n_clusters":3', '"n_clusters":99')}
    for bad in (
        {**stale, "distributions": {**entry["distributions"], "scikit-learn": "0.0.1"}},
        {**stale, "files": {f: [size + 1, mtime] for f, (size, mtime) in entry["files"].items()}},
    ):
        path.write_text(json.dumps(bad))
        params = Params(ParamsMemo(tmp_path))
        assert params.of(kmeans, seed=0, n_clusters=3)["n_clusters"] == truth["n_clusters"] == 3
        assert params.built == 1
        assert json.loads(path.read_text())["distributions"] == entry["distributions"]  # recorded afresh
    for damaged in (b"{not json", b"", b"[]", b'{"format": 1, "params": 3}', b"\xff\xfe"):
        path.write_bytes(damaged)
        params = Params(ParamsMemo(tmp_path))
        assert params.of(kmeans, seed=0, n_clusters=3)["n_clusters"] == 3 and params.built == 1


def test_a_memo_folder_that_cannot_be_written_only_costs_time(tmp_path):
    (tmp_path / ".params").write_text("a file where the folder would be")
    kmeans = Component.resolve(build_catalog(), "clusterers", "kmeans")
    params = Params(ParamsMemo(tmp_path))
    assert params.of(kmeans, seed=1, n_clusters=4)["random_state"] == 1


DRIVER = textwrap.dedent("""
    import json, sys

    import psutil

    from zsbench.cli import main

    if __name__ == "__main__":  # guarded: the local executor may use worker processes
        sys.argv = ["zsbench", *sys.argv[1:]]
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code
        children = [p.pid for p in psutil.Process().children(recursive=True)]
        print(json.dumps({"code": code, "modules": sorted(sys.modules), "children": children}))
""")


@pytest.fixture
def finished(tmp_path):
    """A finished grid (the standard protocol, one seed) of embeddings in an .npz, run through the CLI."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 40)
    x = (rng.normal(size=(120, 12)) + 4 * np.eye(12)[y]).astype(np.float32)
    npz = tmp_path / "blobs.npz"
    np.savez(npz, embeddings=x, labels=y)
    args = [
        "run",
        "--embeddings",
        str(npz),
        "--seeds",
        "1",
        "--store",
        str(tmp_path / "results.db"),
        "--cache",
        str(tmp_path / "cache"),
    ]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    return tmp_path, args


def test_a_finished_grid_reruns_without_building_anything_or_writing(finished):
    root, args = finished
    store, cache = root / "results.db", root / "cache"
    before = [(r.id, r.run_id) for r in ResultStore(store).results()]
    files = sorted(str(p.relative_to(cache)) for p in cache.rglob("*"))
    (root / "driver.py").write_text(DRIVER)
    env = {k: v for k, v in os.environ.items() if k != "ZSBENCH_WORKERS"}  # the default pool, as users run it
    out = subprocess.run(
        [sys.executable, str(root / "driver.py"), *args], capture_output=True, text=True, env=env, timeout=120
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, out.stderr
    # the results are reported as ever, all of them reused
    assert "6 results" in out.stderr and "Computed 0 reduction(s) and 0 clustering(s); reused 6 stored" in out.stderr
    assert "kmeans" in out.stdout and "hdbscan" in out.stdout
    loaded = {m.partition(".")[0] for m in report["modules"]}
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    assert report["children"] == []  # no worker, no resource tracker: the pool was never started
    # nothing new in the store or the artifact cache (the memo included)
    assert [(r.id, r.run_id) for r in ResultStore(store).results()] == before
    assert sorted(str(p.relative_to(cache)) for p in cache.rglob("*")) == files


def test_cache_gc_all_removes_the_parameters_memo_and_nothing_less_does(tmp_path):
    from zsbench.storage.cache import ArtifactCache

    cache = ArtifactCache(tmp_path)
    memo = ParamsMemo(tmp_path).folder
    memo.mkdir(parents=True)
    (memo / ("a" * 64 + ".json")).write_text("{}")
    assert cache.gc(older_than_days=0) == (0, 0) and memo.is_dir()  # stage entries only
    assert cache.gc(everything=True) == (1, 2) and not memo.exists()
