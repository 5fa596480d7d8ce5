"""Reading a checkpoint into a network, checking every key and shape.

Helpers for encoder plugins: read a weights file without unpickling code (safetensors, or
``torch.load(weights_only=True)``), unwrap the state dict inside a training checkpoint, and load it into
a model so that anything missing, unexpected or of another shape is an error naming the keys. Finding
or downloading the file is :mod:`zsbench.plugin.weights`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zsbench.plugin.weights import WeightsError

if TYPE_CHECKING:  # the annotation only: torch loads on first use
    from torch import nn


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

        state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
        return state
    except Exception as exc:
        raise WeightsError(
            f"{model}: cannot read weights file {path} ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); pass a .safetensors file or a "
            "torch checkpoint of tensors"
        ) from None


def select(checkpoint: Mapping[str, Any], *path: str) -> dict[str, Any]:
    """``checkpoint[path[0]][path[1]]...``: the state dict nested inside a training checkpoint."""
    node: Any = checkpoint
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            raise WeightsError(
                f"checkpoint has no {key!r} entry (looked for {'/'.join(path)}); is this the published file?"
            )
        node = node[key]
    return dict(node)


def strip_prefix(state: Mapping[str, Any], prefix: str, drop: Iterable[str] = ()) -> dict[str, Any]:
    """Keys under ``prefix`` with it removed; keys starting with any of ``drop`` (after) removed."""
    drop = tuple(drop)
    out = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    return {k: v for k, v in out.items() if not (drop and k.startswith(drop))}


def load_into(
    net: nn.Module, state: Mapping[str, Any], model: str, *, ignore: Iterable[str] = (), keep_init: Iterable[str] = ()
) -> dict[str, Any]:
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
            parts.append(
                f"{len(wrong)} shape mismatch(es) ({k}: file {tuple(given[k].shape)}, network {tuple(own[k].shape)})"
            )
        raise WeightsError(
            f"{model}: the weights do not fit the network: {'; '.join(parts)}. Is this the right file for this encoder?"
        )
    result = net.load_state_dict(given, strict=False)
    if set(result.missing_keys) - keep_init or result.unexpected_keys:  # belt and braces
        raise WeightsError(f"{model}: partial load ({result})")
    return {"tensors_loaded": len(given), "ignored": sorted(ignore & set(state)), "left_at_init": sorted(keep_init)}
