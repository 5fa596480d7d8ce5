"""`zsbench check`: the CI gate fails a real regression and passes a re-run of the same encoder."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from typer.testing import CliRunner

import zsbench
from zsbench.analysis import gate
from zsbench.analysis.records import registry
from zsbench.analysis.records.submission import make_record
from zsbench.cli.app import app
from zsbench.plugin.errors import ZsbenchError
from zsbench.plugins.raw_pixels import RawPixels
from zsbench.storage.cache import ArtifactCache
from zsbench.storage.store import ResultStore


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def baseline(smoke, tmp_path):
    """A baseline record of the smoke suite, seeds 0-2."""
    with ResultStore(smoke / "results.sqlite") as db:
        results = [r for r in db.results() if r.seed < 3]
    submission = make_record(results, "raw-pixels", cache=ArtifactCache(smoke / "cache"), partial=True)
    return registry.write(submission, tmp_path / "baseline.json")


def run_check(smoke, baseline, tmp_path, *args, store=None):
    store = store or smoke / "results.sqlite"  # the smoke store: a re-run of seeds it has is reused
    return cli(
        "check",
        "--baseline",
        baseline,
        "--store",
        store,
        "--cache",
        smoke / "cache",
        "--markdown",
        tmp_path / "summary.md",
        "--junit",
        tmp_path / "junit.xml",
        *args,
    )


def test_a_rerun_of_the_same_encoder_with_other_seeds_passes(smoke, baseline, tmp_path):
    out = run_check(smoke, baseline, tmp_path, "--first-seed", 3)
    assert out.exit_code == 0, out.output
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("## ✅ zsbench check: raw-pixels against raw-pixels (baseline.json)")
    assert "| digits | kmeans |" in summary and "candidate seeds 3–5; baseline seeds 0, 1, 2" in summary
    assert "encoder identity (weights, preprocessing, options) equals the baseline's" in summary
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "0"


def test_the_same_seeds_reproduce_the_baseline_exactly(smoke, baseline, tmp_path):
    out = run_check(smoke, baseline, tmp_path)
    assert out.exit_code == 0, out.output
    assert "mean change +0.00 AMI points" in out.output


class NoisyPixels(RawPixels):
    """A regressed release: the same pixels with seeded Gaussian noise."""

    def __init__(self):
        super().__init__()
        self.identity = {**self.identity, "noise": 0.25}

    def embed(self, dataset):
        rng = np.random.default_rng(0)
        for batch in super().embed(dataset):
            yield batch + rng.normal(0, 0.25, size=batch.shape).astype(batch.dtype)


class Regressed:
    @zsbench.hookimpl
    def register_encoders(self, register):
        register("noisy-pixels", NoisyPixels, description="raw pixels plus noise")


def test_an_injected_regression_fails_with_exit_1_naming_the_dataset(smoke, baseline, tmp_path):
    with zsbench.registered(Regressed(), "regressed"):
        out = run_check(
            smoke, baseline, tmp_path, "--encoder", "noisy-pixels", "--first-seed", 3, store=tmp_path / "results.sqlite"
        )
    assert out.exit_code == 1, out.output
    assert "FAILED: AMI dropped beyond seed noise on digits" in out.output
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("## ❌ zsbench check: noisy-pixels") and "| digits | " in summary
    assert "encoder identity differs from the baseline's in: noise" in summary
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    failed = [case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None]
    assert failed == ["suite", "digits"]


def test_candidate_results_can_be_read_from_a_record(smoke, baseline, tmp_path):
    with ResultStore(smoke / "results.sqlite") as db:
        rerun = [r for r in db.results() if r.seed >= 3]
    candidate = registry.write(
        make_record(rerun, "raw-pixels", cache=ArtifactCache(smoke / "cache"), partial=True),
        tmp_path / "candidate.json",
    )
    out = cli("check", "--baseline", baseline, "--candidate", candidate)
    assert out.exit_code == 0, out.output


def test_a_check_touches_nothing_the_user_reads(smoke, baseline, tmp_path, monkeypatch):
    # case 1: a check of other weights wrote into the user's store, and the board mixed the two
    user = tmp_path / "user"
    user.mkdir()
    shutil.copy(smoke / "results.sqlite", user / "results.sqlite")
    monkeypatch.setenv("ZSBENCH_STORE", str(user / "results.sqlite"))

    def what_the_user_reads():
        board = cli("leaderboard", "-f", "json")
        record = cli(
            "submit", "--encoder", "raw-pixels", "--partial", "--cache", smoke / "cache", "-o", tmp_path / "mine.json"
        )
        assert board.exit_code == 0 and record.exit_code == 0, board.output + record.output
        return board.stdout, (tmp_path / "mine.json").read_bytes(), (tmp_path / "mine.labels.npz").read_bytes()

    before = what_the_user_reads()
    with zsbench.registered(Regressed(), "regressed"):
        out = cli("check", "--baseline", baseline, "--encoder", "noisy-pixels", "--cache", smoke / "cache")
    assert out.exit_code == 1, out.output
    assert what_the_user_reads() == before
    with ResultStore(user / "results.check.sqlite") as db:  # the check's own store, beside the user's
        assert {r.encoder for r in db.results()} == {"noisy-pixels"}


def test_a_spent_time_budget_fails_the_check_and_says_what_was_not_run(smoke, baseline, tmp_path):
    out = run_check(smoke, baseline, tmp_path, "--time-budget", 0)
    assert out.exit_code == 1
    assert "time budget of 0 s used up" in out.output and "not run: digits" in out.output
    summary = (tmp_path / "summary.md").read_text()
    assert "identity" not in summary and "candidate seeds" not in summary  # nothing ran: nothing to compare
    huge = run_check(smoke, baseline, tmp_path, "--first-seed", 2**40)
    assert huge.exit_code == 1 and "out of range" in huge.output and "Traceback" not in huge.output
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert [case.get("name") for case in suite.iter("testcase")] == ["time budget"]


def test_a_smoke_suite_must_use_the_baselines_samples(smoke, baseline, tmp_path):
    out = run_check(smoke, baseline, tmp_path, "--max-samples", 200)
    assert out.exit_code == 1
    assert "--max-samples 200 differs from the baseline's for digits (300)" in out.output
    assert cli("check", "--baseline", baseline, "--dataset", "mnist").exit_code == 1


def cell(baseline, candidate, dataset="d", clusterer="c"):
    """A cell whose values are seeds 0, 1, ... on each side."""
    return gate.Cell(dataset, clusterer, tuple(enumerate(baseline)), tuple(enumerate(candidate)))


def test_the_threshold_follows_seed_noise_and_the_tolerance():
    quiet = [cell([80.0, 80.2, 79.8], [79.0, 79.2, 78.8])]  # a 1-point drop, noise 0.2
    noisy = [cell([80.0, 84.0, 76.0], [79.0, 83.0, 75.0])]  # the same drop, noise 4
    assert gate.test("s", quiet, alpha=0.01, tolerance=0.5).regressed
    assert not gate.test("s", noisy, alpha=0.01, tolerance=0.5).regressed
    assert not gate.test("s", quiet, alpha=0.01, tolerance=1.5).regressed  # too small to matter
    assert gate.test("s", [cell([80.0, 80.0], [90.0, 90.0])], alpha=0.01, tolerance=0.5).improved
    with pytest.raises(ZsbenchError, match="needs at least 2 on both sides"):
        gate.test("s", [cell([80.0], [79.0, 78.0])], alpha=0.01, tolerance=0.5)


def test_clusterers_sharing_a_seeds_reduction_are_not_counted_as_independent_evidence():
    # K-Means and agglomerative on one seed's UMAP space rise and fall together: a copy of one cell under
    # another clusterer's name adds no information, so it must not shrink the standard error
    kmeans = cell([89.0, 92.0, 92.0], [89.0, 89.1, 88.9], clusterer="kmeans")
    twin = gate.Cell("d", "agglomerative", kmeans.baseline, kmeans.candidate)
    alone = gate.test("s", [kmeans], alpha=0.005, tolerance=0.5)
    both = gate.test("s", [kmeans, twin], alpha=0.005, tolerance=0.5)
    assert both.se == pytest.approx(alone.se) and both.df == alone.df == 4


def test_one_collapsed_dataset_among_many_fails_the_suite():
    steady = [cell([70.0 + i, 70.5 + i, 69.5 + i], [70.1 + i, 70.4 + i, 69.6 + i], dataset=f"d{i}") for i in range(9)]
    collapsed = [cell([70.0, 70.5, 69.5], [60.0, 60.5, 59.5], dataset="z")]
    report = gate.evaluate(steady + collapsed, alpha=0.01, tolerance=0.5)
    assert not report.passed and [t.name for t in report.regressed] == ["z"]
