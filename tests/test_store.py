"""The results store and the leaderboard built from it."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zsbench.analysis.board import build
from zsbench.plugin.errors import ZsbenchError
from zsbench.report.board import render
from zsbench.storage.store import ResultStore, default_path

ROOT = Path(__file__).resolve().parents[1]


def test_default_run_rows_survive_the_process(default_run):
    path = default_run.store_path
    code = (
        f"from zsbench.storage.store import ResultStore; rs = ResultStore({str(path)!r}).results(); "
        "print(len(rs), sorted({r.clusterer for r in rs}))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("12 ")
    stored = ResultStore(path).results()

    # rows are stored as stages finish (any order on a pool); every one survives, field for field
    def key(record):
        return record["reducer"], record["clusterer"], record["seed"]

    assert sorted((r.to_record() for r in stored), key=key) == sorted(default_run.to_records(), key=key)


def test_every_record_matches_the_registry_schema(default_run):
    import jsonschema

    schema = json.loads((ROOT / "harness" / "core" / "schemas" / "result-1.schema.json").read_text())
    for record in default_run.to_records():
        jsonschema.validate(record, schema)


def test_store_location_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ZSBENCH_STORE", str(tmp_path / "x" / "r.sqlite"))
    assert default_path() == tmp_path / "x" / "r.sqlite"
    monkeypatch.delenv("ZSBENCH_STORE")
    assert default_path().name == "results.sqlite" and "zsbench" in str(default_path())


def test_unusable_store_is_a_clear_error(tmp_path):
    bad = tmp_path / "not-a-db.sqlite"
    bad.write_text("this is not sqlite " * 100)
    with pytest.raises(ZsbenchError, match="cannot open results store .*--store"):
        ResultStore(bad)


def test_store_from_a_newer_zsbench_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    ResultStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(ZsbenchError, match="newer zsbench"):
        ResultStore(path)


def test_leaderboard_takes_the_latest_result_per_seed_and_aggregates_seeds(default_run):
    first = [r for r in default_run.results if r.clusterer == "kmeans"]
    rerun = dataclasses.replace(first[0], metrics={**first[0].metrics, "ami": 0.5})
    board = build(list(default_run.results) + [rerun])
    (row,) = board.rows
    cell = row.views["kmeans"].datasets["digits"]
    assert cell.n_seeds == len(first) == 2
    assert cell.mean == pytest.approx((50.0 + 100 * first[1].metrics["ami"]) / 2)
    assert board.clusterers == [
        "kmeans",
        "spectral",
        "agglomerative",
        "agglomerative-no-k",
        "affinity-propagation",
        "hdbscan",
    ]
    assert board.views == ["mean"] + board.clusterers


def test_failed_results_stay_out_of_the_means(default_run):
    bad = dataclasses.replace(default_run.results[0], encoder="broken", status="failed", error="x", metrics={})
    board = build([bad])
    assert board.rows == [] and board.failed == 1
    assert render(board, "csv").splitlines() == [
        "encoder,identity_sha256,reducer,source,view,level,name,ami_mean,ci_low,ci_high,n_seeds,rank_low,rank_high"
    ]


def test_a_schema_1_store_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE results (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL,
              created_at TEXT NOT NULL, protocol_version TEXT NOT NULL, encoder TEXT NOT NULL,
              dataset TEXT NOT NULL, reducer TEXT NOT NULL, clusterer TEXT NOT NULL, seed INTEGER NOT NULL,
              status TEXT NOT NULL, error TEXT, ami REAL, metrics TEXT NOT NULL, config TEXT NOT NULL,
              timings TEXT NOT NULL, provenance TEXT NOT NULL);
            INSERT INTO results VALUES (NULL, 'r', 't', '1', 'e', 'd', 'umap', 'kmeans', 0, 'ok', NULL, 0.5,
              '{"ami": 0.5}', '{}', '{}', '{}');
            PRAGMA user_version=1;""")
    with ResultStore(path) as db:
        (old,) = db.results()
        assert old.ami == 0.5 and db.finished("nothing") is None


def test_processes_opening_a_new_store_at_once_agree_on_its_schema(tmp_path):
    code = (
        "import sys, time; from zsbench.storage.store import ResultStore; t = float(sys.argv[2]);\n"
        "time.sleep(max(0, t - time.time())); ResultStore(sys.argv[1]).close()"
    )
    for attempt in range(5):
        path, start = tmp_path / f"new{attempt}.sqlite", time.time() + 1.0
        procs = [
            subprocess.Popen([sys.executable, "-c", code, str(path), str(start)], stderr=subprocess.PIPE, text=True)
            for _ in range(4)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
