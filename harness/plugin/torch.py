"""Fast, faithful embedding with PyTorch: :class:`TorchEncoder`, the engine behind every torch encoder plugin.

A plugin builds the network; :class:`TorchEncoder` does the rest the protocol requires: the declared
preprocessing (:mod:`zsbench.plugin.preprocess`), eval mode and ``torch.inference_mode``, images decoded
and resized in DataLoader worker processes while the model runs, channels-last memory format for
convolutional networks (their BatchNorms folded), a batch size that halves itself on out-of-memory, and
the device and compute precision :mod:`zsbench.plugin.devices` chooses. Embeddings are always returned as
float32 numpy arrays.

torch and torchvision are imported only when an encoder is built, never when plugins are listed.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zsbench.plugin.devices import compute_dtype, select_device
from zsbench.plugin.preprocess import Preprocess
from zsbench.plugin.system import usable_cores

if TYPE_CHECKING:  # annotations only: torch and numpy load when an encoder is built
    import numpy as np
    import torch
    from torch import nn

    from zsbench.plugin.protocols import Dataset


class _Images:
    """Map-style dataset of preprocessed tensors, for torch's DataLoader."""

    def __init__(self, dataset: Dataset, transform: Callable[[Any], Any]) -> None:
        self.dataset, self.transform = dataset, transform

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        return self.transform(self.dataset[index])


def default_workers(device: str) -> int:
    """How many processes decode and resize images while the model runs.

    On a GPU the CPU is free for decoding: all cores but one. On a CPU the model already uses
    every core, so workers pay only where cores are plentiful (measured on 2 cores: one worker
    made ResNet-50 embedding 12% slower than none; see benchmarks/embedding_throughput.py).
    """
    cores = usable_cores()
    if device.startswith("cuda") or device.startswith("mps"):
        return max(0, min(8, cores - 1))
    return min(4, cores // 4)


@dataclass
class TorchEncoder:
    """An encoder from a torch module whose forward returns (batch, dim) embeddings.

    ``model`` may be the module or a zero-argument callable building it (built on first use).
    ``identity`` names the weights (by sha256, not by path) and pooling; the preprocessing and
    compute dtype are added. ``source`` says where the weights came from (URL, file name).

    ``precision`` is "fp32" (the default, on every device), "bf16" (autocast on a GPU with bf16 or
    a CPU with native bf16) or "fp16" (autocast on a GPU); see :func:`compute_dtype`. The identity's
    ``compute_dtype`` records it, so embeddings of two precisions never share a cache entry or a
    leaderboard row, and an fp32 identity is what it always was.
    """

    model: Any
    preprocess: Preprocess
    identity: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)  # where the weights came from: recorded, not hashed
    batch_size: int | None = None
    device: str | None = None
    num_workers: int | None = None
    channels_last: bool | None = None  # None: yes for convolutional networks
    autocast: bool | None = None  # deprecated (plugin API 1.0): True is the former GPU default, see below
    precision: str = "fp32"

    def __post_init__(self) -> None:
        self.device = select_device(self.device)
        self._dtype = compute_dtype(self.precision, self.device)
        if self.autocast is not None:
            warnings.warn(
                "TorchEncoder(autocast=...) is deprecated: use precision='bf16' or 'fp16' (fp32 is the "
                "default); autocast=True keeps the former GPU-only autocast",
                DeprecationWarning,
                stacklevel=3,
            )
            if self.autocast and self.precision == "fp32" and self.device.startswith("cuda"):
                import torch

                self._dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        # exactly the keys an fp32 encoder always had: its identity (and cached embeddings) stay valid
        self.identity = {
            **self.identity,
            "preprocess": self.preprocess.identity(),
            "compute_dtype": self._dtype or "float32",
            "output_dtype": "float32",
        }

    def module(self) -> nn.Module:
        """The network in eval mode on the chosen device, prepared for inference (built once)."""
        import torch

        prepared: nn.Module | None = getattr(self, "_prepared", None)
        if prepared is not None:
            return prepared
        model: nn.Module = self.model if isinstance(self.model, torch.nn.Module) else self.model()
        model = model.eval().to(self._device())
        convolutional = any(isinstance(m, torch.nn.Conv2d) and m.kernel_size != m.stride for m in model.modules())
        if self.channels_last is None:
            self.channels_last = convolutional
        if convolutional:
            model = fold_batchnorm(model)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self._prepared = model
        return model

    def _device(self) -> str:
        """The device: the field is None only until ``__post_init__`` has chosen one."""
        assert self.device is not None
        return self.device

    def loader(self, dataset: Dataset) -> torch.utils.data.DataLoader[Any]:
        import torch

        workers = default_workers(self._device()) if self.num_workers is None else self.num_workers
        return torch.utils.data.DataLoader(
            # a map-style dataset is anything with __len__ and __getitem__; torch's stubs ask for its class
            _Images(dataset, self.preprocess.transform()),  # type: ignore[arg-type]
            batch_size=self._batch(),
            shuffle=False,
            num_workers=workers,
            pin_memory=self._device().startswith("cuda"),
            prefetch_factor=4 if workers else None,
            persistent_workers=False,
        )

    def _batch(self) -> int:
        if self.batch_size:
            return self.batch_size
        return 256 if self._device().startswith("cuda") else 32

    def embed(self, dataset: Dataset) -> Iterator[np.ndarray[Any, Any]]:
        model = self.module()
        for images in self.loader(dataset):
            yield from self._forward(model, images)

    def _forward(self, model: nn.Module, images: torch.Tensor) -> Iterator[np.ndarray[Any, Any]]:
        """One loader batch; on out-of-memory, split it in halves and remember the smaller size."""
        import torch

        try:
            with torch.inference_mode(), self._autocast_context():
                x = images.to(self.device, non_blocking=True)
                if self.channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                out = model(x)
            yield out.float().cpu().numpy()
        except torch.OutOfMemoryError:
            if len(images) == 1:
                raise
            if self._device().startswith("cuda"):
                torch.cuda.empty_cache()
            half = len(images) // 2
            self.batch_size = half  # later loaders start smaller
            yield from self._forward(model, images[:half])
            yield from self._forward(model, images[half:])

    def _autocast_context(self) -> AbstractContextManager[Any]:
        import contextlib

        import torch

        if self._dtype is None:
            return contextlib.nullcontext()
        # autocast keeps the numerically delicate ops (softmax, norms, reductions) in fp32
        return torch.autocast(self._device().split(":", 1)[0], dtype=getattr(torch, self._dtype))


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Fold each eval-mode BatchNorm into the convolution before it (same results to ~1e-6).

    Uses torch.fx; a network that cannot be traced is returned unchanged (only slower).
    """
    import copy

    try:
        from torch.fx.experimental.optimization import fuse

        return fuse(copy.deepcopy(model), inplace=True)
    except Exception:
        return model
