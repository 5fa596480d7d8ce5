"""`zsbench baseline`: a gate baseline made from a run of its own, and a check that compares like with like."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from zsbench.analysis.records import registry
from zsbench.analysis.records.submission import make_record
from zsbench.cli.app import app
from zsbench.storage.cache import ArtifactCache
from zsbench.storage.store import ResultStore


def cli(*args, env=None):
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


SUITE = (
    "--encoder",
    "raw-pixels",
    "--dataset",
    "digits",
    "--clusterer",
    "kmeans",
    "--clusterer",
    "agglomerative",
    "--max-samples",
    300,
)


@pytest.fixture
def user_store(smoke, tmp_path):
    """The user's own store: the smoke suite's seeds 0-5 and a full-partition K-Means run of digits."""
    path = tmp_path / "user.sqlite"
    shutil.copy(smoke / "results.sqlite", path)
    return path


@pytest.fixture
def made(smoke, user_store, tmp_path, monkeypatch):
    """A baseline of the smoke suite with seeds 0-2, made while the user's store holds other results."""
    monkeypatch.setenv("ZSBENCH_STORE", str(user_store))
    before = user_store.read_bytes()
    out = cli("baseline", *SUITE, "--seeds", 3, "--cache", smoke / "cache", "-o", tmp_path / "gate" / "baseline.json")
    assert out.exit_code == 0, out.output
    assert user_store.read_bytes() == before  # the user's store is neither read into nor written to
    return tmp_path / "gate" / "baseline.json"


def test_a_baseline_is_exactly_the_declared_suite_whatever_the_store_holds(made):
    record = json.loads(made.read_text())
    assert made.with_name("baseline.labels.npz").is_file()
    assert record["partial"] and record["encoder"]["name"] == "raw-pixels"
    assert record["seeds"] == [0, 1, 2]  # the store has 0-5: none of them is taken
    assert record["clusterers"] == ["kmeans", "agglomerative"]
    assert {name: info["max_samples"] for name, info in record["datasets"].items()} == {"digits": 300}
    assert cli("verify", made).exit_code == 0


def test_a_check_against_a_fresh_baseline_is_green(smoke, made, tmp_path):
    out = cli("check", "--baseline", made, "--store", tmp_path / "check.sqlite", "--cache", smoke / "cache")
    assert out.exit_code == 0, out.output
    assert "mean change +0.00 AMI points" in out.output


def test_a_failed_baseline_run_writes_nothing(smoke, tmp_path):
    out = cli(
        "baseline",
        *SUITE,
        "--seeds",
        2,
        "--cache",
        smoke / "cache",
        "--clusterer",
        "spectral:n_neighbors=500",
        "-o",
        tmp_path / "b.json",
    )
    assert out.exit_code == 1 and not (tmp_path / "b.json").exists()
    assert "failed digits / spectral:n_neighbors=500 seed 0" in out.output
    assert "no baseline was written" in out.output


def test_bad_outputs_are_refused_before_any_work(tmp_path):
    for output, said in ((tmp_path, "is a folder"), (tmp_path / "baseline.txt", "a .json file")):
        out = cli("baseline", "--encoder", "raw-pixels", "-o", output)
        assert out.exit_code == 1 and said in out.output


@pytest.fixture
def full_and_smoke(smoke, tmp_path):
    """A store that holds two sample sets of digits for raw-pixels: the smoke subsample and a 400-sample one."""
    import zsbench

    path = tmp_path / "two.sqlite"
    shutil.copy(smoke / "results.sqlite", path)
    zsbench.run(
        "raw-pixels", "digits", clusterers=["kmeans"], seeds=1, max_samples=200, store=path, cache=smoke / "cache"
    )
    return path


def test_submit_partial_asks_which_sample_set_and_never_picks_one(smoke, full_and_smoke, tmp_path):
    out = cli(
        "submit",
        "--encoder",
        "raw-pixels",
        "--partial",
        "--store",
        full_and_smoke,
        "--cache",
        smoke / "cache",
        "-o",
        tmp_path / "r.json",
    )
    assert out.exit_code == 1 and not (tmp_path / "r.json").exists()
    assert "2 sample set(s)" in out.output and "--sample-set" in out.output
    assert "300 samples" in out.output and "200 samples" in out.output
    with ResultStore(full_and_smoke) as db:
        small = next(r for r in db.results() if r.config["dataset"]["max_samples"] == 200)
    fingerprint = small.config["dataset"]["fingerprint"]
    chosen = cli(
        "submit",
        "--encoder",
        "raw-pixels",
        "--partial",
        "--store",
        full_and_smoke,
        "--cache",
        smoke / "cache",
        "-o",
        tmp_path / "r.json",
        "--sample-set",
        fingerprint[:10],
    )
    assert chosen.exit_code == 0, chosen.output
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["datasets"]["digits"]["max_samples"] == 200 and record["clusterers"] == ["kmeans"]


def error_line(out, *fragments: str) -> str:
    """The run's refusal: exit 1, its last line one "error:" line with ``fragments``, no traceback. (Lines
    before it are the run's progress, which a loaded machine prints when a stage takes over half a second.)"""
    assert out.exit_code == 1, out.output
    line = out.output.strip().splitlines()[-1]
    assert line.startswith("error:") and "Traceback" not in out.output, out.output
    for fragment in fragments:
        assert fragment in line, line
    return line


def edited(record_path, tmp_path, change, name="edited.json"):
    """A copy of a record (and its labels) with ``change`` applied to its JSON."""
    record = json.loads(record_path.read_text())
    change(record)
    out = tmp_path / name
    shutil.copy(record_path.with_name("baseline.labels.npz"), out.with_name(name.removesuffix(".json") + ".labels.npz"))
    record["labels"]["file"] = out.with_name(name.removesuffix(".json") + ".labels.npz").name
    out.write_text(json.dumps(record))
    return out


def test_a_baseline_of_other_clusterer_settings_is_refused_naming_the_setting(smoke, made, tmp_path):
    def other_max_iter(record):
        for entry in record["results"]:
            if entry["clusterer"] == "kmeans":
                entry["config"]["clusterer"]["params"]["max_iter"] = 300

    baseline = edited(made, tmp_path, other_max_iter)
    out = cli("check", "--baseline", baseline, "--store", tmp_path / "c.sqlite", "--cache", smoke / "cache")
    error_line(out, "clusterer kmeans", "max_iter: 1000 vs 300")


def test_a_baseline_of_another_protocol_is_refused_before_running(made, tmp_path):
    baseline = edited(made, tmp_path, lambda record: record.update(protocol_version="7"))
    out = cli("check", "--baseline", baseline, "--store", tmp_path / "c.sqlite")
    assert out.exit_code == 1
    assert "protocol 7" in out.output or "protocol_version" in out.output  # refused by the check or by validation


def test_a_candidate_record_of_another_sample_set_or_clusterer_set_is_refused(smoke, made, full_and_smoke, tmp_path):
    with ResultStore(full_and_smoke) as db:
        results = db.results()
    small = [r for r in results if r.config["dataset"]["max_samples"] == 200]
    other = registry.write(
        make_record(small, "raw-pixels", cache=ArtifactCache(smoke / "cache"), partial=True),
        tmp_path / "other.json",
    )
    out = cli("check", "--baseline", made, "--candidate", other)
    error_line(out)
    assert "agglomerative" in out.output or "samples of digits" in out.output
    out = cli("check", "--baseline", made, "--candidate", other, "--clusterer", "kmeans")
    assert out.exit_code == 1 and "samples of digits (200 samples" in out.output and "(300 samples" in out.output
