"""scikit-learn estimators behind the built-in reducers and clusterers.

Imported only inside factories: it imports scikit-learn and hdbscan at module level. Each passes
scikit-learn's ``check_estimator`` (see tests/test_conformance.py for the checks that cannot apply):
input is validated as scikit-learn's own estimators validate it (2-d, finite, dense, real numbers,
``n_features_in_``), read-only memory maps from the artifact cache are accepted, and the input is
never modified.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # older releases validate through a method of the estimator

    def validate_data(estimator, X, **kwargs):
        return estimator._validate_data(X, **kwargs)


def zscore(x: np.ndarray) -> np.ndarray:
    """Per-dimension z-score fitted on ``x``; zero-variance dimensions become 0."""
    x = np.asarray(x, dtype=np.float64)
    centred = x - x.mean(axis=0)
    std = centred.std(axis=0)
    return np.divide(centred, std, out=np.zeros_like(centred), where=std > 0)


class Identity(TransformerMixin, BaseEstimator):
    """No reduction: cluster the embeddings as they are."""

    def fit(self, x, y=None):
        validate_data(self, x)  # sets n_features_in_; refuses 1-d, NaN/Inf, sparse and complex input
        return self

    def transform(self, x):
        check_is_fitted(self)
        return validate_data(self, x, reset=False)


class ZScorePCA(TransformerMixin, BaseEstimator):
    """Z-score each dimension, then PCA to ``n_components`` dims (int) or variance fraction (float)."""

    def __init__(self, n_components: int | float = 50, svd_solver: str = "full", random_state: int | None = None):
        self.n_components = n_components
        self.svd_solver = svd_solver
        self.random_state = random_state

    def fit_transform(self, x, y=None):
        from sklearn.decomposition import PCA

        x = validate_data(self, x, dtype=np.float64)
        n = self.n_components
        if isinstance(n, float) and not 0.0 < n < 1.0:
            raise ValueError(f"n_components={n}: a float is a variance fraction in (0, 1)")
        if isinstance(n, int) and not 1 <= n <= min(x.shape):
            raise ValueError(f"n_components={n}: must be between 1 and min(samples, features)={min(x.shape)}")
        # the z-score statistics are kept so that transform() applies the fitted scaling
        self.mean_ = x.mean(axis=0)
        self.scale_ = (x - self.mean_).std(axis=0)
        pca = PCA(n_components=n, svd_solver=self.svd_solver, whiten=False, random_state=self.random_state)
        z = pca.fit_transform(self._standardise(x))
        self.pca_ = pca
        self.explained_variance_ = float(pca.explained_variance_ratio_.sum())
        return z

    def fit(self, x, y=None):
        self.fit_transform(x)
        return self

    def transform(self, x):
        check_is_fitted(self)
        x = validate_data(self, x, dtype=np.float64, reset=False)
        return self.pca_.transform(self._standardise(x))

    def _standardise(self, x: np.ndarray) -> np.ndarray:
        """``zscore`` with the fitted statistics (zero-variance dimensions become 0)."""
        centred = x - self.mean_
        return np.divide(centred, self.scale_, out=np.zeros_like(centred), where=self.scale_ > 0)


# How distances grow with the dimension count d, per metric, as the study's cluster.py:593-612
# corrects for them; a metric in neither set (chebyshev, cosine, ...) is left as it is.
SQRT_D_METRICS = frozenset({"euclidean", "l2", "seuclidean"})
D_METRICS = frozenset({"l1", "cityblock", "manhattan", "braycurtis", "canberra"})


def dimension_divisor(metric: str, d: int) -> float:
    """What agglomerative-no-k divides its centred, scaled data by before measuring ``metric``."""
    if metric in SQRT_D_METRICS:
        return float(np.sqrt(d))
    return float(d) if metric in D_METRICS else 1.0


class ScaledAgglomerative(ClusterMixin, BaseEstimator):
    """Agglomerative clustering without k (ward by default), cut at a distance threshold.

    As in the study, the data are first centred and divided by the mean per-dimension standard
    deviation (one scale for all dimensions, so relative importance is kept), then divided by how
    ``metric``'s distances grow with the dimension count d: sqrt(d) for euclidean distances, d for
    l1-like ones, nothing for chebyshev, cosine and the rest (the study's cluster.py:566-612). So one
    threshold means the same at any scale and, for euclidean and l1 distances, any dimension count.
    """

    def __init__(self, distance_threshold: float = 2.0, linkage: str = "ward", metric: str = "euclidean"):
        self.distance_threshold = distance_threshold
        self.linkage = linkage
        self.metric = metric

    def fit(self, x, y=None):
        from sklearn.cluster import AgglomerativeClustering

        x = validate_data(self, x, dtype=np.float64, ensure_min_samples=2)
        centred = x - x.mean(axis=0)  # a new array: the input (maybe a read-only memmap) is left as it is
        scale = centred.std(axis=0).mean()
        scaled = centred / scale if scale > 0 else centred
        scaled /= dimension_divisor(self.metric, x.shape[1])
        model = AgglomerativeClustering(
            n_clusters=None,
            distance_threshold=self.distance_threshold,
            linkage=self.linkage,
            metric=self.metric,
            compute_full_tree=True,
            connectivity=None,
            compute_distances=False,
        )
        self.labels_ = model.fit_predict(scaled)
        self.model_ = model
        return self


class FractionalHDBSCAN(ClusterMixin, BaseEstimator):
    """HDBSCAN (the ``hdbscan`` package) whose largest cluster is a fraction of the sample count."""

    def __init__(
        self,
        min_cluster_size: int = 5,
        min_samples: int | None = None,
        max_cluster_fraction: float = 0.2,
        cluster_selection_method: str = "eom",
        metric: str = "euclidean",
        alpha: float = 1.0,
        cluster_selection_epsilon: float = 0.0,
        allow_single_cluster: bool = False,
        approx_min_span_tree: bool = True,
    ):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.max_cluster_fraction = max_cluster_fraction
        self.cluster_selection_method = cluster_selection_method
        self.metric = metric
        self.alpha = alpha
        self.cluster_selection_epsilon = cluster_selection_epsilon
        self.allow_single_cluster = allow_single_cluster
        self.approx_min_span_tree = approx_min_span_tree

    def fit(self, x, y=None):
        import hdbscan

        x = validate_data(self, x, dtype=np.float64, ensure_min_samples=2)
        if not x.flags.writeable:  # hdbscan's Cython code takes writable buffers only (cache memmaps are not)
            x = x.copy()
        max_cluster_size = round(self.max_cluster_fraction * len(x))
        model = hdbscan.HDBSCAN(
            min_cluster_size=self.min_cluster_size,
            min_samples=self.min_samples,
            max_cluster_size=max_cluster_size,
            metric=self.metric,
            alpha=self.alpha,
            cluster_selection_method=self.cluster_selection_method,
            cluster_selection_epsilon=self.cluster_selection_epsilon,
            allow_single_cluster=self.allow_single_cluster,
            approx_min_span_tree=self.approx_min_span_tree,
            core_dist_n_jobs=1,
            gen_min_span_tree=False,
            prediction_data=False,
        )
        self.labels_ = model.fit_predict(x)
        self.max_cluster_size_, self.model_ = max_cluster_size, model
        return self


class FractionalSklearnHDBSCAN(ClusterMixin, BaseEstimator):
    """scikit-learn's ``HDBSCAN`` (the study's implementation) whose largest cluster is a fraction of the
    sample count. Unlike the ``hdbscan`` package's, its ``min_samples`` counts the point itself, and
    None means ``min_cluster_size``."""

    def __init__(
        self,
        min_cluster_size: int = 5,
        min_samples: int | None = None,
        max_cluster_fraction: float = 0.2,
        cluster_selection_method: str = "eom",
        metric: str = "euclidean",
        alpha: float = 1.0,
        cluster_selection_epsilon: float = 0.0,
        allow_single_cluster: bool = False,
        algorithm: str = "auto",
        leaf_size: int = 40,
    ):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.max_cluster_fraction = max_cluster_fraction
        self.cluster_selection_method = cluster_selection_method
        self.metric = metric
        self.alpha = alpha
        self.cluster_selection_epsilon = cluster_selection_epsilon
        self.allow_single_cluster = allow_single_cluster
        self.algorithm = algorithm
        self.leaf_size = leaf_size

    def fit(self, x, y=None):
        from sklearn.cluster import HDBSCAN

        x = validate_data(self, x, dtype=np.float64, ensure_min_samples=2)
        # as the study's cluster.py:451-456 turns its max_samples fraction into a sample count
        max_cluster_size = round(self.max_cluster_fraction * len(x))
        model = HDBSCAN(
            min_cluster_size=self.min_cluster_size,
            min_samples=self.min_samples,
            max_cluster_size=max_cluster_size,
            metric=self.metric,
            metric_params=None,
            alpha=self.alpha,
            cluster_selection_method=self.cluster_selection_method,
            cluster_selection_epsilon=self.cluster_selection_epsilon,
            allow_single_cluster=self.allow_single_cluster,
            algorithm=self.algorithm,
            leaf_size=self.leaf_size,
            n_jobs=1,
            store_centers=None,
            copy=True,
        )
        self.labels_ = model.fit_predict(x)
        self.max_cluster_size_, self.model_ = max_cluster_size, model
        return self
