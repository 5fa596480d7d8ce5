"""The torchvision datasets served as image files (:class:`~zsbench.plugin.datasets.ImageFiles`):
DTD, Flowers-102, FGVC-Aircraft, Stanford Cars, EuroSAT, Places365, CelebA, iNaturalist 2021.
Folders, ``split`` and errors follow ``_tv_datasets``, whose helpers these loaders use.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zsbench.plugins._tv_datasets import FETCH, build, dataset_root, info_of, is_train


def _files(paths: Sequence[Any], labels: Any, images: Path, info: dict[str, Any]):
    """ids are paths relative to ``images``: the dataset's image folder (the names the dataset itself
    uses), or for a train partition with a folder of its own, the folder above both partitions'."""
    from zsbench.plugin import ImageFiles

    return ImageFiles([Path(p) for p in paths], labels, images, info)


def dtd(name: str, data_dir: str | None, download: bool, split: str = "test"):
    """Partition 1's test list, or its train list (the study left val1 out). torchvision numbers the
    classes of each list: the two agree because every list of DTD holds all 47 classes."""
    import torchvision.datasets as tvd

    part = "train" if is_train(name, split) else "test"
    root = dataset_root(name, data_dir)
    ds = build(
        name,
        root,
        ["dtd/dtd/images/<class>/<image>.jpg", f"dtd/dtd/labels/{part}1.txt"],
        FETCH.format(url=tvd.DTD._URL),
        lambda: tvd.DTD(str(root), split=part, partition=1, download=download),
        download,
    )
    info = info_of(
        f"torchvision.datasets.DTD(split='{part}', partition=1)",
        f"official {part} split of partition 1 (labels/{part}1.txt)",
        "far-OOD",
        ds._labels,
    )
    return _files(ds._image_files, ds._labels, ds._images_folder, info)


def flowers102(name: str, data_dir: str | None, download: bool, split: str = "test"):
    """setid.mat's tstid, or its trnid (the study left valid out)."""
    import torchvision.datasets as tvd

    part = "train" if is_train(name, split) else "test"
    root = dataset_root(name, data_dir)
    url = tvd.Flowers102._download_url_prefix
    ds = build(
        name,
        root,
        ["flowers-102/jpg/image_<id>.jpg", "flowers-102/imagelabels.mat", "flowers-102/setid.mat"],
        FETCH.format(url=url) + " torchvision checks the MD5 sums of the .mat files.",
        lambda: tvd.Flowers102(str(root), split=part, download=download),
        download,
    )
    key = "trnid" if part == "train" else "tstid"
    info = info_of(
        f"torchvision.datasets.Flowers102(split='{part}')",
        f"official {part} split (setid.mat {key})",
        "fine-grained",
        ds._labels,
    )
    return _files(ds._image_files, ds._labels, ds._images_folder, info)


def fgvc_aircraft(name: str, data_dir: str | None, download: bool, split: str = "test"):
    """The test list, or the train list (not trainval: the study left val out), variant labels."""
    import torchvision.datasets as tvd

    part = "train" if is_train(name, split) else "test"
    root = dataset_root(name, data_dir)
    data, listed = "fgvc-aircraft-2013b/data", f"images_variant_{part}.txt"
    ds = build(
        name,
        root,
        [f"{data}/images/<id>.jpg", f"{data}/{listed}", f"{data}/variants.txt"],
        FETCH.format(url=tvd.FGVCAircraft._URL),
        lambda: tvd.FGVCAircraft(str(root), split=part, annotation_level="variant", download=download),
        download,
    )
    info = info_of(
        f"torchvision.datasets.FGVCAircraft(split='{part}', annotation_level='variant')",
        f"official {part} split ({listed}), variant labels",
        "fine-grained",
        ds._labels,
    )
    return _files(ds._image_files, ds._labels, root / data / "images", info)


