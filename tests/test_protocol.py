"""The standard protocol end to end, and the promises it makes about work and failures."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin

import zsbench
from zsbench.core.catalog import build_catalog
from zsbench.core.protocol import Component, load_spec
from zsbench.plugin.errors import InvalidInputError

from .helpers import MeanStd, throwaway_plugin

SIX = ["kmeans", "spectral", "agglomerative", "agglomerative-no-k", "affinity-propagation", "hdbscan"]


def test_default_run_scores_all_six_clusterers_on_digits(default_run):
    results = default_run.results
    assert [(r.clusterer, r.seed) for r in results] == [(c, s) for s in (0, 1) for c in SIX]
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    for r in results:
        assert (r.encoder, r.dataset, r.reducer) == ("raw-pixels", "digits", "umap")
        m = r.metrics
        assert m["n_samples"] == 1797 and m["n_classes"] == 10
        # raw digits separate well after UMAP; far above chance (AMI 0) for every clusterer
        assert 0.6 < m["ami"] <= 1.0, (r.clusterer, m["ami"])
        assert m["silhouette_proxy"] is not None and m["silhouette_original"] is not None
    with_k = [r for r in results if r.clusterer in ("kmeans", "spectral", "agglomerative")]
    assert all(r.metrics["n_clusters"] == 10 for r in with_k)  # k = distinct labels present
    hdb = [r for r in results if r.clusterer == "hdbscan"]
    assert all(0 < r.metrics["fraction_clustered"] <= 1 for r in hdb)


def test_default_run_records_configuration_and_provenance(default_run):
    r = default_run.results[0]
    assert r.protocol_version == load_spec().version
    assert r.config["encoder"]["identity"]["size"] == 32
    assert r.config["n_features"] == 64  # 8x8 digits keep their native size
    assert r.config["reducer"]["params"]["n_neighbors"] == 30
    assert r.config["reducer"]["params"]["min_dist"] == 0.0
    assert r.config["reducer"]["params"]["random_state"] == 0
    km = r.config["clusterer"]["params"]
    assert (km["n_clusters"], km["n_init"], km["max_iter"], km["init"]) == (10, 1, 1000, "k-means++")
    assert set(r.provenance["packages"]) >= {"zsbench", "numpy", "scikit-learn", "umap-learn", "hdbscan"}
    plugins = r.provenance["plugins"]
    assert {k: v["plugin"] for k, v in plugins.items()} == {
        "encoder": "zsbench:raw_pixels",
        "dataset": "zsbench:digits",
        "reducer": "zsbench:reducers",
        "proxy_reducer": "zsbench:reducers",
        "clusterer": "zsbench:clusterers",
    }
    assert set(r.timings) == {"embed", "reduce", "proxy", "cluster", "score"}
    assert r.timings["proxy"] == 0.0  # the UMAP reduction is the proxy space: reused


def test_seeds_change_the_reduction_and_are_reproducible(default_run):
    s0 = [r for r in default_run.results if r.clusterer == "kmeans"]
    assert s0[0].metrics["ami"] != s0[1].metrics["ami"]
    again = zsbench.run(seeds=[1], clusterers=["kmeans"], store=False)
    assert again.results[0].metrics["ami"] == pytest.approx(s0[1].metrics["ami"], abs=1e-9)


class CountingReducer(TransformerMixin, BaseEstimator):
    fits = 0

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit_transform(self, x, y=None):
        type(self).fits += 1
        return np.asarray(x) + 0.0

    def fit(self, x, y=None):
        return self


def _counting_plugin():
    return throwaway_plugin(register_reducers=_register_counting)


@zsbench.hookimpl
def _register_counting(register):
    register("counting", CountingReducer)


@pytest.mark.parametrize("reducer, expected_fits", [("counting", 2), ("none", 2)])
def test_each_reduction_fitted_once_per_seed_however_many_clusterers(reducer, expected_fits, tmp_path):
    """With the proxy space being the run's reducer it is reused; otherwise fitted once per seed."""
    from zsbench.engine.components import Components
    from zsbench.engine.grid import execute
    from zsbench.engine.jobs import Embedding
    from zsbench.engine.request import RunRequest
    from zsbench.storage.cache import ArtifactCache

    CountingReducer.fits = 0
    with zsbench.registered(_counting_plugin(), "counting"):
        catalog = build_catalog()
        x = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
        emb = Embedding(x, np.repeat([0, 1], 20), "e", "d", "0" * 64, {}, {})
        comps = Components(
            [Component.resolve(catalog, "reducers", reducer)],
            [Component.resolve(catalog, "clusterers", c) for c in ("kmeans", "agglomerative", "hdbscan")],
            proxy=Component.resolve(catalog, "reducers", "counting"),
        )
        results = execute([emb], comps, RunRequest(seeds=[0, 1]), run_id="t", cache=ArtifactCache(tmp_path))
    assert len(results) == 6 and all(r.ok for r in results)
    assert CountingReducer.fits == expected_fits


def test_embedding_computed_once_per_run():
    MeanStd.calls = 0
    with zsbench.registered(throwaway_plugin(), "throwaway"):
        out = zsbench.run(
            "mean-std", "blobs", clusterers=["kmeans", "agglomerative"], reducer="none", seeds=3, store=False
        )
    assert len(out.results) == 6 and MeanStd.calls == 1


