"""Weighted kNN accuracy of embeddings: the study's probe, contrasted with clustering AMI.

It follows DINO's ``knn_classifier`` as the study ran it (``zs_ssl_probing/eval_knn.py``): train and test
embeddings are L2-normalised (a zero row stays zero, as torch's ``normalize`` with eps 1e-12 leaves it);
similarity is the cosine; every test sample takes its k most similar train samples, each voting for its
label with weight ``exp(sim / T)``; the prediction is the label with the largest summed vote, and the
score is the top-1 accuracy over the test samples.

Labels of any comparable type are mapped to codes over the union of train and test labels, as the
study's ``relabel`` does, so a test label absent from the train set is never predicted: it counts wrong.

Memory stays bounded: test rows are scored in chunks, so only a ``chunk x n_train`` block of
similarities exists at a time, never the full test x train matrix.
"""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Real

import numpy as np

from zsbench.plugin.errors import InvalidInputError

DEFAULT_KS = (10, 20, 100, 200)
DEFAULT_TEMPERATURE = 0.07
# Bytes the per-chunk work arrays may take (similarities, the argpartition indices, a tie mask, votes).
DEFAULT_MEMORY_BUDGET = 256 * 2**20
NORM_EPS = 1e-12  # torch.nn.functional.normalize's default, which the study used


