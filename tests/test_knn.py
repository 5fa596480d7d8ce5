"""Weighted kNN accuracy: the study's DINO-style probe (cosine, top-k, exp(sim / 0.07) votes)."""

from __future__ import annotations

import numpy as np
import pytest

from zsbench.core.knn import chunk_rows, knn_accuracy, knn_predict
from zsbench.plugin.errors import InvalidInputError

T = 0.07


def unit(degrees: float) -> np.ndarray:
    a = np.deg2rad(degrees)
    return np.array([np.cos(a), np.sin(a)])


# Four train points on the unit circle and two test points, small enough to vote by hand.
TRAIN_X = np.array([unit(0), unit(10), unit(-10), unit(180)])
TRAIN_Y = np.array(["cat", "dog", "dog", "cat"])
# unnormalised on purpose: the scorer L2-normalises
TEST_X = np.array([3 * unit(3), 0.5 * unit(170)])
TEST_Y = np.array(["dog", "cat"])


def test_hand_computed_votes():
    # test point 0 at 3 degrees: cosines to the train points, and the exp(sim / T) weights by hand
    sims = np.cos(np.deg2rad([3, 7, 13, 177]))
    w = np.exp(sims / T)
    assert w[0] > w[1] > w[2]  # nearest is the cat at 0 degrees, then the dogs at 10 and -10
    assert w[1] + w[2] > w[0]  # ...but the two dogs outvote it at k=3
    # test point 1 at 170 degrees: 170, 160, 180 and 10 degrees from the train points; the cat at 180
    # is nearest, then the dog at 10 and the cat at 0; the near cat outweighs everything else
    w1 = np.exp(np.cos(np.deg2rad([170, 160, 180, 10])) / T)
    assert w1[3] > w1[1] > w1[0] > w1[2] and w1[3] > 1e6 * w1[1]

    predicted = knn_predict(TRAIN_X, TRAIN_Y, TEST_X, ks=(1, 3))
    assert predicted[1].tolist() == ["cat", "cat"]
    assert predicted[3].tolist() == ["dog", "cat"]
    assert knn_accuracy(TRAIN_X, TRAIN_Y, TEST_X, TEST_Y, ks=(1, 3)) == {1: 0.5, 3: 1.0}


def test_k_larger_than_train_set_is_clipped():
    # k=200 with 4 train points: all four vote, as k=4 does; the result keeps the k asked for
    got = knn_accuracy(TRAIN_X, TRAIN_Y, TEST_X, TEST_Y, ks=(4, 200))
    assert got == {4: 1.0, 200: 1.0}
    assert list(knn_accuracy(TRAIN_X, TRAIN_Y, TEST_X, TEST_Y)) == [10, 20, 100, 200]


def test_labels_of_any_type_and_test_only_classes():
    ints = knn_accuracy(TRAIN_X, [0, 1, 1, 0], TEST_X, [1, 0], ks=(1, 3))
    assert ints == knn_accuracy(TRAIN_X, TRAIN_Y, TEST_X, TEST_Y, ks=(1, 3))
    # a test label the train set never saw can never be predicted: it counts wrong, not an error
    assert knn_accuracy(TRAIN_X, TRAIN_Y, TEST_X, ["bird", "cat"], ks=(3,)) == {3: 0.5}


def test_ties_are_deterministic():
    # two train points at the same place: at k=1 the lower index is the nearer one
    train = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert knn_predict(train, ["b", "a", "a"], [[1.0, 0.2]], ks=(1,))[1].tolist() == ["b"]
    assert knn_predict(train, ["a", "b", "a"], [[1.0, 0.2]], ks=(1,))[1].tolist() == ["a"]
    # equal votes (k=2, equal similarities): the smallest label wins, whatever the train order
    assert knn_predict(train[:2], ["b", "a"], [[1.0, 0.0]], ks=(2,))[2].tolist() == ["a"]
    # a zero-norm row stays zero, as the study's normalize(eps=1e-12) leaves it: similarity 0 to all
    assert knn_predict(train, ["b", "b", "a"], [[0.0, 0.0]], ks=(3,))[3].tolist() == ["b"]


