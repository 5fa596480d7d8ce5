"""The raw-pixel baseline encoder: the image itself, small and flattened."""

from __future__ import annotations

from collections.abc import Iterator

import zsbench

SIZE = 32
BATCH = 1024


class RawPixels:
    """Shorter side resized to ``size`` and centre-cropped when larger; native size when smaller.

    Greyscale datasets stay one channel (MNIST: 28x28 = 784 values), others are RGB (32x32x3).
    Values are scaled to [0, 1].
    """

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self.identity = {"name": "raw-pixels", "size": size, "resample": "bilinear",
                         "crop": "center", "scale": "1/255", "dtype": "float32"}

    def _pixels(self, image, mode: str):
        import numpy as np
        from PIL import Image

        image = image.convert(mode)
        w, h = image.size
        if min(w, h) > self.size:
            scale = self.size / min(w, h)
            image = image.resize((max(self.size, round(w * scale)), max(self.size, round(h * scale))),
                                 Image.Resampling.BILINEAR)
            w, h = image.size
            left, top = (w - self.size) // 2, (h - self.size) // 2
            image = image.crop((left, top, left + self.size, top + self.size))
        return np.asarray(image, dtype=np.float32).reshape(-1) / 255.0

    def embed(self, dataset) -> Iterator:
        import numpy as np

        if len(dataset) == 0:
            return
        mode = "L" if dataset[0].mode in ("1", "L", "I", "I;16", "F") else "RGB"
        batch, width = [], None
        for i in range(len(dataset)):
            row = self._pixels(dataset[i], mode)
            if width is None:
                width = row.size
            elif row.size != width:
                raise ValueError(
                    f"image {i} gives {row.size} pixels but image 0 gave {width}: images smaller "
                    f"than {self.size} px keep their native size, so they must all share it")
            batch.append(row)
            if len(batch) == BATCH:
                yield np.stack(batch)
                batch = []
        if batch:
            yield np.stack(batch)


@zsbench.hookimpl
def register_encoders(register):
    register("raw-pixels", RawPixels,
             description="Baseline: pixels resized to 32x32 (native size if smaller), flattened")
