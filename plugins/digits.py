"""scikit-learn's bundled handwritten digits: 1,797 8x8 greyscale images, 10 classes, offline."""

from __future__ import annotations

from zsbench.plugin import InvalidInputError, hookimpl

SPLITS = ("all", "train", "test")
# The bundle has no train/test split. The declared one (kNN's train partition and the images it is
# scored on): scikit-learn's train_test_split(test_size=0.5, stratify=labels, random_state=0).
SPLIT_RULE = "sklearn train_test_split(test_size=0.5, stratify=labels, random_state=0)"


def _digits(split: str = "all"):
    """All 1,797 images by default (what `zsbench run` clusters); ``split="train"`` or ``"test"``: one half
    of the declared seeded, stratified 50/50 split (`zsbench run --knn` clusters the test half and takes
    the kNN neighbours from the train half)."""
    import numpy as np

    from zsbench.plugin import ArrayImages

    if split not in SPLITS:
        raise InvalidInputError(f"dataset digits: split={split!r} is not one of {', '.join(SPLITS)}")
    images, target = _bundle()
    # stored as 0..16 intensities; scaled to 8-bit so they are ordinary greyscale images
    pixels = np.round(images * (255.0 / 16.0)).astype(np.uint8)
    labels = target.astype(np.int64)
    positions = np.arange(len(pixels))
    described = "all (no split bundled)"
    if split != "all":
        from sklearn.model_selection import train_test_split

        train, test = train_test_split(positions, test_size=0.5, stratify=labels, random_state=0)
        positions = np.sort(train if split == "train" else test)
        described = f"{split} half of {SPLIT_RULE}"
    return ArrayImages(
        pixels[positions],
        labels[positions],
        [f"digits/{i}" for i in positions],
        {
            "source": "sklearn.datasets.load_digits",
            "split": described,
            "n_classes": 10,
            "n_samples": len(positions),
            "image_size": [8, 8],
            "group": "far-OOD",
        },
    )


def _bundle():
    """(images 0..16 as float, labels) as ``sklearn.datasets.load_digits`` gives them, read from the same
    bundled file without importing scikit-learn (a second or more of imports, on a re-run that needs
    nothing else from it); ``load_digits`` itself when the file is not where scikit-learn keeps it."""
    import importlib.util
    from pathlib import Path

    import numpy as np

    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if path is not None and path.is_file():
        data = np.loadtxt(path, delimiter=",")  # load_digits reads it so (sklearn.datasets._base)
        if data.shape == (1797, 65):
            return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(int)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images, bunch.target


@hookimpl
def register_datasets(register):
    register(
        "digits",
        _digits,
        description="scikit-learn's bundled handwritten digits (1,797 8x8 images, 10 classes; "
        "split=train/test: a declared stratified 50/50 split, for --knn)",
    )
