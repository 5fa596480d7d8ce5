"""The run as one value: ``RunRequest`` is built once (CLI or API), validated once, and handed unchanged to the
pipeline and the grid."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from typer.testing import CliRunner

import zsbench
from tests.helpers import one_line_error
from zsbench import api
from zsbench.cli.app import app
from zsbench.engine import pipeline
from zsbench.engine.request import RunRequest
from zsbench.plugin.errors import ZsbenchError


class Reached(ZsbenchError):
    """Raised by a stand-in for the pipeline: the request got that far."""


@pytest.fixture
def captured(monkeypatch):
    """The requests the API hands to the pipeline, which then stops (one ZsbenchError line from the CLI)."""
    seen: list[RunRequest] = []

    def stop(*args, **kwargs):
        seen.append(next(a for a in (*args, *kwargs.values()) if isinstance(a, RunRequest)))
        raise Reached("reached the pipeline")

    monkeypatch.setattr(api, "run_datasets", stop)
    monkeypatch.setattr(api, "run_arrays", stop)
    return seen


def cli(*args):
    return CliRunner().invoke(app, list(args))


def test_the_request_is_frozen_normalised_and_holds_copies():
    options = {"size": 8}
    request = RunRequest(encoders="raw-pixels", datasets=["digits", "blobs"], seeds=3, encoder_options=options)
    options["size"] = 16  # the caller's dict changes; the request does not
    assert request.encoders == ("raw-pixels",) and request.datasets == ("digits", "blobs")
    assert request.seeds == (0, 1, 2) and request.seed_list() == [0, 1, 2]
    assert dict(request.encoder_options) == {"size": 8} and dict(request.dataset_options) == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.seeds = (5,)  # type: ignore[misc]
    with pytest.raises(TypeError):
        request.encoder_options["size"] = 32  # type: ignore[index]
    # None: the protocol's defaults, read from the protocol file
    default = RunRequest()
    assert default.seed_list() == list(range(default.spec.seeds))
    assert default.encoder_names() == [default.spec.default_encoder]


@pytest.mark.parametrize(
    "given, message",
    [
        ({"seeds": 0}, "--seeds must be at least 1, got 0"),
        ({"seeds": [-1]}, "seed -1 is out of range"),
        ({"max_samples": 1}, "--max-samples must be at least 2, got 1"),
        ({"subsample_seed": 2**70}, "--subsample-seed 1180591620717411303424 is out of range"),
        ({"protocol": "nope"}, "unknown protocol 'nope'"),
    ],
)
def test_bad_values_are_refused_when_the_request_is_built_before_any_work(given, message, captured):
    with pytest.raises(ZsbenchError, match=message):
        RunRequest(**given)
    with pytest.raises(ZsbenchError, match=message):  # through the API: the pipeline is never reached
        zsbench.run(clusterers=["kmeans"], store=False, cache=False, **given)
    assert captured == []


def test_the_cli_refuses_a_bad_request_in_one_line_before_any_work(captured):
    one_line_error(
        cli("run", "--clusterer", "kmeans", "--subsample-seed", str(2**70)),
        "--subsample-seed 1180591620717411303424 is out of range",
    )
    one_line_error(cli("run", "--protocol", "nope"), "unknown protocol 'nope'")
    assert captured == []


def test_a_run_validates_its_request_once(monkeypatch, tmp_path):
    built = []
    check = RunRequest.__post_init__

    def counted(self):
        built.append(self)
        check(self)

    monkeypatch.setattr(RunRequest, "__post_init__", counted)
    out = zsbench.run(
        "raw-pixels",
        "digits",
        clusterers=["kmeans"],
        reducer="none",
        seeds=1,
        max_samples=100,
        store=False,
        cache=tmp_path,
    )
    assert len(out.results) == 1 and out.results[0].ok and len(built) == 1


def test_the_cli_and_the_api_build_equal_requests(captured, tmp_path):
    weights, data = tmp_path / "w.safetensors", tmp_path / "data"
    weights.write_bytes(b"w")
    store, cache = tmp_path / "r.sqlite", tmp_path / "cache"
    one_line_error(
        cli(
            "run",
            "--encoder",
            "raw-pixels",
            "--dataset",
            "digits",
            "--clusterer",
            "kmeans",
            "--reducer",
            "none",
            "--seeds",
            "2",
            "--max-samples",
            "100",
            "--subsample-seed",
            "3",
            "--skip-bad",
            "--weights",
            str(weights),
            "--data-dir",
            str(data),
            "--download",
            "--knn",
            "--workers",
            "1",
            "--store",
            str(store),
            "--cache",
            str(cache),
        ),
        "reached the pipeline",
    )
    with pytest.raises(Reached):
        zsbench.run(
            "raw-pixels",
            "digits",
            clusterers=["kmeans"],
            reducer="none",
            seeds=2,
            max_samples=100,
            subsample_seed=3,
            skip_bad=True,
            weights=weights,
            knn=True,
            executor_options={"workers": 1},
            dataset_options={"data_dir": str(data), "download": True},
            store=store,
            cache=cache,
        )
    from_cli, from_api = captured
    assert from_cli == from_api
    assert from_api.seeds == (0, 1) and from_api.encoder_options == {"weights": str(weights)}
    # the defaults agree too: `zsbench run` with no option is zsbench.run() with no argument
    one_line_error(cli("run"), "reached the pipeline")
    with pytest.raises(Reached):
        zsbench.run()
    assert captured[2] == captured[3] == RunRequest()


def test_the_cli_and_the_api_build_equal_requests_for_embeddings(captured, tmp_path):
    x, y = np.random.default_rng(0).normal(size=(30, 4)), np.repeat([0, 1, 2], 10)
    np.savez(tmp_path / "e.npz", embeddings=x, labels=y)
    one_line_error(
        cli(
            "run",
            "--embeddings",
            str(tmp_path / "e.npz"),
            "--name",
            "mine",
            "--dataset",
            "toy",
            "--clusterer",
            "kmeans",
            "--seeds",
            "1",
        ),
        "reached the pipeline",
    )
    with pytest.raises(Reached):
        zsbench.run_embeddings(x, y, encoder="mine", dataset="toy", clusterers=["kmeans"], seeds=1)
    assert captured[0] == captured[1] == RunRequest(encoders="mine", datasets="toy", clusterers=["kmeans"], seeds=1)


def test_the_pipeline_and_the_grid_get_the_very_request_built(monkeypatch, tmp_path):
    """A new option needs no plumbing: whatever field the request has reaches the grid, as built."""
    seen: dict[str, list[RunRequest]] = {"pipeline": [], "grid": []}
    run_datasets, run_arrays, execute = pipeline.run_datasets, pipeline.run_arrays, pipeline.execute

    def spy(where, fn, position):
        def wrapped(*args, **kwargs):
            seen[where].append(args[position])
            return fn(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(api, "run_datasets", spy("pipeline", run_datasets, 0))
    monkeypatch.setattr(api, "run_arrays", spy("pipeline", run_arrays, 2))
    monkeypatch.setattr(pipeline, "execute", spy("grid", execute, 2))
    small = {"clusterers": ["kmeans"], "reducer": "none", "seeds": 1, "store": False, "cache": tmp_path}
    out = zsbench.run("raw-pixels", "digits", max_samples=100, **small)
    x, y = np.random.default_rng(0).normal(size=(30, 4)), np.repeat([0, 1, 2], 10)
    arrays = zsbench.run_embeddings(x, y, encoder="mine", dataset="toy", **small)
    assert out.results[0].ok and arrays.results[0].ok
    assert len(seen["grid"]) == 2 and all(g is p for g, p in zip(seen["grid"], seen["pipeline"], strict=True))
    # a request built by hand goes through as it is
    request = RunRequest(
        encoders="raw-pixels",
        datasets="digits",
        clusterers=["kmeans"],
        reducers="none",
        seeds=[1],
        max_samples=100,
        store=False,
        cache=tmp_path,
    )
    assert api.run_request(request).results[0].seed == 1 and seen["grid"][-1] is request


# -- keys: one module, byte-identical to the keys existing caches and stores hold -------------------------


def test_every_key_is_what_it_was_before_the_keys_had_one_module(monkeypatch):
    """Fixed inputs, and the keys they gave before zsbench.engine.keys existed: a changed key silently
    orphans every cache and store, so a key may change only with the protocol's stage version."""
    import sys
    from types import SimpleNamespace as NS

    from zsbench.core.protocol import load_spec
    from zsbench.engine import keys
    from zsbench.engine.jobs import reduce_job
    from zsbench.storage.layout import canonical_json

    spec, study = load_spec("standard"), load_spec("study")
    plugin = {"name": "enc", "plugin": "p", "distribution": "d", "version": "1"}
    enc = NS(name="enc", provenance=plugin)
    red = NS(label="red:x=1", entry=NS(provenance={**plugin, "name": "red"}))
    clu = NS(label="clu", entry=NS(provenance={**plugin, "name": "clu"}))

    class Fixed:  # parameters as Params gives them, without building anything
        def text(self, c, *, seed, n_clusters=None):
            return canonical_json({"label": c.label, "seed": seed, "k": n_clusters})

    view = NS(ids=["a", "b", "c"], labels=np.array([0, 1, 1]), info={"split": "test"})
    fp = keys.sample_fingerprint(view, {"max_samples": 3, "subsample_seed": 0, "n_available": 5})
    assert fp == "b637eecff4ee0f1367dbdae638e94940befa50af1bf7abac42b1854dfb75f8c5"
    ek = keys.embed_key(spec, enc, {"identity_sha256": "a" * 64}, "ds", fp)
    assert ek == "205463971bea12241da6aacb8ed5d0cdee9aa2e52245ad362a39aec4a07d21ab"
    rk = reduce_job(spec, red, 2, ek, "enc", "ds", Fixed()).key
    assert (
        rk
        == keys.reduce_key(spec, ek, red, Fixed().text(red, seed=2), 2)
        == keys.stage_key("reduce", spec, ek, red, Fixed().text(red, seed=2), 2)
        == "b42f3a63c0ff47cc4e4ef8be6460e3ba02dff869f23f697f225ab5613901c587"
    )
    lk = keys.labels_key(spec, rk, clu, Fixed().text(clu, seed=2, n_clusters=10), 2)
    assert lk == "f7fa9262d9dc4a631a6d2b98e052d5f563dc37441ea34ae6665de0aa845bb957"
    assert (
        keys.labels_key(spec, rk, clu, Fixed().text(clu, seed=2), 2)
        == "34f1b16cac36df01d834b043ba2d98e0c5f5f339bf2471e09af3f480a72bfb5f"
    )
    row = {"identity_sha256": "b" * 64}
    assert (
        keys.result_key(spec, lk, rk, row, "ds") == "0d2943b8fecb1f569b94656302fa53156bfc3c9d69308e088a8b530419405ad6"
    )
    assert (
        keys.result_key(study, lk, rk, row, "ds") == "65961160b1d75ce1020bdffb699e242ed5a9c6d54f52a22c2cbdd9a3445fe30e"
    )
    assert (
        keys.arrays_key(spec, "c" * 64, "d" * 64) == "28c2ce85399890d3ba1e770d8d9dbe6d7298f1e384f71e7a0b3745cea20ef80d"
    )
    # a kNN row's key, pinned since kNN rows were first stored with one (rows from before have none)
    assert keys.knn_key("knn-1", ek, fp, 20, 0.07) == "b38b3faa76545dc4413f63184b039f3d82c0af0edc975076e02aeaccc6fcad74"
    # the memo's key holds the environment (sys.prefix, the factory's file): fixed here
    monkeypatch.setattr(sys, "prefix", "/prefix")
    factory = type("Fake", (), {"__module__": "zsbench_not_a_module"})
    entry = NS(distribution="d", factory=factory, kind="clusterers", name="clu", provenance=plugin, meta={})
    assert (
        keys.memo_key(NS(entry=entry, label="clu:x=1", params={"x": 1}), "params", 3, 7)
        == "7f8727c01a42ce9665ad7ed9abeb866a35998ff27941837930b077454b7387ac"
    )
