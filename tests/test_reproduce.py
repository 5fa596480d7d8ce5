"""`zsbench verify --reproduce`: a record is re-run with the installed encoder, and a forged one is caught."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from zsbench.analysis import records
from zsbench.analysis.records import registry, reproduction
from zsbench.analysis.records.submission import make_record
from zsbench.analysis.records.validation import validate
from zsbench.cli.app import app
from zsbench.core.identity import identity_sha256
from zsbench.core.metrics import label_scores
from zsbench.storage.cache import ArtifactCache
from zsbench.storage.store import ResultStore

ROOT = Path(__file__).resolve().parents[1]


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def submission(smoke):
    """The smoke suite's seeds 0-2 as a record (partial: a subsample with two clusterers)."""
    with ResultStore(smoke / "results.sqlite") as db:
        results = [r for r in db.results() if r.seed < 3]
    return make_record(results, "raw-pixels", cache=ArtifactCache(smoke / "cache"), partial=True)


@pytest.fixture
def record(smoke, tmp_path):
    return registry.write(submission(smoke), tmp_path / "raw-pixels.json")


def edited(path: Path, change) -> Path:
    """The record at ``path`` changed in place by ``change(record)``, still valid."""
    data = records.read(path)
    change(data)
    path.write_text(records.dumps(data))
    assert validate(path) == []
    return path


def reproduce(smoke, path, *args):
    return cli("verify", "--reproduce", path, "--cache", smoke / "cache", *args)


def verdicts(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines() if line.rstrip().endswith(("agree", "DISAGREE"))]


def test_an_honest_record_reproduces_every_cell_exactly(smoke, record):
    out = reproduce(smoke, record, "--all")
    assert out.exit_code == 0, out.output
    rows = verdicts(out.output)
    assert len(rows) == 6 and {tuple(r[:3]) for r in rows} == {
        ("digits", c, str(s)) for c in ("kmeans", "agglomerative") for s in range(3)
    }
    # the same seed on the same machine: the same AMI, to the last digit shown
    assert all(r[3] == r[4] and r[5] == "+0.00" and r[-1] == "agree" for r in rows)
    assert {(r[1], r[6]) for r in rows} == {("kmeans", "6.8"), ("agglomerative", "8.5")}  # per clusterer
    assert (
        "reproduced: all 6 cell(s) re-run (every seed per dataset x clusterer) of 6 in the record agree" in out.output
    )
    assert "mean difference +0.00 AMI points (allowed 4.4 over 3 UMAP fit(s))" in out.output


def test_by_default_one_seed_per_cell_is_run_again_from_nothing(record, monkeypatch):
    # no --cache: the test's own empty cache, so the embedding, UMAP and clusterings are all computed
    from zsbench import api

    calls = []
    real = api.run
    monkeypatch.setattr(api, "run", lambda *a, **k: calls.append(k) or real(*a, **k))
    out = cli("verify", "--reproduce", record)
    assert out.exit_code == 0, out.output
    assert [(c["seeds"], c["clusterers"], c["max_samples"]) for c in calls] == [([0], ["kmeans", "agglomerative"], 300)]
    assert "zsbench-reproduce-" in str(calls[0]["store"]) and not Path(calls[0]["store"]).exists()  # temporary
    rows = verdicts(out.output)
    assert [r[:3] for r in rows] == [["digits", "kmeans", "0"], ["digits", "agglomerative", "0"]]
    assert all(r[5] == "+0.00" for r in rows)


def forge(smoke, path: Path) -> Path:
    """The record with every prediction replaced by the truth and its scores made to follow (AMI 1)."""
    sub = submission(smoke)
    record = sub.record
    truth_sha = record["datasets"]["digits"]["labels_sha256"]
    truth = sub.labels[truth_sha]
    for entry in record["results"]:
        entry["labels_sha256"] = truth_sha
        entry["metrics"].update(label_scores(truth, truth))
    return registry.write(dataclasses.replace(sub, labels={truth_sha: truth}), path)


