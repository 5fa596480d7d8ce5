"""A subsample's embedding is taken from the cached embedding of the whole dataset (same encoder identity,
same samples) instead of embedding again, and nothing downstream can tell: same keys, same scores."""

from __future__ import annotations

import types

import numpy as np
import pytest

import zsbench
from zsbench.storage.cache import ArtifactCache

N, CLASSES, MISSING = 48, 4, (5, 17, 30)  # some images without a label: the full selection is not 0..n-1


class Dots:
    """Tiny grey images whose brightness follows the class; a few have no label; ids name each image."""

    def __init__(self):
        rng = np.random.default_rng(0)
        self.labels = np.array([None if i in MISSING else f"c{i % CLASSES}" for i in range(N)], dtype=object)
        base = 30 + 60 * (np.arange(N) % CLASSES)
        self._pixels = np.clip(base[:, None, None] + rng.integers(-9, 10, (N, 4, 4)), 0, 255).astype(np.uint8)
        self.ids = [f"dot-{i:02d}.png" for i in range(N)]
        self.info = {"source": "tests", "n_classes": CLASSES}

    def __len__(self):
        return N

    def __getitem__(self, i):
        from PIL import Image

        return Image.fromarray(self._pixels[i])


class Counting:
    """Pixels times ``scale``, each image on its own (no batch statistics); counts the images it embeds."""

    images = 0

    def __init__(self, scale: float = 1.0):
        self.scale = scale
        self.identity = {"name": "counting", "scale": scale}

    def embed(self, dataset):
        for start in range(0, len(dataset), 7):  # batches that straddle any subsample's rows
            rows = [
                np.asarray(dataset[i], dtype=np.float32).ravel() * self.scale
                for i in range(start, min(start + 7, len(dataset)))
            ]
            type(self).images += len(rows)
            yield np.stack(rows)


@zsbench.hookimpl
def register_encoders(register):
    register("counting", Counting, description="counts the images it embeds")


@zsbench.hookimpl
def register_datasets(register):
    register("dots", Dots, description="tiny labelled images")


PLUGIN = types.SimpleNamespace(register_encoders=register_encoders, register_datasets=register_datasets)


@pytest.fixture
def plugin():
    with zsbench.registered(PLUGIN, "subsample-reuse"):
        yield
    Counting.images = 0


def _run(cache, encoder="counting", max_samples=None, **extra):
    Counting.images = 0
    return zsbench.run(
        encoder,
        "dots",
        clusterers=["kmeans"],
        reducer="none",
        seeds=1,
        store=False,
        cache=cache,
        max_samples=max_samples,
        **extra,
    )


def _embeddings(cache) -> dict[str, np.ndarray]:
    cache = ArtifactCache(cache)
    return {e.key: np.asarray(cache.get("embed", e.key)) for e in cache.entries() if e.stage == "embed"}


def test_a_subsample_after_a_full_run_embeds_nothing_and_matches_a_fresh_one(plugin, tmp_path):
    full = _run(tmp_path / "a")
    assert Counting.images == N - len(MISSING)
    (whole_key,) = _embeddings(tmp_path / "a")

    taken = _run(tmp_path / "a", max_samples=12)
    assert Counting.images == 0  # the rows came from the full embedding
    (row,) = taken.results
    assert row.config["embedding_rows_of"] == whole_key and row.config["embedding_reused"] is True
    assert row.config["dataset"]["max_samples"] == 12 and row.metrics["n_samples"] == 12

    fresh = _run(tmp_path / "b", max_samples=12)
    assert Counting.images == 12  # no full embedding there: only the subsample is embedded
    (made,) = fresh.results
    assert "embedding_rows_of" not in made.config and made.config["embedding_reused"] is False
    # the same embedding under the same key, whichever way its rows were obtained
    (sub_key,) = _embeddings(tmp_path / "b")
    embedded = _embeddings(tmp_path / "a")
    assert set(embedded) == {whole_key, sub_key}
    np.testing.assert_array_equal(embedded[sub_key], _embeddings(tmp_path / "b")[sub_key])
    # and the same results: keys (stage and result), scores, the samples they were made on
    assert row.config["artifacts"] == made.config["artifacts"]
    assert row.metrics == made.metrics
    assert row.config["dataset"] == made.config["dataset"]
    assert full.results[0].config["artifacts"]["result"] != row.config["artifacts"]["result"]

    again = _run(tmp_path / "a", max_samples=12)  # now the subsample's own entry: still honest about its rows
    assert Counting.images == 0 and again.results[0].config["embedding_rows_of"] == whole_key


def test_a_full_run_with_skip_bad_that_skipped_nothing_serves_subsamples_too(plugin, tmp_path):
    _run(tmp_path, skip_bad=True)
    (whole_key,) = _embeddings(tmp_path)
    taken = _run(tmp_path, max_samples=10)
    assert Counting.images == 0 and taken.results[0].config["embedding_rows_of"] == whole_key


def test_another_encoder_identity_does_not_reuse_the_full_embedding(plugin, tmp_path):
    _run(tmp_path)
    other = _run(tmp_path, encoder="counting:scale=2.0", max_samples=12)
    assert Counting.images == 12
    assert "embedding_rows_of" not in other.results[0].config
    again = _run(tmp_path, max_samples=12)  # the first identity's full embedding still serves its own
    assert Counting.images == 0 and "embedding_rows_of" in again.results[0].config


def test_no_full_embedding_is_made_to_serve_a_subsample(plugin, tmp_path):
    _run(tmp_path, max_samples=12)
    assert Counting.images == 12
    assert [len(x) for x in _embeddings(tmp_path).values()] == [12]