def clustered(rng, n, centres, spread):
    y = rng.integers(0, len(centres), n)
    return centres[y] + spread * rng.standard_normal((n, centres.shape[1])), y


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_agrees_with_scikit_learn(dtype):
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((5, 12))
    train_x, train_y = clustered(rng, 300, centres, 1.0)
    test_x, test_y = clustered(rng, 97, centres, 1.0)
    train_x, test_x = train_x.astype(dtype), test_x.astype(dtype)
    ks = (1, 10, 20, 100, 200)
    reference = {}
    for k in ks:
        clf = KNeighborsClassifier(
            n_neighbors=k, metric="cosine", algorithm="brute", weights=lambda d: np.exp((1 - d) / T)
        )
        reference[k] = clf.fit(train_x.astype(np.float64), train_y).predict(test_x.astype(np.float64))
    accuracies = {k: float(np.mean(reference[k] == test_y)) for k in ks}
    assert 0.3 < accuracies[10] < 0.95  # the clusters overlap: the votes matter
    for chunk in (1, 7, 97, 1000, None):
        predicted = knn_predict(train_x, train_y, test_x, ks=ks, chunk=chunk)
        for k in ks:
            # random continuous data has no exact ties; float32 may differ from sklearn's float64
            # only where two classes' votes agree to ~1e-6, which these data do not come near
            np.testing.assert_array_equal(predicted[k], reference[k], err_msg=f"k={k} chunk={chunk}")
        assert knn_accuracy(train_x, train_y, test_x, test_y, ks=ks, chunk=chunk) == accuracies


def test_memory_budget_sets_the_chunk():
    # 50,000 x 100,000 float32 similarities would be 20 GB: a chunk of rows keeps the block to the budget
    rows = chunk_rows(100_000, 1000, 4, budget=256 * 2**20)
    assert 100 <= rows <= 300 and rows * 100_000 * 4 < 256 * 2**20
    assert chunk_rows(10**9, 10, 8, budget=1) == 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"train_x": np.zeros((4, 3))}, "train embeddings have 3 dimensions but test embeddings 2"),
        ({"test_x": np.zeros(2)}, "test embeddings have shape (2,); they must be 2-d"),
        ({"train_x": np.zeros((0, 2)), "train_y": []}, "train embeddings have shape (0, 2)"),
        ({"train_x": np.array([[1.0, np.nan]] * 4)}, "train embeddings have 4 row(s) with NaN or Inf"),
        ({"test_x": np.array([[np.inf, 0.0], [1.0, 0.0]])}, "test embeddings have 1 row(s) with NaN or Inf"),
        ({"train_x": np.array([["a", "b"]] * 4)}, "train embeddings have dtype <U1; they must be numbers"),
        ({"train_y": ["cat", "dog"]}, "train labels have shape (2,); expected (4,)"),
        ({"test_y": [[0], [1]]}, "test labels have shape (2, 1); expected (2,)"),
        ({"test_y": [np.nan, 1.0]}, "test labels contain NaN"),
        ({"test_y": np.array([1, "cat"], dtype=object)}, "labels cannot be compared"),
        ({"ks": ()}, "ks is empty"),
        ({"ks": (10, 0)}, "k 0 is not a positive whole number"),
        ({"ks": (2.5,)}, "k 2.5 is not a positive whole number"),
        ({"ks": 10}, "ks 10 is not a list"),
        ({"temperature": 0}, "temperature 0 must be a positive finite number"),
        ({"temperature": float("nan")}, "temperature nan must be a positive finite number"),
        ({"chunk": 0}, "chunk 0 is not a positive whole number"),
    ],
)
def test_bad_input_is_a_one_line_error(kwargs, message):
    args = {"train_x": TRAIN_X, "train_y": TRAIN_Y, "test_x": TEST_X, "test_y": TEST_Y, **kwargs}
    with pytest.raises(InvalidInputError) as info:
        knn_accuracy(**args)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_many_ties_at_the_kth_place_keep_the_lowest_indices():
    # 40 train points in 4 places, labels cycling: with k=6 which tied points are kept decides the vote
    rng = np.random.default_rng(1)
    # axis-aligned unit vectors: every similarity is one exact product, so equal points tie exactly
    places = np.vstack([np.eye(3), -np.eye(3)[:1]])
    train_x = places[np.arange(40) % 4]
    train_y = rng.integers(0, 3, 40)
    test_x = places + 0.05 * rng.standard_normal((4, 3))
    sims = (test_x / np.linalg.norm(test_x, axis=1, keepdims=True)) @ (
        train_x / np.linalg.norm(train_x, axis=1, keepdims=True)
    ).T
    for k in (1, 6, 13):
        expected = []
        for row in sims:
            order = np.lexsort((np.arange(40), -row))[:k]  # similarity descending, then index ascending
            votes = np.bincount(train_y[order], weights=np.exp(row[order] / T), minlength=3)
            expected.append(votes.argmax())
        for chunk in (1, 3, None):
            assert knn_predict(train_x, train_y, test_x, ks=(k,), chunk=chunk)[k].tolist() == expected
