"""Registry records: submit, validate, verify, and the leaderboard built from them."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from zsbench.analysis import records
from zsbench.analysis.board import build
from zsbench.analysis.board.sources import Source, load_sources, record_results
from zsbench.analysis.records import registry
from zsbench.analysis.records.submission import make_record
from zsbench.analysis.records.validation import validate
from zsbench.analysis.records.verification import verify
from zsbench.cli.app import app
from zsbench.report.board import render
from zsbench.storage.cache import ArtifactCache
from zsbench.storage.store import ResultStore


def cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result


@pytest.fixture
def record(smoke, tmp_path):
    """A record of seeds 0-2, written by `zsbench submit --partial` into a registry folder (the smoke
    suite is a subsample with two clusterers: a partial record)."""
    with ResultStore(smoke / "results.sqlite") as db:
        results = [r for r in db.results() if r.seed < 3]
    submission = make_record(results, "raw-pixels", cache=ArtifactCache(smoke / "cache"), partial=True)
    return registry.write(submission, registry.record_path(tmp_path / "registry", "1", "raw-pixels"))


def test_submit_writes_a_valid_record_that_reads_back_as_the_stored_results(smoke, tmp_path):
    out = cli(
        "submit",
        "--encoder",
        "raw-pixels",
        "--registry",
        tmp_path / "reg",
        "--store",
        smoke / "results.sqlite",
        "--cache",
        smoke / "cache",
    )
    assert out.exit_code == 1 and "not complete for protocol 1" in out.output and "--partial" in out.output
    assert "digits: no result of spectral, agglomerative-no-k, affinity-propagation, hdbscan" in out.output
    assert "a subsample of 300 samples, not the full partition" in out.output
    assert not (tmp_path / "reg").exists()
    out = cli(
        "submit",
        "--encoder",
        "raw-pixels",
        "--registry",
        tmp_path / "reg",
        "--store",
        smoke / "results.sqlite",
        "--cache",
        smoke / "cache",
        "--partial",
    )
    assert out.exit_code == 0, out.output
    path = tmp_path / "reg" / "standard-1" / "raw-pixels.json"
    assert f"wrote {path}: 12 result(s) (0 failed) on 1 dataset(s) x 2 clusterer(s) x 6 seed(s)" in out.output
    assert validate(path) == []
    record = records.read(path)
    assert records.dumps(record) == path.read_text()  # stable serialisation
    assert record["schema"] == "zsbench-record/2" and record["seeds"] == list(range(6))
    assert record["partial"] is True and record["missing"] and "(PARTIAL: digits:" in out.output
    assert record["datasets"]["digits"]["group"] == "far-OOD"
    assert record["datasets"]["digits"]["n_samples"] == 300
    env = record["environments"][0]
    assert {"zsbench", "numpy", "scikit-learn"} <= set(env["packages"]) and env["hardware"]["cpus"] >= 1
    with ResultStore(smoke / "results.sqlite") as db:
        stored = {(r.dataset, r.clusterer, r.seed): r for r in db.results() if r.encoder == "raw-pixels"}
    back = record_results(record)
    assert len(back) == len(stored) == 12
    for r in back:
        original = stored[(r.dataset, r.clusterer, r.seed)]
        assert r.metrics == original.metrics and r.encoder == original.encoder
        assert r.config["dataset"]["fingerprint"] == original.config["dataset"]["fingerprint"]
        assert r.config["clusterer"] == original.config["clusterer"]


def test_verify_accepts_an_honest_record(record):
    out = cli("verify", record)
    assert out.exit_code == 0, out.output
    assert "verified: 6 result(s) re-scored" in out.output


def test_a_tampered_score_fails_verify_naming_the_result_and_metric(record):
    data = records.read(record)
    entry = next(e for e in data["results"] if e["clusterer"] == "kmeans" and e["seed"] == 1)
    entry["metrics"]["ami"] = round(entry["metrics"]["ami"] + 0.02, 6)  # still valid under the schema
    record.write_text(records.dumps(data))
    assert validate(record) == []
    out = cli("verify", record)
    assert out.exit_code == 1
    assert "digits / kmeans / seed 1: ami recorded" in out.output and "FAILED: 1 mismatch(es)" in out.output


def test_tampered_labels_fail_verify(record):
    archive = record.with_name("raw-pixels.labels.npz")
    with np.load(archive) as npz:
        arrays = {k: npz[k] for k in npz.files}
    data = records.read(record)
    digest = data["results"][0]["labels_sha256"]
    arrays[digest] = arrays[digest].copy()
    arrays[digest][:50] = 0  # the predictions were edited to flatter or hide something
    np.savez_compressed(archive, **arrays)
    report = verify(record)
    assert not report.ok and "do not match their hash" in report.mismatches[0]


def test_validate_names_the_file_and_field_of_each_problem(record, tmp_path):
    data = records.read(record)
    data["results"][0]["metrics"]["ami"] = 1.5
    data["results"][1]["dataset"] = "cifar10"
    del data["seeds"]
    bad = record.parent / "bad.json"  # beside the record, so its labels archive is found
    bad.write_text(json.dumps(data))
    problems = validate(bad)
    assert f"{bad}: results[0].metrics.ami: 1.5 is greater than the maximum of 1" in problems
    assert f"{bad}: (top level): 'seeds' is a required property" in problems
    data["seeds"] = [0, 1, 2]
    data["results"][0]["metrics"]["ami"] = 0.5
    bad.write_text(json.dumps(data))
    assert validate(bad) == [f"{bad}: results[1].dataset: 'cifar10' is not described under datasets"]
    (tmp_path / "broken.json").write_text("{not json")
    out = cli("validate", bad, tmp_path / "broken.json", record)
    assert out.exit_code == 1
    assert "broken.json: not JSON: line 1 column 2" in out.output
    assert "3 record(s) checked; 2 with problems" in out.output


def test_submit_without_the_labels_in_the_cache_says_how_to_restore_them(smoke, tmp_path):
    out = cli(
        "submit",
        "--encoder",
        "raw-pixels",
        "--store",
        smoke / "results.sqlite",
        "--cache",
        tmp_path / "empty",
        "--registry",
        tmp_path / "reg",
        "--partial",
    )
    assert out.exit_code == 1
    assert "are not in the artifact cache" in out.output and "--no-labels" in out.output
    out = cli(
        "submit",
        "--encoder",
        "raw-pixels",
        "--store",
        smoke / "results.sqlite",
        "--no-labels",
        "--registry",
        tmp_path / "reg",
        "--partial",
    )
    assert out.exit_code == 0, out.output
    verify = cli("verify", tmp_path / "reg" / "standard-1" / "raw-pixels.json")
    assert verify.exit_code == 1 and "has no labels archive" in verify.output


def test_submit_takes_only_the_standard_track_and_says_what_it_left_out(smoke, tmp_path):
    with ResultStore(smoke / "results.sqlite") as db:
        results = db.results()
    pca = [
        dataclasses.replace(next(r for r in results if r.clusterer == c), reducer="pca")
        for c in ("agglomerative", "kmeans")
    ]
    submission = make_record(results + pca, "raw-pixels", with_labels=False, partial=True)
    assert len(submission.record["results"]) == 12
    assert submission.left_out == ["2 result(s) outside the standard track (pca + agglomerative, pca + kmeans)"]
    with pytest.raises(records.RecordError, match="no results for encoder 'nope'"):
        make_record(results, "nope", with_labels=False)


def _fake(results, encoder, shift, spread=1.0):
    """The results as if from another encoder whose AMI is shifted by ``shift`` points."""
    out = []
    for r in results:
        noise = spread * ((r.seed % 3) - 1) / 100.0
        metrics = {**r.metrics, "ami": min(1.0, r.metrics["ami"] + shift / 100.0 + noise)}
        out.append(
            dataclasses.replace(
                r,
                encoder=encoder,
                metrics=metrics,
                config={**r.config, "encoder": {"name": encoder, "identity": {"n": encoder}}},
            )
        )
    return out


@pytest.fixture
def three_records(smoke, tmp_path):
    with ResultStore(smoke / "results.sqlite") as db:
        results = [r for r in db.results() if r.seed < 3]
    folder = tmp_path / "registry"
    for name, shift in (("alpha", 0.0), ("beta", -0.3), ("gamma", -30.0)):
        submission = make_record(_fake(results, name, shift), name, with_labels=False, partial=True)
        registry.write(submission, registry.record_path(folder, "1", name))
    return folder


@pytest.fixture
def three_sources(smoke):
    """The same three encoders as complete sources (a local store's results are not partial)."""
    with ResultStore(smoke / "results.sqlite") as db:
        results = [r for r in db.results() if r.seed < 3]
    return [
        Source(name, _fake(results, name, shift)) for name, shift in (("alpha", 0.0), ("beta", -0.3), ("gamma", -30.0))
    ]


def test_leaderboard_builds_are_byte_identical_whatever_the_input_order(three_records):
    files = records.record_files([three_records])
    outputs = []
    for order in (files, files[::-1]):
        sources = load_sources(order, store=False)
        board = build(sources)
        outputs.append([render(board, fmt) for fmt in ("markdown", "csv", "json", "html")])
    assert outputs[0] == outputs[1]
    out = cli("leaderboard", "--registry", three_records, "-f", "json")
    assert out.exit_code == 0 and out.output == outputs[0][2]


def test_encoders_seed_noise_cannot_separate_share_a_rank_interval(three_sources, three_records):
    board = build(three_sources)
    ranks = {row.encoder: row.views["mean"].rank for row in board.rows}
    assert [row.encoder for row in board.rows] == ["alpha", "beta", "gamma"]
    assert ranks == {"alpha": (1, 2), "beta": (1, 2), "gamma": (3, 3)}
    overall = board.rows[2].views["mean"].overall
    assert overall.low < overall.mean < overall.high and overall.n_seeds == 3
    md = render(board, "markdown")
    sha = {row.encoder: row.identity[:12] for row in board.rows}
    assert f"| 1–2 | alpha | {sha['alpha']} | umap |" in md and f"| 3 | gamma | {sha['gamma']} | umap |" in md
    # the same results as partial records: shown in the same order, never ranked
    partial = build(load_sources([three_records], store=False))
    assert [row.label for row in partial.rows] == ["alpha (partial)", "beta (partial)", "gamma (partial)"]
    assert all(row.views["mean"].rank is None for row in partial.rows)


def test_only_results_on_the_same_samples_are_compared(three_records, smoke, tmp_path):
    path = three_records / "standard-1" / "gamma.json"
    data = records.read(path)
    data["datasets"]["digits"]["fingerprint"] = "0" * 64  # gamma ran on another sample set
    path.write_text(records.dumps(data))
    board = build(load_sources([three_records], store=False))
    assert [row.encoder for row in board.rows] == ["alpha", "beta"]
    assert any("digits: results of gamma left out" in note for note in board.notes)


def test_leaderboard_mixes_the_registry_with_local_results_when_asked(three_records, smoke):
    out = cli("leaderboard", "--registry", three_records, "--store", smoke / "results.sqlite", "-f", "csv")
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.output)))
    assert {(r["encoder"], r["source"].split(" ")[0]) for r in rows} >= {
        ("raw-pixels", "store"),
        ("alpha", str(three_records / "standard-1" / "alpha.json")),
    }
    only_registry = cli("leaderboard", "--registry", three_records, "-f", "csv")
    assert "raw-pixels" not in only_registry.output


