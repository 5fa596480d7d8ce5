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
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zsbench.plugin.errors import ZsbenchError, check_seed

if TYPE_CHECKING:  # the annotation only: Pillow loads on first use
    from PIL import Image as PILImage

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
    from zsbench.plugin.paths import user_path

    if data_dir is not None:
        return Path(data_dir).expanduser()
    return user_path(ENV_DATA_DIR, "data", "datasets")


def missing(dataset: str, where: Path, expected: Iterable[str], how: str) -> MissingDataError:
    """The one error for absent data: which dataset, which files, where, and how to get them."""
    files = ", ".join(expected)
    return MissingDataError(
        f"dataset {dataset}: not found under {where} (expected {files}). {how} Put the files "
        f"there, or point --data-dir / ${ENV_DATA_DIR} at the folder that holds them"
    )


def shown(path: str | os.PathLike[str]) -> str:
    """A file name safe to print: undecodable bytes (non-UTF-8 names) as ``\\xe9`` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


# 16-bit greyscale as Pillow opens it ("I" is how older Pillow and some TIFFs hold 16-bit data).
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def to_8bit(image: PILImage.Image, name: str | None = None) -> PILImage.Image:
    """An 8-bit image (mode ``L``) from a 16-bit or float one, scaled by the mode's real range.

    Pillow's own ``convert`` clips 16-bit values at 255 and truncates floats in [0, 1] to 0, so
    both would silently become white or black. ``I;16*`` and ``I`` are scaled by 65535 (``I``
    outside 0..65535 is refused); ``F`` in [0, 1] is scaled by 255, in [0, 255] kept, else
    refused. Other modes come back unchanged.
    """
    if image.mode not in _SIXTEEN_BIT and image.mode != "F":
        return image
    from PIL import Image

    values = np.asarray(image)
    label = shown(name or getattr(image, "filename", "") or "an image")
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if image.mode == "F":
        if not np.isfinite(values).all() or lo < 0 or hi > 255:
            raise BadImageError(
                f"image {label} holds floats in [{lo:g}, {hi:g}] (NaN/Inf or outside 0..1 and "
                "0..255), which cannot be mapped to pixel intensities; save it as 8- or 16-bit "
                "integers, or pass --skip-bad to leave such files out"
            )
        scaled = values * 255.0 if hi <= 1.0 else values
    else:
        if lo < 0 or hi > 65535:
            raise BadImageError(
                f"image {label} holds integers in [{lo:g}, {hi:g}], outside the 16-bit range "
                "0..65535; save it as 8- or 16-bit, or pass --skip-bad to leave such files out"
            )
        scaled = values.astype(np.float64) / 257.0  # 65535 -> 255
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), mode="L")


def open_image(path: str | os.PathLike[str]) -> PILImage.Image:
    """Decode an image file completely; a corrupt or unreadable file names itself.

    Only regular files are opened: a FIFO or device would block the run or never end.
    """
    from PIL import Image

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise OSError("not a regular file")
        with Image.open(path) as image:
            image.load()
            decoded = to_8bit(image, os.fspath(path))
            return decoded.convert("RGB") if decoded.mode not in ("L", "RGB") else decoded.copy()
    except BadImageError:
        raise
    except Exception as exc:
        raise BadImageError(
            f"image {shown(path)} cannot be read ({type(exc).__name__}: {exc}); "
            "replace it, or pass --skip-bad to leave such files out"
        ) from None


class ImageFiles:
    """Images stored as files, one label each; ids are paths relative to ``root``."""

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        labels: Sequence[Any],
        root: str | os.PathLike[str],
        info: dict[str, Any],
    ) -> None:
        if len(paths) != len(labels):
            raise ValueError(f"{len(paths)} images but {len(labels)} labels")
        self.root = Path(root)
        self.paths = [Path(p) for p in paths]
        self.labels = np.asarray(labels)
        self.ids = [str(p.relative_to(self.root)) if p.is_relative_to(self.root) else str(p) for p in self.paths]
        self.info = dict(info)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> PILImage.Image:
        return open_image(self.paths[index])


class ArrayImages:
    """Images held in a uint8 array (N, H, W) or (N, H, W, C), e.g. MNIST, CIFAR, SVHN."""

    def __init__(self, pixels: np.ndarray, labels: Sequence[Any], ids: Sequence[str], info: dict[str, Any]) -> None:
        self.pixels = np.asarray(pixels)
        self.labels = np.asarray(labels)
        self.ids = list(ids)
        self.info = dict(info)
        if not len(self.pixels) == len(self.labels) == len(self.ids):
            raise ValueError("pixels, labels and ids must have the same length")

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, index: int) -> PILImage.Image:
        from PIL import Image

        return to_8bit(Image.fromarray(self.pixels[index]), self.ids[index])


def image_folder(root: str | os.PathLike[str], dataset: str, info: dict[str, Any], how: str = "") -> ImageFiles:
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
        raise MissingDataError(
            f"dataset {dataset}: no images in class sub-folders of {root}; "
            "expected <class>/<image> (one sub-folder per class)"
        )
    return ImageFiles(paths, labels, root, {"n_classes": len(set(labels)), **info})


def csv_images(path: str | os.PathLike[str], dataset: str, info: dict[str, Any]) -> ImageFiles:
    """A CSV with a header: an image path column (``path``, ``image``, ``file`` or ``filename``)
    and a label column (``label`` or ``class``). Relative paths are relative to the CSV's folder.
    An empty label means "no label" (left out, never a class)."""
    import csv

    path = Path(path).expanduser()
    if not path.is_file():
        raise MissingDataError(f"dataset {dataset}: {path} does not exist; pass csv:<file.csv> with columns path,label")
    # utf-8-sig: a spreadsheet's byte-order mark must not become part of the first column name
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        try:
            fieldnames = reader.fieldnames or []
            columns = {c.lower().strip(): c for c in fieldnames}
            image_col = next((columns[c] for c in ("path", "image", "file", "filename") if c in columns), None)
            label_col = next((columns[c] for c in ("label", "class") if c in columns), None)
            if image_col is None or label_col is None:
                raise ZsbenchError(
                    f"dataset {dataset}: {path} needs a header with an image column "
                    f"(path/image/file/filename) and a label column (label/class); "
                    f"found {', '.join(fieldnames) or 'no header'}"
                )
            rows = []
            for row in reader:
                # DictReader fills a short row's missing fields with None: that would turn a
                # cut-off line into an unlabelled sample without a word
                if row[image_col] is None or row[label_col] is None:
                    raise ZsbenchError(
                        f"dataset {dataset}: {path} line {reader.line_num} has "
                        f"{sum(v is not None for v in row.values())} field(s) but the header has "
                        f"{len(fieldnames)}; complete the row (an empty label is written as "
                        "a trailing comma)"
                    )
                rows.append(row)
        except UnicodeDecodeError as exc:
            raise ZsbenchError(
                f"dataset {dataset}: {path} is not UTF-8 text ({exc.reason} at byte {exc.start}); save the CSV as UTF-8"
            ) from None
    paths = [(path.parent / r[image_col]) for r in rows]
    labels = [r[label_col].strip() for r in rows]
    return ImageFiles(paths, labels, path.parent, {"source": str(path), **info})


def stratified_indices(labels: Sequence[Any] | np.ndarray, size: int | float, seed: int) -> np.ndarray:
    """A seeded, stratified sample of positions: ``size`` samples (int) or a fraction (float).

    Each class gets its proportional share (largest remainders decide the rounding); every class
    keeps at least one sample when ``size`` allows. The positions come back sorted.
    """
    check_seed(seed, "--subsample-seed")  # numpy refuses negative seeds with a traceback
    values = np.asarray(labels)
    n = len(values)
    target = round(size * n) if isinstance(size, float) else int(size)
    if target >= n:
        return np.arange(n)
    classes, codes = np.unique(values, return_inverse=True)
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
    chosen = [
        rng.choice(np.flatnonzero(codes == c), size=min(q, counts[c]), replace=False)
        for c, q in enumerate(quota)
        if q > 0
    ]
    return np.sort(np.concatenate(chosen))


def fingerprint(ids: Sequence[str] | None, labels: Sequence[Any], split: Any) -> str:
    """SHA-256 over the split rule, the sample identifiers and the labels, in order.

    Names that are not UTF-8 (``os.fsdecode`` keeps their bytes as surrogate escapes) are hashed
    as those original bytes; UTF-8 names hash exactly as before.
    """
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            {"split": split, "n": len(labels), "ids": "given" if ids is not None else "position"},
            sort_keys=True,
            default=str,
        ).encode()
    )
    for i, label in enumerate(labels):
        sample = ids[i] if ids is not None else str(i)
        digest.update(f"\n{sample}\t{label}".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()
