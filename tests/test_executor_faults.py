"""A third-party executor, keeping its contract or breaking it, never crashes a run: a conforming one works
with futures that have only ``result()``; a broken one is one error line naming it and its plugin (exit 1),
and the results stored before the fault stay stored."""

from __future__ import annotations

import re
import types

import numpy as np
import pytest
from sklearn.cluster import KMeans
from typer.testing import CliRunner

import zsbench
from zsbench.cli.app import app
from zsbench.storage.store import ResultStore

SEEDS = 3  # three clusterings of one reduction: a fault at the third leaves two results stored


def cli(*args: str):
    result = CliRunner().invoke(app, list(args))
    result.lines = [line for line in result.output.splitlines() if line.strip()]
    return result


@pytest.fixture
def npz(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 8)  # 24 samples: too few for the UMAP proxy, so no numba start-up
    np.savez(tmp_path / "F.npz", embeddings=rng.normal(size=(24, 4)) + 4 * labels[:, None], labels=labels)
    return str(tmp_path / "F.npz")


def run(npz: str, executor: str):
    return cli(
        "run",
        "--embeddings",
        npz,
        "--reducer",
        "none",
        "--clusterer",
        "kmeans",
        "--seeds",
        str(SEEDS),
        "--executor",
        executor,
    )


def stored(path) -> list:
    if not path.exists():
        return []
    store = ResultStore(path)
    try:
        return store.results()
    finally:
        store.close()


class ResultOnly:
    """A future with nothing but the contract's ``result()``."""

    def __init__(self, fn, args):
        self.task = fn.__name__
        self.value = fn(*args)

    def result(self, timeout=None):
        return self.value


class Conforming:
    """Runs each task when submitted; futures have only ``result()``; as_completed gives them back in order."""

    def submit(self, fn, *args, resources=None):
        return ResultOnly(fn, args)

    def as_completed(self, futures):
        return iter(list(futures))

    def close(self, cancel=False):
        pass


def registered(name: str, cls: type):
    @zsbench.hookimpl
    def register_executors(register):
        register(name, cls, description="test executor")

    return zsbench.registered(types.SimpleNamespace(register_executors=register_executors), name)


def test_an_executor_whose_futures_have_only_result_runs_the_grid(npz, isolated_store):
    with registered("plain", Conforming):
        result = run(npz, "plain")
    assert result.exit_code == 0, result.output
    assert [r.status for r in stored(isolated_store)] == ["ok"] * SEEDS


class ReturnsValue(Conforming):
    def submit(self, fn, *args, resources=None):
        return fn(*args)


class ReturnsNone(Conforming):
    def submit(self, fn, *args, resources=None):
        fn(*args)


class DropsLast(Conforming):
    def as_completed(self, futures):
        futures = list(futures)
        return iter(futures[:-1] if futures[0].task == "cluster_task" else futures)


class YieldsForeign(Conforming):
    def as_completed(self, futures):
        futures = list(futures)
        if futures[0].task == "cluster_task":
            futures[-1] = ResultOnly(lambda: {"error": None}, ())
        return iter(futures)


class YieldsNone(Conforming):
    def as_completed(self, futures):
        futures = list(futures)
        return iter(futures[:-1] + [None] if futures[0].task == "cluster_task" else futures)


class FailsThird(Conforming):
    """The third clustering's result() raises: the executor failed to run it."""

    def __init__(self):
        self.clusterings = 0

    def submit(self, fn, *args, resources=None):
        future = super().submit(fn, *args)
        self.clusterings += fn.__name__ == "cluster_task"
        if self.clusterings == SEEDS:
            future.result = lambda timeout=None: 1 / 0
        return future


class SubmitRaises(Conforming):
    def submit(self, fn, *args, resources=None):
        raise RuntimeError("scheduler gone")


class SubmitExits(Conforming):
    def submit(self, fn, *args, resources=None):
        raise SystemExit(3)  # its own: a failure of the executor, never the end of the program


class AsCompletedRaises(Conforming):
    def as_completed(self, futures):
        yield from list(futures)[:1]
        raise ConnectionError("lost the scheduler")


class AsCompletedReturnsNone(Conforming):
    def as_completed(self, futures):
        return None


