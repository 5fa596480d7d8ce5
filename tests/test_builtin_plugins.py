"""The built-in encoder, dataset, reducers and clusterers do what the protocol says."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from zsbench.core.catalog import build_catalog
from zsbench.plugins._estimators import FractionalHDBSCAN, FractionalSklearnHDBSCAN, ScaledAgglomerative, ZScorePCA
from zsbench.plugins.raw_pixels import RawPixels


class Images(list):
    labels = None
    info: dict = {}


def _embed(images):
    return np.concatenate(list(RawPixels().embed(Images(images))))


def test_raw_pixels_resizes_large_images_to_32_and_keeps_small_ones_native():
    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 255, (50, 40, 3), dtype=np.uint8))
    assert _embed([rgb]).shape == (1, 32 * 32 * 3)  # shorter side to 32, centre crop
    grey = Image.fromarray(np.zeros((28, 28), np.uint8))
    assert _embed([grey, grey]).shape == (2, 28 * 28)  # MNIST keeps 28x28, one channel
    white = Image.fromarray(np.full((8, 8), 255, np.uint8))
    assert _embed([white]).max() == pytest.approx(1.0)  # scaled to [0, 1]


def test_raw_pixels_resizes_mixed_native_sizes_to_the_first_images_shape():
    small = [Image.fromarray(np.zeros((8, 8), np.uint8)), Image.fromarray(np.zeros((9, 9), np.uint8))]
    assert _embed(small).shape == (2, 64)


def test_digits_dataset_is_the_full_bundled_set():
    ds = build_catalog().get("datasets", "digits").create()
    assert len(ds) == 1797 and len(np.unique(ds.labels)) == 10
    assert ds[0].mode == "L" and ds[0].size == (8, 8)
    assert ds.info["n_classes"] == 10
    # read from scikit-learn's bundled file without importing it: exactly what load_digits gives
    from sklearn.datasets import load_digits

    bunch = load_digits()
    assert np.array_equal(ds.labels, bunch.target)
    assert np.array_equal(np.asarray(ds[5]), np.round(bunch.images[5] * (255.0 / 16.0)).astype(np.uint8))


def test_pca_zscores_first_and_zeroes_constant_dimensions():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(0, 1000, 200), rng.normal(0, 1, 200), np.full(200, 7.0)])
    z = ZScorePCA(n_components=2).fit_transform(x)
    # after z-scoring, the 1000x larger dimension no longer dominates: both carry ~equal variance
    ratio = ZScorePCA(n_components=2).fit(x).pca_.explained_variance_ratio_
    assert ratio[0] < 0.6 and z.shape == (200, 2)
    assert np.isfinite(z).all()


def test_pca_variance_fraction_keeps_enough_components():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 10)) @ rng.normal(size=(10, 10))
    pca = ZScorePCA(n_components=0.9)
    z = pca.fit_transform(x)
    assert pca.explained_variance_ >= 0.9 and z.shape[1] < 10
    with pytest.raises(ValueError, match="variance fraction"):
        ZScorePCA(n_components=1.5).fit_transform(x)


def test_agglomerative_without_k_is_invariant_to_scale_and_dimension_count():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 5, (4, 3))
    x = np.concatenate([c + rng.normal(0, 0.5, (30, 3)) for c in centres])
    labels = ScaledAgglomerative().fit_predict(x)
    assert np.array_equal(labels, ScaledAgglomerative().fit_predict(x * 1000.0))
    # padding with copies of the dimensions multiplies distances by sqrt(2): corrected by sqrt(d)
    assert np.array_equal(labels, ScaledAgglomerative().fit_predict(np.hstack([x, x])))


def test_hdbscan_caps_cluster_size_at_a_fraction_of_n():
    model = FractionalHDBSCAN().fit(np.random.default_rng(0).normal(size=(200, 2)))
    assert model.max_cluster_size_ == 40


def test_hdbscan_package_agrees_with_sklearn_hdbscan_on_digits_umap50(digits_umap50):
    """The study used scikit-learn's HDBSCAN; zsbench uses the hdbscan package."""
    from sklearn.cluster import HDBSCAN
    from sklearn.metrics import adjusted_mutual_info_score

    z, y = digits_umap50
    ours = FractionalHDBSCAN().fit_predict(z)
    theirs = HDBSCAN(
        min_cluster_size=5,
        min_samples=None,
        max_cluster_size=round(0.2 * len(z)),
        metric="euclidean",
        cluster_selection_method="eom",
        alpha=1.0,
        cluster_selection_epsilon=0.0,
        allow_single_cluster=False,
    ).fit_predict(z)
    agreement = adjusted_mutual_info_score(ours, theirs)
    assert agreement > 0.95, agreement
    # and both score the digits about the same against the truth
    assert adjusted_mutual_info_score(y, ours) == pytest.approx(adjusted_mutual_info_score(y, theirs), abs=0.03)


def test_hdbscan_sklearn_is_scikit_learns_hdbscan_called_as_the_study_calls_it(digits_umap50, tmp_path):
    """The study protocol's HDBSCAN: the study's cluster.py:450-464, on a read-only cache memmap."""
    from sklearn.cluster import HDBSCAN

    z, _ = digits_umap50
    study = HDBSCAN(
        min_cluster_size=2, max_cluster_size=round(0.2 * len(z)), metric="manhattan", cluster_selection_method="eom"
    ).fit_predict(z)
    np.save(tmp_path / "z.npy", np.asarray(z, dtype=np.float64))
    mapped = np.load(tmp_path / "z.npy", mmap_mode="r")
    ours = FractionalSklearnHDBSCAN(min_cluster_size=2, metric="manhattan").fit(mapped)
    assert ours.max_cluster_size_ == round(0.2 * len(z)) and np.array_equal(ours.labels_, study)
