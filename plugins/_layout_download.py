"""``--download``: a dataset's archive fetched and unpacked into the data root, whole or not at all.

The archive is unpacked into a temporary folder first and moved into place whole, and only regular
files and folders that stay inside it are unpacked.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from zsbench.plugin import MissingDataError


def fetch_archive(layout, base: Path) -> None:
    """Download ``layout.download`` (a .tgz holding ``<folder>/``) and unpack it into ``base``.

    The archive is unpacked into a temporary folder first and moved into place whole, so an
    interrupted download never leaves a half-filled dataset folder behind."""
    base.mkdir(parents=True, exist_ok=True)
    archive = base / f".{layout.folder}.tgz.part"
    try:
        with urllib.request.urlopen(layout.download, timeout=60) as response, archive.open("wb") as fh:
            shutil.copyfileobj(response, fh, 1 << 20)
        with tempfile.TemporaryDirectory(prefix=f".{layout.folder}-", dir=base) as tmp:
            with tarfile.open(archive) as tar:
                _extract(tar, Path(tmp))
            unpacked = Path(tmp) / layout.folder
            if not unpacked.is_dir():
                raise MissingDataError(
                    f"dataset {layout.name}: {layout.download} does not contain "
                    f"{layout.folder}/; download it yourself from {layout.url}"
                )
            unpacked.rename(base / layout.folder)
    except (OSError, tarfile.TarError) as exc:
        raise MissingDataError(
            f"dataset {layout.name}: downloading {layout.download} into {base} failed "
            f"({type(exc).__name__}: {exc}); download and unpack it there yourself, "
            f"or try --download again"
        ) from None
    finally:
        archive.unlink(missing_ok=True)


def _extract(tar: tarfile.TarFile, where: Path) -> None:
    """Unpack only regular files and folders that stay inside ``where``."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(where, filter="data")
        return
    members = []
    for member in tar.getmembers():  # Python < 3.11.4 has no extraction filters
        target = (where / member.name).resolve()
        if not (member.isfile() or member.isdir()) or not target.is_relative_to(where.resolve()):
            raise tarfile.TarError(f"unsafe archive member {member.name!r}")
        members.append(member)
    tar.extractall(where, members=members)
