"""The layouts outside the ImageNet family: NABirds, UTKFace and BreakHis, each with a reader of its own.

NABirds' clustered images are its official test split (annotation files); UTKFace's and BreakHis' are the
study's own partitions, reproduced from its code, with labels read from file names. Standard library only.
"""

from __future__ import annotations

from zsbench.plugins._layout_spec import Layout

NON_IMAGENET_LAYOUTS: list[Layout] = [
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
