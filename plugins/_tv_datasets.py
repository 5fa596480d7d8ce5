"""The loaders behind ``datasets_torchvision``, and what they share: torchvision parses each
dataset's own files, and zsbench serves the images (:class:`~zsbench.plugin.datasets.ArrayImages`
here, :class:`~zsbench.plugin.datasets.ImageFiles` in ``_tv_files``, so every decode goes through
``open_image``) and the labels, which are read from torchvision's parsed annotations, never by
decoding images. The datasets held as arrays (MNIST, Fashion-MNIST, CIFAR, SVHN) load here.

Each dataset has a folder of its own, ``<data root>/<zsbench name>/``, which is the ``root`` that
the torchvision class is given (e.g. ``<data root>/mnist/MNIST/raw/t10k-images-idx3-ubyte``).
Nothing heavy is imported at module level: torch, torchvision and scipy load inside the loaders.

Every loader takes ``split`` (:data:`SPLITS`): ``"test"`` is the partition the study clustered
(unchanged: the same ids, labels and info as before ``split`` existed), ``"train"`` the partition its
kNN probe took neighbours from (``embed.py --partition train``: ``dataset_train`` of the study's
``zs_ssl_clustering/datasets/api.py``). Train ids never equal test ids: array rows are ``train/<i>``
beside the test's ``test/<i>``, and a file is named relative to the folder that holds both
partitions' images, so one id is one file (``cars_train/00001.jpg`` beside the test's ``00001.jpg``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# the "how" of a missing dataset that torchvision can download
FETCH = "Pass --download to fetch it with torchvision (from {url}), or download and unpack it by hand."
SPLITS = ("test", "train")


def is_train(name: str, split: Any) -> bool:
    """Whether ``split`` asks for the train partition; anything but the two partitions is an error."""
    from zsbench.plugin import InvalidInputError

    if not isinstance(split, str) or split not in SPLITS:
        raise InvalidInputError(
            f"dataset {name}: split={split!r} is not one of {', '.join(SPLITS)}; pass "
            "split='test' (the default, the partition the study clustered) or split='train'"
        )
    return split == "train"


def dataset_root(name: str, data_dir: str | None) -> Path:
    from zsbench.plugin import data_root

    return data_root(data_dir) / name


def build(name: str, root: Path, expected: Sequence[str], how: str, make: Callable[[], Any], download: bool) -> Any:
    """torchvision's constructor; its "not found" (or a failed download) becomes one zsbench error."""
    from zsbench.plugin import missing

    try:
        return make()
    except FileNotFoundError as exc:  # an annotation file torchvision opens without checking first
        raise missing(name, root, expected, f"{exc.filename or exc} is missing. {how}") from None
    except (OSError, RuntimeError) as exc:
        text = str(exc).split(". You can")[0].strip().rstrip(".")
        if download:
            raise missing(
                name, root, expected, f"With --download, torchvision raised {type(exc).__name__}: {text}. {how}"
            ) from None
        if any(s in text for s in ("not found", "does not exist", "corrupted")):
            said = "" if text == "Dataset not found" else f"torchvision: {text}. "
            raise missing(name, root, expected, said + how) from None
        raise


def info_of(source: str, split: str, group: str, labels: Any, **extra: Any) -> dict[str, Any]:
    import numpy as np

    return {
        "source": source,
        "split": split,
        "n_classes": int(len(np.unique(labels))),
        "n_samples": int(len(labels)),
        "group": group,
        **extra,
    }


def _arrays(pixels: Any, labels: Any, info: dict[str, Any], train: bool = False):
    from zsbench.plugin import ArrayImages

    part = "train" if train else "test"
    return ArrayImages(pixels, labels, [f"{part}/{i}" for i in range(len(labels))], info)


def mnist_like(name: str, cls_name: str, url: str, data_dir: str | None, download: bool, split: str = "test"):
    """MNIST and Fashion-MNIST: the t10k idx files, or the train ones (torchvision insists on all four
    files for either)."""
    import numpy as np
    import torchvision.datasets as tvd

    train = is_train(name, split)
    root = dataset_root(name, data_dir)
    expected = [
        f"{cls_name}/raw/{s}-{kind}"
        for s in (("train", "t10k") if train else ("t10k", "train"))
        for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")
    ]
    cls = getattr(tvd, cls_name)
    ds = build(
        name, root, expected, FETCH.format(url=url), lambda: cls(str(root), train=train, download=download), download
    )
    labels = ds.targets.numpy().astype(np.int64)
    described = "official train split (train files)" if train else "official test split (t10k files)"
    info = info_of(f"torchvision.datasets.{cls_name}(train={train})", described, "far-OOD", labels, image_size=[28, 28])
    return _arrays(ds.data.numpy(), labels, info, train)


def cifar(name: str, data_dir: str | None, download: bool, hundred: bool, split: str = "test"):
    """CIFAR-10 / CIFAR-100 test batch, or the train batches (CIFAR-100 with its 100 fine labels);
    torchvision checks every file for either."""
    import numpy as np
    import torchvision.datasets as tvd

    train = is_train(name, split)
    root = dataset_root(name, data_dir)
    if hundred:
        cls, folder, files = tvd.CIFAR100, "cifar-100-python", ["test", "meta", "train"]
    else:
        cls, folder, files = (
            tvd.CIFAR10,
            "cifar-10-batches-py",
            ["test_batch", "batches.meta", "data_batch_1 .. data_batch_5"],
        )
    how = FETCH.format(url=cls.url) + " torchvision checks the MD5 sums of all of them."
    ds = build(
        name,
        root,
        [f"{folder}/{f}" for f in files],
        how,
        lambda: cls(str(root), train=train, download=download),
        download,
    )
    labels = np.asarray(ds.targets, dtype=np.int64)
    if train:
        described = (
            "official train split (train file), fine labels"
            if hundred
            else "official train split (data_batch_1 .. data_batch_5)"
        )
    else:
        described = "official test split (test file), fine labels" if hundred else "official test split (test_batch)"
    info = info_of(
        f"torchvision.datasets.{cls.__name__}(train={train})", described, "in-domain", labels, image_size=[32, 32]
    )
    return _arrays(ds.data, labels, info, train)


def svhn(name: str, data_dir: str | None, download: bool, split: str = "test"):
    """The test digits, or the train ones (the study left the ``extra`` set out)."""
    import numpy as np
    import torchvision.datasets as tvd

    part = "train" if is_train(name, split) else "test"
    root = dataset_root(name, data_dir)
    url, file, _ = tvd.SVHN.split_list[part]
    ds = build(
        name,
        root,
        [file],
        FETCH.format(url=url) + " torchvision checks its MD5 sum.",
        lambda: tvd.SVHN(str(root), split=part, download=download),
        download,
    )
    labels = np.asarray(ds.labels, dtype=np.int64)  # torchvision maps the file's label 10 to digit 0
    pixels = np.ascontiguousarray(np.asarray(ds.data).transpose(0, 2, 3, 1))  # (N, C, H, W) -> (N, H, W, C)
    described = f"official {part} split ({file})" + ("; extra not included" if part == "train" else "")
    info = info_of(f"torchvision.datasets.SVHN(split='{part}')", described, "far-OOD", labels, image_size=[32, 32])
    return _arrays(pixels, labels, info, part == "train")
