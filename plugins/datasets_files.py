"""A user's own images, one argument away: ``folder:<path>`` and ``csv:<file.csv>``."""

from __future__ import annotations

from zsbench.plugin import hookimpl


def _folder(path: str):
    from zsbench.plugin import image_folder

    return image_folder(path, f"folder:{path}", {"source": path, "split": "all images in the tree", "group": "user"})


def _csv(path: str):
    from zsbench.plugin import csv_images

    return csv_images(path, f"csv:{path}", {"split": "all rows", "group": "user"})


@hookimpl
def register_datasets(register):
    register("folder:", _folder, description="Any ImageFolder tree: folder:<path> with one sub-folder per class")
    register(
        "csv:",
        _csv,
        description="Images listed in a CSV: csv:<file> with columns path,label (paths relative to the CSV)",
    )
