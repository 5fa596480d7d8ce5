"""scikit-learn estimators behind the built-in reducers and clusterers.

Imported only inside factories: it imports scikit-learn and hdbscan at module level.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin


def zscore(x: np.ndarray) -> np.ndarray:
    """Per-dimension z-score fitted on ``x``; zero-variance dimensions become 0."""
    x = np.asarray(x, dtype=np.float64)
    centred = x - x.mean(axis=0)
    std = centred.std(axis=0)
    return np.divide(centred, std, out=np.zeros_like(centred), where=std > 0)


class Identity(TransformerMixin, BaseEstimator):
    """No reduction: cluster the embeddings as they are."""

    def fit(self, x, y=None):
        return self

    def transform(self, x):
        return np.asarray(x)


class ZScorePCA(TransformerMixin, BaseEstimator):
    """Z-score each dimension, then PCA to ``n_components`` dims (int) or variance fraction (float)."""

    def __init__(self, n_components: int | float = 50, svd_solver: str = "full",
                 random_state: int | None = None):
        self.n_components = n_components
        self.svd_solver = svd_solver
        self.random_state = random_state

    def fit_transform(self, x, y=None):
        from sklearn.decomposition import PCA

        n = self.n_components
        if isinstance(n, float) and not 0.0 < n < 1.0:
            raise ValueError(f"n_components={n}: a float is a variance fraction in (0, 1)")
        if isinstance(n, int) and not 1 <= n <= min(np.shape(x)):
            raise ValueError(f"n_components={n}: must be between 1 and min(samples, features)="
                             f"{min(np.shape(x))}")
        self.pca_ = PCA(n_components=n, svd_solver=self.svd_solver, whiten=False,
                        random_state=self.random_state)
        z = self.pca_.fit_transform(zscore(x))
        self.explained_variance_ = float(self.pca_.explained_variance_ratio_.sum())
        return z

    def fit(self, x, y=None):
        self.fit_transform(x)
        return self


class ScaledAgglomerative(ClusterMixin, BaseEstimator):
    """Ward agglomerative clustering without k, cut at a distance threshold.

    As in the study, the data are first centred and divided by the mean per-dimension standard
    deviation (one scale for all dimensions, so relative importance is kept), and distances are
    divided by sqrt(d), so one threshold means the same for any scale and dimension count.
    """

    def __init__(self, distance_threshold: float = 2.0, linkage: str = "ward",
                 metric: str = "euclidean"):
        self.distance_threshold = distance_threshold
        self.linkage = linkage
        self.metric = metric

    def fit(self, x, y=None):
        from sklearn.cluster import AgglomerativeClustering

        x = np.asarray(x, dtype=np.float64)
        centred = x - x.mean(axis=0)
        scale = centred.std(axis=0).mean()
        scaled = centred / scale if scale > 0 else centred
        scaled /= np.sqrt(x.shape[1])
        self.model_ = AgglomerativeClustering(
            n_clusters=None, distance_threshold=self.distance_threshold, linkage=self.linkage,
            metric=self.metric, compute_full_tree=True, connectivity=None,
            compute_distances=False)
        self.labels_ = self.model_.fit_predict(scaled)
        return self


class FractionalHDBSCAN(ClusterMixin, BaseEstimator):
    """HDBSCAN (the ``hdbscan`` package) whose largest cluster is a fraction of the sample count."""

    def __init__(self, min_cluster_size: int = 5, min_samples: int | None = None,
                 max_cluster_fraction: float = 0.2, cluster_selection_method: str = "eom",
                 metric: str = "euclidean", alpha: float = 1.0,
                 cluster_selection_epsilon: float = 0.0, allow_single_cluster: bool = False,
                 approx_min_span_tree: bool = True):
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

        x = np.asarray(x, dtype=np.float64)
        self.max_cluster_size_ = round(self.max_cluster_fraction * len(x))
        self.model_ = hdbscan.HDBSCAN(
            min_cluster_size=self.min_cluster_size, min_samples=self.min_samples,
            max_cluster_size=self.max_cluster_size_, metric=self.metric, alpha=self.alpha,
            cluster_selection_method=self.cluster_selection_method,
            cluster_selection_epsilon=self.cluster_selection_epsilon,
            allow_single_cluster=self.allow_single_cluster,
            approx_min_span_tree=self.approx_min_span_tree, core_dist_n_jobs=1,
            gen_min_span_tree=False, prediction_data=False)
        self.labels_ = self.model_.fit_predict(x)
        return self
