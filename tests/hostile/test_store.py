"""A hostile results store: full disks, unwritable files, rows that do not read back, readers
that must not write, failed rows that must not pile up (issue 11, cases 6, 7, 8, 18)."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

import zsbench
from zsbench.cli.app import app
from zsbench.core.result import Result
from zsbench.plugin.errors import ZsbenchError
from zsbench.storage.cache import ArtifactCache
from zsbench.storage.database import APPLICATION_ID
from zsbench.storage.layout import entry_paths
from zsbench.storage.rows import SCHEMA_SQL
from zsbench.storage.store import ResultStore, StoreWarning, StoreWriteError

from ..helpers import one_line_error


def result(seed: int = 0, status: str = "ok", clusterer: str = "kmeans") -> Result:
    return Result(
        "enc",
        "ds",
        "none",
        clusterer,
        seed,
        status,
        None if status == "ok" else "boom",
        {"ami": 0.5} if status == "ok" else {},
        {"seed": seed},
        {"cluster": 0.1},
        {"zsbench": "x"},
        "1",
        "2025-01-01T00:00:00+00:00",
        "run",
    )


def board_result(seed: int) -> Result:
    """A result as a run of K-Means on precomputed embeddings stores it (what the board reads)."""
    config = {
        "encoder": {
            "name": "enc",
            "identity": {"embeddings": "precomputed"},
            "options": {},
            "source": {"array": "in memory", "sha256": "ab" * 32},
            "identity_sha256": "cd" * 32,
        },
        "dataset": {"name": "ds", "n_missing_labels": 0, "fingerprint": "ef" * 32, "labels_sha256": "01" * 32},
        "n_samples": 45,
        "n_features": 5,
        "seed": seed,
        "seeds": [0, 1],
        "n_clusters_given": 3,
        "reducer": {"label": "none", "class": "zsbench.plugins._estimators.Identity", "params": {}},
        "proxy_reducer": "umap",
        "clusterer": {
            "label": "kmeans",
            "class": "sklearn.cluster.KMeans",
            "params": {"n_clusters": 3, "random_state": seed},
        },
        "warnings": [],
        "reused": [],
        "artifacts": {},
    }
    metrics = {
        "ami": 0.9 + seed / 100,
        "ari": 0.9,
        "n_clusters": 3,
        "n_classes": 3,
        "n_samples": 45,
        "fraction_clustered": 1.0,
        "silhouette_proxy": None,
    }
    plugin = {"plugin": "zsbench:x", "distribution": "zsbench", "version": "0.1.0"}
    provenance = {
        "packages": {"zsbench": "0.1.0"},
        "plugins": {"reducer": {"name": "none", **plugin}, "clusterer": {"name": "kmeans", **plugin}},
    }
    return Result(
        "enc",
        "ds",
        "none",
        "kmeans",
        seed,
        "ok",
        None,
        metrics,
        config,
        {"embed": 0.0, "reduce": 0.0, "cluster": 0.1},
        provenance,
        "1",
        "2025-01-01T00:00:00+00:00",
        "r",
    )


@pytest.fixture
def store_copy(tmp_path) -> Path:
    """A store with two seeds of one encoder on one dataset, rows 1 and 2, closed (no WAL left)."""
    path = tmp_path / "board.sqlite"
    with ResultStore(path) as store:
        store.add(board_result(0), "k0")
        store.add(board_result(1), "k1")
    return path


@pytest.fixture
def cli():
    """The CLI as a user meets it: pytest records warnings itself, so put back the CLI's display."""
    from zsbench.cli import store as cli_store

    def invoke(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("always", StoreWarning)
            warnings.showwarning = cli_store.show_store_warnings
            return CliRunner().invoke(app, [str(a) for a in args])

    return invoke


class Failing:
    """A connection that fails the statements starting with ``verb`` with ``message``; the rest pass."""

    def __init__(self, db: sqlite3.Connection, verb: str, message: str) -> None:
        self._db, self._verb, self._message = db, verb, message

    def execute(self, sql: str, *args):
        if sql.lstrip().upper().startswith(self._verb):
            raise sqlite3.OperationalError(self._message)
        return self._db.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._db, name)

    def __setattr__(self, name, value):
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._db, name, value)

    def __enter__(self):
        return self._db.__enter__()

    def __exit__(self, *exc):
        return self._db.__exit__(*exc)


