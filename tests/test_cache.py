"""The artifact cache: layout, integrity checks, gc, two processes at once, and `zsbench cache`."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from zsbench.cli.cache import cache_app
from zsbench.storage.cache import ArtifactCache, CacheError, default_root
from zsbench.storage.layout import cache_key

SPEC = {"encoder": "raw-pixels", "dataset": "digits", "stage": "embed"}
KEY = cache_key(SPEC)


@pytest.fixture
def cache(tmp_path):
    return ArtifactCache(tmp_path / "cache")


def _paths(cache, stage, key):
    base = cache.root / stage / key[:2] / key
    return base.with_suffix(".json"), base.with_suffix(".npy")


def _backdate(path, hours):
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


def test_round_trip_is_exact_and_read_only(cache):
    x = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    cache.put("embed", KEY, x, SPEC)
    got = cache.get("embed", KEY)
    assert got.dtype == np.float32 and got.shape == (3, 4)
    np.testing.assert_array_equal(got, x)
    with pytest.raises(ValueError, match="read-only"):
        got[0, 0] = 1
    meta_path, npy_path = _paths(cache, "embed", KEY)
    meta = json.loads(meta_path.read_text())
    assert meta["nbytes"] == npy_path.stat().st_size and meta["spec"] == SPEC and meta["shape"] == [3, 4]
    assert cache.has("embed", KEY) and cache.corrupted == []
    [entry] = cache.entries()
    assert (entry.stage, entry.key, entry.shape, entry.dtype, entry.path) == ("embed", KEY, (3, 4), "float32", npy_path)
    assert cache.du() == {"embed": (1, meta["nbytes"])}


def test_empty_and_zero_d_arrays_round_trip(cache):
    for i, x in enumerate([np.zeros((0, 5)), np.array(3.5), np.array([b"ab", b"c"])]):
        key = cache_key({"i": i})
        cache.put("misc", key, x, {})
        got = cache.get("misc", key)
        assert got.shape == x.shape and got.dtype == x.dtype
        np.testing.assert_array_equal(got, x)


def test_key_is_deterministic_and_order_independent():
    a = cache_key({"encoder": "e", "options": {"x": 1, "y": [1, 2]}, "seed": 0})
    b = cache_key({"seed": 0, "options": {"y": [1, 2], "x": 1}, "encoder": "e"})
    assert a == b and len(a) == 64 and a != cache_key({"seed": 1, "options": {"y": [1, 2], "x": 1}, "encoder": "e"})


def test_missing_key_and_bad_names(cache):
    assert cache.get("embed", KEY) is None and not cache.has("embed", KEY)
    with pytest.raises(ValueError, match="stage"):
        cache.get("Embed", KEY)
    with pytest.raises(ValueError, match="key"):
        cache.put("embed", "../etc", np.zeros(1), {})


def test_root_from_environment_and_unusable_root(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSBENCH_CACHE", str(tmp_path / "env-cache"))
    assert default_root() == tmp_path / "env-cache" and ArtifactCache().root == tmp_path / "env-cache"
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(CacheError, match=r"file.*--cache.*ZSBENCH_CACHE"):
        ArtifactCache(tmp_path / "file" / "cache")


def test_truncated_array_is_dropped_not_returned(cache):
    cache.put("embed", KEY, np.ones((50, 8)), SPEC)
    meta_path, npy_path = _paths(cache, "embed", KEY)
    npy_path.write_bytes(npy_path.read_bytes()[:-10])
    assert cache.get("embed", KEY) is None
    assert cache.corrupted == [KEY] and not meta_path.exists() and not npy_path.exists()


def test_flipped_byte_of_same_size_is_detected(cache):
    cache.put("embed", KEY, np.ones((50, 8)), SPEC)
    _, npy_path = _paths(cache, "embed", KEY)
    data = bytearray(npy_path.read_bytes())
    data[-3] ^= 0x01
    npy_path.write_bytes(bytes(data))
    assert cache.verify(remove=False) == [("embed", KEY, "checksum mismatch")]
    assert cache.get("embed", KEY) is None and cache.corrupted == [KEY]


def test_unreadable_metadata_is_dropped(cache):
    cache.put("embed", KEY, np.ones(3), SPEC)
    meta_path, npy_path = _paths(cache, "embed", KEY)
    meta_path.write_text("{not json")
    assert list(cache.entries()) == []
    assert cache.get("embed", KEY) is None and not npy_path.exists() and cache.corrupted == [KEY]


@pytest.mark.parametrize(
    "damage, problem",
    [
        (lambda meta, npy: npy.unlink(), "missing array"),
        (lambda meta, npy: npy.write_bytes(npy.read_bytes() + b"x"), "size mismatch"),
        (lambda meta, npy: meta.write_text("[]"), "unreadable metadata"),
    ],
)
def test_verify_names_the_problem_and_removes_unless_asked_not_to(cache, damage, problem):
    good = cache_key({"good": 1})
    cache.put("embed", good, np.ones(3), {})
    cache.put("embed", KEY, np.ones(3), SPEC)
    meta_path, npy_path = _paths(cache, "embed", KEY)
    damage(meta_path, npy_path)
    assert cache.verify(remove=False) == [("embed", KEY, problem)] and meta_path.exists()
    assert cache.verify() == [("embed", KEY, problem)]
    assert not meta_path.exists() and not npy_path.exists() and cache.verify() == []
    assert cache.get("embed", good) is not None


def test_object_arrays_are_refused(cache):
    with pytest.raises(ValueError, match="object"):
        cache.put("embed", KEY, np.array([{"a": 1}, None], dtype=object), SPEC)
    assert not cache.has("embed", KEY)


def test_a_planted_pickle_is_never_unpickled(cache, monkeypatch):
    """A pickled object array with metadata whose checksum matches: get() must refuse it, unread."""
    import hashlib

    cache.put("embed", KEY, np.ones(2), SPEC)
    meta_path, npy_path = _paths(cache, "embed", KEY)
    np.save(npy_path, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    data = npy_path.read_bytes()
    meta = json.loads(meta_path.read_text())
    meta.update(sha256=hashlib.sha256(data).hexdigest(), nbytes=len(data), dtype="object")
    meta_path.write_text(json.dumps(meta))

    def no_unpickling(*args, **kwargs):
        raise AssertionError("the cache unpickled a file")

    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(pickle, "loads", no_unpickling)
    assert cache.verify(remove=False) == [("embed", KEY, "unreadable array")]
    assert cache.get("embed", KEY) is None and cache.corrupted == [KEY] and not npy_path.exists()


def test_array_without_metadata_is_invisible_and_gc_removes_it(cache):
    cache.put("embed", KEY, np.ones(4), SPEC)
    meta_path, npy_path = _paths(cache, "embed", KEY)
    meta_path.unlink()
    assert cache.get("embed", KEY) is None and not cache.has("embed", KEY) and list(cache.entries()) == []
    assert cache.corrupted == []
    assert cache.gc() == (0, 0)  # a young orphan may be a put() between its two renames
    _backdate(npy_path, 2)
    size = npy_path.stat().st_size
    assert cache.gc() == (1, size)
    assert not npy_path.exists() and not npy_path.parent.exists() and not (cache.root / "embed").exists()


def test_gc_removes_old_temporary_files_only(cache):
    cache.put("embed", KEY, np.ones(4), SPEC)
    shard = _paths(cache, "embed", KEY)[1].parent
    old, young = shard / f".tmp-123-abcd-{KEY}.npy", shard / f".tmp-456-ef01-{KEY}.json"
    old.write_bytes(b"x" * 10)
    young.write_bytes(b"y" * 5)
    _backdate(old, 2)
    assert cache.gc() == (1, 10)
    assert not old.exists() and young.exists() and cache.get("embed", KEY) is not None
    assert [e.key for e in cache.entries()] == [KEY]  # temporary files are never entries


def test_gc_older_than_uses_last_use_and_all_clears(cache):
    keys = [cache_key({"i": i}) for i in range(3)]
    for key in keys:
        cache.put("reduce", key, np.full(5, 1.0), {"i": 1})
    for key in keys[:2]:
        _backdate(_paths(cache, "reduce", key)[0], 24 * 10)
    assert cache.get("reduce", keys[0]) is not None  # a use makes it recent again
    files, freed = cache.gc(older_than_days=7)
    meta_path, npy_path = _paths(cache, "reduce", keys[1])
    assert files == 2 and not meta_path.exists() and not npy_path.exists()
    assert [e.key for e in cache.entries()] == sorted([keys[0], keys[2]])
    assert cache.gc(everything=True)[0] == 4 and list(cache.entries()) == [] and cache.du() == {}


WORKER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from zsbench.storage.cache import ArtifactCache
    from zsbench.storage.layout import cache_key

    root, name, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
    cache = ArtifactCache(root)
    shared = [cache_key({"shared": i}) for i in range(3)]
    own = [cache_key({"own": name, "i": i}) for i in range(2)]
    def expected(key):
        return np.random.default_rng(int(key[:8], 16)).standard_normal(200_000)
    arrays = {k: expected(k) for k in shared + own}
    keys = shared + own
    while time.time() < start:
        time.sleep(0.001)
    n = 0
    while time.time() < start + 2:
        key = keys[n % len(keys)]
        n += 1
        got = cache.get("embed", key)
        if got is not None and not np.array_equal(got, arrays[key]):
            sys.exit(f"{name}: wrong data for {key}")
        if got is None or n % 3 == 0:
            cache.put("embed", key, arrays[key], {"worker": name})
    if cache.corrupted:
        sys.exit(f"{name}: corrupt {cache.corrupted}")
    print(n)
""")


