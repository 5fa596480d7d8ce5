"""The embedding engine: fast paths never change results, and the runtime adapts safely."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from zsbench.plugin.devices import select_device  # noqa: E402
from zsbench.plugin.preprocess import Preprocess  # noqa: E402
from zsbench.plugin.torch import TorchEncoder, default_workers  # noqa: E402


class Photos(list):
    """Real photographs (scikit-image's bundled ones) at assorted sizes, plus a greyscale one."""

    def __init__(self, n=10):
        from PIL import Image
        from skimage import data

        base = [data.chelsea(), data.astronaut(), data.coffee(), data.camera()]
        super().__init__(Image.fromarray(base[i % 4]).resize((200 + 13 * i, 150 + 7 * i)) for i in range(n))
        self.labels, self.info = np.arange(n) % 4, {}


def _naive(net, images, preprocess):
    transform = preprocess.transform()
    with torch.no_grad():
        return net.eval()(torch.stack([transform(im) for im in images])).numpy()


@pytest.fixture(scope="module")
def resnet():
    import timm

    torch.manual_seed(0)
    return timm.create_model("resnet18", pretrained=False, num_classes=0)


def test_fast_path_matches_the_naive_loop(resnet):
    images = Photos(10)
    expected = _naive(resnet, images, Preprocess())
    encoder = TorchEncoder(resnet, Preprocess(), batch_size=4, num_workers=1)
    got = np.concatenate(list(encoder.embed(images)))
    assert encoder.channels_last  # a convolutional network runs channels-last
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-4 * np.abs(expected).max()


def test_greyscale_is_repeated_to_three_channels():
    from PIL import Image

    grey = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8))
    x = Preprocess(input_size=16).transform()(grey)
    assert x.shape == (3, 16, 16)
    assert torch.allclose(x[0] * 0.229 + 0.485, x[1] * 0.224 + 0.456, atol=1e-6)


class FussyNet(torch.nn.Module):
    """Runs out of memory on batches larger than 2."""

    def forward(self, x):
        if len(x) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return x.mean(dim=(2, 3))


def test_out_of_memory_halves_the_batch_and_keeps_order():
    images = Photos(7)
    encoder = TorchEncoder(FussyNet(), Preprocess(input_size=8), batch_size=8, num_workers=0)
    got = np.concatenate(list(encoder.embed(images)))
    expected = _naive(FussyNet(), images[:2], Preprocess(input_size=8))
    assert got.shape == (7, 3) and encoder.batch_size == 2
    assert np.allclose(got[:2], expected)


def test_device_selection_honours_the_environment(monkeypatch):
    monkeypatch.setenv("ZSBENCH_DEVICE", "cpu")
    assert select_device() == "cpu"
    monkeypatch.delenv("ZSBENCH_DEVICE")
    assert select_device() in ("cuda", "mps", "cpu")
    assert select_device("cpu") == "cpu"


def test_cpu_identity_says_fp32_and_workers_leave_the_model_its_cores():
    encoder = TorchEncoder(FussyNet(), Preprocess(), device="cpu")
    assert encoder.identity["compute_dtype"] == "float32"
    assert encoder.identity["preprocess"]["mean"] == (0.485, 0.456, 0.406)
    assert default_workers("cpu") <= default_workers("cuda")
