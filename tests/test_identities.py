"""Issue 21, part 2: one identity, one row. Copies of a record count once; records that share an
identity sha256 but differ are refused together; an identity sha256 must follow from the record's
own identity; and a run under another ``--name`` stores a row of that name (the stages stay shared).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from zsbench.analysis import records
from zsbench.analysis.board import build
from zsbench.analysis.board.sources import gather
from zsbench.analysis.records import registry
from zsbench.analysis.records.submission import make_record
from zsbench.cli.app import app
from zsbench.storage.store import ResultStore

from .test_board_refusals import GOOD, base_record, good_records, put, shifted


@pytest.fixture
def base(smoke):
    return base_record(smoke)


@pytest.fixture
def good(base, tmp_path):
    return good_records(base, tmp_path / "registry")


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_byte_identical_copies_count_once_with_a_note(good):
    shutil.copy(good / "delta.json", good / "delta-copy.json")
    gathered = gather([good.parent], store=False)
    assert gathered.refused == []
    assert gathered.notes == [f"{good / 'delta.json'} has the content of {good / 'delta-copy.json'}: counted once"]
    board = build(gathered.sources, record_notes=gathered.notes)
    assert sorted(row.encoder for row in board.rows) == sorted(GOOD)  # one delta row
    assert any("counted once" in note for note in board.notes)
    out = cli("validate", good.parent)
    assert out.exit_code == 0, out.output
    assert "counted once" in out.stderr and f"{len(GOOD) + 1} record(s) valid" in out.stderr


def test_records_of_one_identity_that_differ_are_refused_together_naming_each_other(good):
    alpha = json.loads((good / "alpha.json").read_text())
    other = json.loads(json.dumps(alpha))
    other["environments"][0]["platform"] = "another machine"  # same results, other content
    put(good, "alpha-again", other)
    put(good.parent / "elsewhere", "alpha-better", shifted(alpha, 10.0))  # other results, another folder
    gathered = gather([good.parent], store=False)
    refused = dict(gathered.refused)
    files = [
        str(good / "alpha.json"),
        str(good / "alpha-again.json"),
        str(good.parent / "elsewhere" / "alpha-better.json"),
    ]
    assert sorted(refused) == sorted(files)
    for path in files:
        assert f"identity {alpha['encoder']['identity_sha256'][:12]} is also that of 'alpha'" in refused[path]
        assert all(other in refused[path] for other in files if other != path)  # names the others
        assert "with other results" in refused[path]  # one of them has other results
    assert "alpha" not in {row.encoder for row in build(gathered.sources).rows}

    shutil.rmtree(good.parent / "elsewhere")
    again = dict(gather([good.parent], store=False).refused)
    assert "with other content" in again[str(good / "alpha.json")]
    out = cli("validate", good.parent)
    assert out.exit_code == 1
    assert sorted(line.split(": ", 1)[0] for line in out.stdout.splitlines()) == sorted(files[:2])


def test_an_identity_sha256_that_does_not_follow_from_the_record_is_refused(good):
    data = json.loads((good / "delta.json").read_text())
    data["encoder"]["identity"] = {"n": "beta"}  # another's identity with delta's sha256 and numbers
    put(good, "delta", data)
    refused = dict(gather([good.parent], store=False).refused)
    assert list(refused) == [str(good / "delta.json")]
    assert refused[str(good / "delta.json")].startswith("encoder.identity_sha256: ")


def test_submit_into_a_registry_refuses_an_identity_another_record_has(smoke, base, tmp_path):
    folder = tmp_path / "registry" / "standard-1"
    put(folder, "mine", shifted(base, 5.0))  # raw-pixels' identity under another file, other numbers
    with ResultStore(smoke / "results.sqlite") as db:
        results = [r for r in db.results() if r.seed < 3]
    submission = make_record(results, "raw-pixels", with_labels=False, partial=True)
    path = registry.record_path(tmp_path / "registry", "1", "raw-pixels")
    with pytest.raises(
        records.RecordError,
        match=r"not written: .*raw-pixels.json: identity \w+ is also that of "
        r"'raw-pixels' \(\w+\) in .*mine.json",
    ):
        registry.write(submission, path, registry=folder)
    assert not path.exists()
    assert registry.write(submission, tmp_path / "elsewhere.json") == tmp_path / "elsewhere.json"  # not beside them


def test_a_run_under_another_name_stores_its_own_row_and_reuses_the_stages(tmp_path):
    rng = np.random.default_rng(3)
    npz = tmp_path / "f.npz"
    np.savez(
        npz,
        embeddings=np.concatenate([rng.normal(c, 0.3, (20, 4)) for c in (0, 3, 6)]),
        labels=np.repeat([0, 1, 2], 20),
    )
    store = tmp_path / "s.sqlite"
    args = ("run", "--embeddings", npz, "--clusterer", "kmeans", "--seeds", "2", "--reducer", "none", "--store", store)
    alpha = cli(*args, "--name", "alpha")
    assert alpha.exit_code == 0, alpha.output
    beta = cli(*args, "--name", "beta")
    assert beta.exit_code == 0, beta.output
    assert "beta (" in beta.stdout and "alpha" not in beta.stdout  # the summary names beta
    # every stage was reused from the cache (by content); only the rows are new
    assert (
        "Computed 0 reduction(s) and 0 clustering(s); reused 0 stored result(s), 4 reduction(s) and 2 "
        "clustering(s)" in beta.stderr
    )
    rows = ResultStore(store).results()
    assert sorted((r.encoder, r.seed) for r in rows) == [("alpha", 0), ("alpha", 1), ("beta", 0), ("beta", 1)]
    again = cli(*args, "--name", "beta")  # the same name again: its stored rows are the answer
    assert again.exit_code == 0 and "reused 2 stored result(s)" in again.stderr, again.output
    assert len(ResultStore(store).results()) == 4
