"""kNN accuracy as a first-class score: `zsbench run --knn`, `leaderboard --metric knn`, `proxy --versus knn`."""

from __future__ import annotations

import dataclasses
import json
import sqlite3

from typer.testing import CliRunner

import zsbench
from tests.test_trust import result
from zsbench.analysis.board import build
from zsbench.cli.app import app
from zsbench.engine.knn import KNN_VERSION
from zsbench.report.board import render
from zsbench.storage.store import ResultStore

RUN = [
    "run",
    "--encoder",
    "raw-pixels",
    "--dataset",
    "digits",
    "--clusterer",
    "kmeans",
    "--reducer",
    "none",
    "--seeds",
    "1",
    "--max-samples",
    "200",
    "--knn",
]


def test_run_knn_stores_top1_per_k_with_the_train_fingerprint_and_reuses_the_train_embedding(isolated_store, tmp_path):
    runner = CliRunner()
    first = runner.invoke(app, RUN)
    assert first.exit_code == 0, first.output
    assert "kNN top-1 of raw-pixels on digits: k=10" in first.output
    rows = ResultStore(isolated_store, readonly=True).results(KNN_VERSION)
    assert sorted(r.metrics["k"] for r in rows) == [10, 20, 100, 200]
    assert all(0.5 < r.metrics["knn_top1"] <= 1 and r.clusterer == "knn" for r in rows)
    train = rows[0].config["train"]
    assert train["n_samples"] == 898 and len(train["fingerprint"]) == 64 and not train["embedding_reused"]
    # the clustered set is the test half, disjoint from the train half, not the default 1,797 images
    assert "test half" in rows[0].config["dataset"]["info"]["split"] and rows[0].config["n_samples"] == 200
    # the same store again: the rows are found by their keys, and the run says so
    same = runner.invoke(app, RUN)
    assert same.exit_code == 0 and f"(stored by run {rows[0].run_id}, reused)" in same.output, same.output
    # another store, the same cache: the train partition's embedding comes from the cache
    again = runner.invoke(app, [*RUN, "--store", str(tmp_path / "other.sqlite")])
    assert again.exit_code == 0 and "(train embedding from the cache)" in again.output, again.output
    rerun = ResultStore(tmp_path / "other.sqlite", readonly=True).results(KNN_VERSION)
    assert rerun[0].config["train"]["embedding_reused"]
    assert rerun[0].config["train"]["fingerprint"] == train["fingerprint"]


def test_a_rerun_of_the_same_knn_finds_its_rows_by_key_and_adds_none(isolated_store, monkeypatch):
    """kNN rows go through the grid's store under keys.knn_key: the same kNN again is found there, nothing is
    embedded or scored, and the run returns the stored rows."""
    from zsbench.engine import knn

    run = dict(clusterers=["kmeans"], reducer="none", seeds=1, knn=True)
    first = zsbench.run("raw-pixels", "digits", max_samples=100, **run)
    stored = ResultStore(isolated_store, readonly=True).results(KNN_VERSION)
    with sqlite3.connect(isolated_store) as db:
        keys = [k for (k,) in db.execute("SELECT result_key FROM results WHERE protocol_version = ?", (KNN_VERSION,))]
    assert len(stored) == 4 and len(set(keys)) == 4 and None not in keys
    assert [r.run_id for r in stored] == [first.run_id] * 4

    def never(*args, **kwargs):
        raise AssertionError("a stored kNN row was computed again")

    with monkeypatch.context() as patched:
        patched.setattr(knn, "embed_samples", never)
        patched.setattr(knn, "knn_accuracy", never)
        again = zsbench.run("raw-pixels", "digits", max_samples=100, **run)
    assert again.reused["results"] == 1
    assert [r.id for r in again.knn] == [r.id for r in stored] and again.knn[0].run_id == first.run_id
    assert len(ResultStore(isolated_store, readonly=True).results(KNN_VERSION)) == 4
    # another sample set is another kNN: scored and stored beside the first
    other = zsbench.run("raw-pixels", "digits", max_samples=120, **run)
    assert other.knn[0].run_id == other.run_id
    assert len(ResultStore(isolated_store, readonly=True).results(KNN_VERSION)) == 8


