"""Getting a published weights file onto disk, and proving it is the file that was published.

Helpers for encoder plugins: find or download a checkpoint into :func:`weights_dir`, checking its
``sha256=`` pin; a :class:`WeightsFile` declares a published file and its pin, for the factory and the kit.
A missing file is an error that says where zsbench looked and how to supply the file; nothing ever falls
back to random weights. Reading the file into a network is :mod:`zsbench.plugin.checkpoints`.
"""

from __future__ import annotations

import importlib.resources
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

from zsbench.plugin.errors import ZsbenchError
from zsbench.plugin.identity import file_sha256

ENV_WEIGHTS_DIR = "ZSBENCH_WEIGHTS_DIR"
ENV_OFFLINE = "ZSBENCH_OFFLINE"  # 1/true/yes/on: never download weights
OFFLINE_VALUES = ("1", "true", "yes", "on")  # any case; these and nothing else turn downloads off
ONLINE_VALUES = ("", "0", "false", "no", "off")
_SHA256 = re.compile(r"(?:sha256:)?([0-9a-f]{64})", re.IGNORECASE)


class WeightsError(ZsbenchError):
    """Weights that cannot be found, read, or that do not fit the network."""


class FetchArgumentError(WeightsError):
    """:func:`fetch` called with a wrong argument (a malformed pin, a file name that is a path): a bug of
    the plugin calling it, not a missing file."""


def offline() -> bool:
    """Whether ``$ZSBENCH_OFFLINE`` turns downloads off: 1, true, yes or on (any case); 0, false, no, off or
    unset leave them on. Any other value is an error, so a typo never downloads gigabytes."""
    value = os.environ.get(ENV_OFFLINE, "").strip().lower()
    if value in OFFLINE_VALUES:
        return True
    if value in ONLINE_VALUES:
        return False
    raise WeightsError(
        f"${ENV_OFFLINE}={os.environ[ENV_OFFLINE]!r}: set it to 1, true, yes or on (no downloads), "
        "or 0, false, no or off (downloads allowed)"
    )


def pin(model: str, value: object, call: str | None = None, *, required: bool = False) -> str | None:
    """A ``sha256=`` pin as 64 lower-case hex digits (``sha256:`` in front is allowed), or None (when not
    ``required``). ``call`` is how the error names the call (default ``fetch(model, ...)``)."""
    if value is None and not required:
        return None
    found = _SHA256.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        raise FetchArgumentError(
            f"{call or f'fetch({model!r}, ...)'}: sha256 must be the 64 hex digits of the file's SHA-256, got {value!r}"
        )
    return found.group(1).lower()


def is_plain_name(name: object) -> TypeGuard[str]:
    """Whether ``name`` is a file name and nothing more: no folder, no path separator, not ``.`` or ``..``."""
    return not (
        not isinstance(name, str)
        or name.strip() in ("", ".", "..")
        or name != name.strip()
        or any(sep in name for sep in ("/", "\\", os.sep, os.altsep or "/", "\0"))
    )


def plain_filename(model: str, filename: object, url: str) -> str:
    """``filename`` (default: the last part of ``url``), refused unless it is a plain file name: the file
    is always inside :func:`weights_dir`."""
    name = url.rsplit("/", 1)[-1].split("?", 1)[0].split("#", 1)[0] if filename is None else filename
    if not is_plain_name(name):
        given = f"filename={filename!r}" if filename is not None else f"the file name of url {url!r} ({name!r})"
        raise FetchArgumentError(
            f"fetch({model!r}, ...): {given} is not a plain file name; pass filename= a name "
            f"such as 'model.pth' (the file is kept in {ENV_WEIGHTS_DIR})"
        )
    return name


def weights_dir() -> Path:
    """``$ZSBENCH_WEIGHTS_DIR``, else torch hub's checkpoint folder (shared with torchvision)."""
    from zsbench.plugin.paths import user_path

    return user_path(ENV_WEIGHTS_DIR, "torch", "checkpoints")


