"""An encoder's identity: what makes two embeddings the same, as content, never as local paths.

An identity is the encoder's name, its ``identity`` mapping (weights sha256, preprocessing,
pooling, dtype: everything that changes the embedding, declared by the plugin) and the options it
was built with. Options that name files are replaced by the file's sha256, so the same weights
reached through two paths are one identity and one cache entry; where the plugin's identity
already carries that sha256 (it loaded the file and hashed it), the option adds nothing and is
dropped. The identity's sha256 is the unit of a leaderboard row, a record and a gate comparison.

What is recorded keeps file names and hashes only (``{"file": "ckpt.pth", "sha256": ...}``):
results travel into registry records, and a local path, user or host name must not.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from zsbench.plugin.identity import IdentityError, file_sha256, local_paths, plain, tree_sha256

SHORT = 12  # hex digits of an identity's sha256 shown in tables ("name@1a2b3c4d5e6f")


def _existing(value: Any) -> Path | None:
    """``value`` as an existing file or folder (relative paths resolve from here), else None."""
    if isinstance(value, (str, os.PathLike)) and str(value):
        path = Path(value).expanduser()
        try:
            return path if path.exists() else None
        except OSError:  # a name too long to be a path
            return None
    return None


def recorded_options(options: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Options as results and records keep them: files and folders by content, as
    ``{"file": name, "sha256": ...}`` or ``{"dir": name, "sha256": ...}``, never by path."""
    out = {}
    for key, value in options.items():
        path = _existing(value)
        if path is not None and path.is_file():
            out[key] = {"file": path.name, "sha256": file_sha256(path)}
        elif path is not None:
            out[key] = {"dir": path.resolve().name, "sha256": tree_sha256(path)}
        else:
            out[key] = plain(value, f"{where} option {key!r}")
            if local_paths(out[key]):  # a path to nothing: its last part, never the path
                out[key] = {"path": Path(str(value)).expanduser().name}
    return out


def canonical(value: Any) -> str:
    """The one JSON text of a plain value (sorted keys, no spaces): what identities hash."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digests(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, Mapping):
        return set().union(*(_digests(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_digests(v) for v in value)) if value else set()
    return set()


def keyed_options(identity: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """Options as the identity hashes them: files by content; a file the identity already names
    by its sha256 (the plugin hashed the weights it loaded) is left out, so ``--weights PATH`` and
    the same file found in the download folder are one identity."""
    named = _digests(identity)
    out = {}
    for key, value in options.items():
        if isinstance(value, Mapping) and set(value) in ({"file", "sha256"}, {"dir", "sha256"}):
            if value["sha256"] in named:
                continue
            out[key] = {"sha256": value["sha256"]}
        else:
            out[key] = value
    return out


def identity_sha256(name: str, identity: Mapping[str, Any], options: Mapping[str, Any]) -> str:
    """The sha256 of an encoder identity: name, the plugin's identity, and options by content."""
    document = {"name": name, "identity": identity, "options": keyed_options(identity, options)}
    return hashlib.sha256(canonical(document).encode()).hexdigest()


def of_config(encoder_config: Mapping[str, Any]) -> str:
    """The identity sha256 of a result's ``config["encoder"]`` (computed for results that predate it)."""
    stored = encoder_config.get("identity_sha256")
    if isinstance(stored, str) and stored:
        return stored
    return identity_sha256(
        str(encoder_config.get("name", "")),
        _loose(encoder_config.get("identity") or {}),
        _loose(encoder_config.get("options") or {}),
    )


def _loose(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def short(sha: str) -> str:
    return sha[:SHORT]


def differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the leaves where two plain values differ (``preprocess.mean``, ``sha256``)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out: list[str] = []
        for key in sorted(set(a) | set(b)):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in a or key not in b:
                out.append(path)
            else:
                out += differences(a[key], b[key], path)
        return out
    if canonical(_loose(a)) != canonical(_loose(b)):
        return [prefix or "(value)"]
    return []


def describe(name: str, plugin: str, encoder: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """``config["encoder"]`` of a result: name, identity, recorded options, source and identity sha256.

    ``source`` (optional on the encoder) says where the weights came from (a URL, "local file", a
    file name): recorded, not hashed. Raises :class:`IdentityError` naming the plugin when the
    identity or source is not plain JSON or holds a local path.
    """
    where = f"encoder {name!r} (plugin {plugin})"
    recorded = {"identity": getattr(encoder, "identity", None) or {}, "source": getattr(encoder, "source", None) or {}}
    for field, value in list(recorded.items()):
        recorded[field] = plain(value, f"{where}: {field}")
        paths = local_paths(recorded[field], field)
        if paths:
            raise IdentityError(
                f"{where}: {paths[0]} is a local path; record the file's name and sha256 "
                "instead (results travel into registry records)"
            )
    opts = recorded_options(options, where)
    return {
        "name": name,
        "identity": recorded["identity"],
        "options": opts,
        "source": recorded["source"],
        "identity_sha256": identity_sha256(name, recorded["identity"], opts),
    }
