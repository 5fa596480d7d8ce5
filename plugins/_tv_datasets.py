"""The loaders behind ``datasets_torchvision``: torchvision parses each dataset's own files, and
zsbench serves the images (:class:`~zsbench.plugin.datasets.ArrayImages` or
:class:`~zsbench.plugin.datasets.ImageFiles`, so every decode goes through ``open_image``) and the
labels, which are read from torchvision's parsed annotations, never by decoding images.

Each dataset has a folder of its own, ``<data root>/<zsbench name>/``, which is the ``root`` that
the torchvision class is given (e.g. ``<data root>/mnist/MNIST/raw/t10k-images-idx3-ubyte``).
Nothing heavy is imported at module level: torch, torchvision and scipy load inside the loaders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# the "how" of a missing dataset that torchvision can download
_FETCH = "Pass --download to fetch it with torchvision (from {url}), or download and unpack it by hand."


def _root(name: str, data_dir: str | None) -> Path:
    from zsbench.plugin import data_root

    return data_root(data_dir) / name


def _build(name: str, root: Path, expected: Sequence[str], how: str, make: Callable[[], Any],
           download: bool) -> Any:
    """torchvision's constructor; its "not found" (or a failed download) becomes one zsbench error."""
    from zsbench.plugin import missing

    try:
        return make()
    except FileNotFoundError as exc:  # an annotation file torchvision opens without checking first
        raise missing(name, root, expected, f"{exc.filename or exc} is missing. {how}") from None
    except (OSError, RuntimeError) as exc:
        text = str(exc).split(". You can")[0].strip().rstrip(".")
        if download:
            raise missing(name, root, expected, f"With --download, torchvision raised "
                                                f"{type(exc).__name__}: {text}. {how}") from None
        if any(s in text for s in ("not found", "does not exist", "corrupted")):
            said = "" if text == "Dataset not found" else f"torchvision: {text}. "
            raise missing(name, root, expected, said + how) from None
        raise


def _info(source: str, split: str, group: str, labels: Any, **extra: Any) -> dict[str, Any]:
    import numpy as np

    return {"source": source, "split": split, "n_classes": int(len(np.unique(labels))),
            "n_samples": int(len(labels)), "group": group, **extra}


def _arrays(pixels: Any, labels: Any, info: dict[str, Any]):
    from zsbench.plugin import ArrayImages

    return ArrayImages(pixels, labels, [f"test/{i}" for i in range(len(labels))], info)


def _files(paths: Sequence[Any], labels: Any, images: Path, info: dict[str, Any]):
    """ids are paths relative to the dataset's image folder: the names the dataset itself uses."""
    from zsbench.plugin import ImageFiles

    return ImageFiles([Path(p) for p in paths], labels, images, info)


