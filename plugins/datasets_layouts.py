"""The study's evaluation datasets that torchvision has no class for, read from their published layouts.

Each dataset is one folder under the data root (``--data-dir``, else ``$ZSBENCH_DATA_DIR``, else the
per-user data folder), unpacked as its publisher ships it; :data:`LAYOUTS` says which folder, which
partition is clustered, and where the files come from. Labels come from folder names, file names or
annotation files, never from decoding images; ids are file paths relative to the dataset's folder.
Nothing is substituted: absent files are a ``MissingDataError`` naming the folder and the official
source. Only Imagenette and Imagewoof can be fetched with ``--download``.

The layouts are declared in :mod:`zsbench.plugins._layouts_imagenet` and
:mod:`zsbench.plugins._layouts_non_imagenet`; this module registers them. It and the tables import only
the standard library; the loader and its readers (:mod:`zsbench.plugins._layouts`) load when a dataset
is used.
"""

from __future__ import annotations

from zsbench.plugin import hookimpl
from zsbench.plugins._layout_spec import Layout
from zsbench.plugins._layouts_imagenet import IMAGENET_LAYOUTS
from zsbench.plugins._layouts_non_imagenet import NON_IMAGENET_LAYOUTS

LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in [*IMAGENET_LAYOUTS, *NON_IMAGENET_LAYOUTS]}


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
