"""Results you can trust: one identity per row, complete records only, suites that compare like with like.

Each test replays a failure found by using the chain store -> board -> registry -> gate as a model
author would, on results built in memory (the rules are about selection, not about clustering),
or on the shipped registry records.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import zsbench
from zsbench.analysis import records
from zsbench.analysis.board import build
from zsbench.analysis.board.sources import Source, record_results
from zsbench.analysis.records import RecordError, registry
from zsbench.analysis.records.submission import make_record
from zsbench.analysis.records.validation import validate
from zsbench.cli.app import app
from zsbench.core.identity import differences, identity_sha256
from zsbench.core.protocol import load_spec
from zsbench.core.result import Result
from zsbench.plugin.errors import ZsbenchError
from zsbench.report.board import render, to_json

REGISTRY = Path(__file__).parent.parent / "registry"
SIX = list(load_spec("1").clusterers)
FULL = "f" * 64  # the full partition's fingerprint
SUB = "5" * 64  # a --max-samples subsample's


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def plugin(name: str, distribution: str = "zsbench", version: str = "0.1.0") -> dict:
    return {"name": name, "plugin": f"{distribution}:{name}", "distribution": distribution, "version": version}


def result(
    encoder="mine",
    dataset="digits",
    clusterer="kmeans",
    seed=0,
    ami=0.5,
    *,
    weights="a",
    fingerprint=FULL,
    max_samples=None,
    created="2026-11-01T00:00:00+00:00",
    n=1797,
    group="far-OOD",
    dataset_plugin=None,
    options=None,
    precomputed=None,
) -> Result:
    """One standard-track result as the store holds it; ``weights`` stands for the weights' sha256;
    ``precomputed`` for the content of a file of embeddings (``zsbench run --embeddings``)."""
    identity = {"name": encoder, "sha256": weights * 64, "preprocess": {"mean": [0.5, 0.5, 0.5]}}
    source = {}
    if precomputed:
        identity, source = {"embeddings": "precomputed"}, {"file": "emb.npz", "sha256": precomputed * 64}
    options = options or {}
    config = {
        "encoder": {
            "name": encoder,
            "identity": identity,
            "options": options,
            "source": source,
            "identity_sha256": identity_sha256(encoder, identity, options),
        },
        "dataset": {
            "name": dataset,
            "fingerprint": fingerprint,
            "labels_sha256": "0" * 64,
            "info": {"group": group},
            **({"max_samples": max_samples} if max_samples else {}),
        },
        "n_samples": n,
        "n_clusters_given": 10,
        "n_features": 64,
        "proxy_reducer": "umap",
        "warnings": [],
        "reducer": {"label": "umap"},
        "clusterer": {"label": clusterer},
        "seed": seed,
    }
    provenance = {
        "packages": {"zsbench": "0.1.0", "numpy": "2.4.6", "scikit-learn": "1.9.1"},
        "python": "3.11.7",
        "platform": "Linux",
        "plugins": {
            "encoder": plugin(encoder),
            "clusterer": plugin(clusterer),
            "dataset": dataset_plugin or plugin(dataset),
            "reducer": plugin("umap"),
            "proxy_reducer": plugin("umap"),
        },
    }
    metrics = {"ami": ami, "n_clusters": 10, "n_samples": n, "n_classes": 10, "silhouette_proxy": 0.5}
    return Result(
        encoder,
        dataset,
        "umap",
        clusterer,
        seed,
        "ok",
        None,
        metrics,
        config,
        {"cluster": 0.1},
        provenance,
        "1",
        created,
        "run0",
    )


def grid(clusterers=SIX, seeds=(0, 1, 2), **kw) -> list[Result]:
    return [result(clusterer=c, seed=s, **kw) for s in seeds for c in clusterers]


def write(results, tmp_path, name="mine", **kw) -> Path:
    submission = make_record(results, results[0].encoder, with_labels=False, **kw)
    return registry.write(submission, tmp_path / f"{name}.json")


# ------------------------------------------------------------------------------------- identities


def test_a_board_never_averages_two_identities_of_one_encoder():
    # case 1: seeds 3-8 of the good weights, then seeds 0-2 of broken ones (a check that wrote to the store)
    good = grid(seeds=range(3, 9), weights="a", ami=0.9, created="2026-11-01T00:00:00+00:00")
    broken = grid(seeds=range(3), weights="b", ami=0.2, created="2026-11-02T00:00:00+00:00")
    board = build(good + broken)
    (row,) = board.rows
    assert row.identity == broken[0].config["encoder"]["identity_sha256"]
    assert {s for per in row.ami.values() for s in per} == {0, 1, 2}
    assert row.views["mean"].overall.mean == pytest.approx(20.0)
    assert any("earlier identity" in n and "hidden" in n and "--all-identities" in n for n in board.notes)

    every = build(good + broken, all_identities=True)
    assert sorted(r.label for r in every.rows) == sorted(
        f"mine@{r.config['encoder']['identity_sha256'][:12]}" for r in (good[0], broken[0])
    )
    means = sorted(r.views["mean"].overall.mean for r in every.rows)
    assert means == pytest.approx([20.0, 90.0])


def test_every_board_format_names_the_suite_protocol_and_row_identity():
    board = build(grid())
    sha = board.rows[0].identity
    doc = to_json(board)
    assert doc["suite"] == ["digits"] and doc["protocol_version"] == "1"
    assert doc["rows"][0]["identity_sha256"] == sha
    markdown = render(board, "markdown")
    assert "| identity |" in markdown and sha[:12] in markdown and "suite: digits" in markdown
    assert sha in render(board, "csv")
    html = render(board, "html")
    assert f'title="identity sha256 {sha}' in html and "Suite (the datasets rows are ranked on): digits" in html


def test_identity_is_plain_json_and_differences_are_real():
    # case 7: the same preprocessing as a tuple (in memory) and a list (from a record) is no difference
    a = {"sha256": "1", "preprocess": {"mean": (0.5, 0.5), "size": 224}}
    b = {"sha256": "2", "preprocess": {"mean": [0.5, 0.5], "size": 224}}
    assert differences(a, b) == ["sha256"]
    assert differences(a, {**b, "preprocess": {"mean": [0.4, 0.5], "size": 224}}) == ["preprocess.mean", "sha256"]


class PathIdentity:
    identity = {"name": "path-enc", "weights": Path("/tmp/w.pth")}

    def embed(self, dataset):
        yield np.zeros((len(dataset), 2))


def test_an_identity_holding_a_path_is_an_error_naming_the_plugin():
    from .helpers import Blobs

    @zsbench.hookimpl
    def register_encoders(register):
        register("path-enc", PathIdentity)

    @zsbench.hookimpl
    def register_datasets(register):
        register("blobs", Blobs)

    import types

    plugin_ = types.SimpleNamespace(register_encoders=register_encoders, register_datasets=register_datasets)
    with zsbench.registered(plugin_, name="pathy"), pytest.raises(ZsbenchError) as err:
        zsbench.run("path-enc", "blobs", clusterers=["kmeans"], reducer="none", seeds=1, store=False, cache=False)
    message = str(err.value)
    assert "path-enc" in message and "pathy" in message and "PosixPath" in message and "sha256" in message


class FileWeights:
    """An encoder whose weights are a file: pixels times a matrix read from it."""

    calls = 0

    def __init__(self, weights=None):
        from zsbench.plugin.identity import file_sha256

        self.path = Path(weights) if weights else Path(FileWeights.download_folder) / "w.npy"
        self.identity = {"name": "file-enc", "sha256": file_sha256(self.path)}
        self.source = {"file": self.path.name}

    def embed(self, dataset):
        type(self).calls += 1
        w = np.load(self.path)
        yield np.array([np.asarray(dataset[i], dtype=np.float32).ravel() @ w for i in range(len(dataset))])


def test_the_same_weights_file_under_two_paths_is_embedded_once(tmp_path):
    # case 6: the cache key holds the file's content, not its path
    from .helpers import Blobs

    (tmp_path / "hub").mkdir()
    np.save(tmp_path / "hub" / "w.npy", np.random.default_rng(0).normal(size=(36, 4)).astype(np.float32))
    shutil.copy(tmp_path / "hub" / "w.npy", tmp_path / "copy.npy")
    FileWeights.download_folder, FileWeights.calls = str(tmp_path / "hub"), 0

    @zsbench.hookimpl
    def register_encoders(register):
        register("file-enc", FileWeights)

    @zsbench.hookimpl
    def register_datasets(register):
        register("blobs", Blobs)

    import types

    plugin_ = types.SimpleNamespace(register_encoders=register_encoders, register_datasets=register_datasets)
    kw = dict(clusterers=["kmeans"], reducer="none", seeds=1, store=tmp_path / "s.sqlite", cache=tmp_path / "c")
    with zsbench.registered(plugin_):
        first = zsbench.run("file-enc", "blobs", **kw)
        again = zsbench.run("file-enc", "blobs", encoder_options={"weights": str(tmp_path / "copy.npy")}, **kw)
        second = zsbench.run(
            "file-enc",
            "blobs",
            encoder_options={"weights": str(tmp_path / "copy.npy")},
            **{**kw, "store": tmp_path / "other.sqlite"},
        )
    assert again.reused["results"] == 1  # the same identity: its stored result is the answer
    assert FileWeights.calls == 1
    assert second.results[0].config["embedding_reused"] is True
    a, b = first.results[0].config["encoder"], second.results[0].config["encoder"]
    assert a["identity_sha256"] == b["identity_sha256"]
    # what is recorded names the file and its hash, never the path
    assert b["options"] == {"weights": {"file": "copy.npy", "sha256": a["identity"]["sha256"]}}
    assert str(tmp_path) not in json.dumps(second.results[0].config["encoder"])


# --------------------------------------------------------------------------------------- records


def test_submit_lists_identities_and_takes_the_one_asked_for(tmp_path):
    older = grid(weights="a", created="2026-11-01T00:00:00+00:00")
    newer = grid(weights="b", created="2026-11-02T00:00:00+00:00")
    with pytest.raises(RecordError) as err:
        make_record(older + newer, "mine", with_labels=False)
    message = str(err.value)
    sha_a, sha_b = (r[0].config["encoder"]["identity_sha256"] for r in (older, newer))
    assert "2 identities of mine" in message and "--identity SHA" in message
    assert message.index(sha_b[:12]) < message.index(sha_a[:12])  # latest first
    assert "digits: 1797 samples, 6 clusterer(s) x 3 seed(s)" in message
    path = write(older + newer, tmp_path, identity=sha_a[:8])
    record = records.read(path)
    assert record["encoder"]["identity_sha256"] == sha_a and record["partial"] is False
    assert validate(path) == []


def test_submit_keeps_the_full_partition_over_a_later_subsample(tmp_path):
    # case 2: a quick --max-samples run after the full one no longer replaces it
    full = grid(seeds=range(9), created="2026-11-01T00:00:00+00:00")
    quick = grid(seeds=range(3), fingerprint=SUB, max_samples=600, n=600, created="2026-11-02T00:00:00+00:00")
    submission = make_record(full + quick, "mine", with_labels=False)
    record = submission.record
    assert record["datasets"]["digits"]["fingerprint"] == FULL
    assert record["datasets"]["digits"]["seeds"] == list(range(9)) and record["seeds"] == list(range(9))
    assert record["clusterers"] == SIX and len(record["results"]) == 54
    assert any("other sample sets" in reason for reason in submission.left_out)
    assert validate(registry.write(submission, tmp_path / "mine.json")) == []


def test_an_incomplete_record_is_refused_naming_what_is_missing(tmp_path):
    few = grid(clusterers=["kmeans", "agglomerative"], seeds=(0, 1))
    with pytest.raises(RecordError) as err:
        make_record(few, "mine", with_labels=False)
    message = str(err.value)
    assert "not complete for protocol 1" in message and "--partial" in message
    assert "no result of spectral, agglomerative-no-k, affinity-propagation, hdbscan" in message
    assert "2 seed(s) with every clusterer (0, 1), the protocol needs 3" not in message  # none has every one
    assert "0 seed(s) with every clusterer" in message

    quick = grid(fingerprint=SUB, max_samples=600, n=600)
    with pytest.raises(RecordError, match=r"a subsample of 600 samples, not the full partition.*--partial"):
        make_record(quick, "mine", with_labels=False)

    path = write(few, tmp_path, partial=True)
    record = records.read(path)
    assert record["partial"] is True and record["missing"] and record["clusterers"] == ["kmeans", "agglomerative"]
    assert validate(path) == []
    assert not (tmp_path / "refused.json").exists()


def test_a_seed_without_every_clusterer_is_left_out_of_a_complete_record():
    results = grid(seeds=(0, 1, 2)) + [result(clusterer="kmeans", seed=7)]
    submission = make_record(results, "mine", with_labels=False)
    assert submission.record["seeds"] == [0, 1, 2]
    assert any("seed(s) 7 lack some clusterer" in reason for reason in submission.left_out)


def test_records_are_a_function_of_their_results(tmp_path):
    results = grid()
    a = registry.write(make_record(results, "mine", with_labels=False), tmp_path / "a.json")
    b = registry.write(make_record(results, "mine", with_labels=False), tmp_path / "b.json")
    assert a.read_bytes() == b.read_bytes()


def _tamper(path: Path, change) -> Path:
    record = json.loads(path.read_text())
    change(record)
    path.write_text(records.dumps(record))
    return path


def test_validate_refuses_a_script_dataset_and_an_incomplete_standard_record(tmp_path):
    # case 4: a dataset registered from a script, one clusterer, two seeds, not marked partial
    path = write(grid(), tmp_path)

    def script_made(record):
        record["datasets"]["digits"]["plugin"] = plugin("digits", "__main__", "0")
        record["results"] = [e for e in record["results"] if e["clusterer"] == "kmeans" and e["seed"] < 2]
        record["clusterers"], record["seeds"], record["datasets"]["digits"]["seeds"] = ["kmeans"], [0, 1], [0, 1]

    problems = validate(_tamper(path, script_made))
    assert any("datasets.digits.plugin" in p and "'__main__'" in p and "installed distribution" in p for p in problems)
    assert any(
        "not complete for protocol 1 and not marked partial: digits lacks clusterer(s) spectral" in p for p in problems
    )
    assert any("digits has 2 seed(s), protocol 1 needs 3" in p for p in problems)
    assert all(p.startswith(f"{path}: ") for p in problems)


def test_validate_refuses_a_header_that_disagrees_with_the_results(tmp_path):
    path = write(grid(), tmp_path)

    def overstated(record):
        record["seeds"] = list(range(9))
        record["results"] = [e for e in record["results"] if e["clusterer"] != "hdbscan"]

    problems = validate(_tamper(path, overstated))
    assert any("clusterers: 'hdbscan' listed under clusterers but has no result" in p for p in problems)
    assert any("seeds: [0, 1, 2, 3, 4, 5, 6, 7, 8] but the results have seeds [0, 1, 2]" in p for p in problems)


def test_records_carry_file_names_and_hashes_never_local_paths(tmp_path):
    # case 5: a weights path in the options
    path = write(grid(), tmp_path)
    problems = validate(_tamper(path, lambda r: r["encoder"]["options"].update(weights="/home/someone/broken.pth")))
    assert any("encoder.options.weights: holds a local path" in p for p in problems)
    old = grid(options={"weights": "/home/someone/broken.pth"})
    submission = make_record(old, "mine", with_labels=False)
    assert submission.record["encoder"]["options"] == {"weights": {"file": "broken.pth"}}
    assert "/home" not in records.dumps(submission.record)


def test_a_record_of_the_old_format_is_named_as_such(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"schema": "zsbench-record/1"}))
    (problem,) = validate(path)
    assert "'zsbench-record/1' is a record format this zsbench does not read" in problem
    assert "zsbench submit" in problem


# ------------------------------------------------------------------------------------------ suites


def _private_record(tmp_path) -> Path:
    """Case 3: a complete record on digits (the registry's sample set) plus a private dataset."""
    digits = records.read(REGISTRY / "standard-1" / "raw-pixels.json")["datasets"]["digits"]["fingerprint"]
    results = grid(encoder="private-enc", ami=0.168, fingerprint=digits)
    results += grid(encoder="private-enc", dataset="private-set", ami=0.9, fingerprint="9" * 64, n=500)
    return write(results, tmp_path, name="private-enc")


def test_a_board_ranks_rows_on_its_suite(tmp_path):
    private = _private_record(tmp_path)
    out = cli("leaderboard", "-r", REGISTRY, "-r", private, "--format", "json")
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    rows = {r["encoder"]: r for r in doc["rows"]}
    assert doc["suite"] == ["digits"]
    assert rows["raw-pixels"]["views"]["mean"]["rank"]["low"] == 1
    assert rows["raw-pixels"]["views"]["mean"]["overall"]["mean"] > 80
    mine = rows["private-enc"]["views"]["mean"]
    assert mine["overall"]["mean"] == pytest.approx(16.8) and mine["rank"]["high"] == len(doc["rows"])
    assert any("not in the suite" in n and "private-set" in n for n in doc["notes"])

    own = json.loads(cli("leaderboard", "-r", REGISTRY, "-r", private, "-f", "json", "--dataset", "private-set").stdout)
    ranked = [r["encoder"] for r in own["rows"] if r["views"]["mean"]["rank"]]
    assert own["suite"] == ["private-set"] and ranked == ["private-enc"]
    unranked = {r["encoder"]: r["views"]["mean"]["lacks"] for r in own["rows"] if not r["views"]["mean"]["rank"]}
    assert unranked["raw-pixels"] == ["private-set"]


def test_a_partial_record_is_shown_and_never_ranked(tmp_path):
    # case 2's record on the shared board: a subsample, written with --partial
    quick = grid(encoder="quick", fingerprint=SUB, max_samples=600, n=600, ami=0.99)
    path = write(quick, tmp_path, name="quick", partial=True)
    doc = json.loads(cli("leaderboard", "-r", REGISTRY, "-r", path, "-f", "json").stdout)
    rows = {r["encoder"]: r for r in doc["rows"]}
    assert rows["raw-pixels"]["views"]["mean"]["rank"]["low"] == 1  # the others are still ranked
    assert "quick" not in rows  # its sample set is not the board's; named in the notes
    assert any("quick" in n and "sample set" in n for n in doc["notes"])

    alone = build([Source(str(path), record_results(records.read(path)), partial=True)])
    (row,) = alone.rows
    assert row.partial and row.label == "quick (partial)" and row.views["mean"].rank is None
    assert row.lacks["mean"] == ["a complete record (this one is partial)"]


# ------------------------------------------------------------------------ the same, with other inputs


def test_two_files_of_embeddings_under_one_name_never_mix_seed_by_seed():
    first = grid(seeds=range(3), precomputed="1", ami=0.9, created="2026-11-01T00:00:00+00:00")
    second = grid(seeds=range(2), precomputed="2", ami=0.02, created="2026-11-02T00:00:00+00:00")
    (row,) = build(first + second).rows
    assert {s for per in row.ami.values() for s in per} == {0, 1}
    assert row.views["mean"].overall.mean == pytest.approx(2.0)
    from zsbench.analysis import proxy

    assert {r.metrics["ami"] for r in proxy.standard(first + second)} == {0.02}


def test_folders_count_by_content_wherever_they_are(tmp_path, monkeypatch):
    from zsbench.core.identity import recorded_options

    for where, seed in (("x", 1), ("y", 2)):
        (tmp_path / where / "model").mkdir(parents=True)
        np.save(tmp_path / where / "model" / "w.npy", np.random.default_rng(seed).normal(size=(4, 4)))
    monkeypatch.chdir(tmp_path)
    x, y = (recorded_options({"weights": str(tmp_path / d / "model")}, "e")["weights"] for d in ("x", "y"))
    assert x["dir"] == y["dir"] == "model" and x["sha256"] != y["sha256"]
    assert (
        recorded_options({"weights": "./x/model"}, "e")["weights"]
        == x
        == recorded_options({"weights": "x/model"}, "e")["weights"]
    )


def test_missing_weights_are_a_one_line_error():
    out = cli("run", "--weights", "/nowhere/w.pth", "--clusterer", "kmeans", "--seeds", "1")
    assert out.exit_code == 1 and out.output.strip() == (
        "error: --weights /nowhere/w.pth: no such file or folder; pass the path of the weights file"
    )


def test_the_weights_keyword_reaches_the_encoder_and_a_missing_file_is_one_line(tmp_path):
    """`zsbench.run(..., weights=PATH)` is `zsbench run --weights PATH`: the encoder factory's ``weights``
    option, recorded by content; a path that names nothing fails before any work, as on the command line."""
    import types

    from zsbench.plugin.errors import InvalidInputError
    from zsbench.plugin.identity import file_sha256

    from .helpers import Blobs, MeanStd

    given = []

    def weighted(weights=None):
        given.append(weights)
        return MeanStd()

    @zsbench.hookimpl
    def register_encoders(register):
        register("weighted", weighted)

    @zsbench.hookimpl
    def register_datasets(register):
        register("blobs", Blobs)

    weights = tmp_path / "w.bin"
    weights.write_bytes(b"some weights")
    plugin = types.SimpleNamespace(register_encoders=register_encoders, register_datasets=register_datasets)
    run = dict(clusterers=["kmeans"], reducer="none", seeds=1, store=False, cache=False)
    with zsbench.registered(plugin, "weighted"):
        out = zsbench.run("weighted", "blobs", weights=weights, **run)
        with pytest.raises(InvalidInputError) as missing:
            zsbench.run("weighted", "blobs", weights=tmp_path / "absent.pth", **run)
    assert given == [str(weights)] and out.results[0].ok
    assert out.results[0].config["encoder"]["options"]["weights"]["sha256"] == file_sha256(weights)
    assert str(missing.value) == (
        f"weights={str(tmp_path / 'absent.pth')!r}: no such file or folder; pass the path of the weights file"
    )  # the Python argument's name, not the CLI flag


def test_the_check_store_is_never_the_users_store(tmp_path, monkeypatch):
    from zsbench.cli.check import check_store
    from zsbench.storage.store import default_path

    for name in ("results.sqlite", "results.check.sqlite", "mine"):
        monkeypatch.setenv("ZSBENCH_STORE", str(tmp_path / name))
        assert check_store() != default_path() and check_store().parent == tmp_path


def test_record_file_names_never_collide(tmp_path):
    assert registry.slug("raw-pixels") == "raw-pixels"
    assert len({registry.slug(n) for n in ("enc[/x]", "enc_x", "enc x", "ünï cødé", "n_c_d")}) == 5
    path = write(grid(), tmp_path, name="shared")
    other = make_record(grid(encoder="other"), "other", with_labels=False)
    with pytest.raises(RecordError, match="holds a record of 'mine', not 'other'; it was left alone"):
        registry.write(other, path)
    assert records.read(path)["encoder"]["name"] == "mine"


def test_validate_checks_sample_counts_times_and_every_kind_of_local_path(tmp_path):
    path = write(grid(), tmp_path)
    checks = [
        (
            lambda r: [e["metrics"].update(n_samples=300) for e in r["results"]],
            "datasets.digits.n_samples: 1797 but its results clustered 300 samples",
        ),
        (lambda r: r.update(last_result_at="2030-01-01T00:00:00+00:00"), "last_result_at: 2030"),
        (lambda r: r["encoder"]["source"].update(url="file:///srv/alice/w.pth"), "encoder.source.url: names a local"),
        (
            lambda r: r["encoder"]["source"].update(file="\\\\fileserver\\bob\\w.pth"),
            "encoder.source.file: names a local",
        ),
        (lambda r: r["environments"][0].update(hostname="alice-laptop"), "environments[0]: Additional properties"),
        (
            lambda r: r["encoder"]["plugin"].update(plugin="__main__:raw_pixels"),
            "encoder.plugin.plugin: '__main__:raw_pixels' is not a plugin of distribution 'zsbench'",
        ),
    ]
    for change, expected in checks:
        fresh = write(grid(), tmp_path, name="probe")
        problems = validate(_tamper(fresh, change))
        assert any(expected in p for p in problems), (expected, problems)
    one = validate(_tamper(path, lambda r: r["encoder"]["source"].update(url="/home/alice/w.pth")))
    assert len([p for p in one if "encoder.source.url" in p]) == 1


def test_proxy_keeps_sources_apart_and_leaves_partial_records_out():
    from zsbench.analysis import proxy

    complete = Source("a.json", grid(encoder="enc", ami=0.9))
    partial = Source(
        "b.json", grid(encoder="enc", clusterers=["kmeans"], ami=0.1, created="2030-01-01T00:00:00+00:00"), partial=True
    )
    store = Source("store", grid(encoder="enc", ami=0.5))
    results, notes = proxy.from_sources([complete, partial, store])
    assert notes == ["b.json: a partial record, left out"]
    assert {r.encoder for r in results} == {"enc (a.json)", "enc (store)"}
    assert {r.metrics["ami"] for r in results if r.clusterer == "kmeans"} == {0.9, 0.5}


def test_plugins_strict_fails_on_a_plugin_named_but_not_installed(monkeypatch):
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", "zsbench,nosuchdist")
    from zsbench.core import manager

    manager.reset()
    try:
        out = cli("plugins", "--strict")
    finally:
        monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", "zsbench")
        manager.reset()
    assert out.exit_code == 1 and "nosuchdist is named in ZSBENCH_LOAD_PLUGINS" in out.output


def test_a_complete_record_has_seeds_common_to_its_datasets(tmp_path):
    # the board scores a row over the seeds all its datasets share: none shared, no rank
    apart = grid(seeds=(0, 1, 2)) + grid(dataset="other", fingerprint="9" * 64, seeds=(3, 4, 5))
    with pytest.raises(RecordError, match=r"the datasets share 0 seed\(s\) \(none\), the protocol needs 3"):
        make_record(apart, "mine", with_labels=False)
    together = grid(seeds=(0, 1, 2)) + grid(dataset="other", fingerprint="9" * 64, seeds=(0, 1, 2))
    path = write(together, tmp_path)

    def shifted(record):
        for e in record["results"]:
            if e["dataset"] == "other":
                e["seed"] += 3
        record["datasets"]["other"]["seeds"] = [3, 4, 5]
        record["seeds"] = list(range(6))

    problems = validate(_tamper(path, shifted))
    assert any("the datasets share 0 seed(s)" in p for p in problems)


def test_results_of_precomputed_embeddings_cannot_be_submitted():
    results = grid(precomputed="1")
    for r in results:
        r.provenance["plugins"].pop("dataset")
    with pytest.raises(RecordError, match=r"results of `zsbench run --embeddings` cannot be submitted"):
        make_record(results, "mine", with_labels=False)


def test_seeds_out_of_range_are_refused_before_any_work():
    out = cli("run", "--clusterer", "kmeans", "--max-samples", "100", "--subsample-seed", str(2**70))
    assert out.exit_code == 1 and "--subsample-seed 1180591620717411303424 is out of range" in out.output
    with pytest.raises(ZsbenchError, match="seed -1 is out of range"):
        zsbench.run(seeds=[-1], clusterers=["kmeans"], store=False, cache=False)


def test_dataset_names_in_board_errors_are_quoted():
    with pytest.raises(ZsbenchError) as err:
        build(grid(), datasets=["a\nb"])
    assert "no results on 'a\\nb' for this board" in str(err.value) and "\n" not in str(err.value)