def test_a_forged_record_passes_verify_but_not_reproduce(smoke, tmp_path):
    forged = forge(smoke, tmp_path / "forged.json")
    assert {e["metrics"]["ami"] for e in records.read(forged)["results"]} == {1.0}
    plain = cli("verify", forged)
    assert plain.exit_code == 0, plain.output  # consistent labels and scores: re-scoring cannot tell
    out = reproduce(smoke, forged)
    assert out.exit_code == 1, out.output
    rows = verdicts(out.output)
    assert len(rows) == 2 and all(r[3] == "100.00" and r[-1] == "DISAGREE" for r in rows)
    assert all(float(r[5]) < -10 for r in rows)  # tens of points off, far outside the tolerance
    assert "NOT REPRODUCED: 2 of 2 cell(s)" in out.output


def refused_before_any_work(path, monkeypatch, *args):
    from zsbench import api

    monkeypatch.setattr(api, "run", lambda *a, **k: pytest.fail("ran although the record was refused"))
    out = cli("verify", "--reproduce", path, *args)
    assert out.exit_code == 1
    errors = [line for line in out.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and not verdicts(out.output), out.output
    return errors[0]


def other_identity(record):
    encoder = record["encoder"]
    encoder["identity"]["size"] = 16
    encoder["identity_sha256"] = identity_sha256(encoder["name"], encoder["identity"], encoder["options"])


def other_options(record):
    encoder = record["encoder"]
    encoder["options"] = {"size": 16}
    encoder["identity_sha256"] = identity_sha256(encoder["name"], encoder["identity"], encoder["options"])


@pytest.mark.parametrize(
    "change, differs", [(other_identity, "differ in identity.size"), (other_options, "differ in identity.size")]
)
def test_a_record_of_another_encoder_identity_is_refused_in_one_line(record, monkeypatch, change, differs):
    line = refused_before_any_work(edited(record, change), monkeypatch)
    assert "encoder raw-pixels built here (zsbench " in line and f"they {differs}" in line
    assert "other weights, preprocessing or version" in line


def test_a_record_whose_plugin_is_not_installed_is_refused_in_one_line(record, monkeypatch):
    def elsewhere(data):
        data["encoder"]["plugin"].update(distribution="zsbench-nowhere", plugin="zsbench-nowhere:pixels", version="9.9")

    line = refused_before_any_work(edited(record, elsewhere), monkeypatch)
    assert "plugin distribution zsbench-nowhere 9.9, which is not installed here" in line
    assert "pip install 'zsbench-nowhere==9.9'" in line


def test_another_sample_set_is_refused_as_another_data_version(record, monkeypatch):
    def moved(data):
        data["datasets"]["digits"]["fingerprint"] = "0" * 64

    line = refused_before_any_work(edited(record, moved), monkeypatch)
    assert "the samples of digits made here (300 samples (seed 0), 300 samples" in line
    assert "are not the record's (00000000): another data version" in line


def test_reproduce_options_need_reproduce(record):
    out = cli("verify", record, "--seeds", "2", "--tolerance", "5")
    assert out.exit_code == 1 and "--seeds, --tolerance apply only with --reproduce" in out.output
    out = cli("verify", "--reproduce", record, "--all", "--seeds", "2")
    assert out.exit_code == 1 and "give one" in out.output
    out = cli("verify", "--reproduce", record, "--weights", record.parent / "nothing.pth")
    assert out.exit_code == 1 and "nothing.pth: no such file or folder" in out.output


def test_the_tolerance_help_says_the_calibrated_range():
    import typer.main

    verify = typer.main.get_command(app).commands["verify"]
    said = next(p.help for p in verify.params if p.name == "tolerance")
    assert f"{min(reproduction.TOLERANCES.values()):g} to {reproduction.TOLERANCE:g}," in said


def test_the_plan_takes_a_declared_share_of_seeds_and_a_seeded_choice_is_stable():
    record = {
        "datasets": {"a": {"seeds": [0, 1, 2, 3], "max_samples": None}},
        "clusterers": ["kmeans", "hdbscan"],
        "results": [
            {"dataset": "a", "clusterer": c, "seed": s, "status": "ok" if (c, s) != ("hdbscan", 0) else "failed"}
            for c in ("kmeans", "hdbscan")
            for s in range(4)
        ],
    }
    jobs, cells = reproduction.plan(record)
    assert [(j.clusterers, j.seeds) for j in jobs] == [(("kmeans",), (0,)), (("hdbscan",), (1,))]  # a failed cell
    jobs, cells = reproduction.plan(record, seeds=2)
    assert sorted(cells) == [("a", "hdbscan", 1), ("a", "hdbscan", 2), ("a", "kmeans", 0), ("a", "kmeans", 1)]
    assert len(reproduction.plan(record, seeds=None)[1]) == 7
    chosen = reproduction.plan(record, choose=7)[1]
    assert chosen == reproduction.plan(record, choose=7)[1]
    assert {tuple(reproduction.plan(record, seeds=2, choose=c)[1]) for c in range(20)} != {tuple(cells)}


def test_cells_that_each_agree_but_all_lean_one_way_do_not_reproduce():
    def cells(diff, n=4):
        return [reproduction.Cell("d", "kmeans", s, 50.0, 50.0 + diff, 6.8) for s in range(n)]

    assert reproduction.Reproduction(cells(2.0), fits=4).ok  # within 6.8 / sqrt(4) = 3.4 on average
    raised = reproduction.Reproduction(cells(5.0), fits=4)
    assert not raised.disagreements and not raised.mean_agrees and not raised.ok
    assert reproduction.Reproduction(cells(5.0, 1), fits=1).ok  # one fit: the cell's own tolerance
    assert not reproduction.Reproduction([], fits=0).ok
    failed = reproduction.Reproduction([reproduction.Cell("d", "kmeans", 0, 50.0, None, 6.8, "boom")], fits=1)
    assert failed.disagreements and not failed.ok


# ---- the registry workflow ----

WORKFLOW = ROOT / ".github" / "workflows" / "registry.yml"


def unknown_options(words: list[str]) -> list[str]:
    """What in ``zsbench COMMAND --option ...`` names no command or option of the real CLI."""
    import typer.main

    group = typer.main.get_command(app)
    if words[1] not in group.commands:
        return [f"no command {words[1]!r}"]
    command = group.commands[words[1]]
    known = {opt for p in command.params for opt in p.opts + p.secondary_opts} | {"--help"}
    return [w for w in words[2:] if w.startswith("-") and w.split("=", 1)[0] not in known]


def zsbench_commands(script: str) -> list[list[str]]:
    """Each `zsbench COMMAND ...` in a shell script, to the end of its shell command (`xargs zsbench validate < f`,
    `if zsbench ...; then`, `&& zsbench ...`)."""
    return [m.split() for m in re.findall(r"(?:^|[\s(])(zsbench [a-z][a-z-]*[^\n|&;<>#]*)", script, re.M)]


def test_the_registry_workflow_validates_verifies_and_reproduces_changed_records():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert on["pull_request"]["paths"] == ["registry/**"]
    steps = workflow["jobs"]["records"]["steps"]
    names = [s.get("name", "") for s in steps]
    assert (
        names.index("A submission changes registry/ only")
        < names.index("Install zsbench from this checkout")
        < names.index("Find the changed records")
        < names.index("Validate")
        < names.index("Verify (re-score from the labels)")
        < names.index("Reproduce (re-run the encoder)")
    )
    runs = "\n".join(s.get("run", "") for s in steps)
    assert 'pip install ".[torch]"' in runs and "git diff --name-only" in runs and "GITHUB_BASE_REF" in runs
    commands = zsbench_commands(runs)
    assert {c[1] for c in commands} == {"validate", "verify"}
    assert ["zsbench", "verify", "--reproduce", "--choose-seeds", '"$GITHUB_RUN_ID"', '"$f"'] in commands
    assert "GITHUB_STEP_SUMMARY" in runs  # a record that cannot be reproduced here is said, not silently passed
    data = workflow["jobs"]["reproduce-with-data"]
    assert "self-hosted" in data["runs-on"] and "reproduce" in data["if"]
    data_commands = zsbench_commands("\n".join(s.get("run", "") for s in data["steps"]))
    assert any("--reproduce" in c and "--data-dir" in c for c in data_commands)
    assert all(unknown_options(c) == [] for c in commands + data_commands), commands + data_commands


def test_the_workflow_check_catches_a_made_up_option():
    assert unknown_options(["zsbench", "verify", "--reproduce", "--seeds", "2"]) == []
    assert unknown_options(["zsbench", "verify", "--reproduced"]) == ["--reproduced"]
