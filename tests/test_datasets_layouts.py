"""Datasets read from their published layouts, on tiny fabricated copies of those layouts."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import subprocess
import sys
import tarfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import zsbench
from zsbench.cli.app import app
from zsbench.core.catalog import build_catalog
from zsbench.core.progress import NullProgress
from zsbench.engine.inputs import prepare_labels
from zsbench.plugin.datasets import BadImageError, MissingDataError, fingerprint
from zsbench.plugins import datasets_layouts
from zsbench.plugins.datasets_layouts import LAYOUTS


def _image(path: Path, shade: int | None = None) -> None:
    """A tiny 8x8 image in the format its suffix names; its pixels depend on its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(zlib.crc32(path.name.encode()))
    pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    if shade is not None:  # clearly separable classes for the end-to-end run
        pixels = np.clip(pixels // 8 + shade, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, format="PNG" if path.suffix.lower() == ".png" else "JPEG")


def _text(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))


def _class_folders(top: Path, sub: str, classes: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """``top/sub/<class>/<file>``; returns the expected ids (relative to ``top``) and labels, in order."""
    ids, labels = [], []
    for cls in sorted(classes):
        for name in sorted(classes[cls]):
            relative = f"{sub}/{cls}/{name}" if sub else f"{cls}/{name}"
            _image(top / relative)
            ids.append(relative)
            labels.append(cls)
    return ids, labels


def build_imagenet(base):
    top = base / "imagenet"
    expected = _class_folders(
        top,
        "val",
        {
            "n01440764": ["ILSVRC2012_val_00000293.JPEG", "ILSVRC2012_val_00002138.JPEG"],
            "n02102040": [
                "ILSVRC2012_val_00000001.JPEG",
                "ILSVRC2012_val_00000007.JPEG",
                "ILSVRC2012_val_00010000.JPEG",
            ],
        },
    )
    _image(top / "train" / "n01440764" / "n01440764_10026.JPEG")  # never read
    return expected


def build_imagenet_v2(base):
    top = base / "imagenetv2-matched-frequency-format-val"
    files = {"0": ["7e1b.jpeg"], "1": ["0a2c.jpeg", "9f3d.jpeg"], "10": ["11ab.jpeg"], "2": ["5c5c.jpeg"]}
    for cls, names in files.items():
        for name in names:
            _image(top / cls / name)
    order = ["0", "1", "2", "10"]  # integer order, not "0" < "1" < "10" < "2"
    ids = [f"{cls}/{name}" for cls in order for name in sorted(files[cls])]
    return ids, [int(i.split("/")[0]) for i in ids]


def build_imagenet_r(base):
    top = base / "imagenet-r"
    _text(top / "README.txt", ["ImageNet-R"])
    return _class_folders(top, "", {"n01443537": ["art_0.jpg", "cartoon_3.jpg"], "n01484850": ["sketch_1.jpg"]})


def build_imagenet_sketch(base):
    return _class_folders(
        base / "sketch", "", {"n01440764": ["sketch_0.JPEG", "sketch_12.JPEG"], "n01443537": ["sketch_3.JPEG"]}
    )


def build_imagenet_o(base):
    top = base / "imagenet-o"
    _text(top / "README.txt", ["ImageNet-O: natural adversarial examples"])
    return _class_folders(top, "", {"n01443537": ["0.jpg"], "n01704323": ["1.jpg", "2.jpg"], "n01770081": ["3.jpg"]})


IN9_VARIANTS = ["original", "only_fg", "mixed_rand", "mixed_same", "no_fg", "only_bg_t"]


def build_in9(variant):
    def build(base):
        top = base / "bg_challenge"
        expected = None
        for i, other in enumerate(IN9_VARIANTS):  # every variant, each a different size
            classes = {
                "00_dog": [f"n02085620_{j}.JPEG" for j in range(i + 1)],
                "01_bird": ["n01530575_1.JPEG"],
                "02_wheeled vehicle": ["n02835271_7.JPEG"],
            }
            result = _class_folders(top, f"{other}/val", classes)
            if other == variant:
                expected = result
        _image(top / "fg_mask" / "val" / "00_dog" / "mask.png")  # not an image variant
        return expected

    return build


def build_fastai(folder):
    def build(base):
        top = base / folder
        _text(top / f"noisy_{folder[:-1]}.csv", ["path,noisy_labels_0,is_valid"])
        _class_folders(top, "train", {"n01440764": ["n01440764_1.JPEG"], "n02102040": ["n02102040_9.JPEG"]})
        return _class_folders(
            top,
            "val",
            {
                "n01440764": ["ILSVRC2012_val_00009111.JPEG", "n01440764_2.JPEG"],
                "n02102040": ["n02102040_5.JPEG"],
                "n02979186": ["n02979186_3.JPEG"],
            },
        )

    return build


NABIRDS = [  # image_id, path under images/, class_id, is_training_image; images.txt order, not sorted
    ("f0e1d2c3-0000-4000-8000-000000000001", "0296/f0e1d2c300004000800000000000001.jpg", 296, 0),
    ("0000139e-21dc-4d0c-bfe1-4cae3c85c829", "0295/0000139e21dc4d0cbfe14cae3c85c829.jpg", 295, 1),
    ("0000d9fc-4e02-4c06-a0af-a55cfb16b12b", "0295/0000d9fc4e024c06a0afa55cfb16b12b.jpg", 295, 0),
    ("00019306-9d83-4334-b255-a447742edce3", "0297/000193069d834334b255a447742edce3.jpg", 297, 0),
    ("0001afd4-99a1-4a67-b940-d419413e23b3", "0296/0001afd499a14a67b940d419413e23b3.jpg", 296, 1),
]


def build_nabirds(base):
    top = base / "nabirds"
    for _, path, _, _ in NABIRDS:
        _image(top / "images" / path)
    _text(top / "images.txt", [f"{i} {p}" for i, p, _, _ in NABIRDS])
    _text(top / "image_class_labels.txt", [f"{i} {c}" for i, _, c, _ in NABIRDS])
    _text(top / "train_test_split.txt", [f"{i} {t}" for i, _, _, t in NABIRDS])
    _text(top / "classes.txt", ["0 Birds", "295 Bird A", "296 Bird B", "297 Bird C"])
    _text(top / "hierarchy.txt", ["295 0", "296 0", "297 0"])
    test = [(p, c) for _, p, c, t in NABIRDS if t == 0]
    return [f"images/{p}" for p, _ in test], [c for _, c in test]


UTKFACE = {  # file name -> age; None: the name does not parse, so the image is left out
    **{
        f"1_{g}_{r}_2016121914{t}.jpg.chip.jpg": 1
        for g, r, t in [(0, 0, "0623097"), (0, 0, "0627985"), (0, 2, "0530307"), (1, 0, "0642920"), (1, 2, "0604000")]
    },
    "2_1_3_20161219223047424.jpg.chip.jpg": 2,
    "3_0_2_20161219140623097.jpg.chip.jpg": 3,  # a single image of its age, at a test position: back to train
    "24_0_1_20170116220224657 .jpg.chip.jpg": 24,  # published with a space: the study still reads it
    "24_1_0_20170104020315867.jpg.chip.jpg": 24,
    "24_0_3_20170119165043526.jpg.chip.jpg": 24,
    **{
        f"35_{g}_{r}_201701{t}.jpg.chip.jpg": 35
        for g, r, t in [(0, 0, "17135829413"), (1, 0, "16220009426"), (1, 1, "13011425431"), (0, 2, "16182444574")]
    },
    "55_0_0_20170116232725357jpg.chip.jpg": 55,  # published without the "." before jpg: still read
    "55_1_0_20170110141626101.jpg.chip.jpg": 55,
    **{
        f"61_{g}_{r}_201701{t}.jpg.chip.jpg": 61
        for g, r, t in [
            (0, 0, "11200917476"),
            (0, 1, "13175716154"),
            (1, 0, "10142226285"),
            (1, 3, "09141508563"),
            (1, 0, "20225135929"),
        ]
    },
    "39_1_20170116174525125.jpg.chip.jpg": None,  # the study's 3 CORRUPTED_SAMPLES: no race field
    "61_1_20170109142408075.jpg.chip.jpg": None,
    "61_1_20170109150557335.jpg.chip.jpg": None,
    "x_0_0_20170112222336458.jpg.chip.jpg": None,
}


def utkface_test_partition(ages: dict[str, int]) -> list[str]:
    """The study's rule, written out plainly: sort by (age, name); with m = int(N / 4) test images
    evenly spaced from position 2 to N - 3 (rounded half to even); an age left with no train image
    gives its first image back."""
    order = sorted(ages, key=lambda name: (ages[name], name))
    n = len(order)
    m = n // 4
    chosen = {round(2 + k * (n - 5) / (m - 1)) for k in range(m)} if m > 1 else ({2} if m else set())
    for age in set(ages.values()):
        positions = [i for i, name in enumerate(order) if ages[name] == age]
        if all(i in chosen for i in positions):
            chosen.discard(positions[0])
    return [order[i] for i in sorted(chosen)]


def _utkface_files(base):
    for name in UTKFACE:
        _image(base / "UTKFace" / name)
    return {name: age for name, age in UTKFACE.items() if age is not None}


def build_utkface(base):
    ages = _utkface_files(base)
    ids = utkface_test_partition(ages)
    return ids, [ages[i] for i in ids]


def build_utkface_all(base):
    ages = _utkface_files(base)
    return sorted(ages), [ages[n] for n in sorted(ages)]


BREAKHIS = [  # (benign|malignant, tumour type, patient, magnification, file, the study's class worked by hand)
    ("benign", "adenosis", "SOB_B_A_14-22549AB", "40X", "SOB_B_A-14-22549AB-40-001.png", 0),
    ("benign", "adenosis", "SOB_B_A_14-22549AB", "400X", "SOB_B_A-14-22549AB-400-001.png", 24),
    ("benign", "fibroadenoma", "SOB_B_F_14-9133", "100X", "SOB_B_F-14-9133-100-001.png", 9),
    ("benign", "fibroadenoma", "SOB_B_F_14-9133", "100X", "SOB_B_F-14-9133-100-002.png", 9),
    ("benign", "phyllodes_tumor", "SOB_B_PT_14-21998AB", "200X", "SOB_B_PT-14-21998AB-200-005.png", 18),
    ("benign", "tubular_adenoma", "SOB_B_TA_14-21978AB", "400X", "SOB_B_TA-14-21978AB-400-013.png", 27),
    ("malignant", "ductal_carcinoma", "SOB_M_DC_14-2523", "200X", "SOB_M_DC-14-2523-200-011.png", 20),
    ("malignant", "lobular_carcinoma", "SOB_M_LC_14-12204", "40X", "SOB_M_LC-14-12204-40-002.png", 5),
    ("malignant", "mucinous_carcinoma", "SOB_M_MC_14-19979", "100X", "SOB_M_MC-14-19979-100-017.png", 14),
    ("malignant", "papillary_carcinoma", "SOB_M_PC_14-9146", "400X", "SOB_M_PC-14-9146-400-008.png", 31),
]


def _breakhis_files(base):
    rows = {f"histology_slides/breast/{k}/SOB/{t}/{p}/{m}/{f}": (t, code) for k, t, p, m, f, code in BREAKHIS}
    for relative in rows:
        _image(base / "BreaKHis_v1" / relative)
    _text(base / "BreaKHis_v1" / "histology_slides" / "breast" / "README.txt", ["BreaKHis v1"])
    return rows


def build_breakhis(base):
    """The study's split: train_test_split(arange(N), test_size=0.4, random_state=0) is a shuffle,
    np.random.RandomState(0).permutation(N), whose first ceil(0.4 N) positions are the test part."""
    rows = _breakhis_files(base)
    ordered = sorted(rows)
    ids = [ordered[i] for i in np.random.RandomState(0).permutation(len(ordered))[: math.ceil(0.4 * len(ordered))]]
    return ids, [rows[i][1] for i in ids]


def build_breakhis_all(base):
    rows = _breakhis_files(base)
    return sorted(rows), [rows[i][0] for i in sorted(rows)]


BUILDERS = {
    "imagenet": build_imagenet,
    "imagenet-v2": build_imagenet_v2,
    "imagenet-r": build_imagenet_r,
    "imagenet-sketch": build_imagenet_sketch,
    "imagenet-o": build_imagenet_o,
    **{f"in9-{v.replace('_', '-')}": build_in9(v) for v in IN9_VARIANTS},
    "imagenette": build_fastai("imagenette2"),
    "imagewoof": build_fastai("imagewoof2"),
    "nabirds": build_nabirds,
    "utkface": build_utkface,
    "utkface-all": build_utkface_all,
    "breakhis": build_breakhis,
    "breakhis-all": build_breakhis_all,
}


def _load(name, base, **options):
    return build_catalog().get("datasets", name).create(data_dir=str(base), **options)


def _fp(ds):
    return fingerprint(ds.ids, ds.labels, ds.info["split"])


def test_every_layout_is_registered_and_tested():
    assert set(BUILDERS) == set(LAYOUTS)
    catalog = build_catalog()
    for name, layout in LAYOUTS.items():
        entry = catalog.get("datasets", name)
        assert entry.plugin.endswith("datasets_layouts") and entry.description == layout.description


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_reads_ids_labels_and_info_from_the_published_layout(tmp_path, name):
    ids, labels = BUILDERS[name](tmp_path)
    ds = _load(name, tmp_path)
    layout = LAYOUTS[name]
    assert len(ds) == len(ids)
    assert ds.ids == ids
    assert ds.labels.tolist() == labels
    assert ds.root == tmp_path / layout.folder
    info = ds.info
    assert info["split"] == layout.split
    assert info["source"] == layout.source and info["group"] == layout.group
    assert info["expected_test_size"] == layout.expected_test_size
    assert info["n_classes"] == len({label for label in labels if label != ""})
    assert info["n_images"] == len(ids)
    image = ds[0]
    assert isinstance(image, Image.Image) and image.size == (8, 8)


def _relabel(name, ds):
    """Give the first image another class, the way the layout records classes."""
    path = ds.paths[0]
    if name == "nabirds":
        labels = ds.root / "image_class_labels.txt"
        labels.write_text(labels.read_text().replace(" 296\n", " 297\n", 1))
        return
    if name.startswith("utkface"):  # one year older: the first field of the name
        age, rest = path.name.split("_", 1)
        path.rename(path.with_name(f"{int(age) + 1}_{rest}"))
        return
    if name == "breakhis":  # another magnification, in the file name
        magnification = path.name.split("-")[3]
        path.rename(
            path.with_name(path.name.replace(f"-{magnification}-", "-100-" if magnification != "100" else "-200-"))
        )
        return
    cls = path.parents[2] if name == "breakhis-all" else path.parent  # the folder that names the class
    other = next(d for d in sorted(cls.parent.iterdir()) if d.is_dir() and d != cls)
    target = other / path.relative_to(cls)
    target.parent.mkdir(parents=True, exist_ok=True)
    path.rename(target)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_fingerprint_is_stable_and_follows_a_change_of_class(tmp_path, name):
    BUILDERS[name](tmp_path)
    first, again = _load(name, tmp_path), _load(name, tmp_path)
    assert _fp(first) == _fp(again)
    _relabel(name, first)
    changed = _load(name, tmp_path)
    assert len(changed) == len(first) and _fp(changed) != _fp(first)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_corrupt_image_names_the_file(tmp_path, name):
    BUILDERS[name](tmp_path)
    ds = _load(name, tmp_path)
    ds.paths[1].write_bytes(b"\xff\xd8\xff\xe0 not really an image")
    assert isinstance(ds[0], Image.Image)
    with pytest.raises(BadImageError, match=str(ds.paths[1].name)):
        ds[1]


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_missing_dataset_names_itself_the_expected_folder_and_the_source(tmp_path, name):
    layout = LAYOUTS[name]
    with pytest.raises(MissingDataError) as caught:
        _load(name, tmp_path)
    message = str(caught.value)
    assert f"dataset {name}:" in message and str(tmp_path / layout.folder) in message
    assert layout.expect in message and layout.url in message


@pytest.mark.parametrize("name", [n for n, layout in LAYOUTS.items() if not layout.download])
def test_download_of_a_source_that_cannot_be_fetched_says_so(tmp_path, name):
    with pytest.raises(MissingDataError, match=f"--download cannot fetch {name}: .*{re.escape(LAYOUTS[name].url)}"):
        _load(name, tmp_path, download=True)


def test_an_incomplete_layout_is_missing_data_not_an_empty_dataset(tmp_path):
    (tmp_path / "imagenet" / "train" / "n01440764").mkdir(parents=True)
    with pytest.raises(MissingDataError, match=r"imagenet: not found under .*imagenet \(expected val/"):
        _load("imagenet", tmp_path)
    (tmp_path / "bg_challenge" / "original" / "val").mkdir(parents=True)
    with pytest.raises(MissingDataError, match="in9-mixed-rand"):
        _load("in9-mixed-rand", tmp_path)
    (tmp_path / "imagenet-r" / "n01443537").mkdir(parents=True)
    with pytest.raises(MissingDataError, match="no images in class sub-folders"):
        _load("imagenet-r", tmp_path)


def test_imagenet_v2_labels_are_the_folder_integers(tmp_path):
    build_imagenet_v2(tmp_path)
    ds = _load("imagenet-v2", tmp_path)
    by_id = dict(zip(ds.ids, ds.labels.tolist(), strict=True))
    assert by_id["10/11ab.jpeg"] == 10 and by_id["1/0a2c.jpeg"] == 1 and by_id["2/5c5c.jpeg"] == 2
    assert ds.labels.dtype.kind == "i"


def test_in9_reads_only_the_requested_variants_val_folder(tmp_path):
    build_in9("original")(tmp_path)  # fabricates every variant
    sizes = {}
    for variant in IN9_VARIANTS:
        ds = _load(f"in9-{variant.replace('_', '-')}", tmp_path)
        assert all(i.startswith(f"{variant}/val/") for i in ds.ids)
        assert sorted(set(ds.labels.tolist())) == ["00_dog", "01_bird", "02_wheeled vehicle"]
        sizes[variant] = len(ds)
    assert sizes == {v: 3 + i for i, v in enumerate(IN9_VARIANTS)}
    groups = {v: LAYOUTS[f"in9-{v.replace('_', '-')}"].group for v in ("original", "only_fg", "mixed_rand")}
    assert groups == {"original": "in-domain", "only_fg": "domain-shift", "mixed_rand": "domain-shift"}


@pytest.mark.parametrize("name", ["imagenette", "imagewoof"])
def test_fastai_sets_are_val_only_dev_sets(tmp_path, name):
    BUILDERS[name](tmp_path)
    ds = _load(name, tmp_path)
    assert all(i.startswith("val/") for i in ds.ids) and len(ds) == 4
    assert ds.info["group"] == "validation" and "not a test set" in ds.info["split"]


def test_nabirds_keeps_only_test_images_in_file_order(tmp_path):
    build_nabirds(tmp_path)
    ds = _load("nabirds", tmp_path)
    training = {f"images/{p}" for _, p, _, t in NABIRDS if t == 1}
    assert not training & set(ds.ids) and len(ds) == 3
    assert ds.ids[0].startswith("images/0296/")  # images.txt order
    assert ds.info["split"].startswith("the official test split: images with is_training_image = 0")


def test_nabirds_missing_image_or_broken_annotation_is_a_clear_error(tmp_path):
    build_nabirds(tmp_path)
    top = tmp_path / "nabirds"
    (top / "images" / NABIRDS[2][1]).unlink()
    with pytest.raises(MissingDataError, match="1 test image.*missing"):
        _load("nabirds", tmp_path)
    _image(top / "images" / NABIRDS[2][1])
    (top / "train_test_split.txt").write_text("only-one-field\n")
    with pytest.raises(zsbench.ZsbenchError, match="train_test_split.txt line 1"):
        _load("nabirds", tmp_path)


def test_utkface_reads_names_as_the_study_does_and_leaves_out_the_rest(tmp_path):
    build_utkface_all(tmp_path)
    ds = _load("utkface-all", tmp_path)
    left_out = sorted(name for name, age in UTKFACE.items() if age is None)
    assert sorted(ds.info["left_out"]) == left_out and ds.info["n_left_out"] == 4
    assert not set(left_out) & set(ds.ids)
    assert len(ds) == ds.info["n_source_images"] == 21 and ds.labels.dtype.kind == "i"
    assert ds.info["expected_source_images"] == 23_705 and "not the study's" in ds.info["warning"]
    labels = dict(zip(ds.ids, ds.labels.tolist(), strict=True))
    assert labels["24_0_1_20170116220224657 .jpg.chip.jpg"] == 24
    assert labels["55_0_0_20170116232725357jpg.chip.jpg"] == 55
    codes, keep = prepare_labels(ds.labels, "utkface-all", NullProgress())
    assert keep.all() and len(np.unique(codes)) == 7


def test_utkface_is_the_studys_evenly_spaced_quarter_after_sorting_by_age(tmp_path):
    build_utkface(tmp_path)
    ds = _load("utkface", tmp_path)
    # 21 images: positions 2, 6, 10, 14, 18 of the age order; the lone 3-year-old at 6 goes back
    assert ds.labels.tolist() == [1, 35, 55, 61]
    assert ds.ids[0] == "1_0_2_20161219140530307.jpg.chip.jpg"  # 3rd of the five 1-year-olds by name
    assert "55_0_0_20170116232725357jpg.chip.jpg" in ds.ids
    again = _load("utkface", tmp_path)
    assert again.ids == ds.ids and again.labels.tolist() == ds.labels.tolist()
    for name in ["61_0_0_20170111200917476.jpg.chip.jpg", "61_0_1_20170113175716154.jpg.chip.jpg"]:
        (tmp_path / "UTKFace" / name).unlink()  # 19 images: positions 2, 7, 11, 16
    ages = {n: a for n, a in UTKFACE.items() if a is not None and (tmp_path / "UTKFace" / n).exists()}
    ds = _load("utkface", tmp_path)
    assert ds.ids == utkface_test_partition(ages) and ds.labels.tolist() == [1, 24, 35, 61]


def test_breakhis_is_the_studys_seeded_40_percent_split_labelled_type_by_magnification(tmp_path):
    ids, labels = build_breakhis(tmp_path)
    ds = _load("breakhis", tmp_path)
    assert len(ds) == 4 and ds.ids == ids and ds.labels.tolist() == labels
    assert ds.info["n_source_images"] == 10 and ds.info["expected_source_images"] == 7_909
    from sklearn.model_selection import train_test_split  # the study's call, on the same sorted paths

    ordered = sorted(f"histology_slides/breast/{k}/SOB/{t}/{p}/{m}/{f}" for k, t, p, m, f, _ in BREAKHIS)
    _, test = train_test_split(np.arange(len(ordered)), test_size=0.40, random_state=0)
    assert ds.ids == [ordered[i] for i in test]
    again = _load("breakhis", tmp_path)
    assert again.ids == ds.ids and again.labels.tolist() == ds.labels.tolist()


def test_breakhis_all_label_is_the_tumour_type_at_every_magnification(tmp_path):
    build_breakhis_all(tmp_path)
    ds = _load("breakhis-all", tmp_path)
    assert len(ds) == 10 and len(set(ds.labels.tolist())) == 8
    assert {i.split("/")[6] for i in ds.ids} == {"40X", "100X", "200X", "400X"}
    assert "warning" not in ds.info


def _tgz(path: Path, source: Path) -> None:
    with tarfile.open(path, "w:gz") as tar:
        tar.add(source, arcname=source.name)


def test_download_fetches_and_unpacks_the_archive(tmp_path, monkeypatch):
    staging = tmp_path / "staging"
    ids, labels = build_fastai("imagenette2")(staging)
    archive = tmp_path / "imagenette2.tgz"
    _tgz(archive, staging / "imagenette2")
    layout = dataclasses.replace(LAYOUTS["imagenette"], download=archive.as_uri())
    monkeypatch.setitem(datasets_layouts.LAYOUTS, "imagenette", layout)
    data = tmp_path / "data"
    ds = _load("imagenette", data, download=True)
    assert ds.ids == ids and ds.labels.tolist() == labels
    assert sorted(p.name for p in data.iterdir()) == ["imagenette2"]  # no archive or temp folder left


def test_download_failure_is_missing_data_and_leaves_nothing_behind(tmp_path, monkeypatch):
    layout = dataclasses.replace(LAYOUTS["imagewoof"], download=(tmp_path / "absent.tgz").as_uri())
    monkeypatch.setitem(datasets_layouts.LAYOUTS, "imagewoof", layout)
    data = tmp_path / "data"
    with pytest.raises(MissingDataError, match="downloading .*absent.tgz.* failed"):
        _load("imagewoof", data, download=True)
    assert list(data.iterdir()) == []


def test_importing_the_plugin_imports_no_heavy_library():
    code = (
        "import sys, zsbench.plugins.datasets_layouts; "
        "print(sorted(m for m in ('torch', 'sklearn', 'umap', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": ""}
    )
    assert out.stdout.strip() == "[]"