def stanford_cars(name: str, data_dir: str | None, download: bool, split: str = "test"):
    """The test images, or the train ones (``cars_train/``, so their ids are ``cars_train/<image>``)."""
    import torchvision.datasets as tvd

    part = "train" if is_train(name, split) else "test"
    root = dataset_root(name, data_dir)
    annotations, get = {
        "train": ("devkit/cars_train_annos.mat", "cars_train.tgz and the devkit (it holds cars_train_annos.mat)"),
        "test": ("cars_test_annos_withlabels.mat", "cars_test.tgz, cars_test_annos_withlabels.mat and the devkit"),
    }[part]
    how = (
        "torchvision cannot download it (the original Stanford URL is gone, so --download cannot help); get "
        f"{get} from a mirror of the original release."
    )
    # download=True is never passed on: torchvision's StanfordCars.download() only raises
    ds = build(
        name,
        root,
        [
            f"stanford_cars/cars_{part}/<image>.jpg",
            f"stanford_cars/{annotations}",
            "stanford_cars/devkit/cars_meta.mat",
        ],
        how,
        lambda: tvd.StanfordCars(str(root), split=part),
        False,
    )
    paths = [p for p, _ in ds._samples]
    labels = [int(c) for _, c in ds._samples]
    info = info_of(
        f"torchvision.datasets.StanfordCars(split='{part}')",
        f"official {part} split ({Path(annotations).name})",
        "fine-grained",
        labels,
    )
    return _files(paths, labels, ds._base_folder if part == "train" else ds._images_base_path, info)


def eurosat(name: str, data_dir: str | None, download: bool, split: str = "test"):
    """EuroSAT has no official split. As in the study's code: scikit-learn's
    ``train_test_split(positions, test_size=0.15, stratify=labels, random_state=0)`` over the
    ImageFolder listing (classes and files sorted); the test part, or the train part (the other 85%),
    each in the order it returns."""
    import numpy as np
    import torchvision.datasets as tvd
    from sklearn.model_selection import train_test_split

    train = is_train(name, split)
    root = dataset_root(name, data_dir)
    url = "https://huggingface.co/datasets/torchgeo/eurosat (EuroSAT.zip)"
    ds = build(
        name,
        root,
        ["eurosat/2750/<class>/<image>.jpg"],
        FETCH.format(url=url),
        lambda: tvd.EuroSAT(str(root), download=download),
        download,
    )
    targets = np.asarray(ds.targets, dtype=np.int64)
    rest, chosen = train_test_split(np.arange(len(targets)), test_size=0.15, stratify=targets, random_state=0)
    if train:
        chosen, described = rest, "stratified 85% of all images, seed 0: the complement of the test 15%"
    else:
        described = "stratified 15% of all images, seed 0"
    info = info_of(
        "torchvision.datasets.EuroSAT (RGB)",
        f"{described} (sklearn train_test_split, random_state=0, as the study)",
        "far-OOD",
        targets[chosen],
        n_available=int(len(targets)),
    )
    return _files([ds.samples[i][0] for i in chosen], targets[chosen], Path(ds._data_folder), info)


def places365(name: str, data_dir: str | None, download: bool, split: str = "test"):
    """The val split's high-resolution images (``small=False``), as the study's code loaded them; or
    train-standard's (``data_large_standard/``, so their ids are ``data_large_standard/<class>/<image>``)."""
    import torchvision.datasets as tvd

    from zsbench.plugin import missing

    train = is_train(name, split)
    root = dataset_root(name, data_dir)
    # torchvision's split, its file list, its image folder and that folder's archive
    part, listed, folder, tar = (
        (
            "train-standard",
            "places365_train_standard.txt",
            "data_large_standard/<class>/<image>.jpg",
            "train_large_places365standard.tar",
        )
        if train
        else ("val", "places365_val.txt", "val_large/Places365_val_<id>.jpg", "val_large.tar")
    )
    expected = ["categories_places365.txt", listed, folder]
    how = FETCH.format(url=tvd.Places365._BASE_URL + f" (filelist_places365-standard.tar, {tar})")
    ds = build(
        name,
        root,
        expected,
        how + " torchvision checks the MD5 sums of the two lists.",
        lambda: tvd.Places365(str(root), split=part, small=False, download=download),
        download,
    )
    images = Path(ds.images_dir)
    if not images.is_dir():
        raise missing(name, root, expected, f"The image folder {images} is missing. {how}")
    info = info_of(
        f"torchvision.datasets.Places365(split='{part}', small=False)",
        f"official {part} split ({listed}), high-resolution images",
        "near-OOD",
        ds.targets,
    )
    return _files([p for p, _ in ds.imgs], ds.targets, root if train else images, info)


