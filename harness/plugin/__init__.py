"""Everything a zsbench plugin may import, in one place: ``from zsbench.plugin import ...``.

- the hook marker :data:`hookimpl` and the typed :class:`Register` callback each hook receives;
- the Protocols the core relies on: :class:`Encoder`, :class:`Dataset`, :class:`Reducer`,
  :class:`Clusterer`, :class:`Executor`;
- the errors a plugin raises so the user sees one clear line: :class:`ZsbenchError`,
  :class:`MissingDataError`, :class:`WeightsError`, :class:`BadImageError`;
- dataset helpers (:func:`image_folder`, :func:`csv_images`, :class:`ArrayImages`, :func:`data_root`,
  :func:`missing`), weights helpers (:func:`fetch` with ``sha256=`` pinning, :class:`WeightsFile` to declare a
  pinned file at ``register(..., weights=)``, :func:`read_state_dict`, :func:`load_into`), and the torch
  encoder (:class:`TorchEncoder`, :class:`Preprocess`);
- :func:`usable_cores` (the cores this process may use), for executors and data loaders;
- :data:`API_VERSION` and :func:`require_api`, for a plugin that needs a newer surface.

Names here are kept across minor versions of the plugin API; everything else in zsbench may change.
Importing this module imports neither numpy nor torch: helpers load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from zsbench.plugin.errors import InvalidInputError, ZsbenchError
from zsbench.plugin.hookspecs import hookimpl
from zsbench.plugin.protocols import Clusterer, Dataset, Encoder, Executor, Reducer, Register
from zsbench.plugin.system import usable_cores

# MAJOR.MINOR of the plugin surface: a minor version adds names, a major one may remove or change them.
API_VERSION = "1.2"  # 1.1: TorchEncoder(precision=...); 1.2: WeightsFile, register(weights=)

if TYPE_CHECKING:  # for type checkers; at run time these load lazily (numpy, PIL, torch)
    from zsbench.plugin.datasets import (
        IMAGE_EXTENSIONS,
        ArrayImages,
        BadImageError,
        ImageFiles,
        MissingDataError,
        csv_images,
        data_root,
        image_folder,
        missing,
        open_image,
        to_8bit,
    )
    from zsbench.plugin.identity import file_sha256, tree_sha256
    from zsbench.plugin.jit import cached_jit
    from zsbench.plugin.torch import (
        CLIP_MEAN,
        CLIP_STD,
        IMAGENET_MEAN,
        IMAGENET_STD,
        Preprocess,
        TorchEncoder,
        fold_batchnorm,
        select_device,
    )
    from zsbench.plugin.weights import (
        WeightsError,
        WeightsFile,
        fetch,
        load_into,
        read_state_dict,
        select,
        sha256,
        strip_prefix,
        weights_dir,
    )

_LAZY = {
    **dict.fromkeys(("IMAGE_EXTENSIONS", "ArrayImages", "BadImageError", "ImageFiles", "MissingDataError",
                     "csv_images", "data_root", "image_folder", "missing", "open_image", "to_8bit"),
                    "zsbench.plugin.datasets"),
    **dict.fromkeys(("file_sha256", "tree_sha256"), "zsbench.plugin.identity"),
    "cached_jit": "zsbench.plugin.jit",
    **dict.fromkeys(("CLIP_MEAN", "CLIP_STD", "IMAGENET_MEAN", "IMAGENET_STD", "Preprocess", "TorchEncoder",
                     "fold_batchnorm", "select_device"), "zsbench.plugin.torch"),
    **dict.fromkeys(("WeightsError", "WeightsFile", "fetch", "load_into", "read_state_dict", "select", "sha256",
                     "strip_prefix", "weights_dir"), "zsbench.plugin.weights"),
}

__all__ = ["API_VERSION", "ArrayImages", "BadImageError", "CLIP_MEAN", "CLIP_STD", "Clusterer", "Dataset",
           "Encoder", "Executor", "IMAGENET_MEAN", "IMAGENET_STD", "IMAGE_EXTENSIONS", "ImageFiles",
           "InvalidInputError", "MissingDataError", "PluginAPIError", "Preprocess", "Reducer", "Register", "cached_jit",
           "TorchEncoder", "WeightsError", "WeightsFile", "ZsbenchError", "csv_images", "data_root", "fetch",
           "file_sha256", "fold_batchnorm", "hookimpl", "image_folder", "load_into", "missing", "open_image",
           "read_state_dict", "require_api", "select", "select_device", "sha256", "strip_prefix", "to_8bit",
           "tree_sha256", "usable_cores", "weights_dir"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'zsbench.plugin' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


class PluginAPIError(ZsbenchError):
    """The installed zsbench offers an older (or another major) plugin API than a plugin needs."""


def require_api(version: str) -> None:
    """Fail the plugin's import, with one clear line, unless this zsbench offers plugin API ``version``.

    ``require_api("1.2")`` needs major version 1 and minor at least 2. Call it at the top of the
    plugin module: ``zsbench plugins`` then lists the plugin as failed, with the reason, and the
    rest keep working.
    """
    try:
        major, minor = (int(p) for p in str(version).split(".", 1)) if "." in str(version) else (int(version), 0)
    except ValueError:
        raise PluginAPIError(f"require_api({version!r}): write MAJOR.MINOR, e.g. '1.0'") from None
    have_major, have_minor = (int(p) for p in API_VERSION.split("."))
    if major != have_major or minor > have_minor:
        raise PluginAPIError(
            f"this plugin needs zsbench plugin API {major}.{minor}, and the installed zsbench offers "
            f"{API_VERSION}; install a zsbench whose plugin API is {major}.x with x >= {minor}")
