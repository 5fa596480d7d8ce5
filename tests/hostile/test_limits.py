"""Issue 23, limits: every count option has a bound checked before planning (one line naming the option, the
bound and what to do), and every guard runs at planning, before any embedding or reduction."""

from __future__ import annotations

import time
import types

import numpy as np
import pytest
from typer.testing import CliRunner

import zsbench
from zsbench.cli.app import app
from zsbench.core.progress import NullProgress
from zsbench.engine.limits import MAX_CELLS, MAX_SAMPLES, MAX_SEEDS, MAX_WORKERS
from zsbench.engine.request import RunRequest
from zsbench.plugin.errors import InvalidInputError

from ..helpers import Blobs, MeanStd, one_line_error


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def npz(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 10)
    path = tmp_path / "e.npz"
    np.savez(path, embeddings=rng.normal(size=(30, 4)) + labels[:, None], labels=labels)
    return path


@pytest.mark.parametrize(
    "args, option, bound",
    [
        (["--seeds", 100_000], "--seeds", MAX_SEEDS),
        (["--seeds", 5_000_000_000], "--seeds", MAX_SEEDS),
        (["--seeds", 10**40], "--seeds", MAX_SEEDS),
        (["--workers", 10**6], "--workers", MAX_WORKERS),
        (["--executor", "local:workers=100000"], "--workers", MAX_WORKERS),
        (
            ["--seeds", 1000, *sum((["--clusterer", f"kmeans:n_init={i}"] for i in range(1, 102)), [])],
            "grid",
            MAX_CELLS,
        ),
    ],
)
def test_a_run_count_past_its_bound_is_one_line_before_any_planning(npz, isolated_store, args, option, bound):
    start = time.monotonic()
    result = cli("run", "--embeddings", npz, "--reducer", "none", *args)
    one_line_error(result, option, f"at most {bound:,}")
    assert time.monotonic() - start < 10  # was: a minute of planning, or the OOM killer
    assert not isolated_store.exists()  # nothing planned, nothing stored


@pytest.mark.parametrize(
    "args, option, bound",
    [
        (["--max-samples", 10**12], "--max-samples", MAX_SAMPLES),
        (["--seeds", 40_000_000], "--seeds", MAX_SEEDS),
    ],
)
def test_a_dataset_run_checks_its_counts_before_loading_anything(args, option, bound):
    one_line_error(cli("run", "--dataset", "no-such-dataset-is-loaded", *args), option, f"at most {bound:,}")


def test_the_api_builds_the_same_request_so_it_is_bounded_too():
    with pytest.raises(InvalidInputError, match="at most 1,000 seeds"):
        zsbench.run("raw-pixels", "digits", seeds=range(10**15))  # never materialised
    with pytest.raises(InvalidInputError, match="--workers .* at most"):
        RunRequest(executor_options={"workers": "99999"})
    # the cells are counted from the options, not built: a product past the bound says how it multiplies
    with pytest.raises(InvalidInputError, match=r"grid of 2,000,000 clusterings .*2,000 dataset\(s\)"):
        RunRequest(datasets=[f"d{i}" for i in range(2000)], seeds=1000, clusterers=["kmeans"])


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["verify", "r.json", "--reproduce", "--seeds", 10**9], ["--seeds", "at most 1,000"]),
        (["verify", "r.json", "--reproduce", "--choose-seeds", 10**30], ["--choose-seeds", "seeds are 0 to"]),
        (["baseline", "--encoder", "raw-pixels", "--seeds", 10**9], ["--seeds", "at most 1,000"]),
        (["baseline", "--encoder", "raw-pixels", "--max-samples", 10**12], ["--max-samples", "at most"]),
        (["check", "--baseline", "b.json", "--seeds", 10**9], ["--seeds", "at most 1,000"]),
        (["check", "--baseline", "b.json", "--first-seed", 10**30], ["--first-seed", "seeds are 0 to"]),
        (["check", "--baseline", "b.json", "--max-samples", 10**12], ["--max-samples", "at most"]),
        (["proxy", "--choose", "--encoder", "e", "--dataset", "d", "--k-max", 10**9], ["--k-max", "at most 10,000"]),
        (["proxy", "--choose", "--encoder", "e", "--dataset", "d", "--k-min", 10**9], ["--k-min", "at most 10,000"]),
        (["proxy", "--choose", "--encoder", "e", "--dataset", "d", "--workers", 10**6], ["--workers", "at most"]),
        (["proxy", "--choose", "--encoder", "e", "--dataset", "d", "--top", 10**12], ["--top", "at most"]),
        (["leaderboard", "--metric", "knn", "--k", 10**30], ["--k", "pass one of them"]),
        (["findings", "knn", "--k", 10**30], ["--k", "pass one of them"]),
    ],
)
def test_every_command_bounds_its_counts(tmp_path, monkeypatch, args, fragments):
    monkeypatch.chdir(tmp_path)  # no file named is there: the count is checked first
    one_line_error(cli(*args), *fragments)


