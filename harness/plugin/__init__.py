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

import ast
import importlib
from typing import TYPE_CHECKING, Any

# The surface is written once: each public name is either imported below as `X as X` (PEP 484's mark
# of a re-export, which mypy and pyright read) or defined in this file. `__all__` and the lazy names'
# modules are derived from these statements (see _surface), not kept in lists of their own.
from zsbench.plugin.errors import InvalidInputError as InvalidInputError
from zsbench.plugin.errors import ZsbenchError as ZsbenchError
from zsbench.plugin.hookspecs import hookimpl as hookimpl
from zsbench.plugin.protocols import Clusterer as Clusterer
from zsbench.plugin.protocols import Dataset as Dataset
from zsbench.plugin.protocols import Encoder as Encoder
from zsbench.plugin.protocols import Executor as Executor
from zsbench.plugin.protocols import Reducer as Reducer
from zsbench.plugin.protocols import Register as Register
from zsbench.plugin.system import usable_cores as usable_cores

# MAJOR.MINOR of the plugin surface: a minor version adds names, a major one may remove or change them.
API_VERSION = "1.2"  # 1.1: TorchEncoder(precision=...); 1.2: WeightsFile, register(weights=)

if TYPE_CHECKING:  # for type checkers; at run time each name loads from its module on first use (numpy, PIL, torch)
    from zsbench.plugin.checkpoints import load_into as load_into
    from zsbench.plugin.checkpoints import read_state_dict as read_state_dict
    from zsbench.plugin.checkpoints import select as select
    from zsbench.plugin.checkpoints import strip_prefix as strip_prefix
    from zsbench.plugin.datasets import IMAGE_EXTENSIONS as IMAGE_EXTENSIONS
    from zsbench.plugin.datasets import ArrayImages as ArrayImages
    from zsbench.plugin.datasets import BadImageError as BadImageError
    from zsbench.plugin.datasets import ImageFiles as ImageFiles
    from zsbench.plugin.datasets import MissingDataError as MissingDataError
    from zsbench.plugin.datasets import csv_images as csv_images
    from zsbench.plugin.datasets import data_root as data_root
    from zsbench.plugin.datasets import image_folder as image_folder
    from zsbench.plugin.datasets import missing as missing
    from zsbench.plugin.datasets import open_image as open_image
    from zsbench.plugin.datasets import to_8bit as to_8bit
    from zsbench.plugin.devices import select_device as select_device
    from zsbench.plugin.identity import file_sha256 as file_sha256
    from zsbench.plugin.identity import tree_sha256 as tree_sha256
    from zsbench.plugin.jit import cached_jit as cached_jit
    from zsbench.plugin.preprocess import CLIP_MEAN as CLIP_MEAN
    from zsbench.plugin.preprocess import CLIP_STD as CLIP_STD
    from zsbench.plugin.preprocess import IMAGENET_MEAN as IMAGENET_MEAN
    from zsbench.plugin.preprocess import IMAGENET_STD as IMAGENET_STD
    from zsbench.plugin.preprocess import Preprocess as Preprocess
    from zsbench.plugin.torch import TorchEncoder as TorchEncoder
    from zsbench.plugin.torch import fold_batchnorm as fold_batchnorm
    from zsbench.plugin.weights import WeightsError as WeightsError
    from zsbench.plugin.weights import WeightsFile as WeightsFile
    from zsbench.plugin.weights import fetch as fetch
    from zsbench.plugin.weights import sha256 as sha256
    from zsbench.plugin.weights import weights_dir as weights_dir

_derived: tuple[dict[str, str], list[str]] | None = None


def _surface() -> tuple[dict[str, str], list[str]]:
    """(lazy name -> its module, ``__all__``), read once from this file's own top-level statements.

    Public: a name imported as itself (``from m import X as X``) or defined here without a leading
    underscore; lazy: such an import inside ``if TYPE_CHECKING:``. Parsed on first need (a lazy name,
    ``__all__`` or ``dir()``), so importing this module costs no more than before.
    """
    global _derived
    if _derived is None:
        source = __loader__.get_source(__name__)  # type: ignore[name-defined]  # the module's loader, always set
        if source is None:
            raise ImportError(f"{__name__}: its source is needed to list the plugin surface")
        lazy: dict[str, str] = {}
        public: list[str] = []
        for node in ast.parse(source).body:
            is_lazy = isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
            for stmt in node.body if isinstance(node, ast.If) else [node]:
                if isinstance(stmt, ast.ImportFrom) and stmt.module:
                    for alias in stmt.names:
                        if alias.asname == alias.name:
                            public.append(alias.name)
                            if is_lazy:
                                lazy[alias.name] = stmt.module
                elif isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
                    public.append(stmt.name)
                elif isinstance(stmt, ast.Assign):
                    public += [t.id for t in stmt.targets if isinstance(t, ast.Name)]
        _derived = lazy, sorted(n for n in public if not n.startswith("_"))
    return _derived


def __getattr__(name: str) -> Any:
    if name == "__all__":
        return _surface()[1]
    lazy = _surface()[0]
    if name in lazy:
        value = getattr(importlib.import_module(lazy[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'zsbench.plugin' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_surface()[0]))


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
            f"{API_VERSION}; install a zsbench whose plugin API is {major}.x with x >= {minor}"
        )
