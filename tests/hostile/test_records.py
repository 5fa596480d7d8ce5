"""Cases 2-4: hostile records and labels archives (non-finite scores, archive bombs, deep or huge
files) give one line naming the file, never a crash, a stack overflow or gigabytes of memory."""

from __future__ import annotations

import io
import json
import math
import shutil
import time
import tracemalloc
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from zsbench.analysis import gate, records
from zsbench.analysis.board import build
from zsbench.analysis.records.validation import validate
from zsbench.analysis.records.verification import verify
from zsbench.cli.app import app
from zsbench.core import metrics
from zsbench.report.board import render

from ..test_trust import grid

REGISTRY = Path(__file__).parents[2] / "registry" / "standard-1"


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def errors(out) -> list[str]:
    return [line for line in out.output.splitlines() if line.startswith("error:")]


@pytest.fixture
def record(tmp_path) -> Path:
    """A copy of a published record and its labels archive, to tamper with."""
    for suffix in (".json", ".labels.npz"):
        shutil.copy(REGISTRY / f"raw-pixels{suffix}", tmp_path / f"raw-pixels{suffix}")
    return tmp_path / "raw-pixels.json"


def assert_one_line_everywhere(path: Path, words: str) -> None:
    """validate, verify, leaderboard and check each refuse ``path`` in one line naming it, exit 1."""
    problems = validate(path)
    assert len(problems) == 1 and problems[0].startswith(f"{path}: ") and words in problems[0], problems
    out = cli("validate", path)
    assert out.exit_code == 1 and out.stdout.splitlines() == problems, out.output
    for args in (("verify", path), ("leaderboard", "--registry", path), ("check", "--baseline", path)):
        out = cli(*args)
        assert out.exit_code == 1, (args, out.output)
        assert len(errors(out)) == 1 and str(path) in errors(out)[0] and words in errors(out)[0], (args, out.output)


# ------------------------------------------------------------------------------- case 2: NaN, inf


def test_a_record_holding_nan_or_an_overflowing_number_is_one_line_naming_it(record):
    text = record.read_text()
    at = text.index('"ami": ') + len('"ami": ')
    end = text.index(",", at)
    for bad in ("NaN", "-Infinity", "1e999"):
        record.write_text(text[:at] + bad + text[end:])
        assert_one_line_everywhere(record, f"holds {bad}")
        assert "line " in validate(record)[0]  # where it is


def test_the_schema_bounds_refuse_infinity():
    from jsonschema import Draft202012Validator

    data = records.read(REGISTRY / "raw-pixels.json")
    data["results"][0]["timings"]["cluster"] = math.inf
    data["results"][1]["metrics"]["ami"] = -math.inf
    errors_ = list(Draft202012Validator(records.schema()).iter_errors(data))
    assert len(errors_) == 2


def test_a_board_and_the_gate_leave_out_non_finite_scores_from_a_store():
    good = grid(ami=0.5)
    nan = [replace(r, encoder="nan", metrics={**r.metrics, "ami": math.nan}) for r in grid(encoder="nan")]
    inf = [replace(r, encoder="inf", metrics={**r.metrics, "ami": math.inf}) for r in grid(encoder="inf")]
    sil = [replace(r, encoder="sil", metrics={**r.metrics, "silhouette_proxy": -math.inf}) for r in grid(encoder="sil")]
    half = grid(encoder="half", ami=0.7)
    half[0] = replace(half[0], metrics={**half[0].metrics, "ami": math.nan})
    board = build(good + nan + inf + sil + half)
    assert {row.encoder for row in board.rows} == {"mine", "half"}
    assert board.failed == 18 * 3 + 1
    assert any("not a finite number" in n for n in board.notes)
    for fmt in ("markdown", "csv", "json", "html"):
        assert "half" in render(board, fmt), fmt
    json.loads(render(board, "json"), parse_constant=lambda name: pytest.fail(f"the json board holds {name}"))
    assert json.loads(render(board, "json"))["failed_results"] == 55

    base = grid(ami=0.5)
    cand = [replace(r, metrics={**r.metrics, "ami": math.nan if r.seed == 0 else math.inf}) for r in grid()[:12]]
    cand += grid(seeds=(2,), ami=0.5)
    cells = gate.cells(base, cand)
    assert cells and all(c.candidate == ((2, 50.0),) for c in cells)