def celeba(name: str, data_dir: str | None, download: bool, split: str = "test"):
    """Partition 2 (test), or partition 0 (train), identity labels."""
    import torchvision.datasets as tvd

    part = "train" if is_train(name, split) else "test"
    root = dataset_root(name, data_dir)
    files = [
        "img_align_celeba/<image>.jpg",
        "list_eval_partition.txt",
        "identity_CelebA.txt",
        "list_attr_celeba.txt",
        "list_bbox_celeba.txt",
        "list_landmarks_align_celeba.txt",
    ]
    how = (
        "Pass --download to fetch it with torchvision from Google Drive (needs `pip install gdown`; Drive "
        "quotas often refuse it), or download img_align_celeba.zip and the five annotation files from "
        "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html. torchvision checks the annotation files' MD5 sums."
    )
    ds = build(
        name,
        root,
        [f"celeba/{f}" for f in files],
        how,
        lambda: tvd.CelebA(str(root), split=part, target_type="identity", download=download),
        download,
    )
    labels = ds.identity[:, 0].numpy()
    images = root / "celeba" / "img_align_celeba"
    info = info_of(
        f"torchvision.datasets.CelebA(split='{part}', target_type='identity')",
        f"official {part} split (list_eval_partition.txt partition {0 if part == 'train' else 2}), identity labels",
        "far-OOD",
        labels,
    )
    return _files([images / f for f in ds.filename], labels, images, info)


def inaturalist_2021(name: str, data_dir: str | None, download: bool, split: str = "test"):
    """2021_valid, or the full 2021_train (``2021_train/``, so its ids are ``2021_train/<class>/<image>``)."""
    import torchvision.datasets as tvd

    from zsbench.plugin import missing

    train = is_train(name, split)
    root = dataset_root(name, data_dir)
    version = "2021_train" if train else "2021_valid"
    folder = root / version
    expected = [f"{version}/<NNNNN_kingdom_phylum_class_order_family_genus_species>/<image>.jpg"]
    archive = "train.tar.gz" if train else "val.tar.gz"
    how = FETCH.format(url=f"https://ml-inat-competition-datasets.s3.amazonaws.com/2021/{archive}")
    # checked first: torchvision's INaturalist creates the root folder even when nothing is there
    if not download and not (folder.is_dir() and any(folder.iterdir())):
        raise missing(name, root, expected, how)
    ds = build(
        name,
        root,
        expected,
        how,
        lambda: tvd.INaturalist(str(root), version=version, target_type="full", download=download),
        download,
    )
    index = sorted(ds.index)  # torchvision lists files in os.listdir order, which varies by filesystem
    base = Path(ds.root)
    labels = [c for c, _ in index]
    described = (
        "official 2021 train split (2021_train, all of it), full species labels"
        if train
        else "official 2021 validation split (2021_valid), full species labels"
    )
    info = info_of(
        f"torchvision.datasets.INaturalist(version='{version}', target_type='full')", described, "fine-grained", labels
    )
    return _files([base / ds.all_categories[c] / f for c, f in index], labels, root if train else base, info)
