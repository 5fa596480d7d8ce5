"""Metrics against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zsbench.core.metrics import score, silhouette


def _score(y, pred, space=None):
    space = np.arange(len(y), dtype=float)[:, None] if space is None else space
    return score(
        np.array(y), np.array(pred), proxy_space=space, original_space=space, seed=0, silhouette_max_samples=10_000
    )


def test_identical_partitions_score_one_whatever_the_label_names():
    s = _score([0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 9, 9])
    assert s["ami"] == pytest.approx(1.0)
    assert s["ari"] == pytest.approx(1.0)
    assert s["nmi"] == pytest.approx(1.0)
    assert s["n_clusters"] == 3


def test_crossed_partition_hand_computed_ari_and_nmi():
    # contingency [[1,1],[1,1]]: sum C(nij,2)=0; rows and columns each give 2*C(2,2)=2;
    # expected index = 2*2/C(4,2) = 2/3; ARI = (0 - 2/3) / (2 - 2/3) = -0.5. MI = 0 so NMI = 0.
    s = _score([0, 0, 1, 1], [0, 1, 0, 1])
    assert s["ari"] == pytest.approx(-0.5)
    assert s["nmi"] == pytest.approx(0.0, abs=1e-12)
    assert s["homogeneity"] == pytest.approx(0.0, abs=1e-12)


def test_noise_counts_as_one_cluster_and_is_excluded_from_ami_clustered():
    y = [0, 0, 1, 1, 2, 2]
    pred = [-1, -1, 0, 0, 1, 1]  # the noise label happens to be exactly class 0
    s = _score(y, pred)
    assert s["ami"] == pytest.approx(1.0)  # noise as one cluster: a perfect partition
    assert s["n_clusters"] == 2  # noise is not a found cluster
    assert s["fraction_clustered"] == pytest.approx(4 / 6)
    assert s["ami_clustered"] == pytest.approx(1.0)

    s = _score(y, [-1, 0, -1, 0, 1, 1])  # noise mixes classes 0 and 1
    assert s["ami"] < 1.0
    assert s["fraction_clustered"] == pytest.approx(4 / 6)


def test_silhouette_hand_computed_on_a_line():
    # points 0,1 | 10,11. For 0: a=1, b=(10+11)/2=10.5, s=1-1/10.5; 1: a=1, b=(9+10)/2=9.5.
    space = np.array([[0.0], [1.0], [10.0], [11.0]])
    expected = np.mean([1 - 1 / 10.5, 1 - 1 / 9.5, 1 - 1 / 9.5, 1 - 1 / 10.5])
    value = silhouette(space, np.array([0, 0, 1, 1]), max_samples=100, seed=0)
    assert value == pytest.approx(expected)


def test_silhouette_undefined_for_one_cluster_or_all_singletons():
    space = np.arange(4.0)[:, None]
    assert silhouette(space, np.zeros(4, int), max_samples=100, seed=0) is None
    assert silhouette(space, np.arange(4), max_samples=100, seed=0) is None


def test_silhouette_subsamples_above_the_cap_and_stays_close():
    rng = np.random.default_rng(0)
    space = np.concatenate([rng.normal(0, 1, (300, 2)), rng.normal(8, 1, (300, 2))])
    labels = np.repeat([0, 1], 300)
    full = silhouette(space, labels, max_samples=10_000, seed=0)
    sampled = silhouette(space, labels, max_samples=200, seed=0)
    assert not math.isclose(full, sampled, abs_tol=1e-12)  # it really was estimated
    assert sampled == pytest.approx(full, abs=0.05)
