"""Issue 11, cases 18 and 9: a run checks what it can before any work, fails when nothing
succeeded, and names the corrupt cache entries it recomputed."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

import zsbench
from zsbench.cli.app import app
from zsbench.core.catalog import build_catalog
from zsbench.core.protocol import Component
from zsbench.engine.refusals import min_samples
from zsbench.plugin.errors import InvalidInputError
from zsbench.storage.cache import ArtifactCache


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def blobs(n_per_class: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """Three tight blobs in 5 dims: fewer samples than UMAP-50 needs as the reducer (the proxy
    space still fits: its graph falls apart into components, each laid out on its own)."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(c, 0.2, (n_per_class, 5)) for c in (0, 3, 6)])
    return x, np.repeat([7, 8, 9], n_per_class)


@pytest.fixture
def npz(tmp_path):
    x, y = blobs()
    path = tmp_path / "blobs.npz"
    np.savez(path, embeddings=x, labels=y)
    return path


def _one_line(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output, result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


@pytest.mark.parametrize(
    "reducer, clusterer, fragment",
    [
        ("pca:n_components=-1", "kmeans", "pca:n_components=-1: n_components=-1 must be positive"),
        ("none", "kmeans:max_iter='x'", "The 'max_iter' parameter of KMeans"),
        ("none", "kmeans:n_init=0", "The 'n_init' parameter of KMeans"),
    ],
)
def test_bad_estimator_options_are_refused_before_any_work(tmp_path, reducer, clusterer, fragment):
    x, y = blobs()
    cache = tmp_path / "cache"
    with pytest.raises(InvalidInputError, match="change or drop that option") as caught:
        zsbench.run_embeddings(
            x,
            y,
            encoder="e",
            dataset="d",
            reducer=reducer,
            clusterers=[clusterer],
            seeds=1,
            store=tmp_path / "r.sqlite",
            cache=cache,
        )
    assert fragment in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "r.sqlite").exists() or zsbench.ResultStore(tmp_path / "r.sqlite").results() == []
    assert not cache.exists() or list(ArtifactCache(cache).entries()) == []  # nothing embedded or reduced


def test_a_bare_word_option_is_refused_on_the_command_line(npz):
    _one_line(
        cli("run", "--embeddings", npz, "--reducer", "none", "--clusterer", "kmeans:max_iter=x", "--seeds", "1"),
        "kmeans:max_iter='x'",
        "'max_iter' parameter",
    )


def test_umap_needs_n_components_plus_two_samples():
    umap = Component.resolve(build_catalog(), "reducers", "umap")
    assert min_samples(umap.build(seed=0)) == 52  # spectral init: 51 eigenvectors need 52 samples
    assert min_samples(Component.resolve(build_catalog(), "reducers", "none").build(seed=0)) == 2


def test_too_few_samples_for_umap_are_refused_before_any_work(tmp_path, npz):
    x, y = blobs()
    with pytest.raises(InvalidInputError) as caught:
        zsbench.run_embeddings(
            x,
            y,
            encoder="e",
            dataset="d",
            reducer="umap",
            clusterers=["kmeans"],
            seeds=1,
            store=False,
            cache=tmp_path / "cache",
        )
    assert str(caught.value) == (
        "45 samples are too few for reducer umap (needs at least 52); use more samples or --reducer none"
    )
    assert list(ArtifactCache(tmp_path / "cache").entries()) == []
    # a dataset run is refused after loading, before embedding
    with pytest.raises(InvalidInputError, match="30 samples are too few for reducer umap"):
        zsbench.run(
            "raw-pixels",
            "digits",
            clusterers=["kmeans"],
            seeds=1,
            max_samples=30,
            store=False,
            cache=tmp_path / "cache",
        )
    assert list(ArtifactCache(tmp_path / "cache").entries()) == []
    _one_line(
        cli("run", "--embeddings", npz, "--clusterer", "kmeans", "--seeds", "1"),
        "45 samples are too few for reducer umap (needs at least 52)",
    )


def test_a_run_where_nothing_succeeded_exits_1(npz):
    out = cli(
        "run", "--embeddings", npz, "--reducer", "none", "--seeds", "1", "--clusterer", "spectral:n_neighbors=60"
    )  # valid, but more neighbours than samples
    assert out.exit_code == 1, out.output
    assert "failed spectral:n_neighbors=60 seed 0" in out.output
    assert "no result succeeded" in out.output and "0 results in" in out.output


def _artifact(root, key: str):
    """The cache entry behind a result's artifact key (found through the cache's own listing)."""
    [entry] = [e for e in ArtifactCache(root).entries() if e.key == key]
    return entry


def test_corrupt_cache_entries_are_named_and_recomputed(tmp_path, npz):
    x, y = blobs()
    cache = tmp_path / "cache"
    kw = dict(encoder="e", dataset="d", reducer="none", clusterers=["kmeans"], seeds=1, store=False, cache=cache)
    first = zsbench.run_embeddings(x, y, **kw)
    assert first.recomputed == []
    entry = _artifact(cache, first.results[0].config["artifacts"]["reduce"])
    data = bytearray(entry.path.read_bytes())
    data[-3] ^= 0x01  # same size, other bytes
    entry.path.write_bytes(bytes(data))

    again = zsbench.run_embeddings(x, y, **kw)
    assert again.recomputed == [("reduce", entry.key, "checksum mismatch")]
    assert again.computed["reduce"] == 1 and again.results[0].metrics == first.results[0].metrics
    assert ArtifactCache(cache).verify(remove=False) == []  # recomputed and stored again

    # the command line names it (a fresh store each time, so the cache is read, not the stored result)
    args = ["run", "--embeddings", npz, "--reducer", "none", "--clusterer", "kmeans", "--seeds", "1", "--cache", cache]
    assert cli(*args, "--store", tmp_path / "a.sqlite").exit_code == 0
    [stored] = zsbench.ResultStore(tmp_path / "a.sqlite").results()
    entry = _artifact(cache, stored.config["artifacts"]["labels"])
    entry.path.write_bytes(entry.path.read_bytes()[:-10])
    out = cli(*args, "--store", tmp_path / "b.sqlite")
    assert out.exit_code == 0, out.output
    assert f"recomputed 1 corrupt cache entry: labels {entry.key[:12]} (size mismatch)" in out.output
    assert "1 results in" in out.output
    [redone] = zsbench.ResultStore(tmp_path / "b.sqlite").results()
    assert redone.metrics["ami"] == stored.metrics["ami"]
