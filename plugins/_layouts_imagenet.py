"""The ImageNet family's layouts: ImageNet val, ImageNetV2, -R, -Sketch, -O, IN-9, Imagenette and Imagewoof.

Every one is a folder of class folders (read by the ``folders`` or ``imagenet-v2`` reader); Imagenette
and Imagewoof are the only layouts ``--download`` fetches. Standard library only.
"""

from __future__ import annotations

from zsbench.plugins._layout_spec import Layout

_WNID = "the WordNet id folder (wnid)"

IMAGENET_LAYOUTS: list[Layout] = [
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
]
