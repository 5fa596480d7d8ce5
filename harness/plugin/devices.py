"""Where an encoder computes, and in which precision: the device, and the autocast dtype a precision means there.

Device selection (cuda, mps, cpu; ``$ZSBENCH_DEVICE`` overrides) and the opt-in compute precision: fp32 by
default on every device, bf16 autocast on GPUs and on CPUs with native bf16, fp16 autocast on GPUs. A
precision the device cannot run is a one-line error, never a silent fp32. torch is imported on first use.
"""

from __future__ import annotations

import os
import platform
from typing import Any

from zsbench.plugin.errors import InvalidInputError

ENV_DEVICE = "ZSBENCH_DEVICE"
# compute precision -> the autocast dtype it means (fp32: no autocast), as identities record it
PRECISIONS = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


def select_device(requested: str | None = None) -> str:
    """``requested``, else ``$ZSBENCH_DEVICE``, else cuda, mps or cpu, the first that exists."""
    import torch

    choice = requested or os.environ.get(ENV_DEVICE)
    if choice:
        return choice
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively: x86 AVX512-BF16 or AMX, or Arm's BF16 extension.

    Without it torch emulates bf16 (no faster than fp32, and usually slower), so bf16 is refused.
    """
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch.cpu's, since torch 2.2
    if any(getattr(torch.cpu, probe, lambda: False)() for probe in probes):
        return True
    if platform.machine().lower() in ("aarch64", "arm64"):  # oneDNN's check is the Arm bf16 extension there
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


def check_precision(precision: Any) -> str:
    """``precision`` if it is one zsbench knows (fp32, bf16, fp16), else a one-line error; imports no torch."""
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise InvalidInputError(
            f"precision {str(precision)[:40]!r} (--precision): use fp32 (the default), bf16 or fp16"
        )
    return precision


def compute_dtype(precision: str, device: str | None = None) -> str | None:
    """The autocast dtype ``precision`` means on ``device`` (default: :func:`select_device`'s); None for fp32.

    A precision the device cannot run is a one-line error, never a silent fp32: bf16 needs a GPU
    with bf16 or a CPU with native bf16 (:func:`cpu_has_bf16`); fp16 runs on a GPU only (a CPU has
    no fast fp16 path, and bf16 is as fast there with fp32's range).
    """
    if check_precision(precision) == "fp32":
        return None
    device = select_device(device)
    kind = device.split(":", 1)[0]
    if kind == "cuda":
        import torch

        if precision == "bf16" and not torch.cuda.is_bf16_supported():
            raise InvalidInputError("--precision bf16: this GPU has no bf16 (GPUs have it since Ampere); use fp16")
        return PRECISIONS[precision]
    if kind == "cpu" and precision == "bf16":
        if not cpu_has_bf16():
            raise InvalidInputError(
                "--precision bf16: this CPU lacks native bf16 (AVX512-BF16, AMX or Arm "
                "BF16), so bf16 would be emulated and no faster; use fp32 (the default)"
            )
        return PRECISIONS[precision]
    raise InvalidInputError(
        f"--precision {precision} is not supported on device {device!r}: "
        + (
            "fp16 runs on a GPU only; on a CPU use bf16 where it has native bf16, or fp32"
            if kind == "cpu"
            else "use fp32 (the default)"
        )
    )
