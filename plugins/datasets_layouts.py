"""The study's evaluation datasets that torchvision has no class for, read from their published layouts.

Each dataset is one folder under the data root (``--data-dir``, else ``$ZSBENCH_DATA_DIR``, else the
per-user data folder), unpacked as its publisher ships it; :data:`LAYOUTS` says which folder, which
partition is clustered, and where the files come from. Labels come from folder names, file names or
annotation files, never from decoding images; ids are file paths relative to the dataset's folder.
Nothing is substituted: absent files are a ``MissingDataError`` naming the folder and the official
source. Only Imagenette and Imagewoof can be fetched with ``--download``.

This module imports only the standard library; the readers (:mod:`zsbench.plugins._layouts`) load
when a dataset is used.
"""

from __future__ import annotations

from dataclasses import dataclass

from zsbench.plugin import hookimpl


@dataclass(frozen=True)
class Layout:
    name: str
    folder: str  # the dataset's folder under the data root; ids are relative to it
    reader: str  # a key of zsbench.plugins._layouts.READERS
    required: tuple[str, ...]  # paths under `folder` that must exist
    expect: str  # what the user should have there (said when files are missing)
    source: str  # the release / archive
    url: str  # the official source
    split: str  # the rule that picks the clustered images, in words
    label: str  # what the label is
    group: str
    expected_test_size: int | None
    expected_n_classes: int | None
    description: str
    classes_dir: str = ""  # "folders": where the class sub-folders are, relative to `folder`
    download: str = ""  # an archive URL that --download fetches (unpacks to `folder`)
    no_download: str = "zsbench downloads only Imagenette and Imagewoof"  # why --download cannot fetch it
    get: str = ""  # further instructions for getting the files in place
    notes: str = ""  # recorded in info
    expected_source_images: int | None = None  # images the rule partitions, in the published release


_WNID = "the WordNet id folder (wnid)"

LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in [
        Layout(
            "imagenet",
            "imagenet",
            "folders",
            ("val",),
            "val/<wnid>/*.JPEG (one folder per class)",
            "ILSVRC2012 validation images (ILSVRC2012_img_val.tar), arranged val/<wnid>/",
            "https://image-net.org/download-images.php",
            "the ILSVRC2012 validation set: every image under val/<wnid>/ (train/ is never read)",
            _WNID,
            "in-domain",
            50_000,
            1000,
            "ImageNet-1k validation set (50,000 images, 1,000 classes), in-domain",
            classes_dir="val",
            no_download="image-net.org needs an account and acceptance of its terms",
            get="The tar holds the 50,000 images flat: sort them into val/<wnid>/ folders (e.g. with the "
            "widely used valprep.sh script).",
        ),
        Layout(
            "imagenet-v2",
            "imagenetv2-matched-frequency-format-val",
            "imagenet-v2",
            (),
            "<class index 0..999>/*.jpeg (one folder per class)",
            "ImageNetV2 MatchedFrequency (imagenetv2-matched-frequency.tar.gz)",
            "https://github.com/modestyachts/ImageNetV2",
            "the MatchedFrequency test set: every image under an integer-named class folder",
            "the class folder's name as an integer (ImageNet class index; '10' is class 10)",
            "in-domain",
            10_000,
            1000,
            "ImageNetV2 MatchedFrequency (10,000 images, 1,000 classes), in-domain",
            get="The archive is also on https://huggingface.co/datasets/vaishaal/ImageNetV2.",
        ),
        Layout(
            "imagenet-r",
            "imagenet-r",
            "folders",
            (),
            "<wnid>/*.jpg (one folder per class)",
            "ImageNet-R (imagenet-r.tar)",
            "https://github.com/hendrycks/imagenet-r",
            "all images (a test-only dataset)",
            _WNID,
            "domain-shift",
            30_000,
            200,
            "ImageNet-Rendition (30,000 images, 200 classes), domain-shift",
        ),
        Layout(
            "imagenet-sketch",
            "sketch",
            "folders",
            (),
            "<wnid>/*.JPEG (one folder per class)",
            "ImageNet-Sketch (ImageNet-Sketch.zip, unpacks to sketch/)",
            "https://github.com/HaohanWang/ImageNet-Sketch",
            "all images (a test-only dataset)",
            _WNID,
            "domain-shift",
            50_889,
            1000,
            "ImageNet-Sketch (50,889 images, 1,000 classes), domain-shift",
            no_download="it is hosted on Google Drive / Kaggle / Hugging Face, not at a plain URL",
        ),
        Layout(
            "imagenet-o",
            "imagenet-o",
            "folders",
            (),
            "<wnid>/*.jpg (one folder per class; README.txt is ignored)",
            "ImageNet-O (imagenet-o.tar)",
            "https://github.com/hendrycks/natural-adv-examples",
            "all images (a test-only dataset; files outside the class folders are ignored)",
            _WNID,
            "near-OOD",
            2_000,
            200,
            "ImageNet-O (2,000 images, 200 classes), near-OOD",
        ),
        *[
            Layout(
                f"in9-{variant.replace('_', '-')}",
                "bg_challenge",
                "folders",
                (f"{variant}/val",),
                f"{variant}/val/<class folder, e.g. 00_dog>/*.JPEG",
                "ImageNet-9 backgrounds challenge (backgrounds_challenge_data.tar.gz, unpacks to bg_challenge/)",
                "https://github.com/MadryLab/backgrounds_challenge/releases",
                f"bg_challenge/{variant}/val: every image of the {variant} variant's val folder (no other variant)",
                "the class folder's name (00_dog ... 08_fish)",
                group,
                4_050,
                9,
                f"IN-9 backgrounds challenge, {variant} variant (4,050 images, 9 classes), {group}{extra}",
                classes_dir=f"{variant}/val",
                notes=note,
            )
            for variant, group, extra, note in [
                ("original", "in-domain", "", ""),
                ("only_fg", "domain-shift", "", ""),
                ("mixed_rand", "domain-shift", "", ""),
                (
                    "mixed_same",
                    "domain-shift",
                    "; not in the study's tables",
                    "not one of the variants the study reported (it reports original, only_fg, mixed_rand)",
                ),
                (
                    "no_fg",
                    "domain-shift",
                    "; not in the study's tables",
                    "not one of the variants the study reported (it reports original, only_fg, mixed_rand)",
                ),
                (
                    "only_bg_t",
                    "domain-shift",
                    "; not in the study's tables",
                    "not one of the variants the study reported (it reports original, only_fg, mixed_rand)",
                ),
            ]
        ],
        *[
            Layout(
                name,
                folder,
                "folders",
                ("val",),
                "val/<wnid>/*.JPEG (one folder per class)",
                f"fast.ai {title}, full-size release ({folder}.tgz)",
                "https://github.com/fastai/imagenette",
                f"{folder} val/: every image (train/ is never read); a dev set for tuning, not a test set",
                _WNID,
                "validation",
                size,
                10,
                f"{title} val split (full size, {size:,} images, 10 classes): a dev set for tuning, not a test set",
                classes_dir="val",
                download=f"https://s3.amazonaws.com/fast-ai-imageclas/{folder}.tgz",
                notes="the study used it as a validation (dev) set for tuning, not as a test set",
            )
            for name, folder, title, size in [
                ("imagenette", "imagenette2", "Imagenette", 3_925),
                ("imagewoof", "imagewoof2", "Imagewoof", 3_929),
            ]
        ],
        Layout(
            "nabirds",
            "nabirds",
            "nabirds",
            ("images.txt", "image_class_labels.txt", "train_test_split.txt", "images"),
            "images.txt, image_class_labels.txt, train_test_split.txt, classes.txt and images/",
            "NABirds (nabirds.tar.gz)",
            "https://dl.allaboutbirds.org/nabirds",
            "the official test split: images with is_training_image = 0 in train_test_split.txt",
            "class_id from image_class_labels.txt (the leaf class as given)",
            "fine-grained",
            24_633,
            555,
            "NABirds test split (24,633 images, 555 classes), fine-grained",
            no_download="the Cornell Lab releases it only after accepting its terms of use",
        ),
        *[
            Layout(
                name,
                "UTKFace",
                name,
                (),
                "[age]_[gender]_[race]_[date&time].jpg.chip.jpg files",
                "UTKFace Aligned&Cropped Faces (UTKFace.tar.gz)",
                "https://susanqq.github.io/UTKFace/",
                split,
                "age in years: the first field of the file name, an integer. A name is read as the study reads it "
                "(the part before its first '.', stripped, split on '_': age, gender and race integers and a "
                "yyyymmddHHMMSSFFF timestamp); images whose names do not parse are left out (info['left_out']): "
                "in the release, the 3 names without a race field",
                "far-OOD",
                size,
                None,
                description,
                no_download="it is hosted on Google Drive, not at a plain URL",
                notes=notes,
                expected_source_images=23_705,
            )
            for name, split, size, description, notes in [
                (
                    "utkface",
                    "the study's test partition (zs_ssl_clustering/datasets/utkface.py, split='test'): the N images whose "
                    "names parse (23,705 in the release) sorted by age, ties by file name; the images at positions "
                    "round(linspace(2, N - 3, int(0.25 * N))) (numpy; for N = 23,705 every 4th position from position 2) "
                    "are the test images, except that an age with no image outside those positions gives its first "
                    "image back; in that age order",
                    None,
                    "UTKFace faces clustered by age, the study's 25% test partition (about 5,926 images), far-OOD",
                    "the study sorted with pandas' default (unstable) quicksort, so which image of an age sits at a test "
                    "position depended on its numpy build; zsbench breaks ties by file name, the order the study's code "
                    "comment intends. The number of test images of each age is the same either way: 5,926 less one per "
                    "age with a single image that falls on a test position. n_classes counts the distinct ages present; "
                    "the study's code allots 117 (ages 0..116)",
                ),
                (
                    "utkface-all",
                    "every image whose name parses (23,705 of the 23,708 published files; no official "
                    "split), sorted by file name",
                    23_705,
                    "UTKFace faces clustered by age, every labelled image (23,705), far-OOD; not the study's partition",
                    "the study clusters its own 25% test partition: dataset utkface",
                ),
            ]
        ],
        *[
            Layout(
                name,
                "BreaKHis_v1",
                name,
                ("histology_slides/breast",),
                "histology_slides/breast/<benign|malignant>/SOB/<tumor type>/<patient>/<magnification>/*.png",
                "BreaKHis v1 (BreaKHis_v1.tar.gz)",
                "https://web.inf.ufpr.br/vri/databases/breast-cancer-histopathological-database-breakhis/",
                split,
                label,
                "far-OOD",
                size,
                n_classes,
                description,
                notes=notes,
                expected_source_images=source,
            )
            for name, split, label, size, n_classes, description, notes, source in [
                (
                    "breakhis",
                    "the study's test partition (zs_ssl_clustering/datasets/api.py, dataset 'breakhis'): the N files "
                    "named SOB_*.png anywhere under histology_slides/breast (7,909 in the release), sorted by relative "
                    "path; sklearn.model_selection.train_test_split(numpy.arange(N), test_size=0.40, random_state=0, "
                    "stratify=None), its test part (= numpy.random.RandomState(0).permutation(N)[:ceil(0.4 * N)]), in "
                    "that order; not stratified (the study's code finds no labels on its BreakHis dataset to stratify by)",
                    "tumour type x magnification, as the study encodes it: 8 * [40, 100, 200, 400].index(magnification) "
                    "+ ['A', 'F', 'PT', 'TA', 'DC', 'LC', 'MC', 'PC'].index(tumour type), both from the file name "
                    "SOB_<B|M>_<tumour type>-<year>-<slide>-<magnification>-<seq>.png; 32 classes (0..31)",
                    3_164,
                    32,
                    "BreakHis by tumour type x magnification, the study's 40% test split (3,164 images, "
                    "32 classes), far-OOD",
                    "",
                    7_909,
                ),
                (
                    "breakhis-all",
                    "all images at all magnifications (no official split)",
                    "the tumour type folder (adenosis, fibroadenoma, phyllodes_tumor, tubular_adenoma, ductal_carcinoma, "
                    "lobular_carcinoma, mucinous_carcinoma, papillary_carcinoma)",
                    7_909,
                    8,
                    "BreakHis by tumour type, every image (7,909 images, 8 classes), far-OOD; not the study's partition",
                    "the study clusters tumour type x magnification on its own 40% split: dataset breakhis",
                    None,
                ),
            ]
        ],
    ]
}


def _factory(name: str):
    def factory(data_dir: str | None = None, download: bool = False):
        from zsbench.plugins._layouts import load

        return load(LAYOUTS[name], data_dir, download)

    factory.__name__ = factory.__qualname__ = f"load_{name.replace('-', '_')}"
    factory.__doc__ = LAYOUTS[name].description
    return factory


@hookimpl
def register_datasets(register):
    for name, layout in LAYOUTS.items():
        register(name, _factory(name), description=layout.description, group=layout.group)
