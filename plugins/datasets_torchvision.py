"""The study's evaluation datasets that torchvision knows how to read: by default the partition that the
study clustered (the official test split, or what stands in for it), and with ``split="train"`` the
partition its kNN probe took neighbours from, for ``zsbench run --knn``.

``split``: ``"test"`` (the default; exactly the partition, ids and fingerprint of before ``split``
existed) or ``"train"``, as the study's ``embed.py --partition train`` loaded it (``DATASETS`` below
says which, and so does each dataset's description); anything else is an
:class:`~zsbench.plugin.InvalidInputError`. Every dataset here has a train partition in the study's
code (``dataset_train`` of ``zs_ssl_clustering/datasets/api.py``); train ids never equal test ids.

Each dataset lives in ``<data root>/<name>/``, laid out as the torchvision class expects under its
``root``; ``--download`` lets torchvision fetch it there when it can. Missing files are one
:class:`zsbench.plugin.datasets.MissingDataError` naming the files of the partition asked for and the
folder; nothing is substituted. The loaders live in ``_tv_datasets`` (arrays) and ``_tv_files`` (image
files) and import torch, torchvision and scipy only when called.
"""

from __future__ import annotations

from zsbench.plugin import hookimpl
from zsbench.plugins import _tv_datasets as _tv
from zsbench.plugins import _tv_files as _tvf


def mnist(data_dir: str | None = None, download: bool = False, split: str = "test"):
    return _tv.mnist_like("mnist", "MNIST", "https://ossci-datasets.s3.amazonaws.com/mnist/", data_dir, download, split)


def fashion_mnist(data_dir: str | None = None, download: bool = False, split: str = "test"):
    return _tv.mnist_like(
        "fashion-mnist",
        "FashionMNIST",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        data_dir,
        download,
        split,
    )


def cifar10(data_dir: str | None = None, download: bool = False, split: str = "test"):
    return _tv.cifar("cifar10", data_dir, download, hundred=False, split=split)


def cifar100(data_dir: str | None = None, download: bool = False, split: str = "test"):
    return _tv.cifar("cifar100", data_dir, download, hundred=True, split=split)


def svhn(data_dir: str | None = None, download: bool = False, split: str = "test"):
    return _tv.svhn("svhn", data_dir, download, split)


def dtd(data_dir: str | None = None, download: bool = False, split: str = "test"):
    return _tvf.dtd("dtd", data_dir, download, split)


def flowers102(data_dir: str | None = None, download: bool = False, split: str = "test"):
    return _tvf.flowers102("flowers102", data_dir, download, split)


def fgvc_aircraft(data_dir: str | None = None, download: bool = False, split: str = "test"):
    return _tvf.fgvc_aircraft("fgvc-aircraft", data_dir, download, split)


def stanford_cars(data_dir: str | None = None, download: bool = False, split: str = "test"):
    return _tvf.stanford_cars("stanford-cars", data_dir, download, split)


def eurosat(data_dir: str | None = None, download: bool = False, split: str = "test"):
    return _tvf.eurosat("eurosat", data_dir, download, split)


def places365(data_dir: str | None = None, download: bool = False, split: str = "test"):
    return _tvf.places365("places365", data_dir, download, split)


def celeba(data_dir: str | None = None, download: bool = False, split: str = "test"):
    return _tvf.celeba("celeba", data_dir, download, split)


def inaturalist_2021(data_dir: str | None = None, download: bool = False, split: str = "test"):
    return _tvf.inaturalist_2021("inaturalist-2021", data_dir, download, split)


# name -> (factory, description of the clustered partition, its train partition); the counts are the real dataset's
DATASETS = {
    "mnist": (
        mnist,
        "MNIST test split (10,000 28x28 greyscale images, 10 classes), far-OOD",
        "the train files (60,000)",
    ),
    "fashion-mnist": (
        fashion_mnist,
        "Fashion-MNIST test split (10,000 28x28 greyscale images, 10 classes), far-OOD",
        "the train files (60,000)",
    ),
    "cifar10": (
        cifar10,
        "CIFAR-10 test split (10,000 32x32 images, 10 classes), in-domain",
        "data_batch_1 .. 5 (50,000)",
    ),
    "cifar100": (
        cifar100,
        "CIFAR-100 test split, fine labels (10,000 32x32 images, 100 classes), in-domain",
        "the train file (50,000)",
    ),
    "svhn": (
        svhn,
        "SVHN cropped digits, test split (26,032 32x32 images, 10 classes), far-OOD",
        "train_32x32.mat (73,257; not extra)",
    ),
    "dtd": (
        dtd,
        "Describable Textures, test split of partition 1 (1,880 images, 47 classes), far-OOD",
        "train1.txt (1,880; not val1)",
    ),
    "flowers102": (
        flowers102,
        "Oxford Flowers-102 test split (6,149 images, 102 classes), fine-grained",
        "trnid (1,020; not valid)",
    ),
    "fgvc-aircraft": (
        fgvc_aircraft,
        "FGVC-Aircraft test split, variant labels (3,333 images, 100 classes), fine-grained",
        "images_variant_train.txt (3,334; not val)",
    ),
    "stanford-cars": (
        stanford_cars,
        "Stanford Cars test split (8,041 images, 196 classes), fine-grained; manual download",
        "cars_train with devkit/cars_train_annos.mat (8,144)",
    ),
    "eurosat": (
        eurosat,
        "EuroSAT RGB, stratified 15% of all images, seed 0 (4,050 64x64 images, 10 classes), far-OOD",
        "the other 85% (22,950)",
    ),
    "places365": (
        places365,
        "Places365-Standard val split, high-resolution images (36,500 images, 365 classes), near-OOD",
        "train-standard, high-resolution (about 1.8M)",
    ),
    "celeba": (
        celeba,
        "CelebA aligned faces, test split, identity labels (19,962 images, 1,000 identities), far-OOD",
        "partition 0 (162,770)",
    ),
    "inaturalist-2021": (
        inaturalist_2021,
        "iNaturalist 2021 validation split, species labels (100,000 images, 10,000 classes), fine-grained",
        "2021_train, all of it (about 2.7M)",
    ),
}


@hookimpl
def register_datasets(register):
    for name, (factory, description, train) in DATASETS.items():
        register(name, factory, description=f"{description}; split=train (for --knn): {train}")
