"""Networks and checkpoint layouts behind the built-in torch encoders.

Imported only inside factories (it imports torch). Uses zsbench's public helpers only:
:mod:`zsbench.plugin.torch` and :mod:`zsbench.plugin.weights`.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from zsbench.plugin import (
    CLIP_MEAN,
    CLIP_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    Preprocess,
    TorchEncoder,
    WeightsError,
    ZsbenchError,
    fetch,
    load_into,
    read_state_dict,
    select,
    sha256,
    strip_prefix,
)

# -- architectures ----------------------------------------------------------------------------------


def tv_resnet50() -> torch.nn.Module:
    """torchvision's ResNet-50, classifier removed: the 2048-d average-pooled features."""
    import torchvision

    net = torchvision.models.resnet50(weights=None)
    net.fc = torch.nn.Identity()
    return net


def tv_vit_b_16() -> torch.nn.Module:
    """torchvision's ViT-B/16, heads removed: the CLS token after the final LayerNorm (768-d)."""
    import torchvision

    net = torchvision.models.vit_b_16(weights=None)
    net.heads = torch.nn.Identity()
    return net


def timm_vit_b16(global_pool: str = "token") -> torch.nn.Module:
    """timm's ViT-B/16 (LayerNorm eps 1e-6, qkv bias), no head."""
    import timm

    return timm.create_model("vit_base_patch16_224", pretrained=False, num_classes=0, global_pool=global_pool)


def timm_dinov2_b14() -> torch.nn.Module:
    """timm's DINOv2 ViT-B/14 at its native 518 px grid, positions interpolated for 224 px input."""
    import timm

    return timm.create_model(
        "vit_base_patch14_dinov2", pretrained=False, num_classes=0, img_size=518, dynamic_img_size=True
    )


ARCHITECTURES: dict[str, Callable[..., torch.nn.Module]] = {
    "torchvision/resnet50": tv_resnet50,
    "torchvision/vit_b_16": tv_vit_b_16,
    "timm/vit_base_patch16_224": timm_vit_b16,
    "timm/vit_base_patch14_dinov2": timm_dinov2_b14,
}

# -- published checkpoint layouts -> the network's keys ---------------------------------------------


def flat(state: dict[str, Any]) -> dict[str, Any]:
    return state


def moco_v3(state: dict[str, Any]) -> dict[str, Any]:
    """``{"state_dict": {"module.base_encoder.*", "module.momentum_encoder.*", "module.predictor.*"}}``:
    keep the base encoder, drop its projection MLP (``fc`` for ResNet, ``head`` for ViT)."""
    return strip_prefix(select(state, "state_dict"), "module.base_encoder.", drop=("fc.", "head."))


def mae(state: dict[str, Any]) -> dict[str, Any]:
    """``{"model": {...}}``, the encoder's keys in timm's names."""
    return {k: v for k, v in select(state, "model").items() if not k.startswith("head.")}


LAYOUTS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"flat": flat, "moco-v3": moco_v3, "mae": mae}

PREPROCESS = {
    "imagenet": Preprocess(224, "bilinear", IMAGENET_MEAN, IMAGENET_STD),
    "clip": Preprocess(224, "bilinear", CLIP_MEAN, CLIP_STD),
}


def zoo_encoder(name: str, spec: dict[str, Any], weights: str | None = None, precision: str = "fp32") -> TorchEncoder:
    """Build a study encoder from its declared spec (see ``zsbench.plugins.zoo.ZOO``)."""
    if "alias" in spec:  # served by a model family, e.g. open_clip/RN50/openai
        family, _, rest = spec["alias"].partition("/")
        build = {"timm": timm_encoder, "open_clip": open_clip_encoder}[family]
        encoder = build(rest, weights=weights, precision=precision)
        encoder.identity = {"name": name, "study_name": spec["study_name"], **encoder.identity}
        return encoder
    args = spec.get("arch_args", {})
    if spec.get("url") is None:  # a random-init baseline: the only encoder allowed random weights
        if weights is not None:
            raise ZsbenchError(f"{name} is a random-init baseline; it takes no --weights")
        torch.manual_seed(spec["init_seed"])
        net = ARCHITECTURES[spec["arch"]](**args)
        weights_identity: dict[str, Any] = {"weights": "random-init", "init_seed": spec["init_seed"]}
        source: dict[str, Any] = {}
    else:
        net = ARCHITECTURES[spec["arch"]](**args)
        path = weights or fetch(name, spec["url"], sha256=spec.get("sha256"))
        state = LAYOUTS[spec["layout"]](read_state_dict(path, name))
        report = load_into(net, state, name, ignore=spec.get("ignore", ()), keep_init=spec.get("keep_init", ()))
        # the file's content is the identity; where it was found (download folder or --weights) is not
        weights_identity = {"sha256": sha256(path), **report}
        source = {"weights": spec["url"] if weights is None else "local file", "file": Path(path).name}
    return TorchEncoder(
        net,
        PREPROCESS[spec["preprocess"]],
        identity={
            "name": name,
            "study_name": spec["study_name"],
            "architecture": spec["arch"],
            "arch_args": args,
            "pooling": spec["pooling"],
            **weights_identity,
        },
        source=source,
        precision=precision,
    )


def _short(exc: BaseException) -> str:
    return textwrap.shorten(" ".join(str(exc).split()), 160, placeholder=" …")


def _hf_cache() -> str:
    try:
        from huggingface_hub import constants

        return str(constants.HF_HUB_CACHE)
    except Exception:
        return "the Hugging Face cache"


# -- families -------------------------------------------------------------------------------------