# -- guards at planning --------------------------------------------------------------------------------------


class NeverEmbeds:
    """An encoder the test fails on if anything embeds with it."""

    identity = {"name": "never-embeds"}

    def embed(self, dataset):
        pytest.fail("embedded although the memory guard could refuse the run at planning")


class NeverReduces:
    def __init__(self, random_state=None):
        self.random_state = random_state

    def get_params(self, deep=True):
        return {"random_state": self.random_state}

    def set_params(self, **params):
        return self

    def fit_transform(self, x):
        pytest.fail("reduced although the memory guard could refuse the clustering at planning")


class Halves:
    """A clusterer that fits anywhere."""

    def __init__(self, n_clusters=2, random_state=None):
        self.n_clusters, self.random_state = n_clusters, random_state

    def get_params(self, deep=True):
        return {"n_clusters": self.n_clusters, "random_state": self.random_state}

    def set_params(self, **params):
        return self

    def fit_predict(self, x):
        return (np.arange(len(x)) >= len(x) // 2).astype(int)


def _plugin():
    @zsbench.hookimpl
    def register_encoders(register):
        register("never-embeds", NeverEmbeds, description="fails the test if called")
        register("mean-std", MeanStd, description="test encoder")

    @zsbench.hookimpl
    def register_datasets(register):
        register("blobs", Blobs, description="test dataset")

    @zsbench.hookimpl
    def register_reducers(register):
        register("never-reduces", NeverReduces, description="fails the test if called")

    @zsbench.hookimpl
    def register_clusterers(register):
        # an exabyte for any n: no machine holds it
        register("hog", Halves, description="cannot fit", memory_bytes=lambda n, d: 1e18 + n)
        register("halves", Halves, description="fits")

    return types.SimpleNamespace(
        **{f.__name__: f for f in (register_encoders, register_datasets, register_reducers, register_clusterers)}
    )


def test_a_clusterer_that_cannot_fit_stops_the_run_before_any_embedding(isolated_store):
    with zsbench.registered(_plugin(), "limits"):
        start = time.monotonic()
        with pytest.raises(InvalidInputError, match=r"clusterer hog refused: .*--max-samples") as caught:
            zsbench.run("never-embeds", "blobs", reducer="never-reduces", clusterers=["hog"], seeds=2)
        assert time.monotonic() - start < 10
        assert "\n" not in str(caught.value)
        result = cli(
            "run", "--encoder", "never-embeds", "--dataset", "blobs", "--reducer", "never-reduces", "--clusterer", "hog"
        )
    one_line_error(result, "clusterer hog refused", "--max-samples")


def test_the_plan_says_what_it_skips_and_runs_the_rest(isolated_store):
    notes = []

    class Notes(NullProgress):
        def note(self, message):
            notes.append(message)

    x = np.random.default_rng(0).normal(size=(30, 3))
    with zsbench.registered(_plugin(), "limits"):
        run = zsbench.run_embeddings(
            x,
            np.repeat([0, 1, 2], 10),
            encoder="e",
            dataset="d",
            reducer="none",
            clusterers=["hog", "halves"],
            seeds=2,
            progress=Notes(),
        )
    assert [n.split(":")[0] for n in notes] == ["clusterer hog refused"], notes
    assert "recorded as failed" in notes[0]
    by = {(r.clusterer, r.status) for r in run.results}
    assert by == {("hog", "failed"), ("halves", "ok")}


def test_a_clusterer_refused_for_the_embedding_s_dimensions_fits_no_reduction(isolated_store):
    """The samples alone cannot refuse it (1 dimension would fit): the grid refuses it with the embedding's
    dimensions, still at planning, and fits no reduction for it."""

    def plugin():
        @zsbench.hookimpl
        def register_clusterers(register):
            register(
                "wide", Halves, description="fits one dimension only", memory_bytes=lambda n, d: 0 if d < 2 else 1e18
            )

        return types.SimpleNamespace(register_clusterers=register_clusterers)

    with zsbench.registered(_plugin(), "limits"), zsbench.registered(plugin(), "wide"):
        run = zsbench.run("mean-std", "blobs", reducer="never-reduces", clusterers=["wide"], seeds=2)
    assert {r.status for r in run.results} == {"failed"}
    assert all("clusterer wide refused" in r.error for r in run.results)
