"""What produced a result: package versions, interpreter, platform, hardware."""

from __future__ import annotations

import functools
import os
import platform
import sys
from importlib import metadata

from zsbench.plugin.system import usable_cores

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
            "platform": platform.platform(), "hardware": hardware()}


def hardware() -> dict[str, object]:
    """The machine, as far as timings depend on it: CPU, cores, memory and an accelerator if used."""
    info: dict[str, object] = {**_machine()}
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():  # only when a plugin already imported torch
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


@functools.cache
def _machine() -> dict[str, object]:
    info: dict[str, object] = {"machine": platform.machine(), "cpu": _cpu_model() or platform.processor(),
                               "cpus": usable_cores()}
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
