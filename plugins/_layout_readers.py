"""The readers behind :mod:`zsbench.plugins.datasets_layouts`: one per published layout, to paths and labels.

Every reader returns image paths, labels and extra info in a fixed order (sorted folders and files,
the order of the annotation file, or the order of the study's own partition of BreakHis / UTKFace)
and never decodes an image. :data:`READERS` maps a :class:`~zsbench.plugins._layout_spec.Layout`'s
``reader`` to its function.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.plugin import (
    IMAGE_EXTENSIONS,
    MissingDataError,
    ZsbenchError,
    image_folder,
    missing,
)
from zsbench.plugins._layout_spec import how

# The study's BreakHis class code (zs_ssl_clustering/datasets/breakhis.py): 8 * magnification index
# + tumour-type index, both read from the file name.
BREAKHIS_TYPES = ("A", "F", "PT", "TA", "DC", "LC", "MC", "PC")
BREAKHIS_MAGNIFICATIONS = (40, 100, 200, 400)


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".") and path.is_file()


def _folders(layout, root: Path) -> tuple[list[Path], list[str], dict]:
    """An ImageFolder tree at ``root/<classes_dir>``; the label is the class folder's name."""
    tree = image_folder(root / layout.classes_dir, layout.name, {}, how(layout, False, root))
    return tree.paths, [str(label) for label in tree.labels], {}


def _imagenet_v2(layout, root: Path) -> tuple[list[Path], list[int], dict]:
    """Integer-named class folders; the label is that integer (so "10" is class 10, not the 3rd)."""
    classes = sorted((int(d.name), d) for d in root.iterdir() if d.is_dir() and d.name.isascii() and d.name.isdigit())
    paths, labels = [], []
    for index, folder in classes:
        for path in sorted(folder.iterdir()):
            if _is_image(path):
                paths.append(path)
                labels.append(index)
    if not paths:
        raise missing(layout.name, root, [layout.expect], how(layout, False, root))
    return paths, labels, {}


def _pairs(path: Path) -> list[tuple[str, str]]:
    """A published NABirds/CUB-style annotation file: ``<image_id> <value>`` per line."""
    rows = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise ZsbenchError(
                    f"{path} line {number}: expected '<image_id> <value>', got {line.strip()!r}; "
                    "the file is not the published one"
                )
            rows.append((fields[0], fields[1]))
    return rows


def _nabirds(layout, root: Path) -> tuple[list[Path], list[int], dict]:
    """images.txt order; keep is_training_image == 0; the label is class_id as given."""
    images = _pairs(root / "images.txt")
    classes = dict(_pairs(root / "image_class_labels.txt"))
    training = dict(_pairs(root / "train_test_split.txt"))
    paths, labels = [], []
    for image_id, relative in images:
        for table, name in ((training, "train_test_split.txt"), (classes, "image_class_labels.txt")):
            if image_id not in table:
                raise ZsbenchError(f"dataset nabirds: image {image_id} of images.txt has no line in {root / name}")
        flag = training[image_id]
        if flag not in ("0", "1"):
            raise ZsbenchError(
                f"dataset nabirds: {root / 'train_test_split.txt'} gives is_training_image "
                f"{flag!r} for image {image_id}; expected 0 or 1"
            )
        if flag == "0":
            if not classes[image_id].isdigit():
                raise ZsbenchError(
                    f"dataset nabirds: {root / 'image_class_labels.txt'} gives class "
                    f"{classes[image_id]!r} for image {image_id}; expected an integer class_id"
                )
            paths.append(root / "images" / relative)
            labels.append(int(classes[image_id]))
    absent = [p for p in paths if not p.is_file()]
    if absent:
        raise MissingDataError(
            f"dataset nabirds: {len(absent)} test image(s) listed in images.txt are missing "
            f"(first: {absent[0]}); unpack nabirds.tar.gz from {layout.url} again"
        )
    if not paths:
        raise MissingDataError(
            f"dataset nabirds: {root / 'train_test_split.txt'} marks no image as a test image (is_training_image = 0)"
        )
    return paths, labels, {}


def utkface_age(filename: str) -> int | None:
    """The age in a UTKFace file name, parsed as the study parses it; None where it does not parse.

    The part before the first ".", stripped and split on "_", must hold [age]_[gender]_[race]_[date&time]:
    three integers and a yyyymmddHHMMSSFFF timestamp. So the published "24_0_1_20170116220224657 .jpg.chip.jpg"
    and "55_0_0_20170116232725357jpg.chip.jpg" parse; the 3 published names without a race field do not."""
    fields = filename.split(".")[0].strip().split("_")
    if len(fields) < 4:
        return None
    try:
        age, _, _ = (int(field) for field in fields[:3])
        datetime.strptime(fields[3][:17], "%Y%m%d%H%M%S%f")
    except ValueError:
        return None
    return age


