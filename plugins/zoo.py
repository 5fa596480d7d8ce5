"""The encoders of the study (Lowe et al. 2024) under short names, each with its weights pinned.

Pure data, so listing imports nothing heavy. Every network is built from a named architecture,
and its published checkpoint is read in its own layout, converted, and loaded with every key and
shape checked (``zsbench.plugin.checkpoints.load_into``). Preprocessing is the protocol's: shorter side to
224 (bilinear), centre crop 224, ImageNet mean/std (CLIP's for CLIP).
"""

from __future__ import annotations

import functools

from zsbench.plugin import hookimpl

DL = "https://dl.fbaipublicfiles.com"

ZOO: dict[str, dict] = {
    "resnet50-supervised": {
        "study_name": "resnet50",
        "arch": "torchvision/resnet50",
        "preprocess": "imagenet",
        "url": "https://download.pytorch.org/models/resnet50-11ad3fa6.pth",  # IMAGENET1K_V2
        "layout": "flat",
        "ignore": ["fc.weight", "fc.bias"],
        "pooling": "global average (2048-d)",
        "description": "ResNet-50, supervised (torchvision IMAGENET1K_V2)",
    },
    "vitb16-supervised": {
        "study_name": "vitb16",
        "arch": "torchvision/vit_b_16",
        "preprocess": "imagenet",
        "url": "https://download.pytorch.org/models/vit_b_16-c867db91.pth",  # IMAGENET1K_V1
        "layout": "flat",
        "ignore": ["heads.head.weight", "heads.head.bias"],
        "pooling": "CLS token after final norm (768-d)",
        "description": "ViT-B/16, supervised (torchvision IMAGENET1K_V1)",
    },
    "resnet50-dino": {
        "study_name": "dino_resnet50",
        "arch": "torchvision/resnet50",
        "preprocess": "imagenet",
        "url": f"{DL}/dino/dino_resnet50_pretrain/dino_resnet50_pretrain.pth",
        "layout": "flat",
        "pooling": "global average (2048-d)",
        "description": "ResNet-50, DINO",
    },
    "vitb16-dino": {
        "study_name": "dino_vitb16",
        "arch": "timm/vit_base_patch16_224",
        "preprocess": "imagenet",
        "url": f"{DL}/dino/dino_vitbase16_pretrain/dino_vitbase16_pretrain.pth",
        "layout": "flat",
        "pooling": "CLS token after final norm (768-d)",
        "description": "ViT-B/16, DINO",
    },
    "resnet50-mocov3": {
        "study_name": "mocov3_resnet50",
        "arch": "torchvision/resnet50",
        "preprocess": "imagenet",
        "url": f"{DL}/moco-v3/r-50-1000ep/r-50-1000ep.pth.tar",
        "layout": "moco-v3",
        "pooling": "global average (2048-d)",
        "description": "ResNet-50, MoCo-v3 (1000 epochs)",
    },
    "vitb16-mocov3": {
        "study_name": "mocov3_vit_base",
        "arch": "timm/vit_base_patch16_224",
        "preprocess": "imagenet",
        "url": f"{DL}/moco-v3/vit-b-300ep/vit-b-300ep.pth.tar",
        "layout": "moco-v3",
        "pooling": "CLS token after final norm (768-d)",
        "description": "ViT-B/16, MoCo-v3 (300 epochs)",
    },
    "resnet50-vicreg": {
        "study_name": "vicreg_resnet50",
        "arch": "torchvision/resnet50",
        "preprocess": "imagenet",
        "url": f"{DL}/vicreg/resnet50.pth",
        "layout": "flat",
        "pooling": "global average (2048-d)",
        "description": "ResNet-50, VICReg",
    },
    "vitb16-mae-cls": {
        "study_name": "timm_vit_base_patch16_224.mae",
        "arch": "timm/vit_base_patch16_224",
        "preprocess": "imagenet",
        "url": f"{DL}/mae/pretrain/mae_pretrain_vit_base.pth",
        "layout": "mae",
        "pooling": "CLS token after final norm (768-d)",
        "description": "ViT-B/16, MAE, CLS token",
    },
    "vitb16-mae-avg": {
        "study_name": "mae_pretrain_vit_base_global",
        "arch": "timm/vit_base_patch16_224",
        "arch_args": {"global_pool": "avg"},
        "preprocess": "imagenet",
        "url": f"{DL}/mae/pretrain/mae_pretrain_vit_base.pth",
        "layout": "mae",
        # As in the study (MAE's fine-tuning code): the patch-token mean goes through a fresh
        # LayerNorm (weight 1, bias 0) and the checkpoint's final norm is not used.
        "ignore": ["norm.weight", "norm.bias"],
        "keep_init": ["fc_norm.weight", "fc_norm.bias"],
        "pooling": "mean of patch tokens, then an unparameterised LayerNorm (768-d)",
        "description": "ViT-B/16, MAE, mean of patch tokens",
    },
    "vitb16-mae-ft": {
        "study_name": "mae_finetuned_vit_base_global",
        "arch": "timm/vit_base_patch16_224",
        "arch_args": {"global_pool": "avg"},
        "preprocess": "imagenet",
        # Not pinned: MAE publishes only an md5 prefix (1b25e9, FINETUNE.md), no sha256, and fetch checks
        # sha256 only; a pin not computed from the real file would be invented. As for every entry, the
        # loaded file's sha256 is in the identity. The "mae" layout drops the ImageNet head; the file has
        # the fine-tuned fc_norm and no final norm (MAE deletes it under global pooling): every key loads.
        "url": f"{DL}/mae/finetune/mae_finetuned_vit_base.pth",
        "layout": "mae",
        "pooling": "mean of patch tokens, then the fine-tuned fc_norm (768-d)",
        "description": "ViT-B/16, MAE fine-tuned on ImageNet-1k, mean of patch tokens",
    },
    "resnet50-clip": {
        "study_name": "clip_RN50",
        "alias": "open_clip/RN50/openai",
        "description": "CLIP RN50 (OpenAI), projected image embedding",
    },
    "vitb16-clip": {
        "study_name": "clip_vitb16",
        "alias": "open_clip/ViT-B-16/openai",
        "description": "CLIP ViT-B/16 (OpenAI), projected image embedding",
    },
    "vitb14-dinov2": {
        "study_name": "dinov2_vitb14",
        "arch": "timm/vit_base_patch14_dinov2",
        "preprocess": "imagenet",
        "url": f"{DL}/dinov2/dinov2_vitb14/dinov2_vitb14_pretrain.pth",
        "layout": "flat",
        "ignore": ["mask_token"],
        "pooling": "CLS token after final norm (768-d)",
        "description": "ViT-B/14, DINOv2 (224 px input, interpolated positions)",
    },
    "resnet50-random": {
        "study_name": "random_resnet50",
        "arch": "torchvision/resnet50",
        "preprocess": "imagenet",
        "url": None,
        "init_seed": 0,
        "pooling": "global average (2048-d)",
        "description": "ResNet-50, random init (baseline; seed 0)",
    },
    "vitb16-random": {
        "study_name": "random_vitb16",
        "arch": "torchvision/vit_b_16",
        "preprocess": "imagenet",
        "url": None,
        "init_seed": 0,
        "pooling": "CLS token after final norm (768-d)",
        "description": "ViT-B/16, random init (baseline; seed 0)",
    },
}