def test_two_processes_never_see_a_partial_entry(tmp_path):
    root = tmp_path / "shared"
    start = time.time() + 1.5  # both interpreters are up before the hammering begins
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(root), name, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in "ab"
    ]
    for proc in procs:
        out, errs = proc.communicate(timeout=60)
        assert proc.returncode == 0, errs
        assert int(out) > 10  # they really did overlap for a while
    cache = ArtifactCache(root)
    assert cache.verify() == []
    keys = [cache_key({"shared": i}) for i in range(3)]
    for key in keys + [cache_key({"own": n, "i": i}) for n in "ab" for i in range(2)]:
        expected = np.random.default_rng(int(key[:8], 16)).standard_normal(200_000)
        np.testing.assert_array_equal(cache.get("embed", key), expected)
    assert not [p for p in root.rglob(".tmp-*")]


# --- the command line -------------------------------------------------------------------------


def _app() -> typer.Typer:
    """A stand-in for `zsbench`, wired the way cli.py adds the group."""
    app = typer.Typer()
    app.add_typer(cache_app, name="cache")
    app.callback()(lambda: None)
    return app


@pytest.fixture
def cli(tmp_path):
    app, runner, root = _app(), CliRunner(), tmp_path / "cli-cache"

    def invoke(*args):
        return runner.invoke(app, ["cache", *args, "--cache", str(root)])

    invoke.cache = ArtifactCache(root)
    return invoke


