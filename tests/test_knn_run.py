"""kNN accuracy as a first-class score: `zsbench run --knn`, `leaderboard --metric knn`, `proxy --versus knn`."""

from __future__ import annotations

import dataclasses
import json

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


def test_run_knn_stores_top1_per_k_with_the_train_fingerprint_and_reuses_the_train_embedding(isolated_store):
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
    again = runner.invoke(app, RUN)
    assert again.exit_code == 0 and "(train embedding from the cache)" in again.output, again.output
    rerun = [r for r in ResultStore(isolated_store, readonly=True).results(KNN_VERSION) if r not in rows]
    assert rerun[0].config["train"]["embedding_reused"]
    assert rerun[0].config["train"]["fingerprint"] == train["fingerprint"]


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
