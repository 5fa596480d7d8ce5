"""Loading a layout's clustered partition: its folder checked (or downloaded), its reader run, its info recorded.

:func:`load` is what every dataset of :mod:`zsbench.plugins.datasets_layouts` calls; the readers are
:mod:`zsbench.plugins._layout_readers`, ``--download`` is :mod:`zsbench.plugins._layout_download`.
"""

from __future__ import annotations

from typing import Any

from zsbench.plugin import ImageFiles, data_root, missing
from zsbench.plugins._layout_download import fetch_archive
from zsbench.plugins._layout_readers import READERS
from zsbench.plugins._layout_spec import how


def load(layout, data_dir: str | None, download: bool) -> ImageFiles:
    """The clustered partition of ``layout``, from ``<data root>/<layout.folder>``."""
    base = data_root(data_dir)
    root = base / layout.folder
    if download and layout.download and not root.exists():
        fetch_archive(layout, base)
    if not root.is_dir() or not all((root / p).exists() for p in layout.required):
        raise missing(layout.name, root, [layout.expect], how(layout, download, root))
    paths, labels, extra = READERS[layout.reader](layout, root)
    found = {label for label in labels if label != ""}
    info: dict[str, Any] = {
        "source": layout.source,
        "url": layout.url,
        "split": layout.split,
        "label": layout.label,
        "n_classes": len(found),
        "expected_n_classes": layout.expected_n_classes,
        "group": layout.group,
        "n_images": len(paths),
        "expected_test_size": layout.expected_test_size,
        **extra,
    }
    if layout.expected_source_images is not None:
        info["expected_source_images"] = layout.expected_source_images
        if extra["n_source_images"] != layout.expected_source_images:
            info["warning"] = (
                f"{extra['n_source_images']:,} source images found where the published release "
                f"has {layout.expected_source_images:,}: the partition is not the study's"
            )
    if layout.notes:
        info["notes"] = layout.notes
    return ImageFiles(paths, labels, root, info)