def test_knn_rows_stored_without_a_key_still_read_and_board_and_a_rerun_keys_them_once(isolated_store):
    """A store written before kNN rows had keys: its rows are read and boarded as before; the first run that
    scores the same kNN stores keyed rows (newer, so the board shows them), and the next finds those."""
    with ResultStore(isolated_store) as db:
        for k, acc in ((10, 0.1), (20, 0.2), (100, 0.3), (200, 0.4)):
            db.add(knn_row("raw-pixels", "digits", k, acc, created="2020-01-01T00:00:00+00:00"))  # no key
    out = CliRunner().invoke(app, ["leaderboard", "--metric", "knn", "-f", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["rows"][0]["top1"] == {"digits": 20.0}
    run = dict(clusterers=["kmeans"], reducer="none", seeds=1, max_samples=100, knn=True)
    first = zsbench.run("raw-pixels", "digits", **run)
    assert all(r.run_id == first.run_id for r in first.knn)
    assert len(ResultStore(isolated_store, readonly=True).results(KNN_VERSION)) == 8
    zsbench.run("raw-pixels", "digits", **run)
    assert len(ResultStore(isolated_store, readonly=True).results(KNN_VERSION)) == 8
    out = CliRunner().invoke(app, ["leaderboard", "--metric", "knn", "-f", "json"])
    top1 = json.loads(out.output)["rows"][0]["top1"]["digits"]
    assert top1 == round(100 * next(r.metrics["knn_top1"] for r in first.knn if r.metrics["k"] == 20), 2)


def test_knn_on_a_dataset_without_a_train_partition_is_one_line():
    out = CliRunner().invoke(app, ["run", "--encoder", "raw-pixels", "--dataset", "imagenet-o", "--knn"])
    assert out.exit_code == 1
    assert "--knn needs a dataset's train partition; dataset(s) imagenet-o provide none" in out.output
    assert "Traceback" not in out.output


def knn_row(encoder, dataset, k, acc, created="2026-11-02T00:00:00+00:00"):
    r = result(encoder, dataset, "knn", ami=None, created=created)
    return dataclasses.replace(r, reducer="none", metrics={"knn_top1": acc, "k": k}, protocol_version=KNN_VERSION)


def test_knn_rows_leave_the_ami_board_unchanged_and_metric_knn_shows_them(isolated_store):
    ami = [
        result(e, "digits", c, s, ami=a)
        for e, a in (("resnet50-a", 0.4), ("vitb16-b", 0.6))
        for c in ("kmeans", "agglomerative")
        for s in (0, 1)
    ]
    knn = [knn_row(e, "digits", k, acc) for e, acc in (("resnet50-a", 0.9), ("vitb16-b", 0.8)) for k in (10, 20)]
    plain, mixed = build(ami), build(ami + knn)
    assert render(plain, "json") == render(mixed, "json") and plain.notes == mixed.notes
    with ResultStore(isolated_store) as db:
        for r in ami + knn:
            db.add(r)
    out = CliRunner().invoke(app, ["leaderboard", "--metric", "knn", "-f", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["k"] == 20 and [row["encoder"] for row in doc["rows"]] == ["resnet50-a", "vitb16-b"]
    assert doc["rows"][0]["top1"] == {"digits": 90.0}


def test_proxy_versus_knn_gives_the_spearman_table_pooled_and_by_backbone(isolated_store):
    encoders = {
        "resnet50-a": (0.2, 0.9),
        "resnet50-b": (0.3, 0.7),
        "resnet50-c": (0.4, 0.8),
        "vitb16-a": (0.5, 0.5),
        "vitb16-b": (0.6, 0.6),
        "vitb16-c": (0.7, 0.65),
    }
    rows = [result(e, "digits", "kmeans", s, ami=a) for e, (a, _) in encoders.items() for s in (0, 1)]
    rows += [knn_row(e, "digits", k, acc) for e, (_, acc) in encoders.items() for k in (10, 20, 100, 200)]
    with ResultStore(isolated_store) as db:
        for r in rows:
            db.add(r)
    out = CliRunner().invoke(app, ["proxy", "--versus", "knn", "-f", "json"])
    assert out.exit_code == 0, out.output
    got = {(c["clusterer"], c["backbone"], c["k"]): c for c in json.loads(out.output)["correlations"]}
    assert got[("kmeans", "all", 20)]["n"] == 6
    assert abs(got[("kmeans", "all", 20)]["spearman"] - (-5 / 7)) < 1e-9  # ranks 1..6 vs 6,4,5,1,2,3
    assert abs(got[("kmeans", "ResNet", 20)]["spearman"] - (-0.5)) < 1e-9
    assert got[("kmeans", "ViT", 20)]["spearman"] == 1.0
    md = CliRunner().invoke(app, ["proxy", "--versus", "knn", "-f", "markdown"])
    assert "| kmeans | all | 6 | -0.714 | -0.714 | -0.714 | -0.714 |" in md.output, md.output


def test_api_run_knn_returns_the_rows():
    run = zsbench.run(
        "raw-pixels", "digits", clusterers=["kmeans"], reducer="none", seeds=1, max_samples=100, store=False, knn=True
    )
    assert [r.metrics["k"] for r in run.knn] == [10, 20, 100, 200] and run.knn[0].run_id == run.run_id
