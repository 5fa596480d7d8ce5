"""The results store and the leaderboard built from it."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from zsbench.analysis.board import build
from zsbench.plugin.errors import ZsbenchError
from zsbench.report.board import render
from zsbench.storage.database import APPLICATION_ID, SCHEMA_VERSION
from zsbench.storage.rows import SCHEMA_SQL
from zsbench.storage.store import ResultStore, StoreWarning, default_path

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


def test_a_schema_2_store_with_duplicate_keys_is_merged_keeping_every_row(tmp_path):
    """Racing runs of an older zsbench stored some keys twice: one row per key is left, the newest ok row
    (an ok row beats a newer failed one), the others kept in results_merged, and the merge is said."""
    path = tmp_path / "dup.sqlite"
    row = (
        "'r', 't', '1', 'e', 'd', 'umap', 'kmeans', 0, '{status}', NULL, {ami}, '{{}}', '{{}}', '{{}}', '{{}}', '{key}'"
    )
    rows = [("ok", 0.1, "a"), ("ok", 0.2, "a"), ("failed", "NULL", "a"), ("failed", "NULL", "b")]
    rows += [("failed", "NULL", "b"), ("ok", 0.3, "c")]
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.executescript(
            SCHEMA_SQL + "CREATE INDEX results_key ON results (result_key, status); PRAGMA user_version=2;"
        )
        for status, ami, key in rows:
            db.execute(f"INSERT INTO results VALUES (NULL, {row.format(status=status, ami=ami, key=key)})")
        db.execute("INSERT INTO results VALUES (NULL, " + row.format(status="ok", ami=0.4, key="x") + ")")
        db.execute("UPDATE results SET result_key = NULL WHERE result_key = 'x'")  # rows without a key stay
        db.execute("INSERT INTO results VALUES (NULL, " + row.format(status="ok", ami=0.5, key="x") + ")")
        db.execute("UPDATE results SET result_key = NULL WHERE result_key = 'x'")
    with pytest.warns(StoreWarning, match=r"dup\.sqlite: merged 3 duplicate row\(s\) \(1 ok\) of 2 result key\(s\)"):
        store = ResultStore(path)
    with store:
        assert [(r.id, r.status) for r in store.results()] == [
            (2, "ok"),
            (5, "failed"),
            (6, "ok"),
            (7, "ok"),
            (8, "ok"),
        ]
        assert store.finished("a").id == 2 and store.finished("b") is None
    with contextlib.closing(sqlite3.connect(path)) as db:
        merged = db.execute("SELECT id, status, merged_into FROM results_merged ORDER BY id").fetchall()
        assert merged == [(1, "ok", 2), (3, "failed", 2), (4, "failed", 5)]
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID  # stamped: ours
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # merged once: opening it again says nothing
        ResultStore(path).close()
