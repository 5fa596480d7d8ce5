"""scikit-learn's bundled handwritten digits: 1,797 8x8 greyscale images, 10 classes, offline."""

from __future__ import annotations

import zsbench


class Digits:
    """All 1,797 images (the bundle has no train/test split, so the whole set is clustered)."""

    def __init__(self) -> None:
        import numpy as np
        from sklearn.datasets import load_digits

        bunch = load_digits()
        # stored as 0..16 intensities; scale to 8-bit so they are ordinary greyscale images
        self._pixels = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)
        self.labels = bunch.target.astype(np.int64)
        self.info = {"source": "sklearn.datasets.load_digits", "split": "all (no split bundled)",
                     "n_classes": 10, "n_samples": int(len(self.labels)), "image_size": [8, 8],
                     "group": "far-OOD"}

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        from PIL import Image

        return Image.fromarray(self._pixels[index])  # uint8 2-d: mode "L"


@zsbench.hookimpl
def register_datasets(register):
    register("digits", Digits,
             description="scikit-learn's bundled handwritten digits (1,797 8x8 images, 10 classes)")
