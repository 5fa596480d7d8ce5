"""Getting published weights into a network, and proving they are the weights that ran.

Helpers for encoder plugins: find or download a checkpoint, read it without unpickling code
(safetensors, or ``torch.load(weights_only=True)``), and load it into a model checking every key
and shape. A missing file is an error that says where zsbench looked and how to supply the file;
nothing ever falls back to random weights.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from zsbench.plugin.errors import ZsbenchError
from zsbench.plugin.identity import file_sha256

ENV_WEIGHTS_DIR = "ZSBENCH_WEIGHTS_DIR"
ENV_OFFLINE = "ZSBENCH_OFFLINE"  # set: never download weights


class WeightsError(ZsbenchError):
    """Weights that cannot be found, read, or that do not fit the network."""


def weights_dir() -> Path:
    """``$ZSBENCH_WEIGHTS_DIR``, else torch hub's checkpoint folder (shared with torchvision)."""
    from zsbench.plugin.paths import user_path

    return user_path(ENV_WEIGHTS_DIR, "torch", "checkpoints")


def sha256(path: str | os.PathLike[str]) -> str:
    """The file's sha256 (memoised, and shared with the identity zsbench records for ``--weights``)."""
    return file_sha256(path)


def fetch(model: str, url: str, filename: str | None = None, sha256: str | None = None, *,
          sha256_hex: str | None = None) -> Path:
    """The local copy of ``url``: reuse it when present, else download it, else a clear error.

    Pinning: ``sha256`` (hex) is the published file's SHA-256. When given it is checked every time
    the file is used, downloaded now or found in :func:`weights_dir`; on a mismatch nothing is
    loaded and :class:`WeightsError` names both hashes: a file just downloaded is deleted (the
    published file changed, or the pin is wrong), a file already there is left for the user to
    delete (so zsbench downloads it again). Without ``sha256`` only a hash prefix in the file name
    (torchvision's convention, ``resnet50-11ad3fa6.pth``) is checked, and only when downloading.
    With ``ZSBENCH_OFFLINE=1`` nothing is downloaded: a missing file is the same one-line error
    (``zsbench plugins --check`` sets it, so checking a plugin never downloads its weights).
    ``sha256_hex`` is the old name of ``sha256`` (deprecated).
    """
    if sha256_hex is not None:
        warnings.warn("fetch(sha256_hex=...) is deprecated; pass sha256=...", DeprecationWarning, stacklevel=2)
        if sha256 is not None and sha256 != sha256_hex:
            raise TypeError("fetch() got both sha256= and sha256_hex= (its old name); pass sha256= only")
        sha256 = sha256_hex
    filename = filename or url.rsplit("/", 1)[-1]
    path = weights_dir() / filename
    if path.is_file():
        _verify(model, path, sha256)
        return path
    if os.environ.get(ENV_OFFLINE, "") not in ("", "0"):
        raise WeightsError(f"{model}: weights not found at {path} and downloads are off (${ENV_OFFLINE}); "
                           f"download {url} and put it at {path} (or in ${ENV_WEIGHTS_DIR}), or pass --weights PATH")
    import torch
    path.parent.mkdir(parents=True, exist_ok=True)
    check = bool(re.search(r"-[0-9a-f]{8,}\.", filename))
    try:
        torch.hub.download_url_to_file(url, str(path), hash_prefix=_hash_prefix(filename) if check else None,
                                       progress=False)
    except Exception as exc:
        path.unlink(missing_ok=True)
        raise WeightsError(
            f"{model}: weights not found at {path} and the download from {url} failed "
            f"({type(exc).__name__}: {exc}); download that file and put it at {path} (or in "
            f"${ENV_WEIGHTS_DIR}), or pass --weights PATH") from None
    _verify(model, path, sha256, downloaded_from=url)
    return path


def _verify(model: str, path: Path, expected: str | None, downloaded_from: str | None = None) -> None:
    if expected is None or (actual := file_sha256(path)) == expected.lower():
        return
    if downloaded_from is not None:
        path.unlink(missing_ok=True)
        raise WeightsError(f"{model}: the file downloaded from {downloaded_from} has SHA-256 {actual[:16]}..., "
                           f"expected {expected[:16]}... (deleted): the published file changed or the pin is "
                           "wrong; download it yourself and pass --weights PATH")
    raise WeightsError(f"{model}: {path} has SHA-256 {actual[:16]}..., expected "
                       f"{expected[:16]}...; delete it so zsbench downloads it again")


def _hash_prefix(filename: str) -> str:
    return re.search(r"-([0-9a-f]{8,})\.", filename).group(1)


def read_state_dict(path: str | os.PathLike[str], model: str) -> dict[str, Any]:
    """Tensors from a .safetensors file or a torch checkpoint, never executing pickled code."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsError(f"{model}: weights file {path} does not exist; check the --weights path")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return dict(load_file(str(path)))
        import torch

        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(
            f"{model}: cannot read weights file {path} ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); pass a .safetensors file or a "
            "torch checkpoint of tensors") from None


def select(checkpoint: Mapping[str, Any], *path: str) -> dict[str, Any]:
    """``checkpoint[path[0]][path[1]]...``: the state dict nested inside a training checkpoint."""
    node: Any = checkpoint
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            raise WeightsError(f"checkpoint has no {key!r} entry (looked for {'/'.join(path)}); "
                               "is this the published file?")
        node = node[key]
    return dict(node)


def strip_prefix(state: Mapping[str, Any], prefix: str, drop: Iterable[str] = ()) -> dict[str, Any]:
    """Keys under ``prefix`` with it removed; keys starting with any of ``drop`` (after) removed."""
    drop = tuple(drop)
    out = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    return {k: v for k, v in out.items() if not (drop and k.startswith(drop))}


def load_into(net, state: Mapping[str, Any], model: str, *, ignore: Iterable[str] = (),
              keep_init: Iterable[str] = ()) -> dict[str, Any]:
    """Load ``state`` into ``net`` requiring every key to match in name and shape.

    ``ignore``: checkpoint keys deliberately not used (e.g. a classifier head). ``keep_init``:
    network parameters deliberately left at their initial values (documented per encoder).
    Anything else missing, unexpected or of another shape is an error naming the keys.
    Returns a summary to put in the encoder's identity.
    """
    ignore, keep_init = set(ignore), set(keep_init)
    own = net.state_dict()
    given = {k: v for k, v in state.items() if k not in ignore}
    missing = sorted(set(own) - set(given) - keep_init)
    unexpected = sorted(set(given) - set(own))
    wrong = sorted(k for k in set(own) & set(given) if tuple(own[k].shape) != tuple(given[k].shape))
    if missing or unexpected or wrong:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected)):
            if keys:
                parts.append(f"{len(keys)} {label} key(s) ({', '.join(keys[:4])}{', ...' if len(keys) > 4 else ''})")
        if wrong:
            k = wrong[0]
            parts.append(f"{len(wrong)} shape mismatch(es) ({k}: file {tuple(given[k].shape)}, "
                         f"network {tuple(own[k].shape)})")
        raise WeightsError(f"{model}: the weights do not fit the network: {'; '.join(parts)}. "
                           "Is this the right file for this encoder?")
    result = net.load_state_dict(given, strict=False)
    if set(result.missing_keys) - keep_init or result.unexpected_keys:  # belt and braces
        raise WeightsError(f"{model}: partial load ({result})")
    return {"tensors_loaded": len(given), "ignored": sorted(ignore & set(state)),
            "left_at_init": sorted(keep_init)}
