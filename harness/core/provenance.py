"""What produced a result: package versions, interpreter, platform, hardware."""

from __future__ import annotations

import functools
import os
import platform
import sys
from collections.abc import Mapping
from importlib import metadata

from zsbench.plugin.system import usable_cores

PACKAGES = ("zsbench", "numpy", "scikit-learn", "umap-learn", "hdbscan", "pynndescent", "numba")
# Libraries encoders embed with (import name: distribution). Which ones made an embedding is read from the
# process that embedded it (:func:`imported_versions` there): recorded only when they were used.
EMBEDDING_LIBRARIES = {
    "torch": "torch",
    "torchvision": "torchvision",
    "timm": "timm",
    "open_clip": "open_clip_torch",
    "transformers": "transformers",
}


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:  # e.g. a module on sys.path that no installed distribution owns
        return None


def imported_versions(libraries: Mapping[str, str] = EMBEDDING_LIBRARIES) -> dict[str, str]:
    """Distribution versions of those ``libraries`` (import name: distribution) imported in this process.

    Read from installed metadata: nothing is imported to find them.
    """
    found = {dist: _version(dist) for module, dist in libraries.items() if sys.modules.get(module) is not None}
    return {dist: version for dist, version in found.items() if version is not None}


def environment(embedding: Mapping[str, str] | None = None) -> dict[str, object]:
    """Versions, interpreter, platform and hardware of this process. ``embedding``: the versions of the
    libraries that made the embedding (:func:`imported_versions` where it was made), which win over this
    process's own."""
    versions = {name: v for name in PACKAGES if (v := _version(name)) is not None}
    versions.update(imported_versions({"torch": "torch"}))  # recorded only when some plugin actually used it
    versions.update(embedding or {})
    return {
        "packages": versions,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "hardware": hardware(),
    }


def hardware() -> dict[str, object]:
    """The machine, as far as timings depend on it: CPU, cores, memory and an accelerator if used."""
    info: dict[str, object] = {**_machine()}
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():  # only when a plugin already imported torch
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


@functools.cache
def _machine() -> dict[str, object]:
    info: dict[str, object] = {
        "machine": platform.machine(),
        "cpu": _cpu_model() or platform.processor(),
        "cpus": usable_cores(),
    }
    try:
        info["memory_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):  # not POSIX
        pass
    return info


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None
