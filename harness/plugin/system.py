"""Facts about the machine a plugin runs on."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may run on: its affinity mask, which containers and ``taskset`` narrow,
    else the machine's count. Worker pools, data loaders and the recorded hardware all use this."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no affinity mask
        return os.cpu_count() or 1
