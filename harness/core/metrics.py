"""Scores of a predicted labelling: the same for every plugin, so leaderboard rows compare.

Label -1 in a prediction is noise (HDBSCAN). Following the study, noise counts as one cluster in
the headline scores; ``ami_clustered`` repeats AMI over the clustered points only.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def silhouette(space: np.ndarray, labels: np.ndarray, *, max_samples: int, seed: int) -> float | None:
    """Euclidean silhouette of ``labels`` in ``space``; None where it is undefined.

    Undefined means fewer than 2 or more than n-1 distinct labels. Above ``max_samples`` points it is
    estimated on a seeded subsample (sklearn's ``sample_size``) to keep it O(max_samples^2).
    """
    from sklearn.metrics import silhouette_score

    n_labels = len(np.unique(labels))
    if n_labels < 2 or n_labels > len(labels) - 1:
        return None
    sample = max_samples if len(labels) > max_samples else None
    try:
        value = silhouette_score(
            space, labels, metric="euclidean", sample_size=sample, random_state=seed if sample else None
        )
    except ValueError:  # a subsample that happens to hold a single label
        return None
    return float(value)


# The scores that depend on the two labellings alone: `zsbench verify` recomputes exactly these.
LABEL_METRICS = (
    "ami",
    "ari",
    "nmi",
    "homogeneity",
    "completeness",
    "n_clusters",
    "n_classes",
    "n_samples",
    "fraction_clustered",
    "ami_clustered",
)


def label_scores(labels_true: np.ndarray, labels_pred: np.ndarray) -> dict[str, Any]:
    """Agreement of a predicted labelling with the truth (the keys of ``LABEL_METRICS``)."""
    from sklearn import metrics as m

    clustered = labels_pred >= 0
    n_clustered = int(clustered.sum())
    return {
        "ami": float(m.adjusted_mutual_info_score(labels_true, labels_pred, average_method="arithmetic")),
        "ari": float(m.adjusted_rand_score(labels_true, labels_pred)),
        "nmi": float(m.normalized_mutual_info_score(labels_true, labels_pred, average_method="arithmetic")),
        "homogeneity": float(m.homogeneity_score(labels_true, labels_pred)),
        "completeness": float(m.completeness_score(labels_true, labels_pred)),
        "n_clusters": int(len(np.unique(labels_pred[clustered]))),
        "n_classes": int(len(np.unique(labels_true))),
        "n_samples": int(len(labels_true)),
        "fraction_clustered": n_clustered / len(labels_pred),
        "ami_clustered": (
            float(
                m.adjusted_mutual_info_score(
                    labels_true[clustered], labels_pred[clustered], average_method="arithmetic"
                )
            )
            if n_clustered
            else None
        ),
    }


def score(
    labels_true: np.ndarray,
    labels_pred: np.ndarray,
    *,
    proxy_space: np.ndarray | None,
    original_space: np.ndarray,
    seed: int,
    silhouette_max_samples: int,
) -> dict[str, Any]:
    """All metrics of design.md section 3. Values are fractions (AMI 0.7), not x100."""
    scores = label_scores(labels_true, labels_pred)
    kw = {"max_samples": silhouette_max_samples, "seed": seed}
    # how many points the silhouettes were computed on (a seeded sample above the cap)
    scores["silhouette_samples"] = min(len(labels_pred), silhouette_max_samples)
    scores["silhouette_proxy"] = silhouette(proxy_space, labels_pred, **kw) if proxy_space is not None else None
    scores["silhouette_original"] = silhouette(original_space, labels_pred, **kw)
    return scores
