"""What produced a result: package versions, interpreter, platform."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

PACKAGES = ("zsbench", "numpy", "scikit-learn", "umap-learn", "hdbscan", "pynndescent", "numba")


def environment() -> dict[str, object]:
    versions: dict[str, str] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    if "torch" in sys.modules:  # recorded only when some plugin actually used it
        versions["torch"] = metadata.version("torch")
    return {"packages": versions, "python": platform.python_version(),
            "platform": platform.platform()}