def _pretrained_cfg(net: Any) -> dict[str, Any]:
    """The ``pretrained_cfg`` dict timm sets on each model it creates (nn.Module's typing cannot name it)."""
    return net.pretrained_cfg


def timm_encoder(model: str, weights: str | None = None, precision: str = "fp32") -> TorchEncoder:
    """``timm/<model>[.<tag>]``: pooled pre-classifier features (``num_classes=0``)."""
    import timm

    arch = model.split(".", 1)[0]
    if not timm.is_model(arch):
        close = timm.list_models(f"*{arch[:6]}*")[:5]
        raise ZsbenchError(
            f"timm/{model}: timm {timm.__version__} has no model {arch!r}"
            + (f"; similar: {', '.join(close)}" if close else "")
        )
    if weights is not None:
        net = timm.create_model(model, pretrained=False, num_classes=0)
        state = read_state_dict(weights, f"timm/{model}")
        if isinstance(state, dict):  # a training checkpoint holds the weights under "state_dict" or "model"
            state = state["state_dict"] if "state_dict" in state else state["model"] if "model" in state else state
        head = _pretrained_cfg(net).get("classifier") or ""
        ignore = [k for k in state if head and k.startswith(f"{head}.")]
        report = load_into(net, state, f"timm/{model}", ignore=ignore)
        weights_identity = {"sha256": sha256(weights), **report}
        source = {"weights": "local file", "file": Path(weights).name}
    else:
        try:
            net = timm.create_model(model, pretrained=True, num_classes=0)
        except Exception as exc:
            if not timm.models.is_model_pretrained(arch) and "." not in model:
                raise ZsbenchError(
                    f"timm/{model} has no pretrained weights in timm; pick a "
                    "tagged model (timm.list_pretrained()) or pass --weights"
                ) from None
            raise WeightsError(
                f"timm/{model}: pretrained weights could not be loaded ({type(exc).__name__}: "
                f"{_short(exc)}). With network access, "
                f"`python -c \"import timm; timm.create_model('{model}', pretrained=True)\"` puts "
                f"them in {_hf_cache()}, where zsbench looked; offline, pass --weights PATH"
            ) from None
        cfg = _pretrained_cfg(net)
        weights_identity = {"tag": cfg.get("tag"), "hf_hub_id": cfg.get("hf_hub_id"), "url": cfg.get("url")}
        source = {"weights": "timm pretrained"}
    cfg = _pretrained_cfg(net)
    preprocess = Preprocess(
        int(cfg.get("input_size", (3, 224, 224))[-1]),
        "bilinear",
        tuple(cfg.get("mean", IMAGENET_MEAN)),
        tuple(cfg.get("std", IMAGENET_STD)),
    )
    return TorchEncoder(
        net,
        preprocess,
        identity={
            "name": f"timm/{model}",
            "library": f"timm {timm.__version__}",
            "pooling": getattr(net, "global_pool", "avg"),
            **weights_identity,
        },
        source=source,
        precision=precision,
    )


def open_clip_encoder(spec: str, weights: str | None = None, precision: str = "fp32") -> TorchEncoder:
    """``open_clip/<architecture>/<pretrained tag>``: the projected image embedding."""
    import open_clip

    arch, _, tag = spec.partition("/")
    if arch not in open_clip.list_models():
        raise ZsbenchError(f"open_clip/{spec}: open_clip has no architecture {arch!r}; see open_clip.list_models()")
    if weights is None and not tag:
        tags = [t for a, t in open_clip.list_pretrained() if a == arch]
        raise ZsbenchError(
            f"open_clip/{arch}: name the pretrained weights, e.g. open_clip/{arch}/"
            f"{tags[0] if tags else 'TAG'} (tags: {', '.join(tags[:6])}), or pass --weights"
        )
    label = f"open_clip/{spec}"
    if weights is not None:
        model = open_clip.create_model(arch, pretrained=None)
        state = read_state_dict(weights, label)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        state = {k.removeprefix("module."): v for k, v in state.items()}
        report = load_into(model, state, label)
        weights_identity = {"sha256": sha256(weights), **report}
        source = {"weights": "local file", "file": Path(weights).name}
    else:
        try:
            logging.disable(logging.ERROR)  # open_clip logs the failure itself; we raise it once
            model = open_clip.create_model(arch, pretrained=tag)
        except Exception as exc:
            raise WeightsError(
                f"{label}: pretrained weights could not be loaded ({type(exc).__name__}: "
                f"{_short(exc)}). With network access, "
                f"`python -c \"import open_clip; open_clip.create_model('{arch}', pretrained='{tag}')\"` "
                f"caches them in {_hf_cache()}, where zsbench looked; offline, pass --weights PATH"
            ) from None
        finally:
            logging.disable(logging.NOTSET)
        cfg = open_clip.get_pretrained_cfg(arch, tag)
        weights_identity = {"tag": tag, "hf_hub": cfg.get("hf_hub"), "url": cfg.get("url")}
        source = {"weights": "open_clip pretrained"}
    pre = open_clip.get_model_preprocess_cfg(model)
    size = pre.get("size", 224)
    preprocess = Preprocess(
        int(size if isinstance(size, int) else size[-1]),
        "bilinear",
        tuple(pre.get("mean", CLIP_MEAN)),
        tuple(pre.get("std", CLIP_STD)),
    )
    return TorchEncoder(
        model.visual,
        preprocess,
        identity={
            "name": label,
            "library": f"open_clip {open_clip.__version__}",
            "pooling": "projected image embedding (encode_image)",
            **weights_identity,
        },
        source=source,
        precision=precision,
    )