def test_failing_clusterer_is_recorded_and_the_grid_completes(tmp_path):
    store = tmp_path / "r.sqlite"
    with zsbench.registered(throwaway_plugin(), "throwaway"):
        out = zsbench.run("mean-std", "blobs", clusterers=["exploding", "kmeans"], reducer="none", seeds=2, store=store)
    assert [(r.clusterer, r.status) for r in out.results] == [
        ("exploding", "failed"),
        ("kmeans", "ok"),
        ("exploding", "failed"),
        ("kmeans", "ok"),
    ]
    assert out.failed[0].error == "clusterer exploding failed: RuntimeError: boom"
    stored = zsbench.ResultStore(store).results()
    # stages run here (registered in code) are stored first, as soon as they are done
    assert {(r.clusterer, r.seed): r.status for r in stored} == {
        ("exploding", 0): "failed",
        ("kmeans", 0): "ok",
        ("exploding", 1): "failed",
        ("kmeans", 1): "ok",
    }


def _embed(x, y, **kw):
    return zsbench.run_embeddings(
        x, y, encoder="e", dataset="d", clusterers=["kmeans"], reducer="none", seeds=1, store=False, **kw
    )


@pytest.mark.parametrize(
    "x, y, message",
    [
        (np.array([[0.0, np.nan], [1, 1], [2, 2]]), [0, 1, 1], "1 embeddings contain NaN or Inf"),
        (np.array([[0.0, np.inf], [1, 1], [2, 2]]), [0, 1, 1], "first rows: 0"),
        (np.zeros((3, 2, 2)), [0, 1, 1], "must be a 2-d"),
        (np.zeros((4, 2)), [0, 1, 1], "4 embeddings but 3 labels"),
        (np.zeros((4, 2)), [1, 1, 1, 1], "found 1 distinct label"),
        (np.zeros((3, 2)), [0, 1, 2], "k=3 classes for 3 samples"),
        (np.array([["a", "b"], ["c", "d"], ["e", "f"]]), [0, 1, 1], "are not numbers"),
    ],
)
def test_unscorable_inputs_get_a_clear_error(x, y, message):
    with pytest.raises(InvalidInputError, match=message.replace("(", r"\(")):
        _embed(x, np.array(y))


def test_missing_labels_are_left_out_not_made_a_class():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.1, (10, 2)), rng.normal(5, 0.1, (10, 2)), rng.normal(10, 0.1, (5, 2))])
    y = np.array([0.0] * 10 + [1.0] * 10 + [np.nan] * 5)
    out = _embed(x, y)
    r = out.results[0]
    assert r.metrics["n_samples"] == 20 and r.metrics["n_classes"] == 2
    assert r.config["dataset"]["n_missing_labels"] == 5
    assert r.ami == pytest.approx(1.0)


def test_bad_component_option_fails_before_any_work():
    with pytest.raises(zsbench.ZsbenchError, match="kmeans:bogus=1: Invalid parameter 'bogus'"):
        zsbench.run_embeddings(
            np.zeros((4, 2)),
            np.array([0, 0, 1, 1]),
            encoder="e",
            dataset="d",
            clusterers=["kmeans:bogus=1"],
            seeds=1,
            store=False,
        )


@pytest.mark.parametrize("option", ["kmeans:n_clusters=3", "kmeans:random_state=4"])
def test_options_cannot_override_what_the_protocol_sets(option):
    with pytest.raises(zsbench.ZsbenchError, match="set by the protocol"):
        zsbench.run_embeddings(
            np.zeros((4, 2)),
            np.array([0, 0, 1, 1]),
            encoder="e",
            dataset="d",
            clusterers=[option],
            seeds=1,
            store=False,
        )


def test_component_options_reach_the_estimator():
    x = np.random.default_rng(0).normal(size=(30, 4))
    out = zsbench.run_embeddings(
        x,
        np.repeat([0, 1, 2], 10),
        encoder="e",
        dataset="d",
        clusterers=["kmeans:max_iter=7"],
        reducer="pca:n_components=0.9",
        seeds=1,
        store=False,
    )
    r = out.results[0]
    assert r.clusterer == "kmeans:max_iter=7" and r.reducer == "pca:n_components=0.9"
    assert r.config["clusterer"]["params"]["max_iter"] == 7
    assert r.config["reducer"]["params"]["n_components"] == 0.9


class Grumbling(BaseEstimator):
    """Clusters by the sign of the first feature, warning as it goes."""

    def fit_predict(self, x):
        import warnings

        warnings.warn("did not converge", UserWarning, stacklevel=1)
        return (np.asarray(x)[:, 0] > 0).astype(int)


@zsbench.hookimpl
def _register_grumbling(register):
    register("grumbling", Grumbling)


def test_library_warnings_are_recorded_with_the_result(recwarn):
    import types

    x = np.concatenate([np.full((10, 2), -1.0), np.full((10, 2), 1.0)])
    plugin = types.SimpleNamespace(register_clusterers=_register_grumbling)
    with zsbench.registered(plugin, "grumbling"):
        out = zsbench.run_embeddings(
            x + np.random.default_rng(0).normal(0, 0.01, x.shape),
            np.repeat([0, 1], 10),
            encoder="e",
            dataset="d",
            clusterers=["grumbling"],
            reducer="none",
            seeds=1,
            store=False,
        )
    recorded = out.results[0].config["warnings"]
    assert "cluster: UserWarning: did not converge" in recorded
    # 20 samples are fewer than UMAP's 30 neighbours: the proxy space says so, and it is kept
    assert any(w.startswith("proxy: UserWarning: n_neighbors is larger") for w in recorded)
    assert not [w for w in recwarn if "did not converge" in str(w.message)]  # not re-emitted
