"""The protocol's image preprocessing, declared per encoder: shorter side resized, centre crop, RGB, mean and std.

:class:`Preprocess` is the declaration (part of the embedding's identity); its :meth:`~Preprocess.transform`
turns a PIL image into the normalised tensor the network sees: the shorter side resized to the input size,
a centre crop, grey repeated to three channels, the encoder's mean and std. torchvision is imported only
when a transform is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: Pillow loads when an image is transformed
    from PIL import Image as PILImage

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class Preprocess:
    """The protocol's image preprocessing, declared per encoder (it is part of the embedding's identity)."""

    input_size: int = 224
    interpolation: str = "bilinear"  # "bilinear" or "bicubic"
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def identity(self) -> dict[str, Any]:
        return {"resize_shorter": self.input_size, "center_crop": self.input_size, "rgb": True, **asdict(self)}

    def transform(self) -> Callable[[Any], Any]:
        return _Transform(self)


class _Transform:
    """PIL image -> normalised CHW float tensor. A class (not a lambda) so workers can pickle it."""

    def __init__(self, spec: Preprocess) -> None:
        from torchvision.transforms import InterpolationMode, v2

        mode = {"bilinear": InterpolationMode.BILINEAR, "bicubic": InterpolationMode.BICUBIC}
        if spec.interpolation not in mode:
            raise ValueError(f"interpolation {spec.interpolation!r}: use bilinear or bicubic")
        import torch

        self._pipeline = v2.Compose(
            [
                v2.PILToTensor(),
                v2.Resize(spec.input_size, interpolation=mode[spec.interpolation], antialias=True),
                v2.CenterCrop(spec.input_size),
                v2.ToDtype(torch.float32, scale=True),
                v2.Normalize(mean=list(spec.mean), std=list(spec.std)),
            ]
        )

    def __call__(self, image: PILImage.Image) -> Any:  # a torch.Tensor (torchvision's v2 is untyped)
        from zsbench.plugin.datasets import to_8bit

        # 16-bit / float images by their real range (convert alone clips or zeroes them);
        # grey -> three equal channels
        return self._pipeline(to_8bit(image).convert("RGB"))
