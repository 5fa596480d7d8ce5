"""The study's evaluation datasets that torchvision knows how to read (the partition that the study
clustered: the official test split, or what stands in for it).

Each dataset lives in ``<data root>/<name>/``, laid out as the torchvision class expects under its
``root``; ``--download`` lets torchvision fetch it there when it can. Missing files are one
:class:`zsbench.plugin.datasets.MissingDataError` naming the files and the folder; nothing is substituted.
The loaders live in ``_tv_datasets`` and import torch, torchvision and scipy only when called.
"""

from __future__ import annotations

from zsbench.plugin import hookimpl
from zsbench.plugins import _tv_datasets as _tv


def mnist(data_dir: str | None = None, download: bool = False):
    return _tv.mnist_like("mnist", "MNIST", "https://ossci-datasets.s3.amazonaws.com/mnist/", data_dir, download)


def fashion_mnist(data_dir: str | None = None, download: bool = False):
    return _tv.mnist_like("fashion-mnist", "FashionMNIST", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                          data_dir, download)


def cifar10(data_dir: str | None = None, download: bool = False):
    return _tv.cifar("cifar10", data_dir, download, hundred=False)


def cifar100(data_dir: str | None = None, download: bool = False):
    return _tv.cifar("cifar100", data_dir, download, hundred=True)


def svhn(data_dir: str | None = None, download: bool = False):
    return _tv.svhn("svhn", data_dir, download)


def dtd(data_dir: str | None = None, download: bool = False):
    return _tv.dtd("dtd", data_dir, download)


def flowers102(data_dir: str | None = None, download: bool = False):
    return _tv.flowers102("flowers102", data_dir, download)


def fgvc_aircraft(data_dir: str | None = None, download: bool = False):
    return _tv.fgvc_aircraft("fgvc-aircraft", data_dir, download)


def stanford_cars(data_dir: str | None = None, download: bool = False):
    return _tv.stanford_cars("stanford-cars", data_dir, download)


def eurosat(data_dir: str | None = None, download: bool = False):
    return _tv.eurosat("eurosat", data_dir, download)


def places365(data_dir: str | None = None, download: bool = False):
    return _tv.places365("places365", data_dir, download)


def celeba(data_dir: str | None = None, download: bool = False):
    return _tv.celeba("celeba", data_dir, download)


def inaturalist_2021(data_dir: str | None = None, download: bool = False):
    return _tv.inaturalist_2021("inaturalist-2021", data_dir, download)


# name -> (factory, description); the counts are those of the real dataset's clustered partition
DATASETS = {
    "mnist": (mnist, "MNIST test split (10,000 28x28 greyscale images, 10 classes), far-OOD"),
    "fashion-mnist": (fashion_mnist, "Fashion-MNIST test split (10,000 28x28 greyscale images, 10 classes), far-OOD"),
    "cifar10": (cifar10, "CIFAR-10 test split (10,000 32x32 images, 10 classes), in-domain"),
    "cifar100": (cifar100, "CIFAR-100 test split, fine labels (10,000 32x32 images, 100 classes), in-domain"),
    "svhn": (svhn, "SVHN cropped digits, test split (26,032 32x32 images, 10 classes), far-OOD"),
    "dtd": (dtd, "Describable Textures, test split of partition 1 (1,880 images, 47 classes), far-OOD"),
    "flowers102": (flowers102, "Oxford Flowers-102 test split (6,149 images, 102 classes), fine-grained"),
    "fgvc-aircraft": (fgvc_aircraft, "FGVC-Aircraft test split, variant labels (3,333 images, 100 classes), "
                      "fine-grained"),
    "stanford-cars": (stanford_cars, "Stanford Cars test split (8,041 images, 196 classes), fine-grained; "
                      "manual download"),
    "eurosat": (eurosat, "EuroSAT RGB, stratified 15% of all images, seed 0 (4,050 64x64 images, 10 classes), "
                "far-OOD"),
    "places365": (places365, "Places365-Standard val split, high-resolution images (36,500 images, 365 classes), "
                  "near-OOD"),
    "celeba": (celeba, "CelebA aligned faces, test split, identity labels (19,962 images, 1,000 identities), "
               "far-OOD"),
    "inaturalist-2021": (inaturalist_2021, "iNaturalist 2021 validation split, species labels (100,000 images, "
                         "10,000 classes), fine-grained"),
}


@hookimpl
def register_datasets(register):
    for name, (factory, description) in DATASETS.items():
        register(name, factory, description=description)
