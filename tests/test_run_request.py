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


@pytest.mark.parametrize("given, message", [
    ({"seeds": 0}, "--seeds must be at least 1, got 0"),
    ({"seeds": [-1]}, "seed -1 is out of range"),
    ({"max_samples": 1}, "--max-samples must be at least 2, got 1"),
    ({"subsample_seed": 2**70}, "--subsample-seed 1180591620717411303424 is out of range"),
    ({"protocol": "nope"}, "unknown protocol 'nope'"),
])
def test_bad_values_are_refused_when_the_request_is_built_before_any_work(given, message, captured):
    with pytest.raises(ZsbenchError, match=message):
        RunRequest(**given)
    with pytest.raises(ZsbenchError, match=message):  # through the API: the pipeline is never reached
        zsbench.run(clusterers=["kmeans"], store=False, cache=False, **given)
    assert captured == []


def test_the_cli_refuses_a_bad_request_in_one_line_before_any_work(captured):
    one_line_error(cli("run", "--clusterer", "kmeans", "--subsample-seed", str(2**70)),
                   "--subsample-seed 1180591620717411303424 is out of range")
    one_line_error(cli("run", "--protocol", "nope"), "unknown protocol 'nope'")
    assert captured == []


def test_a_run_validates_its_request_once(monkeypatch, tmp_path):
    built = []
    check = RunRequest.__post_init__

    def counted(self):
        built.append(self)
        check(self)

    monkeypatch.setattr(RunRequest, "__post_init__", counted)
    out = zsbench.run("raw-pixels", "digits", clusterers=["kmeans"], reducer="none", seeds=1, max_samples=100,
                      store=False, cache=tmp_path)
    assert len(out.results) == 1 and out.results[0].ok and len(built) == 1


def test_the_cli_and_the_api_build_equal_requests(captured, tmp_path):
    weights, data = tmp_path / "w.safetensors", tmp_path / "data"
    weights.write_bytes(b"w")
    store, cache = tmp_path / "r.sqlite", tmp_path / "cache"
    one_line_error(cli("run", "--encoder", "raw-pixels", "--dataset", "digits", "--clusterer", "kmeans",
                       "--reducer", "none", "--seeds", "2", "--max-samples", "100", "--subsample-seed", "3",
                       "--skip-bad", "--weights", str(weights), "--data-dir", str(data), "--download", "--knn",
                       "--workers", "1", "--store", str(store), "--cache", str(cache)), "reached the pipeline")
    with pytest.raises(Reached):
        zsbench.run("raw-pixels", "digits", clusterers=["kmeans"], reducer="none", seeds=2, max_samples=100,
                    subsample_seed=3, skip_bad=True, weights=weights, knn=True, executor_options={"workers": 1},
                    dataset_options={"data_dir": str(data), "download": True}, store=store, cache=cache)
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
    one_line_error(cli("run", "--embeddings", str(tmp_path / "e.npz"), "--name", "mine", "--dataset", "toy",
                       "--clusterer", "kmeans", "--seeds", "1"), "reached the pipeline")
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
    request = RunRequest(encoders="raw-pixels", datasets="digits", clusterers=["kmeans"], reducers="none", seeds=[1],
                         max_samples=100, store=False, cache=tmp_path)
    assert api.run_request(request).results[0].seed == 1 and seen["grid"][-1] is request