@pytest.mark.parametrize(
    "cls, message, kept",
    [
        (ReturnsValue, "broke the contract: submit returned a dict, not a future", 0),
        (ReturnsNone, "broke the contract: submit returned None, not a future", 0),
        (DropsLast, "broke the contract: as_completed finished without yielding 1 of the 3 submitted futures", 2),
        (YieldsForeign, "broke the contract: as_completed yielded a future it was not given", 2),
        (YieldsNone, "broke the contract: as_completed yielded None", 2),
        (FailsThird, "failed: result() of cluster_task raised ZeroDivisionError: division by zero", 2),
        (SubmitRaises, "failed: submit raised RuntimeError: scheduler gone", 0),
        (SubmitExits, "failed: submit raised SystemExit: 3", 0),
        # one future per call, then the error: the reduction is yielded, its clusterings start, the first of
        # them is yielded and stored before the error comes
        (AsCompletedRaises, "failed: as_completed raised ConnectionError: lost the scheduler", 1),
        (AsCompletedReturnsNone, "broke the contract: as_completed returned None, not an iterator of futures", 0),
    ],
)
def test_a_broken_executor_is_one_line_naming_it_and_keeps_what_was_stored(npz, isolated_store, cls, message, kept):
    with registered("broken", cls):
        result = run(npz, "broken")
    assert result.exit_code == 1
    assert result.lines == [f"error: executor 'broken' (plugin __main__:broken) {message}"], result.output
    assert [r.status for r in stored(isolated_store)] == ["ok"] * kept
    if kept:  # a rerun on a working executor computes only what is missing, and reuses the stored results
        with registered("plain", Conforming):
            again = run(npz, "plain")
        assert again.exit_code == 0 and f"reused {kept} stored result(s)" in " ".join(again.output.split())
        assert [r.status for r in stored(isolated_store)] == ["ok"] * SEEDS


@pytest.mark.parametrize(
    "error, said",
    [
        (RuntimeError("port in use"), "close() raised RuntimeError: port in use"),
        (TypeError("bug inside close"), "close() raised TypeError: bug inside close"),
        (zsbench.ZsbenchError("workers still busy"), "close() raised: workers still busy"),
    ],
)
def test_a_failing_close_after_a_finished_run_is_a_warning(npz, isolated_store, error, said):
    class BadClose(Conforming):
        def close(self, cancel=False):
            raise error

    with registered("badclose", BadClose):
        result = run(npz, "badclose")
    assert result.exit_code == 0, result.output
    warning = [line for line in result.lines if line.startswith("warning:")]
    assert warning == [
        f"warning: executor 'badclose' (plugin __main__:badclose) failed: {said}; the run had "
        "finished, nothing was lost"
    ]
    assert [r.status for r in stored(isolated_store)] == ["ok"] * SEEDS


def test_the_first_error_is_the_one_reported_when_close_fails_too(npz):
    class Refuses(Conforming):
        def submit(self, fn, *args, resources=None):
            raise zsbench.ZsbenchError("no GPU workers are connected; start some with dask-worker")

        def close(self, cancel=False):
            raise RuntimeError("close failed as well")

    with registered("refuses", Refuses):
        result = run(npz, "refuses")
    assert result.exit_code == 1
    assert result.lines == ["error: no GPU workers are connected; start some with dask-worker"]


@pytest.mark.parametrize("value", ["abc", "0", "-2"])
def test_zsbench_workers_must_be_a_positive_integer(npz, monkeypatch, value):
    monkeypatch.setenv("ZSBENCH_WORKERS", value)
    result = cli("run", "--embeddings", npz, "--reducer", "none", "--clusterer", "kmeans", "--seeds", "1")
    assert result.exit_code == 1
    assert result.lines == [
        f"error: ZSBENCH_WORKERS={value!r} is not a number of workers; set it to a positive "
        "integer (e.g. ZSBENCH_WORKERS=4) or unset it"
    ]


class Shifted(KMeans):
    """K-Means whose labels come back as floats: shifted by ``offset`` (0.5: not integers)."""

    offset = 0.0

    def fit_predict(self, x, y=None, sample_weight=None):
        return super().fit_predict(x).astype(np.float64) + self.offset


class Halves(Shifted):
    offset = 0.5


def test_a_clusterer_returning_non_integer_labels_fails_its_result():
    @zsbench.hookimpl
    def register_clusterers(register):
        register("floats", Shifted, description="whole-number float labels")
        register("halves", Halves, description="labels 0.5, 1.5, ...")

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 8)
    x = rng.normal(size=(24, 4)) + 4 * labels[:, None]
    with zsbench.registered(types.SimpleNamespace(register_clusterers=register_clusterers), "labels"):
        out = zsbench.run_embeddings(
            x,
            labels,
            encoder="mine",
            dataset="toy",
            clusterers=["floats", "halves"],
            reducer="none",
            seeds=1,
            store=False,
            cache=False,
        )
    whole, halves = out.results
    assert whole.status == "ok" and whole.ami == pytest.approx(1.0)  # 0.0, 1.0, 2.0: integers after all
    assert halves.status == "failed" and halves.ami is None
    assert re.fullmatch(
        r"clusterer halves returned non-integer labels \(e\.g\. [012]\.5\); labels must be "
        r"integers, -1 for noise",
        halves.error,
    ), halves.error
