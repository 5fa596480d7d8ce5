"""scikit-learn's bundled handwritten digits: 1,797 8x8 greyscale images, 10 classes, offline."""

from __future__ import annotations

from zsbench.plugin import hookimpl


def _digits():
    """All 1,797 images (the bundle has no train/test split, so the whole set is clustered)."""
    import numpy as np
    from sklearn.datasets import load_digits

    from zsbench.plugin import ArrayImages

    bunch = load_digits()
    # stored as 0..16 intensities; scaled to 8-bit so they are ordinary greyscale images
    pixels = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    return ArrayImages(pixels, bunch.target.astype(np.int64), [f"digits/{i}" for i in range(len(pixels))],
                       {"source": "sklearn.datasets.load_digits", "split": "all (no split bundled)",
                        "n_classes": 10, "n_samples": len(pixels), "image_size": [8, 8],
                        "group": "far-OOD"})


@hookimpl
def register_datasets(register):
    register("digits", _digits,
             description="scikit-learn's bundled handwritten digits (1,797 8x8 images, 10 classes)")
