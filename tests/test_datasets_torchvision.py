"""The torchvision-backed datasets, each read from a tiny copy fabricated in the real on-disk format
that torchvision 0.29 expects, in both partitions: ``split="test"`` (the default, what is clustered;
its ids, labels and fingerprint must not change) and ``split="train"`` (the study's kNN train set).
Nothing here touches the network.

Where torchvision checks the MD5 sums of the real files (CIFAR, SVHN, Flowers-102, Places365,
CelebA), the tests replace that module's ``check_integrity`` with an existence check, since a
fabricated file can never match the real archive's checksum.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from zsbench.plugin import InvalidInputError
from zsbench.plugin.datasets import MissingDataError, fingerprint
from zsbench.plugins import datasets_torchvision as tv

pytest.importorskip("torchvision")
pytest.importorskip("scipy")

GROUPS = {"in-domain", "domain-shift", "near-OOD", "fine-grained", "far-OOD"}


# --- fabrication helpers -------------------------------------------------------------------------


def _jpg(path: Path, value: int, size: tuple[int, int] = (8, 8)) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (value % 256, (3 * value) % 256, (7 * value) % 256)).save(path)


def _lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))


def _md5_skipped(monkeypatch, module_name: str) -> None:
    """Fabricated files can't match the real archives' MD5 sums: keep only the existence check."""
    import importlib

    module = importlib.import_module(f"torchvision.datasets.{module_name}")
    monkeypatch.setattr(module, "check_integrity", lambda fpath, md5=None: os.path.isfile(fpath))


def _idx(path: Path, array: np.ndarray) -> None:
    """An MNIST idx file: magic (0, 0, type 8 = uint8, ndim), big-endian dims, then the bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def make_mnist(root: Path, folder: str = "MNIST", labels=(3, 1, 4, 1, 5, 9)) -> np.ndarray:
    labels = np.asarray(labels, dtype=np.uint8)
    images = (np.arange(len(labels) * 28 * 28) % 251).reshape(len(labels), 28, 28).astype(np.uint8)
    raw = root / folder / "raw"
    _idx(raw / "t10k-images-idx3-ubyte", images)
    _idx(raw / "t10k-labels-idx1-ubyte", labels)
    _idx(raw / "train-images-idx3-ubyte", images[:2])  # torchvision insists the train files exist
    _idx(raw / "train-labels-idx1-ubyte", np.array([7, 7]))
    return images