# precision: "fp32" (the default), "bf16" or "fp16", see zsbench.plugin.devices.compute_dtype; `zsbench run
# --precision` sets it for every encoder of a run


def _build(name: str, weights: str | None = None, precision: str = "fp32"):
    from zsbench.plugins._torch_models import zoo_encoder

    return zoo_encoder(name, ZOO[name], weights=weights, precision=precision)


def _timm(model: str, weights: str | None = None, precision: str = "fp32"):
    from zsbench.plugins._torch_models import timm_encoder

    return timm_encoder(model, weights=weights, precision=precision)


def _open_clip(spec: str, weights: str | None = None, precision: str = "fp32"):
    from zsbench.plugins._torch_models import open_clip_encoder

    return open_clip_encoder(spec, weights=weights, precision=precision)


@hookimpl
def register_encoders(register):
    for name, spec in ZOO.items():
        register(name, functools.partial(_build, name), description=spec["description"], gpu=True)
    register(
        "timm/",
        _timm,
        description="Any timm model: timm/<model>[.<tag>], pooled "
        "pre-classifier features (num_classes=0); ViTs: CLS token after the final norm",
        gpu=True,
    )
    register(
        "open_clip/",
        _open_clip,
        description="Any open_clip model: open_clip/<architecture>/<pretrained tag>, the projected image embedding",
        gpu=True,
    )
