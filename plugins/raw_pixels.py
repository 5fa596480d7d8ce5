"""The raw-pixel baseline encoder: the image itself, small and flattened."""

from __future__ import annotations

import numbers
from collections.abc import Iterator

from zsbench.plugin import InvalidInputError, hookimpl

SIZE = 32
BATCH = 1024


class RawPixels:
    """Shorter side resized to ``size`` and centre-cropped when larger; native size when smaller.

    Greyscale datasets stay one channel (MNIST: 28x28 = 784 values), others are RGB (32x32x3).
    16-bit and float images are scaled by their real range (:func:`zsbench.plugin.datasets.to_8bit`);
    values are scaled to [0, 1].

    Every vector of a dataset has one length: the dataset's first image fixes the shape (32x32,
    or its native size when smaller), and any later image that would give another shape (a
    smaller image of another size) is resized, keeping its aspect, to cover that shape and
    centre-cropped to it. A dataset of one size is unaffected.
    """

    def __init__(self, size: int = SIZE) -> None:
        # checked here, not first met inside embed() as "'>' not supported between int and str"
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise InvalidInputError(
                f"raw-pixels: option size={repr(size)[:40]} must be a whole number of "
                f"pixels, at least 1 (e.g. size=16; the default is {SIZE})"
            )
        size = int(size)
        self.size: int = size
        self.identity = {
            "name": "raw-pixels",
            "size": size,
            "resample": "bilinear",
            "crop": "center",
            "scale": "1/255",
            "dtype": "float32",
        }

    def _shaped(self, image) -> tuple[int, int]:
        """The (width, height) ``image`` gives on its own: size x size, or native when smaller."""
        w, h = image.size
        return (self.size, self.size) if min(w, h) > self.size else (w, h)

    def _pixels(self, image, mode: str, shape: tuple[int, int] | None = None):
        import numpy as np
        from PIL import Image

        from zsbench.plugin import to_8bit

        image = to_8bit(image).convert(mode)
        target = shape or self._shaped(image)
        w, h = image.size
        if (w, h) != target:
            tw, th = target
            scale = max(tw / w, th / h)  # cover the target, then crop the overhang centrally
            image = image.resize((max(tw, round(w * scale)), max(th, round(h * scale))), Image.Resampling.BILINEAR)
            w, h = image.size
            left, top = (w - tw) // 2, (h - th) // 2
            image = image.crop((left, top, left + tw, top + th))
        return np.asarray(image, dtype=np.float32).reshape(-1) / 255.0

    def embed(self, dataset) -> Iterator:
        import numpy as np

        from zsbench.plugin import BadImageError, to_8bit

        if len(dataset) == 0:
            return
        ids = getattr(dataset, "ids", None)
        first = to_8bit(dataset[0], str(ids[0]) if ids is not None else None)
        mode = "L" if first.mode in ("1", "L", "I", "I;16", "F") else "RGB"
        shape = self._shaped(first)
        batch, width = [], None
        for i in range(len(dataset)):
            name = str(ids[i]) if ids is not None else f"sample {i}"
            row = self._pixels(to_8bit(dataset[i], name), mode, shape)
            if width is None:
                width = row.size
            elif row.size != width:  # resizing above makes this unreachable; never a ragged stack
                raise BadImageError(
                    f"image {name} gives {row.size} pixel values but the first "
                    f"image gave {width}; replace it, or pass --skip-bad"
                )
            batch.append(row)
            if len(batch) == BATCH:
                yield np.stack(batch)
                batch = []
        if batch:
            yield np.stack(batch)


@hookimpl
def register_encoders(register):
    register(
        "raw-pixels", RawPixels, description="Baseline: pixels resized to 32x32 (native size if smaller), flattened"
    )