# Case 6: a full disk, or a file or folder that cannot be written.


@pytest.mark.parametrize(
    ("message", "todo"),
    [
        ("database or disk is full", "free space on that disk"),
        ("disk I/O error", "free space on that disk"),
        ("attempt to write a readonly database", "make the file and its folder writable"),
    ],
)
def test_a_failed_insert_is_one_line_naming_the_store_and_its_free_space(tmp_path, message, todo):
    path = tmp_path / "r.sqlite"
    store = ResultStore(path)
    store.add(result(0))
    real = store._db
    store._db = Failing(real, "INSERT", message)
    with pytest.raises(StoreWriteError) as caught:
        store.add(result(1))
    text = str(caught.value)
    assert "\n" not in text and str(path) in text and message in text and todo in text
    assert f"free in {tmp_path}" in text and " B free" in text or "iB free" in text
    store._db = real
    assert not real.in_transaction and [r.seed for r in store.results()] == [0]  # nothing lost
    store.add(result(2))  # and the store still works once there is room
    assert [r.seed for r in store.results()] == [0, 2]


def test_a_full_disk_while_creating_the_schema_is_one_line(tmp_path, monkeypatch):
    connect = sqlite3.connect
    monkeypatch.setattr(
        "zsbench.storage.store.sqlite3.connect",
        lambda *a, **k: Failing(connect(*a, **k), "CREATE", "database or disk is full"),
    )
    with pytest.raises(
        StoreWriteError,
        match=r"cannot write results store .*new\.sqlite: database or disk is "
        r"full \(.* free in .*\); free space",
    ):
        ResultStore(tmp_path / "new.sqlite")