def _utkface_files(layout, root: Path) -> tuple[list[tuple[Path, int]], dict]:
    """Every image in ``root`` whose name parses, with its age, sorted by file name."""
    files = sorted((p for p in root.iterdir() if _is_image(p)), key=lambda p: p.name)
    if not files:
        raise missing(layout.name, root, [layout.expect], how(layout, False, root))
    ages = [utkface_age(p.name) for p in files]
    kept = [(p, age) for p, age in zip(files, ages, strict=True) if age is not None]
    left_out = [p.name for p, age in zip(files, ages, strict=True) if age is None]
    return kept, {"n_source_images": len(kept), "n_left_out": len(left_out), "left_out": left_out[:20]}


def _utkface_all(layout, root: Path) -> tuple[list[Path], list[int], dict]:
    kept, extra = _utkface_files(layout, root)
    return [p for p, _ in kept], [age for _, age in kept], extra


def _utkface(layout, root: Path) -> tuple[list[Path], list[int], dict]:
    """The study's test partition (zs_ssl_clustering/datasets/utkface.py, split="test").

    Sort by age (ties by file name); take the positions round(linspace(2, N - 3, int(0.25 N)));
    an age with no image left outside them gives its first image back; keep the age order."""
    kept, extra = _utkface_files(layout, root)
    kept.sort(key=lambda item: item[1])  # stable: file-name order within an age
    ages = np.array([age for _, age in kept])
    n, rate = len(kept), 0.25
    test = np.zeros(n, dtype=bool)
    test[np.round(np.linspace(int(0.5 / rate), n - 1 - int(0.5 / rate), int(rate * n))).astype(int)] = True
    for age in np.unique(ages):
        if not np.any(~test & (ages == age)):
            test[np.flatnonzero(ages == age)[0]] = False
    if not test.any():
        raise ZsbenchError(
            f"dataset {layout.name}: the study's 25% test partition of the {n} image(s) in {root} is empty"
        )
    return [kept[i][0] for i in np.flatnonzero(test)], [int(a) for a in ages[test]], extra


def breakhis_class(filename: str) -> int | None:
    """The study's class of SOB_<B|M>_<type>-<year>-<slide>-<magnification>-<seq>.png; None if unparseable."""
    fields = filename.split("_")[-1].split("-")
    if filename[4:5] not in ("B", "M") or len(fields) < 4:
        return None
    try:
        return BREAKHIS_MAGNIFICATIONS.index(int(fields[3])) * len(BREAKHIS_TYPES) + BREAKHIS_TYPES.index(fields[0])
    except ValueError:
        return None


def _breakhis(layout, root: Path) -> tuple[list[Path], list[int], dict]:
    """The study's test partition (zs_ssl_clustering/datasets/api.py, dataset "breakhis")."""
    from sklearn.model_selection import train_test_split

    breast = root / "histology_slides" / "breast"
    relative = sorted(
        Path(folder, name).relative_to(breast).as_posix()
        for folder, _, names in os.walk(breast)
        for name in names
        if name.startswith("SOB_") and name.endswith(".png")
    )
    if not relative:
        raise missing(layout.name, root, [layout.expect], how(layout, False, root))
    codes = [breakhis_class(Path(r).name) for r in relative]
    bad = [r for r, code in zip(relative, codes, strict=True) if code is None]
    if bad:
        raise ZsbenchError(
            f"dataset {layout.name}: {len(bad)} file name(s) are not SOB_<B|M>_<tumour type>-"
            f"<year>-<slide>-<40|100|200|400>-<seq>.png (first: {breast / bad[0]}); the study's "
            "code cannot read them either: restore the published files"
        )
    try:  # unstratified: the study's get_dataset_labels finds no labels on its BreakHis class
        _, test = train_test_split(np.arange(len(relative)), test_size=0.40, random_state=0, stratify=None)
    except ValueError as exc:
        raise ZsbenchError(f"dataset {layout.name}: cannot split {len(relative)} image(s): {exc}") from None
    return [breast / relative[i] for i in test], [codes[i] for i in test], {"n_source_images": len(relative)}


def _breakhis_all(layout, root: Path) -> tuple[list[Path], list[str], dict]:
    """<benign|malignant>/SOB/<tumor type>/<patient>/<magnification>/<image>; label = tumour type."""
    breast = root / "histology_slides" / "breast"
    paths = sorted(
        p
        for p in breast.glob("*/SOB/*/*/*/*")
        if p.relative_to(breast).parts[0] in ("benign", "malignant") and _is_image(p)
    )
    if not paths:
        raise missing(layout.name, root, [layout.expect], how(layout, False, root))
    return paths, [p.relative_to(breast).parts[2] for p in paths], {}


READERS: dict[str, Callable[[Any, Path], tuple[list[Path], list[str] | list[int], dict]]] = {
    "folders": _folders,
    "imagenet-v2": _imagenet_v2,
    "nabirds": _nabirds,
    "utkface": _utkface,
    "utkface-all": _utkface_all,
    "breakhis": _breakhis,
    "breakhis-all": _breakhis_all,
}
