"""Embedding throughput: zsbench's TorchEncoder against a naive loop, side by side.

Images are real photographs (scikit-image's bundled ones) at assorted sizes, stored as JPEG bytes
and decoded on access, resized to 224 px by the protocol's preprocessing. For each model:

* naive: batch 128, fp32, no DataLoader workers, default memory layout, torch.no_grad;
* zsbench: TorchEncoder defaults (BatchNorm folded, channels-last for conv nets,
  inference_mode, automatic batch size and worker count), and with 1 worker for comparison.

Repeats alternate the variants and report medians; the ratio is the figure that carries across
machines. Embeddings must match the naive loop's to 1e-4 relative. Also reported: the model's
achieved GFLOP/s as a fraction of this machine's measured fp32 matmul GFLOP/s.

    python benchmarks/embedding_throughput.py [--images 128] [--repeats 3] [--device cpu|cuda]

On a GPU (``--device cuda``) it times ResNet-50 and ViT-B/16 at batch 256 under bf16: forward-only
images/s and its fraction of the device's measured bf16 matmul peak, then end to end from JPEG bytes
(DataLoader workers, pinned memory). Use ``--images 2048`` or more there, so the loader is measured.
"""

from __future__ import annotations

import argparse
import functools
import io
import statistics
import sys
import time

import numpy as np
import torch


class JPEGPhotos:
    def __init__(self, n: int) -> None:
        from PIL import Image
        from skimage import data

        photos = [data.chelsea(), data.astronaut(), data.coffee(), data.rocket(), data.camera()]
        self.blobs = []
        for i in range(n):
            im = Image.fromarray(photos[i % len(photos)]).resize((320 + 10 * (i % 7), 240 + 10 * (i % 5)))
            buf = io.BytesIO()
            im.save(buf, format="JPEG", quality=90)
            self.blobs.append(buf.getvalue())
        self.labels, self.info = np.arange(n) % len(photos), {}

    def __len__(self) -> int:
        return len(self.blobs)

    def __getitem__(self, i: int):
        from PIL import Image

        return Image.open(io.BytesIO(self.blobs[i])).convert("RGB")


def naive(net, dataset, preprocess) -> np.ndarray:
    transform, out = preprocess.transform(), []
    with torch.no_grad():
        for start in range(0, len(dataset), 128):
            batch = torch.stack([transform(dataset[i]) for i in range(start, min(len(dataset), start + 128))])
            out.append(net(batch).numpy())
    return np.concatenate(out)


def fast(net, dataset, preprocess, **kw) -> np.ndarray:
    from zsbench.plugin.torch import TorchEncoder

    return np.concatenate(list(TorchEncoder(net, preprocess, device="cpu", **kw).embed(dataset)))


def matmul_gflops(size: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times) / 1e9


def model_gflop(net, size: int = 224) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(torch.randn(1, 3, size, size))
    return counter.get_total_flops() / 1e9


def models():
    import timm

    from zsbench.plugin.preprocess import Preprocess

    torch.manual_seed(0)
    yield "resnet50 (random init)", timm.create_model("resnet50", pretrained=False, num_classes=0), Preprocess()
    try:
        sys.path.insert(0, "examples/efficientnet-lite0")
        import zsbench_efficientnet_lite0 as lite0

        enc = lite0.encoder()
        yield "efficientnet-lite0 (real weights)", enc.model, enc.preprocess
    except ImportError as exc:
        print(f"skipping EfficientNet-Lite0: {exc}")


def cpu(args) -> None:
    peak = matmul_gflops()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; fp32 matmul (2048^2): {peak:.1f} GFLOP/s\n")
    dataset = JPEGPhotos(args.images)
    for name, net, preprocess in models():
        net.eval()
        flop = model_gflop(net)
        variants = {
            "naive loop": functools.partial(naive, net, dataset, preprocess),
            "zsbench": functools.partial(fast, net, dataset, preprocess),
            "zsbench, 1 worker": functools.partial(fast, net, dataset, preprocess, num_workers=1),
        }
        rates: dict[str, list[float]] = {k: [] for k in variants}
        outputs = {}
        for _ in range(args.repeats):
            for label, run in variants.items():
                start = time.perf_counter()
                outputs[label] = run()
                rates[label].append(len(dataset) / (time.perf_counter() - start))
        base = outputs["naive loop"]
        print(f"{name}: {flop:.2f} GFLOP per 224 px image, {len(dataset)} JPEGs, median of {args.repeats}")
        for label, values in rates.items():
            rate = statistics.median(values)
            rel = np.abs(outputs[label] - base).max() / np.abs(base).max()
            print(
                f"  {label:20s} {rate:7.1f} img/s  x{rate / statistics.median(rates['naive loop']):.2f}"
                f"  {rate * flop:6.1f} GFLOP/s = {rate * flop / peak:5.1%} of matmul peak"
                f"  max rel diff {rel:.1e}"
            )
        print()


def cuda_matmul_tflops(device: str, size: int = 8192, repeats: int = 20) -> float:
    """The device's measured bf16 matmul rate (TFLOP/s): the peak a model's rate is compared with."""
    a = torch.randn(size, size, device=device, dtype=torch.bfloat16)
    b = torch.randn(size, size, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    torch.cuda.synchronize()
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e12


def gpu(args) -> None:
    """ResNet-50 and ViT-B/16 (random init: speed does not depend on the weights) under bf16 on the GPU:
    forward only on a resident batch (images/s and the fraction of the measured bf16 matmul peak), then
    end to end through TorchEncoder (JPEG decoding in DataLoader workers, pinned memory, bf16)."""
    import timm

    from zsbench.plugin.preprocess import Preprocess
    from zsbench.plugin.torch import TorchEncoder

    peak = cuda_matmul_tflops(args.device)
    print(
        f"torch {torch.__version__}, {torch.cuda.get_device_name(args.device)}; "
        f"bf16 matmul (8192^2): {peak:.0f} TFLOP/s\n"
    )
    dataset = JPEGPhotos(args.images)
    for arch in ("resnet50", "vit_base_patch16_224"):
        torch.manual_seed(0)
        net = timm.create_model(arch, pretrained=False, num_classes=0).eval()
        flop = model_gflop(net)  # on the CPU, before the encoder moves it
        encoder = TorchEncoder(net, Preprocess(), device=args.device, batch_size=256, precision="bf16")
        model = encoder.module()
        x = torch.randn(256, 3, 224, 224, device=args.device)
        if encoder.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        rates = []
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            for _ in range(3):
                model(x)
            for _ in range(args.repeats):
                torch.cuda.synchronize()
                start = time.perf_counter()
                for _ in range(10):
                    model(x)
                torch.cuda.synchronize()
                rates.append(2560 / (time.perf_counter() - start))
        forward = statistics.median(rates)
        ends = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            n = sum(len(b) for b in encoder.embed(dataset))
            ends.append(n / (time.perf_counter() - start))
        workers = encoder.loader(dataset).num_workers
        print(
            f"{arch}: {flop:.1f} GFLOP/image; forward only {forward:,.0f} img/s (bf16, batch 256) = "
            f"{forward * flop / 1e3 / peak:.1%} of the bf16 matmul peak; end to end from JPEG "
            f"{statistics.median(ends):,.0f} img/s ({len(dataset)} images, {workers} DataLoader workers, "
            f"pinned memory); medians of {args.repeats}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    gpu(args) if args.device.startswith("cuda") else cpu(args)