def mnist_like(name: str, cls_name: str, url: str, data_dir: str | None, download: bool):
    """MNIST and Fashion-MNIST: the t10k idx files (torchvision insists the train files exist too)."""
    import numpy as np
    import torchvision.datasets as tvd

    root = _root(name, data_dir)
    expected = [f"{cls_name}/raw/{s}-{kind}" for s in ("t10k", "train")
                for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")]
    cls = getattr(tvd, cls_name)
    ds = _build(name, root, expected, _FETCH.format(url=url),
                lambda: cls(str(root), train=False, download=download), download)
    labels = ds.targets.numpy().astype(np.int64)
    info = _info(f"torchvision.datasets.{cls_name}(train=False)", "official test split (t10k files)",
                 "far-OOD", labels, image_size=[28, 28])
    return _arrays(ds.data.numpy(), labels, info)


def cifar(name: str, data_dir: str | None, download: bool, hundred: bool):
    """CIFAR-10 / CIFAR-100 test batch (CIFAR-100 with its 100 fine labels)."""
    import numpy as np
    import torchvision.datasets as tvd

    root = _root(name, data_dir)
    if hundred:
        cls, folder, files = tvd.CIFAR100, "cifar-100-python", ["test", "meta", "train"]
    else:
        cls, folder, files = tvd.CIFAR10, "cifar-10-batches-py", ["test_batch", "batches.meta",
                                                                  "data_batch_1 .. data_batch_5"]
    how = _FETCH.format(url=cls.url) + " torchvision checks the MD5 sums of all of them."
    ds = _build(name, root, [f"{folder}/{f}" for f in files], how,
                lambda: cls(str(root), train=False, download=download), download)
    labels = np.asarray(ds.targets, dtype=np.int64)
    split = "official test split (test file), fine labels" if hundred else "official test split (test_batch)"
    info = _info(f"torchvision.datasets.{cls.__name__}(train=False)", split, "in-domain", labels,
                 image_size=[32, 32])
    return _arrays(ds.data, labels, info)


def svhn(name: str, data_dir: str | None, download: bool):
    import numpy as np
    import torchvision.datasets as tvd

    root = _root(name, data_dir)
    url = tvd.SVHN.split_list["test"][0]
    ds = _build(name, root, ["test_32x32.mat"], _FETCH.format(url=url) + " torchvision checks its MD5 sum.",
                lambda: tvd.SVHN(str(root), split="test", download=download), download)
    labels = np.asarray(ds.labels, dtype=np.int64)  # torchvision maps the file's label 10 to digit 0
    pixels = np.ascontiguousarray(np.asarray(ds.data).transpose(0, 2, 3, 1))  # (N, C, H, W) -> (N, H, W, C)
    info = _info("torchvision.datasets.SVHN(split='test')", "official test split (test_32x32.mat)", "far-OOD",
                 labels, image_size=[32, 32])
    return _arrays(pixels, labels, info)


def dtd(name: str, data_dir: str | None, download: bool):
    import torchvision.datasets as tvd

    root = _root(name, data_dir)
    ds = _build(name, root, ["dtd/dtd/images/<class>/<image>.jpg", "dtd/dtd/labels/test1.txt"],
                _FETCH.format(url=tvd.DTD._URL),
                lambda: tvd.DTD(str(root), split="test", partition=1, download=download), download)
    info = _info("torchvision.datasets.DTD(split='test', partition=1)",
                 "official test split of partition 1 (labels/test1.txt)", "far-OOD", ds._labels)
    return _files(ds._image_files, ds._labels, ds._images_folder, info)


def flowers102(name: str, data_dir: str | None, download: bool):
    import torchvision.datasets as tvd

    root = _root(name, data_dir)
    url = tvd.Flowers102._download_url_prefix
    ds = _build(name, root, ["flowers-102/jpg/image_<id>.jpg", "flowers-102/imagelabels.mat",
                             "flowers-102/setid.mat"],
                _FETCH.format(url=url) + " torchvision checks the MD5 sums of the .mat files.",
                lambda: tvd.Flowers102(str(root), split="test", download=download), download)
    info = _info("torchvision.datasets.Flowers102(split='test')", "official test split (setid.mat tstid)",
                 "fine-grained", ds._labels)
    return _files(ds._image_files, ds._labels, ds._images_folder, info)


def fgvc_aircraft(name: str, data_dir: str | None, download: bool):
    import torchvision.datasets as tvd

    root = _root(name, data_dir)
    data = "fgvc-aircraft-2013b/data"
    ds = _build(name, root, [f"{data}/images/<id>.jpg", f"{data}/images_variant_test.txt", f"{data}/variants.txt"],
                _FETCH.format(url=tvd.FGVCAircraft._URL),
                lambda: tvd.FGVCAircraft(str(root), split="test", annotation_level="variant", download=download),
                download)
    info = _info("torchvision.datasets.FGVCAircraft(split='test', annotation_level='variant')",
                 "official test split (images_variant_test.txt), variant labels", "fine-grained", ds._labels)
    return _files(ds._image_files, ds._labels, root / data / "images", info)


def stanford_cars(name: str, data_dir: str | None, download: bool):
    import torchvision.datasets as tvd

    root = _root(name, data_dir)
    how = ("torchvision cannot download it (the original Stanford URL is gone, so --download cannot help); get "
           "cars_test.tgz, cars_test_annos_withlabels.mat and the devkit from a mirror of the original release.")
    # download=True is never passed on: torchvision's StanfordCars.download() only raises
    ds = _build(name, root, ["stanford_cars/cars_test/<image>.jpg", "stanford_cars/cars_test_annos_withlabels.mat",
                             "stanford_cars/devkit/cars_meta.mat"], how,
                lambda: tvd.StanfordCars(str(root), split="test"), False)
    paths = [p for p, _ in ds._samples]
    labels = [int(c) for _, c in ds._samples]
    info = _info("torchvision.datasets.StanfordCars(split='test')",
                 "official test split (cars_test_annos_withlabels.mat)", "fine-grained", labels)
    return _files(paths, labels, ds._images_base_path, info)


def eurosat(name: str, data_dir: str | None, download: bool):
    """EuroSAT has no official split. As in the study's code: scikit-learn's
    ``train_test_split(positions, test_size=0.15, stratify=labels, random_state=0)`` over the
    ImageFolder listing (classes and files sorted), and its test part, in the order it returns."""
    import numpy as np
    import torchvision.datasets as tvd
    from sklearn.model_selection import train_test_split

    root = _root(name, data_dir)
    url = "https://huggingface.co/datasets/torchgeo/eurosat (EuroSAT.zip)"
    ds = _build(name, root, ["eurosat/2750/<class>/<image>.jpg"], _FETCH.format(url=url),
                lambda: tvd.EuroSAT(str(root), download=download), download)
    targets = np.asarray(ds.targets, dtype=np.int64)
    _, chosen = train_test_split(np.arange(len(targets)), test_size=0.15, stratify=targets, random_state=0)
    info = _info("torchvision.datasets.EuroSAT (RGB)", "stratified 15% of all images, seed 0 "
                 "(sklearn train_test_split, random_state=0, as the study)", "far-OOD",
                 targets[chosen], n_available=int(len(targets)))
    return _files([ds.samples[i][0] for i in chosen], targets[chosen], Path(ds._data_folder), info)


def places365(name: str, data_dir: str | None, download: bool):
    """The val split's high-resolution images (``small=False``), as the study's code loaded them."""
    import torchvision.datasets as tvd

    from zsbench.plugin import missing

    root = _root(name, data_dir)
    expected = ["categories_places365.txt", "places365_val.txt", "val_large/Places365_val_<id>.jpg"]
    how = _FETCH.format(url=tvd.Places365._BASE_URL + " (filelist_places365-standard.tar, val_large.tar)")
    ds = _build(name, root, expected, how + " torchvision checks the MD5 sums of the two lists.",
                lambda: tvd.Places365(str(root), split="val", small=False, download=download), download)
    images = Path(ds.images_dir)
    if not images.is_dir():
        raise missing(name, root, expected, f"The image folder {images} is missing. {how}")
    info = _info("torchvision.datasets.Places365(split='val', small=False)",
                 "official val split (places365_val.txt), high-resolution images", "near-OOD", ds.targets)
    return _files([p for p, _ in ds.imgs], ds.targets, images, info)


def celeba(name: str, data_dir: str | None, download: bool):
    import torchvision.datasets as tvd

    root = _root(name, data_dir)
    files = ["img_align_celeba/<image>.jpg", "list_eval_partition.txt", "identity_CelebA.txt", "list_attr_celeba.txt",
             "list_bbox_celeba.txt", "list_landmarks_align_celeba.txt"]
    how = ("Pass --download to fetch it with torchvision from Google Drive (needs `pip install gdown`; Drive "
           "quotas often refuse it), or download img_align_celeba.zip and the five annotation files from "
           "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html. torchvision checks the annotation files' MD5 sums.")
    ds = _build(name, root, [f"celeba/{f}" for f in files], how,
                lambda: tvd.CelebA(str(root), split="test", target_type="identity", download=download), download)
    labels = ds.identity[:, 0].numpy()
    images = root / "celeba" / "img_align_celeba"
    info = _info("torchvision.datasets.CelebA(split='test', target_type='identity')",
                 "official test split (list_eval_partition.txt partition 2), identity labels", "far-OOD", labels)
    return _files([images / f for f in ds.filename], labels, images, info)


def inaturalist_2021(name: str, data_dir: str | None, download: bool):
    import torchvision.datasets as tvd

    from zsbench.plugin import missing

    root = _root(name, data_dir)
    folder = root / "2021_valid"
    expected = ["2021_valid/<NNNNN_kingdom_phylum_class_order_family_genus_species>/<image>.jpg"]
    how = _FETCH.format(url="https://ml-inat-competition-datasets.s3.amazonaws.com/2021/val.tar.gz")
    # checked first: torchvision's INaturalist creates the root folder even when nothing is there
    if not download and not (folder.is_dir() and any(folder.iterdir())):
        raise missing(name, root, expected, how)
    ds = _build(name, root, expected, how, lambda: tvd.INaturalist(
        str(root), version="2021_valid", target_type="full", download=download), download)
    index = sorted(ds.index)  # torchvision lists files in os.listdir order, which varies by filesystem
    base = Path(ds.root)
    labels = [c for c, _ in index]
    info = _info("torchvision.datasets.INaturalist(version='2021_valid', target_type='full')",
                 "official 2021 validation split (2021_valid), full species labels", "fine-grained", labels)
    return _files([base / ds.all_categories[c] / f for c, f in index], labels, base, info)