def test_cli_runs_the_protocol_on_a_fabricated_imagenette(tmp_path, isolated_store):
    val = tmp_path / "imagenette2" / "val"
    for shade, wnid in zip((0, 100, 200), ("n01440764", "n02102040", "n02979186"), strict=True):
        for i in range(8):
            _image(val / wnid / f"{wnid}_{i}.JPEG", shade=shade)
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--dataset",
            "imagenette",
            "--data-dir",
            str(tmp_path),
            "--encoder",
            "raw-pixels",
            "--reducer",
            "none",
            "--clusterer",
            "kmeans",
            "--seeds",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    stored = zsbench.ResultStore(os.environ["ZSBENCH_STORE"]).results()
    assert str(isolated_store) == os.environ["ZSBENCH_STORE"] and len(stored) == 1
    dataset = stored[0].config["dataset"]
    assert dataset["name"] == "imagenette" and dataset["info"]["group"] == "validation"
    digest = dataset["fingerprint"]
    assert isinstance(digest, str) and len(digest) == 64 and int(digest, 16) >= 0
    assert stored[0].config["n_samples"] == 24


def test_image_bytes_are_not_read_to_find_labels(tmp_path, monkeypatch):
    for name, build in BUILDERS.items():
        build(tmp_path / name)
    import PIL.Image

    def refuse(*args, **kwargs):
        raise AssertionError("an image was opened while reading labels")

    monkeypatch.setattr(PIL.Image, "open", refuse)
    for name in BUILDERS:
        assert len(_load(name, tmp_path / name)) > 0
