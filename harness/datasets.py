"""Helpers for dataset plugins: where data lives, reading image files safely, and fingerprints.

A dataset plugin's factory returns an object with ``len()``, ``ds[i]`` (a PIL image),
``ds.labels`` and ``ds.info``, and preferably ``ds.ids``: one stable identifier per sample (a
relative file path, or ``"test/123"`` for an array), which the fingerprint hashes. The classes
here give that shape to image files (:class:`ImageFiles`) and in-memory arrays
(:class:`ArrayImages`). Nothing here substitutes data: a missing file is a :class:`MissingDataError`
that names the files and where to put them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.errors import ZsbenchError

ENV_DATA_DIR = "ZSBENCH_DATA_DIR"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class MissingDataError(ZsbenchError):
    """The dataset's files are not where they should be."""


class BadImageError(ZsbenchError):
    """An image file that cannot be decoded."""

    def __init__(self, message: str) -> None:
        # torch's DataLoader re-raises a worker's exception with the worker traceback prepended;
        # keep only our own line, so the user still sees one line naming the file.
        marker = f"{type(self).__name__}: "
        if "Traceback" in message and marker in message:
            message = message.rsplit(marker, 1)[1].strip()
        super().__init__(message)


def data_root(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """``data_dir`` (``--data-dir``), else ``$ZSBENCH_DATA_DIR``, else the per-user data folder."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("zsbench", appauthor=False)) / "datasets"


def missing(dataset: str, where: Path, expected: Iterable[str], how: str) -> MissingDataError:
    """The one error for absent data: which dataset, which files, where, and how to get them."""
    files = ", ".join(expected)
    return MissingDataError(
        f"dataset {dataset}: not found under {where} (expected {files}). {how} Put the files "
        f"there, or point --data-dir / ${ENV_DATA_DIR} at the folder that holds them")


def open_image(path: str | os.PathLike[str]):
    """Decode an image file completely; a corrupt or unreadable file names itself."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
            return image.convert("RGB") if image.mode not in ("L", "RGB") else image.copy()
    except Exception as exc:
        raise BadImageError(f"image {path} cannot be read ({type(exc).__name__}: {exc}); "
                            "replace it, or pass --skip-bad to leave such files out") from None


class ImageFiles:
    """Images stored as files, one label each; ids are paths relative to ``root``."""

    def __init__(self, paths: Sequence[str | os.PathLike[str]], labels: Sequence[Any],
                 root: str | os.PathLike[str], info: dict[str, Any]) -> None:
        if len(paths) != len(labels):
            raise ValueError(f"{len(paths)} images but {len(labels)} labels")
        self.root = Path(root)
        self.paths = [Path(p) for p in paths]
        self.labels = np.asarray(labels)
        self.ids = [str(p.relative_to(self.root)) if p.is_relative_to(self.root) else str(p)
                    for p in self.paths]
        self.info = dict(info)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        return open_image(self.paths[index])


class ArrayImages:
    """Images held in a uint8 array (N, H, W) or (N, H, W, C), e.g. MNIST, CIFAR, SVHN."""

    def __init__(self, pixels: np.ndarray, labels: Sequence[Any], ids: Sequence[str],
                 info: dict[str, Any]) -> None:
        self.pixels = np.asarray(pixels)
        self.labels = np.asarray(labels)
        self.ids = list(ids)
        self.info = dict(info)
        if not len(self.pixels) == len(self.labels) == len(self.ids):
            raise ValueError("pixels, labels and ids must have the same length")

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, index: int):
        from PIL import Image

        return Image.fromarray(self.pixels[index])


def image_folder(root: str | os.PathLike[str], dataset: str, info: dict[str, Any],
                 how: str = "") -> ImageFiles:
    """An ImageFolder tree: ``root/<class>/**/<image>``; the label is the class folder's name."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise missing(dataset, root, ["<class>/<image> sub-folders"], how)
    paths, labels = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
                paths.append(path)
                labels.append(folder.name)
    if not paths:
        raise MissingDataError(f"dataset {dataset}: no images in class sub-folders of {root}; "
                               "expected <class>/<image> (one sub-folder per class)")
    return ImageFiles(paths, labels, root, {"n_classes": len(set(labels)), **info})


def csv_images(path: str | os.PathLike[str], dataset: str, info: dict[str, Any]) -> ImageFiles:
    """A CSV with a header: an image path column (``path``, ``image``, ``file`` or ``filename``)
    and a label column (``label`` or ``class``). Relative paths are relative to the CSV's folder.
    An empty label means "no label" (left out, never a class)."""
    import csv

    path = Path(path).expanduser()
    if not path.is_file():
        raise MissingDataError(f"dataset {dataset}: {path} does not exist; pass csv:<file.csv> "
                               "with columns path,label")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        columns = {c.lower().strip(): c for c in reader.fieldnames or []}
        image_col = next((columns[c] for c in ("path", "image", "file", "filename") if c in columns), None)
        label_col = next((columns[c] for c in ("label", "class") if c in columns), None)
        if image_col is None or label_col is None:
            raise ZsbenchError(f"dataset {dataset}: {path} needs a header with an image column "
                               f"(path/image/file/filename) and a label column (label/class); "
                               f"found {', '.join(reader.fieldnames or []) or 'no header'}")
        rows = list(reader)
    paths = [(path.parent / r[image_col]) for r in rows]
    labels = [r[label_col].strip() if r[label_col] is not None else "" for r in rows]
    return ImageFiles(paths, labels, path.parent, {"source": str(path), **info})


def stratified_indices(labels: Sequence[Any], size: int | float, seed: int) -> np.ndarray:
    """A seeded, stratified sample of positions: ``size`` samples (int) or a fraction (float).

    Each class gets its proportional share (largest remainders decide the rounding); every class
    keeps at least one sample when ``size`` allows. The positions come back sorted.
    """
    labels = np.asarray(labels)
    n = len(labels)
    target = round(size * n) if isinstance(size, float) else int(size)
    if target >= n:
        return np.arange(n)
    classes, codes = np.unique(labels, return_inverse=True)
    counts = np.bincount(codes)
    exact = counts * target / n
    quota = np.floor(exact).astype(int)
    if target >= len(classes):
        quota = np.maximum(quota, 1)
    short = target - quota.sum()
    if short > 0:
        order = np.argsort(-(exact - np.floor(exact)), kind="stable")
        for c in order[:short]:
            quota[c] += 1
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(codes == c), size=min(q, counts[c]), replace=False)
              for c, q in enumerate(quota) if q > 0]
    return np.sort(np.concatenate(chosen))


def fingerprint(ids: Sequence[str] | None, labels: Sequence[Any], split: Any) -> str:
    """SHA-256 over the split rule, the sample identifiers and the labels, in order."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"split": split, "n": len(labels),
                              "ids": "given" if ids is not None else "position"},
                             sort_keys=True, default=str).encode())
    for i, label in enumerate(labels):
        sample = ids[i] if ids is not None else str(i)
        digest.update(f"\n{sample}\t{label}".encode())
    return digest.hexdigest()
