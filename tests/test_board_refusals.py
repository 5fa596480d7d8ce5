"""Issue 21, part 1: one bad record never blanks a board. Each refused record is listed under the board
with its file and one reason; the board of the valid records is built and the command exits 0 (1 with
--strict); ``zsbench validate`` still exits 1 naming each bad record.

Records are made from the session's smoke store (no new fits) and edited as JSON, as a stranger would.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from zsbench.analysis import records
from zsbench.analysis.board import build
from zsbench.analysis.board.sources import gather, load_sources
from zsbench.analysis.records.submission import make_record
from zsbench.cli.app import app
from zsbench.core.identity import identity_sha256
from zsbench.report.board import render
from zsbench.storage.store import ResultStore

PUBLISHED = Path(__file__).resolve().parents[1] / "registry" / "standard-1"
GOOD = {"alpha": 0.0, "beta": -5.0, "gamma": -30.0, "delta": -10.0, "epsilon": -20.0}


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def variant(record: dict[str, Any], name: str, shift: float = 0.0) -> dict[str, Any]:
    """``record`` as another encoder's: ``name``, an identity of its own (its sha256 follows from it),
    AMI shifted by ``shift`` points."""
    out = copy.deepcopy(record)
    encoder = out["encoder"]
    encoder["name"], encoder["identity"] = name, {"n": name}
    encoder["identity_sha256"] = identity_sha256(name, encoder["identity"], encoder["options"])
    return shifted(out, shift)


def shifted(record: dict[str, Any], shift: float) -> dict[str, Any]:
    """``record`` with every AMI moved by ``shift`` points (clipped to [-1, 1]), identity untouched."""
    out = copy.deepcopy(record)
    for entry in out["results"]:
        if entry["status"] == "ok":
            entry["metrics"]["ami"] = max(-1.0, min(1.0, entry["metrics"]["ami"] + shift / 100.0))
    return out


def put(folder: Path, stem: str, record: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.json"
    path.write_text(records.dumps(record))
    return path


def base_record(smoke: Path) -> dict[str, Any]:
    """A valid record of the smoke suite's seeds 0-2 (partial, without labels), to derive others from."""
    with ResultStore(smoke / "results.sqlite") as db:
        results = [r for r in db.results() if r.seed < 3]
    return make_record(results, "raw-pixels", with_labels=False, partial=True).record


def good_records(base: dict[str, Any], root: Path) -> Path:
    """``root/standard-1``, a registry folder of five valid records of five identities (GOOD)."""
    folder = root / "standard-1"
    for name, shift in GOOD.items():
        put(folder, name, variant(base, name, shift))
    return folder


@pytest.fixture
def base(smoke) -> dict[str, Any]:
    return base_record(smoke)


@pytest.fixture
def good(base, tmp_path) -> Path:
    return good_records(base, tmp_path / "registry")


def bad_records(base: dict[str, Any], folder: Path) -> dict[str, str]:
    """Each kind of bad record, written into ``folder``: file stem -> words its refusal must hold."""
    nan = records.dumps(variant(base, "nan-enc"))
    at = nan.index('"ami": ') + len('"ami": ')
    (folder / "nan.json").write_text(nan[:at] + "NaN" + nan[nan.index(",", at) :])
    sha = variant(base, "sha-enc")
    sha["results"][0]["labels_sha256"] = "not-a-sha256"
    put(folder, "labels-sha", sha)
    # a published record whose result names labels its archive does not hold
    shutil.copy(PUBLISHED / "raw-pixels.labels.npz", folder / "raw-pixels.labels.npz")
    unlisted = records.read(PUBLISHED / "raw-pixels.json")
    unlisted["results"][0]["labels_sha256"] = "0" * 64
    put(folder, "labels-unlisted", unlisted)
    (folder / "deep.json").write_text("[" * 100 + "]" * 100)
    (folder / "broken.json").write_text("{not json")
    schema = variant(base, "schema-enc")
    del schema["seeds"]
    put(folder, "schema", schema)
    # alpha's identity, name and sha256 copied, with better numbers: alpha and the copy are refused together
    put(folder, "claim", shifted(json.loads((folder / "alpha.json").read_text()), 20.0))
    # beta's sha256 under another name: it does not follow from the record's own identity
    forged = variant(base, "forged", 15.0)
    forged["encoder"]["identity_sha256"] = json.loads((folder / "beta.json").read_text())["encoder"]["identity_sha256"]
    put(folder, "forged", forged)
    put(folder, "hidden", variant(base, "be\u202eta", 10.0))  # a right-to-left override
    put(folder, "lookalike", variant(base, "g\u0430mma", 40.0))  # a Cyrillic а: gamma and it are refused
    return {
        "nan": "holds NaN",
        "labels-sha": "results[0].labels_sha256: 'not-a-sha256' is not valid",
        "labels-unlisted": "results[0].labels_sha256: 000000000000… is not in raw-pixels.labels.npz",
        "deep": "nested 100 deep",
        "broken": "not JSON",
        "schema": "'seeds' is a required property",
        "claim": "is also that of 'alpha'",
        "alpha": "is also that of 'alpha'",
        "forged": "encoder.identity_sha256",
        "hidden": "U+202E RIGHT-TO-LEFT OVERRIDE",
        "lookalike": "reads as 'gamma'",
        "gamma": "reads as 'g\\u0430mma'",
    }