def sha256(path: str | os.PathLike[str]) -> str:
    """The file's sha256 (memoised, and shared with the identity zsbench records for ``--weights``)."""
    return file_sha256(path)


def fetch(
    model: str, url: str, filename: str | None = None, sha256: str | None = None, *, sha256_hex: str | None = None
) -> Path:
    """The local copy of ``url``: reuse it when present, else download it, else a clear error.

    Pinning: ``sha256`` (hex) is the published file's SHA-256. When given it is checked every time
    the file is used, downloaded now or found in :func:`weights_dir`; on a mismatch nothing is
    loaded and :class:`WeightsError` names both hashes: a file just downloaded is deleted (the
    published file changed, or the pin is wrong), a file already there is left for the user to
    delete (so zsbench downloads it again). Without ``sha256`` only a hash prefix in the file name
    (torchvision's convention, ``resnet50-11ad3fa6.pth``) is checked, and only when downloading.
    A pin is 64 hex digits (any case, ``sha256:`` in front allowed); anything else is a
    :class:`FetchArgumentError`, as is a ``filename`` (or a url's last part) that is not a plain file
    name: the file is always ``weights_dir() / filename``. With ``ZSBENCH_OFFLINE`` set to 1, true, yes
    or on (see :func:`offline`) nothing is downloaded: a missing file is the same one-line error
    (``zsbench plugins --check`` sets it, so checking a plugin never downloads its weights).
    ``sha256_hex`` is the old name of ``sha256`` (deprecated).
    """
    if sha256_hex is not None:
        warnings.warn("fetch(sha256_hex=...) is deprecated; pass sha256=...", DeprecationWarning, stacklevel=2)
        if sha256 is not None and pin(model, sha256) != pin(model, sha256_hex):
            raise TypeError("fetch() got both sha256= and sha256_hex= (its old name); pass sha256= only")
        sha256 = sha256_hex
    if not isinstance(url, str) or not url:
        raise FetchArgumentError(f"fetch({model!r}, ...): url must be the file's address (a str), got {url!r}")
    sha256 = pin(model, sha256)  # a malformed pin is said before any file is looked at
    filename = plain_filename(model, filename, url)
    path = weights_dir() / filename
    if path.is_file():
        _verify(model, path, sha256)
        return path
    if offline():
        raise WeightsError(
            f"{model}: weights not found at {path} and downloads are off (${ENV_OFFLINE}); "
            f"download {url} and put it at {path} (or in ${ENV_WEIGHTS_DIR}), or pass --weights PATH"
        )
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    check = bool(re.search(r"-[0-9a-f]{8,}\.", filename))
    try:
        torch.hub.download_url_to_file(
            url, str(path), hash_prefix=_hash_prefix(filename) if check else None, progress=False
        )
    except Exception as exc:
        path.unlink(missing_ok=True)
        raise WeightsError(
            f"{model}: weights not found at {path} and the download from {url} failed "
            f"({type(exc).__name__}: {exc}); download that file and put it at {path} (or in "
            f"${ENV_WEIGHTS_DIR}), or pass --weights PATH"
        ) from None
    _verify(model, path, sha256, downloaded_from=url)
    return path


def _verify(model: str, path: Path, expected: str | None, downloaded_from: str | None = None) -> None:
    if expected is None or (actual := file_sha256(path)) == expected.lower():
        return
    if downloaded_from is not None:
        path.unlink(missing_ok=True)
        raise WeightsError(
            f"{model}: the file downloaded from {downloaded_from} has SHA-256 {actual[:16]}..., "
            f"expected {expected[:16]}... (deleted): the published file changed or the pin is "
            "wrong; download it yourself and pass --weights PATH"
        )
    raise WeightsError(
        f"{model}: {path} has SHA-256 {actual[:16]}..., expected "
        f"{expected[:16]}...; delete it so zsbench downloads it again"
    )


