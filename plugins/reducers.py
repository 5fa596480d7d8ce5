"""Reducers of the standard and study protocols: none, z-score, z-scored PCA, and UMAP-50."""

from __future__ import annotations

from zsbench.plugin import cached_jit, hookimpl


def _none():
    from zsbench.plugins._estimators import Identity

    return Identity()


def _pca():
    from zsbench.plugins._estimators import ZScorePCA

    return ZScorePCA(n_components=50, svd_solver="full", random_state=None)


def _zscore():
    from sklearn.preprocessing import StandardScaler

    # zero-variance dimensions keep scale 1, so they become 0 after centring, as in the study
    return StandardScaler(copy=True, with_mean=True, with_std=True)


def _umap():
    with cached_jit():  # umap's kernels compile once per machine, not in every process (see zsbench.plugin.jit)
        import umap

    # Every parameter explicit: library defaults change between versions.
    return umap.UMAP(
        n_components=50,
        n_neighbors=30,
        min_dist=0.0,
        metric="euclidean",
        spread=1.0,
        init="spectral",
        n_epochs=None,
        learning_rate=1.0,
        set_op_mix_ratio=1.0,
        local_connectivity=1.0,
        repulsion_strength=1.0,
        negative_sample_rate=5,
        low_memory=True,
        densmap=False,
        random_state=None,
        verbose=False,
    )


@hookimpl
def register_reducers(register):
    register("none", _none, description="No reduction: cluster the embeddings as they are")
    register("zscore", _zscore, description="Per-dim z-score only, no reduction (the study's spectral input for MAE)")
    register(
        "pca",
        _pca,
        description="Per-dim z-score, then PCA (n_components: dims, or a "
        "variance fraction such as pca:n_components=0.9); default 50 dims",
    )
    register(
        "umap", _umap, description="UMAP to 50 dims, n_neighbors=30, min_dist=0.0, euclidean (the standard protocol)"
    )
