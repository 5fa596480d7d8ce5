"""zsbench: do a pretrained image encoder's embeddings form meaningful clusters on unseen data?

The core is small: plugin discovery (:mod:`zsbench.core.manager`, :mod:`zsbench.core.catalog`), the
standard protocol (:mod:`zsbench.core.protocol`, :mod:`zsbench.core.metrics`), the results store and the
leaderboard. Encoders, datasets, reducers and clusterers are plugins (:mod:`zsbench.plugin.hookspecs`).
"""

from __future__ import annotations

from zsbench.core.manager import registered
from zsbench.plugin.errors import ZsbenchError
from zsbench.plugin.hookspecs import hookimpl

# The one place the version lives. pyproject.toml reads this literal statically (a dynamic version,
# `attr`), so it must stay a plain string assignment at module level. A wheel's metadata is this
# value, and `zsbench --version` shows it from a wheel, an editable install or a source tree that
# has no metadata at all (an editable install's metadata follows a bump once it is reinstalled).
__version__ = "0.1.0"

__all__ = [
    "ZsbenchError",
    "hookimpl",
    "registered",
    "run",
    "run_embeddings",
    "run_request",
    "load_npz",
    "RunRequest",
    "RunResult",
    "Result",
    "ResultStore",
    "__version__",
]

_LAZY = {
    "run": "zsbench.api",
    "run_embeddings": "zsbench.api",
    "run_request": "zsbench.api",
    "load_npz": "zsbench.engine.inputs",
    "RunRequest": "zsbench.engine.request",
    "RunResult": "zsbench.api",
    "Result": "zsbench.core.result",
    "ResultStore": "zsbench.storage.store",
}


def __getattr__(name: str):
    # numpy and the protocol load on first use, so `import zsbench` stays light for plugins
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zsbench' has no attribute {name!r}")