def _hash_prefix(filename: str) -> str:
    found = re.search(r"-([0-9a-f]{8,})\.", filename)
    assert found is not None, filename  # fetch() asks only for a name it has seen carries a prefix
    return found.group(1)


@dataclass(frozen=True)
class WeightsFile:
    """One published weights file of an encoder, pinned by its sha256: shipped in the plugin's own package
    (``package=``, e.g. ``__package__``) or downloaded (``url=``, into :func:`weights_dir`).

    Declare it at ``register(..., weights=...)``, so ``zsbench plugins --check`` verifies it, and call
    :meth:`path` in the factory. Give exactly one of ``package`` and ``url``; ``file`` is a plain file
    name and ``sha256`` a pin as :func:`fetch` takes it. A wrong argument is a :class:`FetchArgumentError`
    naming it, raised where the declaration is written.
    """

    file: str
    sha256: str
    package: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        call = f"WeightsFile({self.file!r}, ...)"
        if not is_plain_name(self.file):
            raise FetchArgumentError(
                f"{call}: file must be a plain file name such as 'weights.safetensors', "
                f"without a folder, got {self.file!r}"
            )
        object.__setattr__(self, "sha256", pin("", self.sha256, call, required=True))  # one spelling: == works
        if (self.package is None) == (self.url is None):
            raise FetchArgumentError(
                f"{call}: give exactly one of package= (the import package that ships the file, "
                "e.g. __package__) and url= (where to download it), not "
                f"{'both' if self.package is not None else 'neither'}"
            )
        if self.package is not None and not (
            isinstance(self.package, str) and self.package and all(p.isidentifier() for p in self.package.split("."))
        ):
            raise FetchArgumentError(
                f"{call}: package= must be an import package's name, e.g. __package__ in a "
                f"module of that package, got {self.package!r}"
            )
        if self.url is not None and not (isinstance(self.url, str) and self.url.strip()):
            raise FetchArgumentError(f"{call}: url= must be the file's address (a str), got {self.url!r}")

    def path(self, model: str) -> Path:
        """The local file, its sha256 checked against the pin every time (memoised while it is unchanged).

        With ``url``: :func:`fetch` (reused from :func:`weights_dir`, else downloaded, unless downloads are
        off). With ``package``: the file in the installed package; absent (a wheel built without its package
        data) or of another sha256, it is a :class:`WeightsError` saying how to fix it. ``model`` names the
        encoder in errors."""
        if self.url is not None:
            return fetch(model, self.url, filename=self.file, sha256=self.sha256)
        path = _packaged(model, str(self.package), self.file)
        if (actual := file_sha256(path)) != self.sha256:
            raise WeightsError(
                f"{model}: {self.file} in the installed package {self.package} has SHA-256 "
                f"{actual[:16]}..., expected {self.sha256[:16]}... (its pin); reinstall the plugin, "
                "or, as its author, ship the published file or correct the pin"
            )
        return path


def _packaged(model: str, package: str, file: str) -> Path:
    """``file`` inside the installed ``package``, as a file on disk."""
    try:
        resource = importlib.resources.files(package) / file
    except Exception as exc:  # not importable (ModuleNotFoundError), or a module that is not a package (TypeError)
        raise WeightsError(
            f"{model}: cannot read {file} from package {package!r} ({type(exc).__name__}: {exc}); "
            "WeightsFile(package=) names the installed import package that ships the file"
        ) from None
    if not isinstance(resource, Path):  # e.g. a zip import: loading code needs a real file
        raise WeightsError(
            f"{model}: package {package} is not installed as files on disk ({type(resource).__name__}),"
            f" so {file} cannot be opened; install the plugin's distribution unzipped with pip"
        )
    if not resource.is_file():
        raise WeightsError(
            f"{model}: {file} is not in the installed package {package} ({resource.parent}); declare "
            f'it as package data ([tool.setuptools.package-data] {package} = ["{file}"]), then rebuild '
            "and reinstall the distribution"
        )
    return resource