def knn_accuracy(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    ks: Iterable[int] = DEFAULT_KS,
    temperature: float = DEFAULT_TEMPERATURE,
    chunk: int | None = None,
    *,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> dict[int, float]:
    """Top-1 accuracy (a fraction in [0, 1]) of the weighted kNN classifier, for each k in ``ks``.

    - A k larger than the train set is clipped to it (every train sample votes); the result is still keyed
      by the k asked for. (The study's torch ``topk`` would have raised instead.)
    - Similarities are computed in float32, or in float64 when either embedding array is float64; the
      votes are summed in float64. Weights are computed as ``exp((sim - max_sim) / T)``: the same ranking
      as ``exp(sim / T)`` (a per-row positive factor), but a small T cannot overflow.
    - Ties, deterministically: among train samples of equal similarity the lower train index is the
      nearer neighbour (so it is the one kept at the k-th place); among labels of equal summed vote the
      smallest label (in sorted order) is predicted.
    - ``chunk`` is the number of test rows scored at a time; None chooses it from ``memory_budget`` bytes.
    """
    train_x, test_x = check_embeddings(train_x, test_x)
    train_codes, test_codes, n_classes = _label_codes(train_y, test_y, len(train_x), len(test_x))
    predicted = predict_codes(train_x, train_codes, n_classes, test_x, ks, temperature, chunk, memory_budget)
    return {k: int(np.count_nonzero(pred == test_codes)) / len(test_x) for k, pred in predicted.items()}


def knn_predict(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    ks: Iterable[int] = DEFAULT_KS,
    temperature: float = DEFAULT_TEMPERATURE,
    chunk: int | None = None,
    *,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> dict[int, np.ndarray]:
    """The predicted label of every test sample, for each k in ``ks`` (the rules of ``knn_accuracy``)."""
    train_x, test_x = check_embeddings(train_x, test_x)
    classes, train_codes, _, n_classes = _unique_codes(train_y, None, len(train_x), 0)
    predicted = predict_codes(train_x, train_codes, n_classes, test_x, ks, temperature, chunk, memory_budget)
    return {k: classes[pred] for k, pred in predicted.items()}


def predict_codes(
    train_x: np.ndarray,
    train_codes: np.ndarray,
    n_classes: int,
    test_x: np.ndarray,
    ks: Iterable[int],
    temperature: float,
    chunk: int | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> dict[int, np.ndarray]:
    """Predicted label codes (0..n_classes-1) per k, from checked embeddings and integer train codes."""
    ks = _check_ks(ks)
    temperature = _check_temperature(temperature)
    dtype = np.float64 if np.float64 in (train_x.dtype, test_x.dtype) else np.float32
    n_train, n_test = len(train_x), len(test_x)
    if chunk is None:
        chunk = chunk_rows(n_train, n_classes, np.dtype(dtype).itemsize, memory_budget)
    elif isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise InvalidInputError(f"chunk {chunk!r} is not a positive whole number of test rows")
    chunk = int(chunk)

    train_n = normalise(train_x, dtype)
    kmax = min(max(ks), n_train)
    predicted = {k: np.empty(n_test, dtype=np.intp) for k in ks}
    for start in range(0, n_test, chunk):
        block = normalise(test_x[start : start + chunk], dtype)
        sims, idx = nearest(block @ train_n.T, kmax)
        for k in ks:
            kk = min(k, n_train)
            predicted[k][start : start + len(block)] = weighted_vote(
                sims[:, :kk], train_codes[idx[:, :kk]], n_classes, temperature
            )
    return predicted


def chunk_rows(n_train: int, n_classes: int, itemsize: int, budget: int = DEFAULT_MEMORY_BUDGET) -> int:
    """Test rows per chunk so that the chunk's work arrays fit in ``budget`` bytes (at least 1 row)."""
    # per test row: a similarity row, argpartition's int64 index row, a bool tie-mask row, float64 votes
    per_row = n_train * (itemsize + 8 + 1) + n_classes * 8
    return max(1, int(budget) // per_row)


def normalise(x: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """Rows divided by their L2 norm (at least ``NORM_EPS``, so a zero row stays zero), as a ``dtype`` copy."""
    out: np.ndarray = np.array(x, dtype=dtype)
    # norms summed in float64 without a float64 copy of the matrix (the train set may be large)
    norms = np.sqrt(np.einsum("ij,ij->i", out, out, dtype=np.float64))
    out /= np.maximum(norms, NORM_EPS).astype(dtype)[:, None]
    return out


def nearest(sim: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest similarities of each row and their column indices, nearest first.

    Equal similarities order by lower index, also at the k-th place (which of several tied columns
    is kept), so the result does not depend on argpartition's internal order.
    """
    rows, n = sim.shape
    if k < n:
        idx = np.argpartition(sim, n - k, axis=1)[:, n - k :]
        vals = np.take_along_axis(sim, idx, axis=1)
        threshold = vals.min(axis=1)
        # rows where more columns reach the k-th value than fit: argpartition chose among them arbitrarily
        tied = np.flatnonzero(np.count_nonzero(sim >= threshold[:, None], axis=1) > k)
        for r in tied:
            above = np.flatnonzero(sim[r] > threshold[r])
            at = np.flatnonzero(sim[r] == threshold[r])[: k - len(above)]
            idx[r] = np.concatenate([above, at])
            vals[r] = sim[r, idx[r]]
    else:
        idx = np.broadcast_to(np.arange(n), (rows, n))
        vals = sim
    order = np.lexsort((idx, -vals), axis=1)  # similarity descending, then index ascending
    return np.take_along_axis(vals, order, axis=1), np.take_along_axis(idx, order, axis=1)


def weighted_vote(sims: np.ndarray, codes: np.ndarray, n_classes: int, temperature: float) -> np.ndarray:
    """The label code with the largest ``exp(sim / T)``-weighted vote per row (smallest code on a tie).

    ``sims`` must be sorted descending along each row (as ``nearest`` returns them).
    """
    rows = len(sims)
    shifted = sims.astype(np.float64) - sims[:, :1].astype(np.float64)
    weights = np.exp(shifted / temperature)
    flat = (np.arange(rows)[:, None] * n_classes + codes).ravel()
    votes = np.bincount(flat, weights=weights.ravel(), minlength=rows * n_classes)
    return votes.reshape(rows, n_classes).argmax(axis=1)


def check_embeddings(train_x: np.ndarray, test_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both embedding arrays as 2-d finite numeric arrays of the same width, or a one-line error."""
    train_x, test_x = _embeddings(train_x, "train embeddings"), _embeddings(test_x, "test embeddings")
    if train_x.shape[1] != test_x.shape[1]:
        raise InvalidInputError(
            f"train embeddings have {train_x.shape[1]} dimensions but test embeddings {test_x.shape[1]}; "
            "embed both partitions with the same encoder"
        )
    return train_x, test_x


def _embeddings(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise InvalidInputError(f"{name} have dtype {x.dtype}; they must be numbers (a float or int array)")
    if x.ndim != 2:
        raise InvalidInputError(f"{name} have shape {x.shape}; they must be 2-d (samples x dimensions)")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise InvalidInputError(f"{name} have shape {x.shape}; they need at least one sample and one dimension")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = int(np.count_nonzero(~np.isfinite(x).all(axis=1)))
        raise InvalidInputError(f"{name} have {bad} row(s) with NaN or Inf; fix or drop them before scoring")
    return x


def _label_codes(train_y, test_y, n_train: int, n_test: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Codes 0..C-1 over the sorted union of train and test labels, as the study's ``relabel``."""
    _, train_codes, test_codes, n_classes = _unique_codes(train_y, test_y, n_train, n_test)
    return train_codes, test_codes, n_classes


def _unique_codes(train_y, test_y, n_train: int, n_test: int):
    """(classes, train codes, test codes, number of classes); ``test_y`` None for train labels alone."""
    given = [("train labels", np.asarray(train_y), n_train)]
    if test_y is not None:
        given.append(("test labels", np.asarray(test_y), n_test))
    for name, y, n in given:
        if y.ndim != 1 or len(y) != n:
            raise InvalidInputError(f"{name} have shape {y.shape}; expected ({n},), one label per embedding")
        if y.dtype.kind == "f" and np.isnan(y).any():
            raise InvalidInputError(f"{name} contain NaN; every sample needs a label")
    try:
        classes, codes = np.unique(np.concatenate([y for _, y, _ in given]), return_inverse=True)
    except TypeError as exc:  # e.g. str mixed with int in object arrays
        raise InvalidInputError(f"labels cannot be compared with each other ({exc}); use one label type") from None
    codes = codes.reshape(-1).astype(np.intp)
    return classes, codes[:n_train], codes[n_train:], len(classes)


def _check_ks(ks: Iterable[int]) -> tuple[int, ...]:
    try:
        ks = tuple(ks)
    except TypeError:
        raise InvalidInputError(f"ks {ks!r} is not a list of neighbour counts") from None
    if not ks:
        raise InvalidInputError("ks is empty; give at least one neighbour count, e.g. 10")
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InvalidInputError(f"k {k!r} is not a positive whole number of neighbours")
    return tuple(dict.fromkeys(int(k) for k in ks))


def _check_temperature(temperature: float) -> float:
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, Real)
        or not (np.isfinite(temperature) and temperature > 0)
    ):
        raise InvalidInputError(f"temperature {temperature!r} must be a positive finite number (the study's is 0.07)")
    return float(temperature)