def test_a_folder_that_cannot_be_made_is_one_line(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(StoreWriteError, match=r"sub/r\.sqlite: Permission denied \(.* free in .*\); make the file"):
        ResultStore(tmp_path / "sub" / "r.sqlite")


def test_a_file_that_is_not_sqlite_is_still_named(tmp_path):
    bad = tmp_path / "junk.sqlite"
    bad.write_bytes(b"garbage " * 600)
    for readonly in (False, True):
        with pytest.raises(ZsbenchError, match=r"cannot open results store .*junk\.sqlite: file is not a database"):
            ResultStore(bad, readonly=readonly)


# Case 7: rows that do not read back.


def _store_with_bad_rows(path: Path) -> None:
    with ResultStore(path) as store:
        for seed in range(5):
            store.add(result(seed))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE results SET metrics = 'null' WHERE id = 2")
        db.execute("UPDATE results SET config = '{not json' WHERE id = 3")
        db.execute("UPDATE results SET timings = '[1, 2]' WHERE id = 4")


def test_bad_rows_are_skipped_named_and_the_rest_served(tmp_path):
    path = tmp_path / "r.sqlite"
    _store_with_bad_rows(path)
    with ResultStore(path, readonly=True) as store, pytest.warns(StoreWarning) as caught:
        good = store.results()
    assert [r.id for r in good] == [1, 5]
    assert {(b.id, b.column) for b in store.skipped} == {(2, "metrics"), (3, "config"), (4, "timings")}
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 3 and all(str(path) in m and "zsbench store check" in m for m in messages)
    assert any("row 2: metrics is JSON null, not an object" in m for m in messages)
    assert any("row 3: config is not valid JSON" in m for m in messages)


def test_nulls_in_required_columns_make_a_row_bad(tmp_path):
    path = tmp_path / "loose.sqlite"  # a store whose table does not enforce NOT NULL (made by hand)
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE results (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, created_at TEXT,
              protocol_version TEXT, encoder TEXT, dataset TEXT, reducer TEXT, clusterer TEXT, seed INTEGER,
              status TEXT, error TEXT, ami REAL, metrics TEXT, config TEXT, timings TEXT, provenance TEXT,
              result_key TEXT);
            INSERT INTO results VALUES (NULL, 'r', 't', '1', 'e', 'd', 'none', 'kmeans', 0, 'ok', NULL, 0.5,
              '{"ami": 0.5}', '{}', '{}', '{}', NULL);
            INSERT INTO results VALUES (NULL, 'r', 't', '1', NULL, 'd', 'none', 'kmeans', NULL, 'ok', NULL, 0.5,
              '{"ami": 0.5}', '{}', '{}', NULL, NULL);
            PRAGMA user_version=2;""")
    with ResultStore(path, readonly=True) as store, pytest.warns(StoreWarning) as caught:
        assert [r.id for r in store.results()] == [1]
        assert sorted(str(w.message).split(": ", 1)[1].split(";")[0] for w in caught) == [
            "skipped row 2: encoder is null",
            "skipped row 2: provenance is null",
            "skipped row 2: seed is null",
        ]
        assert {(b.id, b.column) for b in store.skipped} == {(2, "encoder"), (2, "seed"), (2, "provenance")}


def test_garbage_mid_file_costs_only_the_damaged_rows(tmp_path, cli):
    path = tmp_path / "r.sqlite"
    with ResultStore(path) as store:
        store._db.execute("PRAGMA synchronous=OFF")  # speed: 300 commits
        for seed in range(300):
            store.add(
                Result(
                    "enc",
                    "ds",
                    "none",
                    "kmeans",
                    seed,
                    "ok",
                    None,
                    {"ami": 0.5},
                    {"pad": "x" * 500},
                    {},
                    {},
                    "1",
                    "t",
                    "run",
                )
            )
    data = path.read_bytes()  # closed: every row is in the main file
    middle = data.index(b'{"pad"', len(data) // 2)
    with path.open("r+b") as f:  # garbage over the header of the table page that holds a middle row
        f.seek(middle // 4096 * 4096)
        f.write(b"\xa5" * 200)
    with (
        ResultStore(path, readonly=True) as store,
        pytest.warns(
            StoreWarning,
            match=r"skipped rows \d+-\d+: "
            "unreadable",
        ),
    ):
        good = store.results()
    bad = {b.id for b in store.skipped}
    assert 250 < len(good) < 300 and len(good) + len(bad) == 300 and bad.isdisjoint(r.id for r in good)
    out = cli("store", "check", "--store", path)
    assert out.exit_code == 1 and "300 rows" in out.stderr
    assert f"row {min(bad)}: unreadable (database disk image is malformed)" in out.stdout


def test_a_bad_finished_row_is_computed_again_not_a_traceback(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.add(result(0), "key")
        store._db.execute("UPDATE results SET metrics = '{' WHERE result_key = 'key'")
        with pytest.warns(StoreWarning, match="row 1: metrics is not valid JSON"):
            assert store.finished("key") is None
        store.add(result(0), "key")
        assert store.finished("key").id == 2


def test_store_check_lists_bad_rows_and_exits_1(tmp_path, cli):
    path = tmp_path / "r.sqlite"
    _store_with_bad_rows(path)
    out = cli("store", "check", "--store", path)
    assert out.exit_code == 1
    assert "row 2: metrics is JSON null, not an object" in out.stdout
    assert "row 3: config is not valid JSON" in out.stdout and "row 4: timings is JSON array" in out.stdout
    assert "5 rows, 3 unreadable" in out.stderr and "IN (2, 3, 4)" in out.stderr


def test_store_check_of_a_good_store_and_of_garbage(store_copy, tmp_path, cli):
    good = cli("store", "check", "--store", store_copy)
    assert good.exit_code == 0 and good.stderr.strip() == f"{store_copy}: 2 rows, all readable"
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not sqlite " * 500)
    bad = cli("store", "check", "--store", junk)
    assert bad.exit_code == 1 and len(bad.stderr.strip().splitlines()) == 1 and str(junk) in bad.stderr
    missing = cli("store", "check", "--store", tmp_path / "none.sqlite")
    assert missing.exit_code == 1 and "no results store at" in missing.stderr


def test_leaderboard_serves_good_rows_and_warns_naming_bad_ones(store_copy, cli):
    with sqlite3.connect(store_copy) as db:
        db.execute("UPDATE results SET provenance = 'oops' WHERE id = 1")
    out = cli("leaderboard", "--store", store_copy, "-f", "csv")
    assert out.exit_code == 0, out.output
    assert "enc," in out.stdout  # the good row (seed 1) is on the board
    (warning,) = [line for line in out.stderr.splitlines() if line.startswith("warning:")]
    assert "skipped row 1: provenance is not valid JSON" in warning and str(store_copy) in warning


# Case 8: readers open read-only and never write.


def test_leaderboard_never_writes_the_store(store_copy, cli):
    before, mtime = store_copy.read_bytes(), store_copy.stat().st_mtime_ns
    assert cli("leaderboard", "--store", store_copy).exit_code == 0
    assert store_copy.read_bytes() == before and store_copy.stat().st_mtime_ns == mtime


def test_readonly_store_does_not_create_migrate_or_add(tmp_path):
    missing = tmp_path / "sub" / "none.sqlite"
    with pytest.raises(
        ZsbenchError,
        match=r"no results store at .*none\.sqlite; run `zsbench run` first or "
        "pass --store",
    ):
        ResultStore(missing, readonly=True)
    assert not missing.parent.exists()
    old = tmp_path / "old.sqlite"  # schema 1: no result_key column, read as it is
    with sqlite3.connect(old) as db:
        db.executescript("""
            CREATE TABLE results (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL,
              created_at TEXT NOT NULL, protocol_version TEXT NOT NULL, encoder TEXT NOT NULL,
              dataset TEXT NOT NULL, reducer TEXT NOT NULL, clusterer TEXT NOT NULL, seed INTEGER NOT NULL,
              status TEXT NOT NULL, error TEXT, ami REAL, metrics TEXT NOT NULL, config TEXT NOT NULL,
              timings TEXT NOT NULL, provenance TEXT NOT NULL);
            INSERT INTO results VALUES (NULL, 'r', 't', '1', 'e', 'd', 'umap', 'kmeans', 0, 'ok', NULL, 0.5,
              '{"ami": 0.5}', '{}', '{}', '{}');
            PRAGMA user_version=1;""")
    before = old.read_bytes()
    with ResultStore(old, readonly=True) as store:
        assert [r.ami for r in store.results()] == [0.5] and store.finished("k") is None
        with pytest.raises(ZsbenchError, match="read-only"):
            store.add(result(0))
    assert old.read_bytes() == before  # not migrated


def test_leaderboard_on_a_missing_store_creates_nothing(tmp_path, isolated_store, cli):
    default = cli("leaderboard")  # the default store: nothing run yet, a friendly line, exit 0
    assert default.exit_code == 0 and "run `zsbench run` first" in default.stderr
    named = cli("leaderboard", "--store", tmp_path / "typo.sqlite")  # a named file: likely a typo
    assert named.exit_code == 1 and named.stderr.startswith("error: no results store at")
    assert not isolated_store.exists() and not (tmp_path / "typo.sqlite").exists()


def test_submit_reads_a_store_without_writing_it(store_copy, tmp_path, cli):
    before = store_copy.read_bytes()
    cli("submit", "--encoder", "enc", "--store", store_copy, "-o", tmp_path / "rec.json", "--partial", "--no-labels")
    assert store_copy.read_bytes() == before


# Case 18 (part): failed rows do not pile up.


def test_a_rerun_replaces_failed_rows_of_its_configuration(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.add(result(0, "failed"), "a")
        store.add(result(0, "failed"), "a")
        store.add(result(1, "failed"), "b")
        store.add(result(2, "failed"))  # no key: nothing to match it by, kept
        assert sorted(r.seed for r in store.results()) == [0, 1, 2]
        assert store.finished("a") is None  # failed rows are never finished results
        store.add(result(0), "a")
        store.add(result(0), "a")  # one row per key: the newest ok row (what finished read before)
        rows = store.results()
        assert [(r.seed, r.status) for r in rows] == [(1, "failed"), (2, "failed"), (0, "ok")]
        assert store.finished("a").id == rows[-1].id == 6
        store.add(result(0, "failed"), "a")  # a failure never replaces an ok result
        assert store.finished("a").id == 6 and len(store.results()) == 3
        store.add(result(1, "failed"), "b")
        assert [r.status for r in store.results() if r.seed == 1] == ["failed"]


def test_the_free_space_helper_points_at_an_existing_folder(tmp_path):
    from zsbench.storage.failures import free_space

    free, folder = free_space(tmp_path / "a" / "b" / "r.sqlite")
    assert folder == tmp_path and free.split()[1] in ("B", "KiB", "MiB", "GiB", "TiB")
    assert shutil.disk_usage(folder).free >= 0


# Issue 23: a store that is only ours, one row per result key however many runs race, and a cache
# that a gc during a run does not pull from under it.

RACER = """
import os, sys, time
from pathlib import Path
from types import SimpleNamespace

from sklearn.cluster import KMeans

import zsbench
from zsbench.cli import main

ROOM = Path(sys.argv[1])


class Rendezvous(KMeans):
    # K-Means that first waits until the other run clusters too: both have looked for stored results by then
    def fit_predict(self, X, y=None, sample_weight=None):
        (ROOM / str(os.getpid())).touch()
        deadline = time.monotonic() + 30
        while len(list(ROOM.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        return super().fit_predict(X)


@zsbench.hookimpl
def register_clusterers(register):
    register("rendezvous", lambda: Rendezvous(n_clusters=2, n_init=1), description="waits for the other run")


with zsbench.registered(SimpleNamespace(register_clusterers=register_clusterers), "racer"):
    sys.argv = ["zsbench", *sys.argv[2:]]
    main()
"""


def tiny_npz(path: Path) -> Path:
    """24 samples: too few for the UMAP proxy, so no numba start-up."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 8)
    np.savez(path, embeddings=rng.normal(size=(24, 4)) + 3 * labels[:, None], labels=labels)
    return path


@pytest.mark.long  # two processes importing zsbench, scikit-learn and umap at once: 6-10 s on 2 cores
def test_identical_runs_at_once_store_one_row_per_cell(tmp_path):
    room = tmp_path / "room"
    room.mkdir()
    store, cache = tmp_path / "r.sqlite", tmp_path / "cache"
    ResultStore(store).close()  # an existing store (a new one is created by both at once elsewhere)
    args = ["run", "--embeddings", tiny_npz(tmp_path / "t.npz"), "--reducer", "none", "--seeds", "3"]
    args += ["--clusterer", "rendezvous", "--clusterer", "kmeans", "--store", store, "--cache", cache]
    env = {**os.environ, "ZSBENCH_WORKERS": "1"}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(room), *map(str, args)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
    assert len(list(room.iterdir())) == 2  # both computed every cell: they raced
    with ResultStore(store, readonly=True) as db:
        rows = db.results()
        cells = [(r.clusterer, r.seed) for r in rows]
        assert sorted(cells) == sorted({*cells}) and len(cells) == 6
        assert all(r.status == "ok" for r in rows)


def collecting_plugin(cache: Path, said: list[str]) -> SimpleNamespace:
    """A clusterer that runs `zsbench cache gc --all` on ``cache`` (another process) in its first fit_predict."""
    from sklearn.cluster import KMeans

    class Collecting(KMeans):
        def fit_predict(self, X, y=None, sample_weight=None):
            if not said:
                gc = [sys.executable, "-c", "from zsbench.cli import main; main()", "cache", "gc", "--all"]
                done = subprocess.run([*gc, "--cache", str(cache)], capture_output=True, text=True, timeout=60)
                said.append(done.stdout + done.stderr)
            return super().fit_predict(X)

    @zsbench.hookimpl
    def register_clusterers(register):
        register("collecting", lambda: Collecting(n_clusters=2, n_init=1), description="gc --all while clustering")

    return SimpleNamespace(register_clusterers=register_clusterers)


def test_a_gc_during_a_run_leaves_what_the_run_needs(tmp_path, cli):
    cache, said = tmp_path / "cache", []
    old = np.arange(6.0)  # an entry no run uses: gc --all still removes it
    ArtifactCache(cache).put("embed", "ab" * 32, old, {"stage": "embed"})
    meta, _ = entry_paths(cache, "embed", "ab" * 32)
    os.utime(meta, (time.time() - 3600, time.time() - 3600))
    args = ["run", "--embeddings", tiny_npz(tmp_path / "t.npz"), "--reducer", "none", "--seeds", "3"]
    args += ["--clusterer", "collecting", "--clusterer", "kmeans", "--cache", cache, "--store", tmp_path / "r.sqlite"]
    with zsbench.registered(collecting_plugin(cache, said), "collector"):
        out = cli(*args)
    assert out.exit_code == 0, out.output
    assert "6 results in" in out.output and "0 failed" in out.output, out.output
    rows = ResultStore(tmp_path / "r.sqlite", readonly=True).results()
    assert len(rows) == 6 and all(r.status == "ok" for r in rows), [r.error for r in rows]
    assert not ArtifactCache(cache).has("embed", "ab" * 32)  # gc did run, and removed what no run used
    assert "in use by a running zsbench" in said[0], said


def foreign_sqlite(path: Path, journal: str = "delete") -> Path:
    """Another application's SQLite file: its own tables and rows (one of them named ``results``)."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(f"PRAGMA journal_mode={journal}")
        db.execute("CREATE TABLE results (id INTEGER PRIMARY KEY, score REAL, note TEXT)")
        db.execute("CREATE TABLE users (name TEXT)")
        db.execute("INSERT INTO results VALUES (1, 0.5, 'theirs')")
    return path


@pytest.mark.parametrize("command", ["run", "leaderboard", "store check", "api"])
@pytest.mark.parametrize("kind", ["tables", "application id", "wal", "not sqlite"])
def test_a_file_that_is_not_a_zsbench_store_is_refused_and_never_written(tmp_path, cli, command, kind):
    path = tmp_path / "theirs.db"
    if kind == "not sqlite":
        path.write_bytes(b"PK\x03\x04 a zip, say " * 300)
    elif kind == "application id":  # no tables yet, but claimed by another application
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.execute("PRAGMA application_id = 1234")
    else:
        foreign_sqlite(path, "wal" if kind == "wal" else "delete")
    before = {p.name: p.read_bytes() for p in tmp_path.glob("theirs*")}
    if command == "api":
        with pytest.raises(ZsbenchError) as caught:
            ResultStore(path)
        text = str(caught.value)
    else:
        args = ["run", "--embeddings", tiny_npz(tmp_path / "t.npz"), "--reducer", "none", "--seeds", "1"]
        args = args + ["--clusterer", "kmeans"] if command == "run" else command.split()
        out = cli(*args, "--store", path)
        one_line_error(out, str(path))
        text = out.output
    assert "--store" in text and ("not a zsbench results store" in text or "cannot open" in text), text
    after = {p.name: p.read_bytes() for p in tmp_path.glob("theirs*")}
    assert after == before  # not a byte written, no -wal or -journal left beside it


def test_a_new_or_empty_file_becomes_a_store_and_old_stores_are_stamped(tmp_path):
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    for path in (tmp_path / "sub" / "new.sqlite", empty):
        with ResultStore(path) as store:
            store.add(result(0), "k")
        with contextlib.closing(sqlite3.connect(path)) as db:
            assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert [r.seed for r in ResultStore(path, readonly=True).results()] == [0]


def test_when_the_unlocked_look_fails_the_locked_one_decides(tmp_path, monkeypatch):
    """identify's immutable read can fail while another process writes the file (a store in use): the store
    is then told by a consistent read, still before anything is written."""
    connect = sqlite3.connect

    def torn(target, *args, **kwargs):
        if "immutable=1" in str(target):
            raise sqlite3.DatabaseError("database disk image is malformed")
        return connect(target, *args, **kwargs)

    theirs, old = foreign_sqlite(tmp_path / "theirs.db"), tmp_path / "old.sqlite"
    with contextlib.closing(sqlite3.connect(old)) as db, db:  # a store of an older zsbench: no application id
        db.executescript(SCHEMA_SQL + "PRAGMA user_version=2;")
    before = theirs.read_bytes()
    monkeypatch.setattr("zsbench.storage.database.sqlite3.connect", torn)
    with pytest.raises(ZsbenchError, match=r"theirs\.db is not a zsbench results store \(an SQLite file with tables"):
        ResultStore(theirs)
    assert theirs.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["old.sqlite", "theirs.db"]
    with ResultStore(old) as store:
        store.add(result(0), "k")
    with contextlib.closing(connect(old)) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
