"""The study's encoders load their published checkpoints exactly, proven on fabricated files.

Each checkpoint is written in its publisher's real layout (key names, nesting, extra heads)
with random values, then loaded through the zoo: every tensor must arrive where it belongs, and
any missing, unexpected or misshapen key must be an error, never a partial load.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from zsbench.core.catalog import build_catalog  # noqa: E402
from zsbench.plugin.weights import WeightsError  # noqa: E402


def _state(arch, **args):
    from zsbench.plugins._torch_models import ARCHITECTURES

    torch.manual_seed(123)
    net = ARCHITECTURES[arch](**args)
    with torch.no_grad():  # distinctive values, so a silently skipped tensor would show
        for p in net.parameters():
            p.normal_(0, 0.02)
    return {k: v.clone() for k, v in net.state_dict().items()}


@pytest.fixture(scope="module")
def states():
    return {
        "resnet50": _state("torchvision/resnet50"),
        "vit_tv": _state("torchvision/vit_b_16"),
        "vit_timm": _state("timm/vit_base_patch16_224"),
        "vit_timm_avg": _state("timm/vit_base_patch16_224", global_pool="avg"),  # fc_norm, no norm
        "dinov2": _state("timm/vit_base_patch14_dinov2"),
    }


def _publish(name, states):
    """(checkpoint object as published, the state the network must end up with)."""
    r50, vit = states["resnet50"], states["vit_timm"]
    head = {"fc.weight": torch.randn(1000, 2048), "fc.bias": torch.randn(1000)}
    if name == "resnet50-supervised":
        return {**r50, **head}, r50
    if name == "vitb16-supervised":
        tv = states["vit_tv"]
        return {**tv, "heads.head.weight": torch.randn(1000, 768), "heads.head.bias": torch.randn(1000)}, tv
    if name in ("resnet50-dino", "resnet50-vicreg"):
        return dict(r50), r50
    if name == "vitb16-dino":
        return dict(vit), vit
    if name in ("resnet50-mocov3", "vitb16-mocov3"):
        base = r50 if name == "resnet50-mocov3" else vit
        proj = "fc" if name == "resnet50-mocov3" else "head"
        ckpt = {f"module.base_encoder.{k}": v for k, v in base.items()}
        ckpt.update(
            {
                f"module.base_encoder.{proj}.0.weight": torch.randn(4096, 2048 if proj == "fc" else 768),
                "module.momentum_encoder.conv1.weight": torch.randn(64, 3, 7, 7),
                "module.predictor.0.weight": torch.randn(4096, 256),
            }
        )
        return {"state_dict": ckpt, "epoch": 300, "arch": "x"}, base
    if name == "vitb16-mae-cls":
        return {"model": dict(vit)}, vit
    if name == "vitb16-mae-avg":
        avg = {k: v for k, v in vit.items()}  # pretrain file: norm.* present, no fc_norm
        expected = {k: v for k, v in vit.items() if not k.startswith("norm.")}
        expected["fc_norm.weight"], expected["fc_norm.bias"] = torch.ones(768), torch.zeros(768)
        return {"model": avg}, expected
    if name == "vitb16-mae-ft":  # fine-tuned file: fc_norm.*, no norm.*, plus the ImageNet head
        ft = states["vit_timm_avg"]
        return {"model": {**ft, "head.weight": torch.randn(1000, 768), "head.bias": torch.randn(1000)}}, ft
    if name == "vitb14-dinov2":
        d2 = states["dinov2"]
        return {**d2, "mask_token": torch.zeros(1, 768)}, d2
    raise KeyError(name)


PUBLISHED = [
    "resnet50-supervised",
    "vitb16-supervised",
    "resnet50-dino",
    "vitb16-dino",
    "resnet50-mocov3",
    "vitb16-mocov3",
    "resnet50-vicreg",
    "vitb16-mae-cls",
    "vitb16-mae-avg",
    "vitb16-mae-ft",
    "vitb14-dinov2",
]


@pytest.mark.parametrize("name", PUBLISHED)
def test_zoo_loader_maps_every_tensor_of_the_published_layout(name, states, tmp_path):
    ckpt, expected = _publish(name, states)
    path = tmp_path / "published.pth"
    torch.save(ckpt, path)
    encoder = build_catalog().get("encoders", name).create(weights=str(path))
    loaded = encoder.model.state_dict()  # the network as built, before inference preparation
    assert set(loaded) == set(expected)
    for key, value in expected.items():
        assert torch.equal(loaded[key], value), key
    assert len(encoder.identity["sha256"]) == 64 and encoder.identity["study_name"]
    # where the file came from is its source, not its identity: the same file anywhere is one identity
    assert encoder.source == {"weights": "local file", "file": "published.pth"}
    assert "file" not in encoder.identity and "weights" not in encoder.identity


def test_missing_key_is_an_error_not_a_partial_load(states, tmp_path):
    state = dict(states["resnet50"])
    del state["layer4.2.conv3.weight"]
    torch.save(state, tmp_path / "w.pth")
    with pytest.raises(WeightsError, match=r"1 missing key\(s\) \(layer4.2.conv3.weight\)"):
        build_catalog().get("encoders", "resnet50-dino").create(weights=str(tmp_path / "w.pth"))


def test_shape_mismatch_and_stray_keys_are_errors(states, tmp_path):
    state = dict(states["resnet50"])
    state["conv1.weight"] = torch.zeros(64, 3, 3, 3)
    state["projector.0.weight"] = torch.zeros(8, 8)
    torch.save(state, tmp_path / "w.pth")
    with pytest.raises(WeightsError) as err:
        build_catalog().get("encoders", "resnet50-vicreg").create(weights=str(tmp_path / "w.pth"))
    assert "1 unexpected key(s) (projector.0.weight)" in str(err.value)
    assert "conv1.weight: file (64, 3, 3, 3), network (64, 3, 7, 7)" in str(err.value)


def test_checkpoint_with_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"x": torch.zeros(1)}, "loader": np.random.default_rng}, path)
    with pytest.raises(WeightsError, match="cannot read weights file"):
        build_catalog().get("encoders", "resnet50-dino").create(weights=str(path))


@pytest.mark.parametrize(
    ("name", "url", "file"),
    [
        ("resnet50-vicreg", "dl.fbaipublicfiles.com/vicreg/resnet50.pth", "resnet50.pth"),
        (
            "vitb16-mae-ft",
            "dl.fbaipublicfiles.com/mae/finetune/mae_finetuned_vit_base.pth",
            "mae_finetuned_vit_base.pth",
        ),
    ],
)
@pytest.mark.parametrize("downloads", ["fail", "off"])
def test_missing_weights_name_the_url_the_path_and_the_way_out(name, url, file, downloads, tmp_path, monkeypatch):
    monkeypatch.setenv("ZSBENCH_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", _offline)
    if downloads == "off":
        monkeypatch.setenv("ZSBENCH_OFFLINE", "1")
    with pytest.raises(WeightsError) as err:
        build_catalog().get("encoders", name).create()
    message = str(err.value)
    assert message.startswith(f"{name}: weights not found at ") and "\n" not in message
    assert url in message
    assert str(tmp_path / file) in message and "--weights PATH" in message


def _offline(url, dst, hash_prefix=None, progress=True):
    raise OSError("network is unreachable")


def test_random_baselines_are_seeded_and_take_no_weights():
    entry = build_catalog().get("encoders", "resnet50-random")
    a, b = entry.create(), entry.create()
    assert all(
        torch.equal(x, y) for x, y in zip(a.model.state_dict().values(), b.model.state_dict().values(), strict=True)
    )
    assert a.identity["weights"] == "random-init" and a.identity["init_seed"] == 0
    with pytest.raises(Exception, match="random-init baseline; it takes no --weights"):
        entry.create(weights="x.pth")


def test_timm_family_with_a_local_safetensors_file(tmp_path):
    import timm
    from safetensors.torch import save_file

    net = timm.create_model("resnet18", pretrained=False)  # with its classifier, as published
    save_file(net.state_dict(), str(tmp_path / "r18.safetensors"))
    encoder = build_catalog().get("encoders", "timm/resnet18").create(weights=str(tmp_path / "r18.safetensors"))
    assert encoder.identity["ignored"] == ["fc.bias", "fc.weight"]
    images = _images(3)
    out = np.concatenate(list(encoder.embed(images)))
    assert out.shape == (3, 512) and out.dtype == np.float32


def test_open_clip_family_with_a_local_file(tmp_path):
    import open_clip

    torch.manual_seed(0)
    model = open_clip.create_model("RN50", pretrained=None)
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, tmp_path / "rn50.pt")
    encoder = build_catalog().get("encoders", "open_clip/RN50").create(weights=str(tmp_path / "rn50.pt"))
    assert torch.equal(
        encoder.model.state_dict()["attnpool.c_proj.weight"], model.visual.state_dict()["attnpool.c_proj.weight"]
    )
    assert encoder.preprocess.mean == pytest.approx((0.48145466, 0.4578275, 0.40821073))
    out = np.concatenate(list(encoder.embed(_images(2))))
    assert out.shape == (2, 1024)  # the projected embedding, not the 2048-d trunk


def test_unknown_timm_model_and_untagged_open_clip_are_clear_errors():
    import zsbench

    with pytest.raises(zsbench.ZsbenchError, match="timm .* has no model 'resnet5000'"):
        build_catalog().get("encoders", "timm/resnet5000").create()
    with pytest.raises(zsbench.ZsbenchError, match="name the pretrained weights, e.g. open_clip/RN50/openai"):
        build_catalog().get("encoders", "open_clip/RN50").create()


class _images(list):
    """n small greyscale digits, as a dataset."""

    def __init__(self, n):
        from PIL import Image
        from sklearn.datasets import load_digits

        digits = load_digits().images[:n]
        super().__init__(Image.fromarray((d * 255 / 16).astype(np.uint8)) for d in digits)
        self.labels, self.info = np.arange(n), {}


def test_a_pinned_checksum_is_checked_on_every_use(tmp_path, monkeypatch):
    import hashlib

    from zsbench.plugin.weights import fetch

    monkeypatch.setenv("ZSBENCH_WEIGHTS_DIR", str(tmp_path))
    (tmp_path / "w.pth").write_bytes(b"published bytes")
    good = hashlib.sha256(b"published bytes").hexdigest()
    assert fetch("m", "https://example.org/w.pth", sha256=good) == tmp_path / "w.pth"
    (tmp_path / "w.pth").write_bytes(b"truncated")
    with pytest.raises(WeightsError, match="delete it so zsbench downloads it again"):
        fetch("m", "https://example.org/w.pth", sha256=good)


def test_mae_finetuned_embeds_the_patch_token_mean_through_its_fc_norm(states, tmp_path, monkeypatch):
    import hashlib

    ckpt, _ = _publish("vitb16-mae-ft", states)
    monkeypatch.setenv("ZSBENCH_WEIGHTS_DIR", str(tmp_path))  # where fetch finds the published file
    torch.save(ckpt, tmp_path / "mae_finetuned_vit_base.pth")
    encoder = build_catalog().get("encoders", "vitb16-mae-ft").create()
    assert (
        encoder.identity["sha256"] == hashlib.sha256((tmp_path / "mae_finetuned_vit_base.pth").read_bytes()).hexdigest()
    )
    assert encoder.identity["study_name"] == "mae_finetuned_vit_base_global"
    assert encoder.identity["tensors_loaded"] == 150 and encoder.identity["left_at_init"] == []
    assert encoder.source["weights"] == "https://dl.fbaipublicfiles.com/mae/finetune/mae_finetuned_vit_base.pth"
    net, x = encoder.model.eval(), torch.randn(1, 3, 224, 224)
    with torch.no_grad():  # the study's pooling: CLS excluded, then the learned fc_norm
        tokens = net.forward_features(x)
        assert torch.allclose(net(x), net.fc_norm(tokens[:, 1:].mean(dim=1)), atol=1e-5)
    out = np.concatenate(list(encoder.embed(_images(2))))
    assert out.shape == (2, 768) and out.dtype == np.float32


def test_mae_pretrain_file_given_to_the_finetuned_encoder_is_refused(states, tmp_path):
    torch.save({"model": dict(states["vit_timm"])}, tmp_path / "pretrain.pth")  # norm.*, no fc_norm.*
    with pytest.raises(WeightsError) as err:
        build_catalog().get("encoders", "vitb16-mae-ft").create(weights=str(tmp_path / "pretrain.pth"))
    message = str(err.value)
    assert "\n" not in message
    assert "2 missing key(s) (fc_norm.bias, fc_norm.weight)" in message
    assert "2 unexpected key(s) (norm.bias, norm.weight)" in message
