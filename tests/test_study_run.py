"""`zsbench run --protocol study`: each study encoder's own configuration per clusterer, kept apart from
the standard protocol's results in stores, boards and records."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

import zsbench
from zsbench.analysis.board import build
from zsbench.cli.app import app
from zsbench.core.study import load_study
from zsbench.plugin.errors import ZsbenchError
from zsbench.storage.store import ResultStore

from .helpers import digits_pixels


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A standard run (k-means only) and a study run of digits raw pixels (300 images, one seed) in one store."""
    root = tmp_path_factory.mktemp("study")
    x, y = digits_pixels()
    x, y = x[:300], y[:300]
    store, cache = root / "results.db", root / "cache"
    standard = zsbench.run_embeddings(
        x, y, encoder="raw-pixels", dataset="digits", clusterers=["kmeans"], seeds=1, store=store, cache=cache
    )
    study = zsbench.run_embeddings(
        x, y, encoder="raw-pixels", dataset="digits", seeds=1, store=store, cache=cache, protocol="study"
    )
    return standard, study, store, (x, y, cache, root)


def test_study_run_records_its_protocol_and_each_encoders_configuration(runs):
    _, study, _, _ = runs
    by = {load_study("1").slot(r.clusterer.split(":")[0]): r for r in study.results}
    assert sorted(by) == sorted(load_study("1").clusterers)
    assert {r.protocol_version for r in study.results} == {"study-1"}
    # raw pixels, as study-1.toml configures them
    ap = by["affinity-propagation"]
    assert ap.reducer == "pca:n_components=0.8" and ap.config["clusterer"]["params"]["damping"] == 0.85
    assert by["kmeans"].reducer == "pca:n_components=0.9" and by["spectral"].reducer == "none"
    assert by["spectral"].config["clusterer"]["params"]["n_neighbors"] == 10
    assert by["hdbscan"].reducer == "umap" and by["hdbscan"].config["clusterer"]["params"]["metric"] == "euclidean"
    assert by["hdbscan"].clusterer.startswith("hdbscan-sklearn:")  # the study's implementation, scikit-learn's
    assert by["agglomerative"].config["clusterer"]["params"]["metric"] == "cosine"
    # the proxy (silhouette) space stays the standard's UMAP-50
    assert {r.config["proxy_reducer"] for r in study.results} == {"umap"}
    for name in ("kmeans", "spectral", "affinity-propagation", "hdbscan"):
        assert by[name].ok, by[name].error


def test_pca_past_the_input_dims_fails_those_results_with_one_line_and_the_run_goes_on(runs):
    _, study, _, _ = runs
    failed = {load_study("1").slot(r.clusterer.split(":")[0]): r for r in study.failed}
    # study-1 reduces raw pixels to 200 PCA dims for agglomerative; digits have 64 (the study's own runs fail too)
    assert sorted(failed) == ["agglomerative", "agglomerative-no-k"]
    for r in failed.values():
        assert r.reducer == "pca:n_components=200" and "n_components" in r.error and "\n" not in r.error
    assert len(study.results) - len(study.failed) == 4


def test_a_shared_configuration_reuses_the_standard_fit_but_keeps_its_own_result(runs):
    standard, study, _, _ = runs
    hdbscan = next(r for r in study.results if r.clusterer.startswith("hdbscan"))
    # the same UMAP-50 fit of the same embedding is one artifact under either protocol
    assert hdbscan.config["artifacts"]["reduce"] == standard.results[0].config["artifacts"]["reduce"]


def test_boards_never_mix_the_protocols(runs):
    _, _, store, _ = runs
    with ResultStore(store) as db:
        results = db.results()
    default = build(results)
    assert default.protocol_version == "1" and {row.reducer for row in default.rows} == {"umap"}
    assert default.clusterers == ["kmeans"]
    study = build(results, protocol="study")
    assert study.protocol_version == "study-1" and len(study.rows) == 1
    assert study.clusterers == ["kmeans", "spectral", "affinity-propagation", "hdbscan"]
    out = CliRunner().invoke(app, ["leaderboard", "--store", str(store), "--protocol", "study", "-f", "json"])
    assert out.exit_code == 0 and '"protocol_version": "study-1"' in out.stdout


def test_study_results_never_make_a_record(runs):
    from zsbench.analysis.records import RecordError
    from zsbench.analysis.records.submission import make_record

    _, _, store, _ = runs
    with ResultStore(store) as db:
        with pytest.raises(RecordError, match="standard-protocol results"):
            make_record(db.results(), "raw-pixels", protocol="study")


def test_list_protocols_shows_both():
    out = CliRunner().invoke(app, ["list", "protocols"])
    assert out.exit_code == 0
    assert "standard-1" in out.stdout and "study-1" in out.stdout


def test_an_encoder_outside_the_study_is_one_line(runs, tmp_path):
    x, y, cache, _ = runs[3]
    with pytest.raises(ZsbenchError, match="not in protocol study-1.*raw-pixels"):
        zsbench.run_embeddings(
            x, y, encoder="my-model", dataset="digits", seeds=1, store=False, cache=cache, protocol="study"
        )
    path = tmp_path / "emb.npz"
    np.savez(path, embeddings=x, labels=y)
    out = CliRunner().invoke(app, ["run", "--protocol", "study", "--embeddings", str(path), "--name", "my-model"])
    assert out.exit_code == 1 and "not in protocol study-1" in out.output and len(out.output.splitlines()) == 1


def test_the_study_fixes_reducers_and_clusterer_settings_but_clusterers_narrow_by_name(runs, tmp_path):
    x, y, cache, _ = runs[3]
    for option in (["--reducer", "umap"], ["--clusterer", "kmeans:n_init=3"]):
        out = CliRunner().invoke(app, ["run", "--protocol", "study", "--encoder", "raw-pixels", *option])
        assert out.exit_code == 1 and "protocol study-1" in out.output and len(out.output.splitlines()) == 1
    narrowed = zsbench.run_embeddings(
        x,
        y,
        encoder="raw-pixels",
        dataset="digits",
        clusterers=["kmeans"],
        seeds=1,
        store=False,
        cache=cache,
        protocol="study",
    )
    assert [(r.reducer, r.clusterer) for r in narrowed.results] == [("pca:n_components=0.9", "kmeans")]