def test_a_board_is_built_from_the_valid_records_and_lists_each_refused_one(base, good):
    expected = bad_records(base, good)
    gathered = gather([good.parent], store=False)
    refused = dict(gathered.refused)
    assert sorted(refused) == sorted(str(good / f"{stem}.json") for stem in expected)
    for stem, words in expected.items():
        assert words in refused[str(good / f"{stem}.json")], (stem, refused[str(good / f"{stem}.json")])
    assert "claim.json" in refused[str(good / "alpha.json")]  # each names the other
    assert "alpha.json" in refused[str(good / "claim.json")]
    assert (
        "lookalike.json" in refused[str(good / "gamma.json")] and "gamma.json" in refused[str(good / "lookalike.json")]
    )

    board = build(gathered.sources, refused=gathered.refused, record_notes=gathered.notes)
    assert sorted(row.encoder for row in board.rows) == ["beta", "delta", "epsilon"]
    assert board.refused == gathered.refused
    for fmt in ("markdown", "json", "html"):  # each format lists them under the board (markdown escapes _)
        text = render(board, fmt)
        assert text.count("refused: ") == len(refused) and all(Path(p).name in text for p in refused), fmt
    doc = json.loads(render(board, "json"))  # and JSON as data a site or a bot can read
    assert {r["file"]: r["reason"] for r in doc["refused"]} == refused
    with pytest.raises(records.RecordError, match="and 11 more refused record"):
        load_sources([good.parent], store=False)  # readers that take the set whole still refuse it


def test_the_leaderboard_command_exits_0_and_lists_refusals_validate_exits_1(base, good):
    expected = bad_records(base, good)
    out = cli("leaderboard", "--registry", good.parent)
    assert out.exit_code == 0, out.output
    assert "delta" in out.stdout and "epsilon" in out.stdout and "alpha" not in out.stdout
    lines = [line for line in out.stderr.splitlines() if line.startswith("refused: ")]
    assert len(lines) == len(expected)
    assert any(line.startswith(f"refused: {good / 'nan.json'}: ") and "holds NaN" in line for line in lines)
    assert cli("leaderboard", "--registry", good.parent, "--strict").exit_code == 1
    md = cli("leaderboard", "--registry", good.parent, "-f", "markdown", "--strict")
    assert md.exit_code == 1 and "| delta (partial) |" in md.stdout and "deep.json: arrays and objects" in md.stdout
    assert f"refused: {good / 'deep.json'}: " in md.stderr  # said on the terminal too

    val = cli("validate", good.parent)
    assert val.exit_code == 1
    named = {line.split(": ", 1)[0] for line in val.stdout.splitlines()}
    assert named == {str(good / f"{stem}.json") for stem in expected}
    assert f"{len(GOOD) + len(expected) - 2} record(s) checked; {len(expected)} with problems" in val.stderr


def test_only_bad_records_is_one_line_and_exit_1(base, tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    out = cli("leaderboard", "--registry", tmp_path)
    assert out.exit_code == 1
    assert out.stderr.splitlines() == [
        f"error: no valid record to build a board from: {tmp_path / 'broken.json'}: "
        "not JSON: line 1 column 2: Expecting property name enclosed in double quotes"
    ]