def test_leaderboard_html_is_written_to_a_file(three_records, tmp_path):
    out = cli("leaderboard", "--registry", three_records, "-f", "html", "-o", tmp_path / "board.html")
    assert out.exit_code == 0, out.output
    page = (tmp_path / "board.html").read_text()
    assert (
        page.startswith("<!DOCTYPE html>")
        and "gamma" in page
        and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    )


def test_the_published_registry_is_valid_and_verifies():
    root = Path(__file__).resolve().parents[1] / "registry"
    files = records.record_files([root])
    assert files, "registry/ holds no record"
    for path in files:
        assert validate(path) == []
        report = verify(path)
        assert report.ok and report.checked > 0, report.mismatches


def test_the_mean_view_needs_every_clusterer_some_row_has(smoke):
    with ResultStore(smoke / "results.sqlite") as db:
        results = [r for r in db.results() if r.seed < 3 and r.encoder == "raw-pixels"]
    alpha = _fake(results, "alpha", 0.0)
    beta = [r for r in _fake(results, "beta", 0.0) if r.clusterer == "kmeans"]  # its agglomerative failed
    board = build(alpha + beta)
    assert {row.encoder: row.views["mean"].overall is not None for row in board.rows} == {"alpha": True, "beta": False}
    assert board.rows[1].views["kmeans"].overall is not None  # still compared clusterer by clusterer
    # on a second dataset no row has agglomerative (say the memory guard refused it): the mean there is
    # over K-Means for every row alike, and the board says so
    other = [dataclasses.replace(r, dataset="digits-b") for r in alpha + beta if r.clusterer == "kmeans"]
    board = build(alpha + _fake(results, "beta", 0.0) + other)
    assert all(row.views["mean"].datasets["digits-b"] is not None for row in board.rows)
    assert "digits-b: the mean over clusterers leaves out agglomerative, which no row has a result for there" in (
        board.notes
    )


def test_leaderboard_errors_are_one_line(three_records, tmp_path):
    out = cli("leaderboard", "--registry", three_records, "--clusterer", "kmeens")
    assert out.exit_code == 1 and "no view 'kmeens' on this board; choose one of mean, kmeans, agglomerative" in (
        out.output
    )
    assert "Traceback" not in out.output
    missing = cli("leaderboard", "--registry", tmp_path / "nowhere")
    assert missing.exit_code == 1 and "no such record file or folder" in missing.output
