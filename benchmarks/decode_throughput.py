"""Image decode + resize throughput for a folder of JPEGs, with 0, 1 and 2 DataLoader workers.

Builds a folder of real photographs (scikit-image's bundled ones, re-encoded as JPEG at
ImageNet-like sizes), reads it as `folder:<path>` does, and pushes every image through the
protocol's preprocessing (decode, shorter side to 224, centre crop, normalise) in torch
DataLoader batches of 32, with no model. Variants alternate within each repeat; medians reported.

    python benchmarks/decode_throughput.py [--images 400] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def make_folder(root: Path, n: int) -> Path:
    from PIL import Image
    from skimage import data

    photos = [data.chelsea(), data.astronaut(), data.coffee(), data.rocket(), data.camera()]
    for i in range(n):
        cls = root / f"class{i % 5}"
        cls.mkdir(parents=True, exist_ok=True)
        image = Image.fromarray(photos[i % 5]).convert("RGB").resize((500, 375 + 10 * (i % 4)))
        image.save(cls / f"{i:05d}.jpg", quality=90)
    return root


def throughput(dataset, workers: int) -> float:
    import torch

    from zsbench.plugin.preprocess import Preprocess
    from zsbench.plugin.torch import _Images

    loader = torch.utils.data.DataLoader(
        _Images(dataset, Preprocess().transform()),
        batch_size=32,
        num_workers=workers,
        prefetch_factor=4 if workers else None,
    )
    start = time.perf_counter()
    n = sum(len(batch) for batch in loader)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from zsbench.plugin.datasets import image_folder

    with tempfile.TemporaryDirectory() as tmp:
        dataset = image_folder(make_folder(Path(tmp), args.images), "bench", {})
        rates: dict[int, list[float]] = {0: [], 1: [], 2: []}
        for _ in range(args.repeats):
            for workers in rates:
                rates[workers].append(throughput(dataset, workers))
    print(
        f"{args.images} JPEGs (500x375..405), decode + resize + crop + normalise to 224 px, batch 32, "
        f"median of {args.repeats}:"
    )
    base = statistics.median(rates[0])
    for workers, values in rates.items():
        rate = statistics.median(values)
        print(
            f"  {workers} worker(s): {rate:7.1f} images/s  x{rate / base:.2f}  "
            f"(runs: {', '.join(f'{v:.0f}' for v in values)})"
        )
    print(f"  cores available: {len(__import__('os').sched_getaffinity(0))}; numpy {np.__version__}")


if __name__ == "__main__":
    main()