def test_cli_ls_and_du(cli):
    cli.cache.put("embed", KEY, np.ones((100, 16), dtype=np.float32), SPEC)
    cli.cache.put("reduce", cache_key({"r": 1}), np.ones((100, 5)), {"label": "umap-50 of digits"})
    result = cli("ls")
    assert result.exit_code == 0, result.output
    for text in (KEY[:12], "100×16", "float32", "raw-pixels / digits", "umap-50 of digits", "reduce"):
        assert text in result.output
    only = cli("ls", "--stage", "reduce")
    assert "umap-50 of digits" in only.output and KEY[:12] not in only.output
    usage = cli("du")
    assert usage.exit_code == 0
    total = sum(size for _, size in cli.cache.du().values())
    assert "total" in usage.output and f"{total / 1024:.1f} KiB" in usage.output
    [total_row] = [line.split() for line in usage.output.splitlines() if " total " in line]
    assert total_row[1:6] == ["total", "│", "2", "│", f"{total / 1024:.1f}"]


def test_cli_verify_exit_codes(cli):
    cli.cache.put("embed", KEY, np.ones(100), SPEC)
    assert cli("verify").exit_code == 0
    npy_path = _paths(cli.cache, "embed", KEY)[1]
    npy_path.write_bytes(npy_path.read_bytes()[:-8])
    kept = cli("verify", "--keep")
    assert kept.exit_code == 1 and "size mismatch" in kept.output and npy_path.exists()
    removed = cli("verify")
    assert removed.exit_code == 1 and "removed" in removed.output and not npy_path.exists()
    again = cli("verify")
    assert again.exit_code == 0 and "ok" in again.output


