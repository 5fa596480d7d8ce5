"""--precision: opt-in bf16 (and fp16 on GPU), kept apart from fp32 by identity, refused where it cannot run."""

from __future__ import annotations

import types

import numpy as np
import pytest
from typer.testing import CliRunner

torch = pytest.importorskip("torch")

import zsbench  # noqa: E402
from zsbench.cli.app import app  # noqa: E402
from zsbench.core.identity import describe  # noqa: E402
from zsbench.plugin import devices as torch_helpers  # noqa: E402
from zsbench.plugin.preprocess import Preprocess  # noqa: E402
from zsbench.plugin.torch import TorchEncoder  # noqa: E402

from .helpers import Blobs  # noqa: E402

# describe()'s identity sha256 of the encoder below as zsbench computed it before --precision existed:
# an fp32 encoder must keep it, or every cached embedding and stored result would stop matching
FP32_SHA = "1a17b5c230bd25091da2d8586e02524b09a964083faacc19636b24cc2a27d3b2"


@pytest.fixture
def bf16_cpu(monkeypatch):
    """This CPU counts as having native bf16 (torch runs bf16 autocast on any CPU, only slower)."""
    monkeypatch.setattr(torch_helpers, "cpu_has_bf16", lambda: True)
    monkeypatch.setenv("ZSBENCH_DEVICE", "cpu")


def tiny_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, stride=2),
        torch.nn.BatchNorm2d(16),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 32, 3, stride=2),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(32, 24),
    )


def identity_sha(encoder, options=None):
    return describe("x", "p", encoder, options or {})["identity_sha256"]


def test_fp32_identity_is_unchanged_and_bf16_is_another(bf16_cpu):
    net, ident = torch.nn.Linear(3, 2), {"name": "x", "sha256": "ab"}
    default = TorchEncoder(net, Preprocess(), identity=ident, device="cpu")
    fp32 = TorchEncoder(net, Preprocess(), identity=ident, device="cpu", precision="fp32")
    bf16 = TorchEncoder(net, Preprocess(), identity=ident, device="cpu", precision="bf16")
    assert identity_sha(default) == identity_sha(fp32) == FP32_SHA
    assert bf16.identity["compute_dtype"] == "bfloat16" and identity_sha(bf16) != FP32_SHA


def test_bf16_embeddings_are_float32_and_close_to_fp32(bf16_cpu):
    images = Blobs(4)
    net = tiny_net()
    runs = {
        p: np.concatenate(
            list(
                TorchEncoder(
                    net, Preprocess(input_size=32), device="cpu", batch_size=8, num_workers=0, precision=p
                ).embed(images)
            )
        )
        for p in ("fp32", "bf16")
    }
    a, b = runs["fp32"], runs["bf16"]
    assert b.dtype == np.float32 and b.shape == a.shape == (12, 24)
    assert np.abs(a - b).max() > 0  # bf16 really ran: not a silent fp32
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() > 0.99


def test_unsupported_precisions_are_one_line_errors(monkeypatch):
    monkeypatch.setattr(torch_helpers, "cpu_has_bf16", lambda: False)
    for precision, says in (("bf16", "lacks native bf16"), ("fp16", "GPU only"), ("fp64", "use fp32")):
        with pytest.raises(zsbench.ZsbenchError, match=says):
            TorchEncoder(torch.nn.Linear(3, 2), Preprocess(), device="cpu", precision=precision)


def tiny_plugin():
    """An encoder whose factory takes ``precision``, as a torch plugin's does, and a tiny dataset."""

    def tiny(precision: str = "fp32"):
        return TorchEncoder(
            tiny_net(),
            Preprocess(input_size=16),
            identity={"name": "tiny"},
            device="cpu",
            batch_size=16,
            num_workers=0,
            precision=precision,
        )

    @zsbench.hookimpl
    def register_encoders(register):
        register("tiny-torch", tiny, description="test encoder")

    @zsbench.hookimpl
    def register_datasets(register):
        register("blobs", Blobs, description="test dataset")

    return types.SimpleNamespace(register_encoders=register_encoders, register_datasets=register_datasets)


def cli(*args):
    return CliRunner().invoke(app, ["run", *args])


def one_line_error(result, *says):
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    for text in says:
        assert text in lines[0], lines[0]


def test_cli_precision_reaches_the_encoder_and_keeps_results_apart(bf16_cpu, isolated_store):
    common = [
        "--encoder",
        "tiny-torch",
        "--dataset",
        "blobs",
        "--clusterer",
        "kmeans",
        "--reducer",
        "none",
        "--seeds",
        "1",
    ]
    with zsbench.registered(tiny_plugin(), "tiny"):
        assert cli(*common).exit_code == 0
        assert cli(*common, "--precision", "bf16").exit_code == 0
    stored = sorted(zsbench.ResultStore(isolated_store).results(), key=lambda r: len(r.config["encoder"]["options"]))
    fp32, bf16 = (r.config["encoder"] for r in stored)
    assert (fp32["identity"]["compute_dtype"], fp32["options"]) == ("float32", {})  # no key added for fp32
    assert (bf16["identity"]["compute_dtype"], bf16["options"]) == ("bfloat16", {"precision": "bf16"})
    assert fp32["identity_sha256"] != bf16["identity_sha256"]


def test_cli_refuses_bad_values_unsupported_cpus_and_encoders_without_the_option(monkeypatch, tmp_path):
    one_line_error(cli("--precision", "fp64"), "fp64", "--precision", "fp32")
    # the default encoder, raw pixels, has no network to run in bf16: an error, not a silent fp32
    one_line_error(cli("--precision", "bf16"), "raw-pixels", "takes no precision option")
    monkeypatch.setattr(torch_helpers, "cpu_has_bf16", lambda: False)
    monkeypatch.setenv("ZSBENCH_DEVICE", "cpu")
    one_line_error(cli("--encoder", "resnet50-random", "--precision", "bf16"), "--precision bf16", "this CPU lacks")
    npz = tmp_path / "e.npz"
    np.savez(npz, embeddings=np.zeros((4, 2)), labels=np.arange(4) % 2)
    one_line_error(cli("--embeddings", str(npz), "--precision", "bf16"), "--precision applies", "drop it")
    # only the options given are named, so the message says which to drop
    refused = cli("--embeddings", str(npz), "--precision", "fp16", "--knn")
    one_line_error(refused, "--precision, --knn apply", "not to --embeddings")
    assert "--weights" not in refused.output
    one_line_error(cli("--precision", " bf16"), "' bf16'", "use fp32")


def test_the_former_autocast_keyword_still_works_and_says_what_replaces_it():
    with pytest.warns(DeprecationWarning, match="precision="):
        encoder = TorchEncoder(torch.nn.Linear(3, 2), Preprocess(), device="cpu", autocast=True)
    assert identity_sha(encoder) == identity_sha(TorchEncoder(torch.nn.Linear(3, 2), Preprocess(), device="cpu"))


def test_zoo_encoders_take_the_precision_and_keep_their_fp32_identity(bf16_cpu):
    from zsbench.core.catalog import build_catalog

    entry = build_catalog().get("encoders", "resnet50-random")
    fp32, bf16 = entry.create(), entry.create(precision="bf16")
    assert (fp32.identity["compute_dtype"], bf16.identity["compute_dtype"]) == ("float32", "bfloat16")
    assert {k: v for k, v in fp32.identity.items() if k != "compute_dtype"} == {
        k: v for k, v in bf16.identity.items() if k != "compute_dtype"
    }