# --------------------------------------------------------------------------- case 3: archive bombs


def npy_header(shape: tuple[int, ...], dtype: str = "<i8") -> bytes:
    """A .npy member that declares ``shape`` but holds only a few bytes of data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue() + b"\0" * 64


def add_member(archive: Path, name: str, data: bytes) -> None:
    with zipfile.ZipFile(archive, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, data)


def test_an_unreferenced_member_is_one_line_and_never_read(record, monkeypatch):
    archive = record.with_name("raw-pixels.labels.npz")
    add_member(archive, "f" * 64 + ".npy", npy_header((200_000_000,)))  # declares 1.6 GB
    out = cli("verify", record)
    assert out.exit_code == 1 and out.stdout.count("\n") == 1, out.output
    assert out.stdout.startswith(f"{record}: raw-pixels.labels.npz: member 'ffffffffffff")
    assert "not labels the record references; not read" in out.stdout

    # the scores are not what this measures, and re-scoring under tracemalloc is slow
    scores = {m: records.read(record)["results"][0]["metrics"].get(m) for m in metrics.LABEL_METRICS}
    monkeypatch.setattr(metrics, "label_scores", lambda truth, pred: scores)
    tracemalloc.start()
    start = time.perf_counter()
    report = verify(record)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert time.perf_counter() - start < 5 and peak < 50_000_000
    assert report.checked == 18 and sum("member" in m for m in report.mismatches) == 1


def test_a_referenced_member_of_the_wrong_dtype_or_shape_is_a_mismatch_not_loaded(record):
    archive = record.with_name("raw-pixels.labels.npz")
    digest = records.read(record)["results"][0]["labels_sha256"]
    with zipfile.ZipFile(archive) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist() if i.filename != f"{digest}.npy"}
    for shape, dtype, words in [
        ((200_000_000,), "<i8", "not int64 of shape (1797,)"),
        ((1797,), "<f8", "float64 of shape (1797,)"),
        ((1797, 1), "<i8", "shape (1797, 1)"),
    ]:
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, data in members.items():
                zf.writestr(name, data)
            zf.writestr(f"{digest}.npy", npy_header(shape, dtype))
        report = verify(record)
        bad = [m for m in report.mismatches if digest[:12] in m]
        assert bad and all(words in m for m in bad), report.mismatches
        assert "seed 0" in bad[0] and len(report.mismatches) == len(bad)


def test_an_archive_that_is_not_a_zip_is_one_error_line(record):
    record.with_name("raw-pixels.labels.npz").write_bytes(b"not a zip")
    out = cli("verify", record)
    assert out.exit_code == 1 and len(errors(out)) == 1 and "cannot read the labels archive" in out.output


# -------------------------------------------------------------------- case 4: deep, huge, too many


def test_a_record_nested_100000_deep_is_one_line_before_parsing(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"schema": "zsbench-record/2", "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    start = time.perf_counter()
    assert_one_line_everywhere(path, "nested 100001 deep, over the 64")
    assert time.perf_counter() - start < 5


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path):
    path = tmp_path / "strings.json"
    path.write_text(json.dumps({"a": "[" * 1000 + '\\"{' * 100, "b": [[1]]}))
    assert records.read(path)["b"] == [[1]]


def test_an_oversized_record_is_one_line_without_reading_it(tmp_path):
    path = tmp_path / "huge.json"
    with path.open("wb") as f:
        f.truncate(records.MAX_RECORD_BYTES + 1)  # sparse: no disk or time spent
    assert_one_line_everywhere(path, "over the 67,108,864 a record may have")


def test_too_many_results_is_one_line_before_the_schema(record):
    data = records.read(record)
    data["results"] = [{}] * (records.MAX_RESULTS + 1)  # counted before the schema looks inside
    record.write_text(json.dumps(data))
    start = time.perf_counter()
    assert_one_line_everywhere(record, f"over the {records.MAX_RESULTS:,} a record may have")
    assert time.perf_counter() - start < 5