def test_gc_keeps_what_a_live_run_used_and_ignores_a_dead_runs_lease(cache):
    keys = [cache_key({"i": i}) for i in range(3)]
    for key in keys:
        cache.put("reduce", key, np.full(5, 1.0), {"i": 1})
        _backdate(_paths(cache, "reduce", key)[0], 1)
    with cache.lease() as lease:
        assert lease is not None and lease.parent.name == ".leases"
        assert cache.get("reduce", keys[0]) is not None  # the run reads one, and writes one
        cache.put("labels", KEY, np.ones(3), {"stage": "labels"})
        assert cache.gc(everything=True)[0] == 4  # the two entries the run did not use, two files each
        assert sorted((e.stage, e.key) for e in cache.entries()) == sorted([("reduce", keys[0]), ("labels", KEY)])
        host = lease.name.split("@")[1]
        assert cache.kept[0] == 2 and [str(held) for held in cache.kept[1]] == [f"pid {os.getpid()} on {host}"]
    assert not lease.exists()  # given back when the run ends
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a run killed without giving its lease back
    stale = cache.root / ".leases" / f"{dead.pid}.0000@{host}"
    stale.touch()
    cache.gc(everything=True)
    assert list(cache.entries()) == [] and cache.kept == (0, []) and not stale.exists()


def test_gc_honours_and_names_a_lease_of_another_host(cli):
    cli.cache.put("embed", KEY, np.ones(4), SPEC)
    (cli.cache.root / ".leases").mkdir()
    far = cli.cache.root / ".leases" / "4242.abcd@elsewhere.example"
    far.touch()
    _backdate(far, 1)
    out = cli("gc", "--all")
    said = " ".join(out.output.split())
    assert (
        out.exit_code == 0 and "kept 1 artifact(s) in use by a running zsbench (pid 4242 on elsewhere.example" in said
    )
    assert f"lease {far} is of another host: delete it if that run has ended" in said
    assert cli.cache.has("embed", KEY) and far.exists()
    far.unlink()
    assert "embed: removed 1 artifact(s)" in cli("gc", "--all").output


def test_cli_gc_reports_what_it_removed(cli):
    cli.cache.put("embed", KEY, np.ones(100), SPEC)
    result = cli("gc", "--older-than", "1")
    assert result.exit_code == 0 and "removed 0 file(s)" in result.output
    result = cli("gc", "--all")
    assert result.exit_code == 0 and "embed: removed 1 artifact(s)" in result.output
    assert "removed 2 file(s)" in result.output and cli.cache.du() == {}
    assert "no artifacts" in cli("ls").output


def test_cli_unusable_cache_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    result = CliRunner().invoke(_app(), ["cache", "du", "--cache", str(tmp_path / "file" / "c")])
    assert result.exit_code == 1 and "error:" in result.output and "ZSBENCH_CACHE" in result.output
