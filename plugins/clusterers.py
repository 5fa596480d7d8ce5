"""The six clusterers of the study, with its settings, every parameter passed explicitly (and the
study's own HDBSCAN implementation, scikit-learn's, for the study protocol).

``n_clusters`` is a placeholder the protocol replaces with the number of true classes;
``random_state`` is replaced with the seed.
"""

from __future__ import annotations

from zsbench.plugin import hookimpl


def _kmeans():
    from sklearn.cluster import KMeans

    return KMeans(
        n_clusters=2,
        init="k-means++",
        n_init=1,
        max_iter=1000,
        tol=1e-4,
        algorithm="lloyd",
        copy_x=True,
        random_state=None,
        verbose=0,
    )


def _spectral():
    from sklearn.cluster import SpectralClustering

    return SpectralClustering(
        n_clusters=2,
        affinity="nearest_neighbors",
        n_neighbors=10,
        assign_labels="cluster_qr",
        eigen_solver="arpack",
        n_components=None,
        n_init=10,
        gamma=1.0,
        eigen_tol="auto",
        degree=3,
        coef0=1,
        kernel_params=None,
        n_jobs=None,
        random_state=None,
        verbose=False,
    )


def _agglomerative():
    from sklearn.cluster import AgglomerativeClustering

    return AgglomerativeClustering(
        n_clusters=2,
        metric="euclidean",
        linkage="ward",
        distance_threshold=None,
        compute_full_tree="auto",
        connectivity=None,
        memory=None,
        compute_distances=False,
    )


def _agglomerative_no_k():
    from zsbench.plugins._estimators import ScaledAgglomerative

    return ScaledAgglomerative(distance_threshold=2.0, linkage="ward", metric="euclidean")


def _affinity_propagation():
    from sklearn.cluster import AffinityPropagation

    return AffinityPropagation(
        damping=0.9,
        convergence_iter=15,
        max_iter=1000,
        copy=True,
        preference=None,
        affinity="euclidean",
        random_state=None,
        verbose=False,
    )


def _hdbscan():
    from zsbench.plugins._estimators import FractionalHDBSCAN

    return FractionalHDBSCAN(
        min_cluster_size=5,
        min_samples=None,
        max_cluster_fraction=0.2,
        cluster_selection_method="eom",
        metric="euclidean",
        alpha=1.0,
        cluster_selection_epsilon=0.0,
        allow_single_cluster=False,
        approx_min_span_tree=True,
    )


def _hdbscan_sklearn():
    from zsbench.plugins._estimators import FractionalSklearnHDBSCAN

    # min_samples None: scikit-learn's default, min_cluster_size (the study leaves it unset, cluster.py:458-464)
    return FractionalSklearnHDBSCAN(
        min_cluster_size=5,
        min_samples=None,
        max_cluster_fraction=0.2,
        cluster_selection_method="eom",
        metric="euclidean",
        alpha=1.0,
        cluster_selection_epsilon=0.0,
        allow_single_cluster=False,
        algorithm="auto",
        leaf_size=40,
    )


def _quadratic(bytes_per_pair: float):
    """Peak memory of a method that holds dense n x n matrices (declared so zsbench can refuse
    a configuration that would not fit, instead of being killed by the OS)."""
    return lambda n, d: bytes_per_pair * n * n + 8 * n * d


@hookimpl
def register_clusterers(register):
    register("kmeans", _kmeans, description="K-Means with k: k-means++, n_init=1, max_iter=1000")
    register(
        "spectral",
        _spectral,
        description="Spectral with k: nearest_neighbors affinity (10 neighbours), cluster_qr label assignment",
    )
    # ward without connectivity: scipy's condensed distances (n^2/2 doubles) plus working copies
    register(
        "agglomerative", _agglomerative, description="Agglomerative with k: ward, euclidean", memory_bytes=_quadratic(8)
    )
    register(
        "agglomerative-no-k",
        _agglomerative_no_k,
        description="Agglomerative without k: "
        "ward, distance threshold 2.0 after mean-std scaling and sqrt(d) correction",
        memory_bytes=_quadratic(8),
    )
    # similarity, availability, responsibility and a temporary: four dense n x n float64 matrices
    register(
        "affinity-propagation",
        _affinity_propagation,
        description="Affinity propagation: damping 0.9, convergence_iter 15, max_iter 1000",
        memory_bytes=_quadratic(32),
    )
    register(
        "hdbscan", _hdbscan, description="HDBSCAN (hdbscan package): min_cluster_size 5, max cluster size 0.2 N, eom"
    )
    # the study protocol's HDBSCAN: the study ran scikit-learn's implementation (its cluster.py:458)
    register(
        "hdbscan-sklearn",
        _hdbscan_sklearn,
        description="HDBSCAN (scikit-learn's, as the study ran it): min_cluster_size 5, max cluster size 0.2 N, eom",
    )
