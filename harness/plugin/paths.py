"""Where zsbench keeps things on this machine: an environment variable when set, else a per-user folder."""

from __future__ import annotations

import os
from pathlib import Path


def user_path(env_var: str, kind: str, *parts: str) -> Path:
    """``$env_var`` when it is set (``~`` expanded), else ``parts`` under the per-user folder of ``kind``:
    ``data`` and ``cache`` are zsbench's user data and cache folders (platformdirs), ``torch`` is torch
    hub's folder (shared with torchvision)."""
    env = os.environ.get(env_var)
    if env:
        return Path(env).expanduser()
    if kind == "torch":
        import torch

        return Path(torch.hub.get_dir()).joinpath(*parts)
    import platformdirs

    folders = {"data": platformdirs.user_data_dir, "cache": platformdirs.user_cache_dir}
    if kind not in folders:
        raise ValueError(f"unknown kind of folder {kind!r}; choose data, cache or torch")
    return Path(folders[kind]("zsbench", appauthor=False)).joinpath(*parts)