def _pickle(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # str keys: the real Python 2 pickles read back (encoding="latin1") with str keys
    path.write_bytes(pickle.dumps(obj, protocol=2))


def make_cifar(root: Path, hundred: bool, labels) -> np.ndarray:
    n = len(labels)
    data = (np.arange(n * 3072) % 253).reshape(n, 3072).astype(np.uint8)
    key = "fine_labels" if hundred else "labels"
    folder = root / ("cifar-100-python" if hundred else "cifar-10-batches-py")
    if hundred:
        _pickle(folder / "test", {"data": data, key: list(labels), "coarse_labels": [0] * n})
        _pickle(folder / "train", {"data": data[:1], key: [99], "coarse_labels": [0]})
        _pickle(folder / "meta", {"fine_label_names": [f"c{i}" for i in range(100)]})
    else:
        _pickle(folder / "test_batch", {"data": data, key: list(labels)})
        for i in range(1, 6):
            _pickle(folder / f"data_batch_{i}", {"data": data[:1], key: [9]})
        _pickle(folder / "batches.meta", {"label_names": [f"c{i}" for i in range(10)]})
    return data.reshape(n, 3, 32, 32).transpose(0, 2, 3, 1)


# --- per-dataset checks --------------------------------------------------------------------------


def _common(ds, name: str, size: tuple[int, int], split: str) -> None:
    from PIL import Image

    assert len(ds) == len(ds.labels) == len(ds.ids)
    assert ds.labels.ndim == 1
    assert len(set(ds.ids)) == len(ds.ids)
    assert ds.info["split"] == split
    assert ds.info["group"] in GROUPS
    assert ds.info["n_classes"] == len(np.unique(ds.labels))
    assert ds.info["source"].startswith("torchvision.datasets.")
    image = ds[0]
    assert isinstance(image, Image.Image) and image.size == size
    before = fingerprint(ds.ids, ds.labels, ds.info["split"])
    changed = np.array(ds.labels).copy()
    changed[-1] = changed[0] if changed[-1] != changed[0] else changed[0] + 1
    assert fingerprint(ds.ids, changed, ds.info["split"]) != before
    assert fingerprint(ds.ids, ds.labels, ds.info["split"]) == before


def _run_fingerprint(ds, name: str) -> str:
    """The sample fingerprint a run keys cached embeddings and stored results on."""
    from zsbench.core.progress import NullProgress
    from zsbench.engine.inputs import select_samples
    from zsbench.engine.session import sample_fingerprint

    view, record = select_samples(ds, name, NullProgress())
    return sample_fingerprint(view, record)


def _train(name: str, test, size: tuple[int, int], split: str, **kwargs):
    """``name``'s train partition, checked against its test partition ``test`` (the default); also that
    an explicit ``split="test"`` is exactly the default."""
    factory = tv.DATASETS[name][0]
    explicit = factory(split="test", **kwargs)
    assert (explicit.ids, explicit.labels.tolist(), explicit.info) == (test.ids, test.labels.tolist(), test.info)
    assert _run_fingerprint(explicit, name) == _run_fingerprint(test, name)
    train = factory(split="train", **kwargs)
    _common(train, name, size, split)
    assert not set(train.ids) & set(test.ids)  # ids name samples across both partitions
    assert train.info["group"] == test.info["group"]
    assert _run_fingerprint(train, name) != _run_fingerprint(test, name)
    return train


def test_mnist_and_fashion_mnist(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSBENCH_DATA_DIR", str(tmp_path))
    images = make_mnist(tmp_path / "mnist")
    ds = tv.mnist()
    _common(ds, "mnist", (28, 28), "official test split (t10k files)")
    assert ds.labels.tolist() == [3, 1, 4, 1, 5, 9]  # the t10k labels, not the train ones (7, 7)
    assert ds.ids == [f"test/{i}" for i in range(6)]
    assert ds.info["group"] == "far-OOD"
    assert np.array_equal(np.asarray(ds[2]), images[2])

    make_mnist(tmp_path / "fashion-mnist", "FashionMNIST", labels=(0, 9, 0, 2))
    fashion = tv.fashion_mnist()
    _common(fashion, "fashion-mnist", (28, 28), "official test split (t10k files)")
    assert fashion.labels.tolist() == [0, 9, 0, 2]
    assert fashion.info["source"] == "torchvision.datasets.FashionMNIST(train=False)"

    # a label changed on disk changes the fingerprint
    before = fingerprint(ds.ids, ds.labels, ds.info["split"])
    make_mnist(tmp_path / "mnist", labels=(3, 1, 4, 1, 5, 8))
    again = tv.mnist(data_dir=str(tmp_path))
    assert fingerprint(again.ids, again.labels, again.info["split"]) != before

    train = _train("mnist", again, (28, 28), "official train split (train files)")
    assert train.labels.tolist() == [7, 7] and train.ids == ["train/0", "train/1"]  # the train idx files
    assert train.info["source"] == "torchvision.datasets.MNIST(train=True)"
    assert np.array_equal(np.asarray(train[1]), images[1])


def test_cifar10_and_cifar100(tmp_path, monkeypatch):
    _md5_skipped(monkeypatch, "cifar")
    pixels = make_cifar(tmp_path / "cifar10", hundred=False, labels=[0, 1, 2, 1])
    ds = tv.cifar10(data_dir=str(tmp_path))
    _common(ds, "cifar10", (32, 32), "official test split (test_batch)")
    assert ds.labels.tolist() == [0, 1, 2, 1]
    assert ds.ids == ["test/0", "test/1", "test/2", "test/3"]
    assert ds.info["group"] == "in-domain"
    assert np.array_equal(np.asarray(ds[1]), pixels[1])  # CHW rows are served as HWC images
    train = _train(
        "cifar10", ds, (32, 32), "official train split (data_batch_1 .. data_batch_5)", data_dir=str(tmp_path)
    )
    assert train.labels.tolist() == [9] * 5 and train.ids == [f"train/{i}" for i in range(5)]  # one row a batch

    make_cifar(tmp_path / "cifar100", hundred=True, labels=[5, 42, 5, 99, 0])
    ds = tv.cifar100(data_dir=str(tmp_path))
    _common(ds, "cifar100", (32, 32), "official test split (test file), fine labels")
    assert ds.labels.tolist() == [5, 42, 5, 99, 0]
    assert ds.info["n_classes"] == 4
    train = _train("cifar100", ds, (32, 32), "official train split (train file), fine labels", data_dir=str(tmp_path))
    assert train.labels.tolist() == [99] and train.info["source"] == "torchvision.datasets.CIFAR100(train=True)"


def test_svhn_maps_label_10_to_digit_0(tmp_path, monkeypatch):
    from scipy.io import savemat

    _md5_skipped(monkeypatch, "svhn")
    x = (np.arange(32 * 32 * 3 * 5) % 255).reshape(32, 32, 3, 5).astype(np.uint8)
    (tmp_path / "svhn").mkdir()
    savemat(tmp_path / "svhn" / "test_32x32.mat", {"X": x, "y": np.array([[10], [1], [2], [10], [9]], np.uint8)})
    savemat(tmp_path / "svhn" / "train_32x32.mat", {"X": x[..., :2], "y": np.array([[3], [3]], np.uint8)})
    ds = tv.svhn(data_dir=str(tmp_path))
    _common(ds, "svhn", (32, 32), "official test split (test_32x32.mat)")
    assert ds.labels.tolist() == [0, 1, 2, 0, 9]
    assert ds.ids[-1] == "test/4"
    assert np.array_equal(np.asarray(ds[3]), x[..., 3])
    train = _train(
        "svhn", ds, (32, 32), "official train split (train_32x32.mat); extra not included", data_dir=str(tmp_path)
    )
    assert train.labels.tolist() == [3, 3] and train.ids == ["train/0", "train/1"]

    # each partition needs its own file only
    (tmp_path / "svhn" / "train_32x32.mat").unlink()
    assert tv.svhn(data_dir=str(tmp_path)).ids == ds.ids
    with pytest.raises(MissingDataError, match=r"expected train_32x32\.mat\)"):
        tv.svhn(data_dir=str(tmp_path), split="train")


def make_dtd(root: Path, train: bool = True) -> None:
    base = root / "dtd" / "dtd"
    files = {c: [f"{c}/{c}_{i:04d}.jpg" for i in range(4)] for c in ("banded", "braided", "dotted")}
    for i, f in enumerate(sum(files.values(), [])):
        _jpg(base / "images" / f, i)
    _lines(
        base / "labels" / "test1.txt",
        [files["banded"][0], files["braided"][0], files["dotted"][0], files["braided"][1]],
    )
    if train:
        # every list of the real DTD holds all 47 classes, and torchvision numbers the classes of each list
        _lines(base / "labels" / "train1.txt", [files["banded"][1], files["braided"][2], files["dotted"][1]])
        _lines(base / "labels" / "val1.txt", [files["banded"][2]])
        _lines(base / "labels" / "test2.txt", [files["banded"][3]])


def test_dtd_reads_test1_only(tmp_path):
    make_dtd(tmp_path / "dtd")
    ds = tv.dtd(data_dir=str(tmp_path))
    _common(ds, "dtd", (8, 8), "official test split of partition 1 (labels/test1.txt)")
    assert ds.ids == [
        "banded/banded_0000.jpg",
        "braided/braided_0000.jpg",
        "dotted/dotted_0000.jpg",
        "braided/braided_0001.jpg",
    ]
    assert ds.labels.tolist() == [0, 1, 2, 1]
    assert ds.info["group"] == "far-OOD"
    train = _train("dtd", ds, (8, 8), "official train split of partition 1 (labels/train1.txt)", data_dir=str(tmp_path))
    assert train.ids == ["banded/banded_0001.jpg", "braided/braided_0002.jpg", "dotted/dotted_0001.jpg"]
    assert train.labels.tolist() == [0, 1, 2]  # and not val1's banded_0002


def test_flowers102_reads_tstid(tmp_path, monkeypatch):
    from scipy.io import savemat

    _md5_skipped(monkeypatch, "flowers102")
    base = tmp_path / "flowers102" / "flowers-102"
    for i in range(1, 9):
        _jpg(base / "jpg" / f"image_{i:05d}.jpg", i, (10, 6))
    savemat(base / "imagelabels.mat", {"labels": np.array([[1, 1, 2, 2, 3, 3, 77, 77]], np.uint8)})
    savemat(
        base / "setid.mat",
        {
            "trnid": np.array([[1, 3]], np.uint16),
            "valid": np.array([[5]], np.uint16),
            "tstid": np.array([[2, 4, 6, 7, 8]], np.uint16),
        },
    )
    ds = tv.flowers102(data_dir=str(tmp_path))
    _common(ds, "flowers102", (10, 6), "official test split (setid.mat tstid)")
    assert ds.ids == ["image_00002.jpg", "image_00004.jpg", "image_00006.jpg", "image_00007.jpg", "image_00008.jpg"]
    assert ds.labels.tolist() == [0, 1, 2, 76, 76]
    assert ds.info["group"] == "fine-grained"
    train = _train("flowers102", ds, (10, 6), "official train split (setid.mat trnid)", data_dir=str(tmp_path))
    assert train.ids == ["image_00001.jpg", "image_00003.jpg"] and train.labels.tolist() == [0, 1]  # not valid's 5


def test_fgvc_aircraft_variant_test(tmp_path):
    data = tmp_path / "fgvc-aircraft" / "fgvc-aircraft-2013b" / "data"
    _lines(data / "variants.txt", ["707-320", "Boeing 717", "A320"])
    _lines(data / "families.txt", ["Boeing 707", "Boeing 717", "A320"])
    _lines(data / "images_variant_test.txt", ["0000001 A320", "0000002 Boeing 717", "0000004 707-320"])
    _lines(data / "images_variant_trainval.txt", ["0000003 A320", "0000005 Boeing 717"])
    _lines(data / "images_variant_train.txt", ["0000003 A320"])
    _lines(data / "images_variant_val.txt", ["0000005 Boeing 717"])
    for i in range(1, 6):
        _jpg(data / "images" / f"{i:07d}.jpg", i)
    ds = tv.fgvc_aircraft(data_dir=str(tmp_path))
    _common(ds, "fgvc-aircraft", (8, 8), "official test split (images_variant_test.txt), variant labels")
    assert ds.ids == ["0000001.jpg", "0000002.jpg", "0000004.jpg"]
    assert ds.labels.tolist() == [2, 1, 0]
    train = _train(
        "fgvc-aircraft",
        ds,
        (8, 8),
        "official train split (images_variant_train.txt), variant labels",
        data_dir=str(tmp_path),
    )
    assert train.ids == ["0000003.jpg"] and train.labels.tolist() == [2]  # train, not trainval


def _cars_annotations(rows: list[tuple[str, int]]) -> np.ndarray:
    fields = ["bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "fname"]
    annos = np.zeros((1, len(rows)), dtype=[(f, "O") for f in fields])
    for i, (fname, cls) in enumerate(rows):
        annos[0, i] = (np.uint8(1), np.uint8(1), np.uint8(7), np.uint8(7), np.uint8(cls), fname)
    return annos


def test_stanford_cars_test_annotations(tmp_path):
    from scipy.io import savemat

    base = tmp_path / "stanford-cars" / "stanford_cars"
    (base / "devkit").mkdir(parents=True)
    names = np.empty((1, 3), dtype=object)
    names[0, :] = ["AM General Hummer SUV 2000", "Acura RL Sedan 2012", "smart fortwo Convertible 2012"]
    savemat(base / "devkit" / "cars_meta.mat", {"class_names": names})
    # two rows at least: torchvision cannot read a one-row table (scipy's squeeze_me makes it 0-d)
    savemat(
        base / "devkit" / "cars_train_annos.mat",
        {"annotations": _cars_annotations([("00001.jpg", 1), ("00002.jpg", 3)])},
    )
    savemat(
        base / "cars_test_annos_withlabels.mat",
        {"annotations": _cars_annotations([("00001.jpg", 3), ("00002.jpg", 1), ("00003.jpg", 196)])},
    )
    for i in range(1, 4):
        _jpg(base / "cars_test" / f"{i:05d}.jpg", i, (12, 9))
    _jpg(base / "cars_train" / "00001.jpg", 0)
    _jpg(base / "cars_train" / "00002.jpg", 1)
    ds = tv.stanford_cars(data_dir=str(tmp_path))
    _common(ds, "stanford-cars", (12, 9), "official test split (cars_test_annos_withlabels.mat)")
    assert ds.ids == ["00001.jpg", "00002.jpg", "00003.jpg"]
    assert ds.labels.tolist() == [2, 0, 195]
    # cars_train/00001.jpg is another car than cars_test/00001.jpg: the ids tell them apart
    train = _train("stanford-cars", ds, (8, 8), "official train split (cars_train_annos.mat)", data_dir=str(tmp_path))
    assert train.ids == ["cars_train/00001.jpg", "cars_train/00002.jpg"] and train.labels.tolist() == [0, 2]


def test_eurosat_stratified_15_percent_seed_0(tmp_path):
    counts = {"AnnualCrop": 20, "Forest": 10, "River": 10}
    for c, n in counts.items():
        for i in range(1, n + 1):
            _jpg(tmp_path / "eurosat" / "eurosat" / "2750" / c / f"{c}_{i}.jpg", i, (16, 16))
    ds = tv.eurosat(data_dir=str(tmp_path))
    _common(
        ds,
        "eurosat",
        (16, 16),
        "stratified 15% of all images, seed 0 (sklearn train_test_split, random_state=0, as the study)",
    )
    assert len(ds) == 6 and ds.info["n_available"] == 40  # 15% of 40
    # stratified: every class keeps its share of the 6 test images (3 of 20, and 1 or 2 of 10)
    assert np.bincount(ds.labels)[0] == 3 and sorted(np.bincount(ds.labels).tolist()) == [1, 2, 3]
    # exactly the study's call over the sorted ImageFolder listing, every time
    from sklearn.model_selection import train_test_split

    every = sorted(f"{c}/{p.name}" for c in counts for p in (tmp_path / "eurosat/eurosat/2750" / c).iterdir())
    every_labels = [list(counts).index(p.split("/")[0]) for p in every]
    rest, test = train_test_split(np.arange(40), test_size=0.15, stratify=every_labels, random_state=0)
    assert ds.ids == [every[i] for i in test]
    assert tv.eurosat(data_dir=str(tmp_path)).ids == ds.ids
    assert all(ds.ids[i].startswith(list(counts)[label]) for i, label in enumerate(ds.labels))

    # the train partition is the complement: the other 85%, disjoint, and together all 40 images
    train = _train(
        "eurosat",
        ds,
        (16, 16),
        "stratified 85% of all images, seed 0: the complement of the test 15% "
        "(sklearn train_test_split, random_state=0, as the study)",
        data_dir=str(tmp_path),
    )
    assert len(train) == 34 and train.info["n_available"] == 40
    assert sorted(train.ids + ds.ids) == every
    assert train.ids == [every[i] for i in rest]  # the study's train part, in the order it returns
    assert (np.bincount(train.labels) + np.bincount(ds.labels)).tolist() == [20, 10, 10]
    assert all(train.ids[i].startswith(list(counts)[label]) for i, label in enumerate(train.labels))


def test_places365_val_only(tmp_path, monkeypatch):
    _md5_skipped(monkeypatch, "places365")
    root = tmp_path / "places365"
    _lines(root / "categories_places365.txt", ["/a/airfield 0", "/a/alley 1", "/b/bakery/shop 2"])
    _lines(
        root / "places365_val.txt",
        [
            "Places365_val_00000001.jpg 2",
            "Places365_val_00000002.jpg 0",
            "Places365_val_00000003.jpg 2",
            "Places365_val_00000004.jpg 1",
        ],
    )
    _lines(root / "places365_train_standard.txt", ["/a/airfield/00000001.jpg 0"])
    _lines(root / "places365_test.txt", ["Places365_test_00000001.jpg"])
    for i in range(1, 5):
        _jpg(root / "val_large" / f"Places365_val_{i:08d}.jpg", i, (12, 10))
    _jpg(root / "data_large_standard" / "a" / "airfield" / "00000001.jpg", 0)
    _jpg(root / "test_large" / "Places365_test_00000001.jpg", 0)
    ds = tv.places365(data_dir=str(tmp_path))
    _common(ds, "places365", (12, 10), "official val split (places365_val.txt), high-resolution images")
    assert ds.ids == [f"Places365_val_{i:08d}.jpg" for i in range(1, 5)]
    assert ds.labels.tolist() == [2, 0, 2, 1]
    assert ds.info["group"] == "near-OOD"
    assert "small=False" in ds.info["source"]
    train = _train(
        "places365",
        ds,
        (8, 8),
        "official train-standard split (places365_train_standard.txt), high-resolution images",
        data_dir=str(tmp_path),
    )
    assert train.ids == ["data_large_standard/a/airfield/00000001.jpg"] and train.labels.tolist() == [0]
    assert train.info["source"] == "torchvision.datasets.Places365(split='train-standard', small=False)"


def test_places365_without_images_is_missing(tmp_path, monkeypatch):
    _md5_skipped(monkeypatch, "places365")
    root = tmp_path / "places365"
    _lines(root / "categories_places365.txt", ["/a/airfield 0"])
    _lines(root / "places365_val.txt", ["Places365_val_00000001.jpg 0"])
    with pytest.raises(MissingDataError, match="val_large"):
        tv.places365(data_dir=str(tmp_path))


def make_celeba(root: Path, identities: dict[str, int], partition: dict[str, int]) -> None:
    base = root / "celeba"
    names = sorted(identities)
    for i, n in enumerate(names):
        _jpg(base / "img_align_celeba" / n, i, (9, 11))
    _lines(base / "list_eval_partition.txt", [f"{n} {partition[n]}" for n in names])
    _lines(base / "identity_CelebA.txt", [f"{n} {identities[n]}" for n in names])
    _lines(base / "list_attr_celeba.txt", [str(len(names)), "5_o_Clock_Shadow Smiling"] + [f"{n} -1  1" for n in names])
    _lines(
        base / "list_bbox_celeba.txt",
        [str(len(names)), "image_id x_1 y_1 width height"] + [f"{n} 1 2 3 4" for n in names],
    )
    _lines(
        base / "list_landmarks_align_celeba.txt",
        [str(len(names)), " ".join(f"p{i}" for i in range(10))] + [f"{n} " + " ".join(["5"] * 10) for n in names],
    )


def test_celeba_identity_partition_2_only(tmp_path, monkeypatch):
    _md5_skipped(monkeypatch, "celeba")
    identities = {f"{i:06d}.jpg": ident for i, ident in enumerate([2880, 2880, 35, 10177, 35, 9, 7], start=1)}
    # two in the train partition at least: torchvision cannot select a single image (a 0-d index)
    partition = {
        "000001.jpg": 0,
        "000002.jpg": 2,
        "000003.jpg": 2,
        "000004.jpg": 2,
        "000005.jpg": 1,
        "000006.jpg": 2,
        "000007.jpg": 0,
    }
    make_celeba(tmp_path / "celeba", identities, partition)
    ds = tv.celeba(data_dir=str(tmp_path))
    _common(ds, "celeba", (9, 11), "official test split (list_eval_partition.txt partition 2), identity labels")
    assert ds.ids == ["000002.jpg", "000003.jpg", "000004.jpg", "000006.jpg"]
    assert ds.labels.tolist() == [2880, 35, 10177, 9]
    assert ds.info["n_classes"] == 4
    train = _train(
        "celeba",
        ds,
        (9, 11),
        "official train split (list_eval_partition.txt partition 0), identity labels",
        data_dir=str(tmp_path),
    )
    assert train.ids == ["000001.jpg", "000007.jpg"] and train.labels.tolist() == [2880, 7]  # not valid's 000005

    identities["000006.jpg"] = 35  # one identity changed on disk: a different fingerprint
    make_celeba(tmp_path / "celeba", identities, partition)
    again = tv.celeba(data_dir=str(tmp_path))
    assert again.labels.tolist() == [2880, 35, 10177, 35]
    assert fingerprint(again.ids, again.labels, again.info["split"]) != fingerprint(ds.ids, ds.labels, ds.info["split"])


def test_inaturalist_2021_valid_species(tmp_path):
    folders = [
        "00000_Animalia_Chordata_Aves_Passeriformes_Corvidae_Corvus_corax",
        "00001_Animalia_Chordata_Aves_Passeriformes_Corvidae_Pica_pica",
        "00002_Plantae_Tracheophyta_Magnoliopsida_Rosales_Rosaceae_Rosa_canina",
    ]
    base = tmp_path / "inaturalist-2021" / "2021_valid"
    for c, folder in enumerate(folders):
        for name in ("b.jpg", "a.jpg")[: 2 if c != 1 else 1]:
            _jpg(base / folder / name, c, (7, 5))
    _jpg(tmp_path / "inaturalist-2021" / "2021_train_mini" / folders[0] / "z.jpg", 0)
    for c, folder in enumerate(folders):
        _jpg(tmp_path / "inaturalist-2021" / "2021_train" / folder / "a.jpg", c, (7, 5))
    ds = tv.inaturalist_2021(data_dir=str(tmp_path))
    _common(ds, "inaturalist-2021", (7, 5), "official 2021 validation split (2021_valid), full species labels")
    assert ds.ids == [
        f"{folders[0]}/a.jpg",
        f"{folders[0]}/b.jpg",
        f"{folders[1]}/b.jpg",
        f"{folders[2]}/a.jpg",
        f"{folders[2]}/b.jpg",
    ]
    assert ds.labels.tolist() == [0, 0, 1, 2, 2]
    train = _train(
        "inaturalist-2021",
        ds,
        (7, 5),
        "official 2021 train split (2021_train, all of it), full species labels",
        data_dir=str(tmp_path),
    )
    assert train.ids == [f"2021_train/{f}/a.jpg" for f in folders] and train.labels.tolist() == [0, 1, 2]


# --- missing data, registration, light imports -------------------------------------------------------

# name -> (a file only the train partition needs, one only the test partition needs; None: they need the same)
PARTITION_FILES = {
    "mnist": ("train-images-idx3-ubyte", None),
    "fashion-mnist": ("train-images-idx3-ubyte", None),
    "cifar10": ("data_batch_1", None),
    "cifar100": ("cifar-100-python/train", None),
    "svhn": ("train_32x32.mat", "test_32x32.mat"),
    "dtd": ("labels/train1.txt", "labels/test1.txt"),
    "flowers102": ("setid.mat", None),
    "fgvc-aircraft": ("images_variant_train.txt", "images_variant_test.txt"),
    "stanford-cars": ("devkit/cars_train_annos.mat", "cars_test_annos_withlabels.mat"),
    "eurosat": ("eurosat/2750/<class>", None),
    "places365": ("places365_train_standard.txt", "places365_val.txt"),
    "celeba": ("list_eval_partition.txt", None),
    "inaturalist-2021": ("2021_train/", "2021_valid/"),
}


@pytest.mark.parametrize("split", [None, "train"])
@pytest.mark.parametrize("name", list(tv.DATASETS))
def test_missing_dataset_names_itself_and_where(tmp_path, monkeypatch, name, split):
    import urllib.request

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setenv("ZSBENCH_DATA_DIR", str(tmp_path))
    factory = tv.DATASETS[name][0]
    with pytest.raises(MissingDataError) as info:
        factory(download=False, **({} if split is None else {"split": split}))
    message = str(info.value)
    assert f"dataset {name}:" in message and str(tmp_path / name) in message
    assert "expected" in message and "\n" not in message
    assert ("cannot download" if name == "stanford-cars" else "Pass --download") in message
    train_only, test_only = PARTITION_FILES[name]
    if split == "train":  # the train partition's files, and not the test partition's own
        assert train_only in message and (test_only is None or test_only not in message)
    elif test_only is not None:  # the test partition asks for no file only the train partition needs
        assert test_only in message and train_only not in message
    assert list(tmp_path.rglob("*")) == []  # nothing created, nothing fetched


@pytest.mark.parametrize("name", list(tv.DATASETS))
def test_a_split_other_than_test_or_train_is_one_line(tmp_path, name):
    factory = tv.DATASETS[name][0]
    for split in ("val", "TRAIN", 1, "", None, " test"):
        with pytest.raises(InvalidInputError) as info:
            factory(data_dir=str(tmp_path), split=split)
        assert str(info.value).startswith(f"dataset {name}: split={split!r} is not one of test, train; pass ")
        assert "split='train'" in str(info.value) and "\n" not in str(info.value)
    assert list(tmp_path.rglob("*")) == []  # refused before looking for files


def test_the_test_partition_keeps_todays_fingerprints(tmp_path, monkeypatch):
    """The sample fingerprints of today's (pre-``split``) code on these files: cached embeddings and stored
    results of the clustered partitions keep matching."""
    _md5_skipped(monkeypatch, "cifar")
    make_mnist(tmp_path / "mnist")
    make_cifar(tmp_path / "cifar10", hundred=False, labels=[0, 1, 2, 1])
    make_dtd(tmp_path / "dtd", train=False)  # the test partition needs no train list
    today = {
        "mnist": "2f17deee84e930caec5bd59dffe476ab8fd70b9fa3ceb7e20fda197bef3a8504",
        "cifar10": "833e57fa4a7f30e8a3cb0d9fdd4388cc8377385d52aee3bc9c598c1dc17a4171",
        "dtd": "c42db203e05c3039fe4bf3edf3b110ed7f87e743256bec281aeab8892207301d",
    }
    for name, expected in today.items():
        factory = tv.DATASETS[name][0]
        assert _run_fingerprint(factory(data_dir=str(tmp_path)), name) == expected
        assert _run_fingerprint(factory(data_dir=str(tmp_path), split="test"), name) == expected


def test_missing_file_names_the_file(tmp_path, monkeypatch):
    _md5_skipped(monkeypatch, "cifar")
    make_cifar(tmp_path / "cifar10", hundred=False, labels=[0, 1])
    (tmp_path / "cifar10" / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(MissingDataError, match=r"cifar-10-batches-py/test_batch"):
        tv.cifar10(data_dir=str(tmp_path))
    (tmp_path / "dtd" / "dtd" / "dtd" / "images").mkdir(parents=True)
    with pytest.raises(MissingDataError, match="test1.txt"):
        tv.dtd(data_dir=str(tmp_path))


def test_download_is_passed_to_torchvision_and_its_failure_is_one_error(tmp_path, monkeypatch):
    from urllib.error import URLError

    import torchvision.datasets.mnist

    calls = []

    def offline(url, download_root, filename=None, md5=None, **kwargs):
        calls.append(url)
        raise URLError("no network in tests")

    monkeypatch.setattr(torchvision.datasets.mnist, "download_and_extract_archive", offline)
    with pytest.raises(MissingDataError, match="With --download, torchvision raised RuntimeError") as info:
        tv.mnist(data_dir=str(tmp_path), download=True)
    assert calls and all(url.endswith("train-images-idx3-ubyte.gz") for url in calls)  # tried each mirror
    assert "dataset mnist:" in str(info.value) and "no network in tests" in str(info.value)


def test_stanford_cars_cannot_download(tmp_path):
    with pytest.raises(MissingDataError, match="cannot download"):
        tv.stanford_cars(data_dir=str(tmp_path), download=True)


def test_registered_with_the_core(fresh_plugins):
    from zsbench.core.catalog import build_catalog
    from zsbench.engine.session import takes_keyword

    catalog = build_catalog()
    for name in tv.DATASETS:
        entry = catalog.get("datasets", name)
        assert entry.plugin.endswith("datasets_torchvision") and entry.description
        assert takes_keyword(entry.factory, "split") and "split=train (for --knn): " in entry.description


def test_run_knn_on_mnist_end_to_end(tmp_path, isolated_store):
    """`zsbench run --knn` clusters the t10k images and takes the kNN neighbours from the train files."""
    from typer.testing import CliRunner

    from zsbench.cli.app import app
    from zsbench.engine.knn import KNN_VERSION
    from zsbench.storage.store import ResultStore

    def images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        # class 0 lights the left half, class 1 the right half: apart in cosine, as raw pixels are compared
        labels = np.arange(n) % 2
        pixels = np.random.default_rng(seed).integers(0, 40, size=(n, 28, 28))
        for i, label in enumerate(labels):
            pixels[i, :, 14 * label : 14 * label + 14] += 200
        return pixels.astype(np.uint8), labels

    raw = tmp_path / "data" / "mnist" / "MNIST" / "raw"
    for prefix, n, seed in (("t10k", 10, 0), ("train", 8, 1)):
        pixels, labels = images(n, seed)
        _idx(raw / f"{prefix}-images-idx3-ubyte", pixels)
        _idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    run = [
        "run",
        "--encoder",
        "raw-pixels",
        "--clusterer",
        "kmeans",
        "--reducer",
        "none",
        "--seeds",
        "1",
        "--data-dir",
        str(tmp_path / "data"),
    ]
    out = CliRunner().invoke(app, [*run, "--dataset", "mnist", "--max-samples", "6", "--knn"])
    assert out.exit_code == 0, out.output
    rows = ResultStore(isolated_store, readonly=True).results(KNN_VERSION)
    assert sorted(r.metrics["k"] for r in rows) == [10, 20, 100, 200]
    assert all(r.metrics["knn_top1"] == 1.0 for r in rows)
    assert rows[0].config["dataset"]["info"]["split"] == "official test split (t10k files)"
    assert rows[0].config["n_samples"] == 6  # --max-samples subsamples what is clustered, not the neighbours
    assert rows[0].config["train"]["split"] == "official train split (train files)"
    assert rows[0].config["train"]["n_samples"] == 8

    # the API passes dataset options through (the CLI takes dataset names only)
    import zsbench

    with pytest.raises(InvalidInputError, match=r"^dataset mnist: split='val' is not one of test, train; pass "):
        zsbench.run(
            "raw-pixels",
            "mnist",
            clusterers=["kmeans"],
            reducer="none",
            seeds=1,
            store=False,
            cache=False,
            dataset_options={"data_dir": str(tmp_path / "data"), "split": "val"},
        )


def test_importing_the_plugin_stays_light():
    code = textwrap.dedent("""
        import sys
        import zsbench.plugins.datasets_torchvision
        print("HEAVY", sorted(m for m in ("torch", "torchvision", "scipy", "numpy", "sklearn", "umap")
                              if m in sys.modules))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout
