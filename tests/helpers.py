"""Small plugins and data for tests: real behaviour on tiny inputs."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import types

import numpy as np

import zsbench


def digits_pixels() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return np.round(bunch.images * 255 / 16).reshape(len(bunch.images), -1) / 255.0, bunch.target


class Blobs:
    """Three classes of 6x6 grey images whose brightness is set by the class (seeded noise)."""

    def __init__(self, per_class: int = 20):
        rng = np.random.default_rng(0)
        self.labels = np.repeat(np.arange(3), per_class)
        base = np.array([40, 128, 215])[self.labels]
        noise = rng.integers(-10, 11, size=(len(self.labels), 6, 6))
        self._pixels = np.clip(base[:, None, None] + noise, 0, 255).astype(np.uint8)
        self.info = {"source": "tests", "n_classes": 3}

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        from PIL import Image

        return Image.fromarray(self._pixels[i])


class MeanStd:
    """Encoder: mean and standard deviation of each image's pixels."""

    calls = 0
    identity = {"name": "mean-std"}

    def embed(self, dataset):
        type(self).calls += 1
        rows = [np.asarray(dataset[i], dtype=np.float32) for i in range(len(dataset))]
        for start in range(0, len(rows), 16):
            chunk = rows[start : start + 16]
            yield np.array([[r.mean(), r.std()] for r in chunk])


class Exploding:
    """A clusterer that always fails, to show one failure does not stop the grid."""

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self

    def fit_predict(self, x):
        raise RuntimeError("boom")


class Interrupting(Exploding):
    """A clusterer during which the user presses Ctrl-C."""

    def fit_predict(self, x):
        # a real SIGINT, as a terminal sends: a KeyboardInterrupt the plugin raised itself would be its failure
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the handler raises KeyboardInterrupt here
        raise AssertionError("SIGINT was not delivered")


def throwaway_plugin(**extra):
    """A plugin object registering the blobs dataset, the mean-std encoder and a failing clusterer."""

    @zsbench.hookimpl
    def register_encoders(register):
        register("mean-std", MeanStd, description="test encoder")

    @zsbench.hookimpl
    def register_datasets(register):
        register("blobs", Blobs, description="test dataset")

    @zsbench.hookimpl
    def register_clusterers(register):
        register("exploding", Exploding, description="always fails")
        register("interrupting", Interrupting, description="Ctrl-C while clustering")

    return types.SimpleNamespace(
        register_encoders=register_encoders,
        register_datasets=register_datasets,
        register_clusterers=register_clusterers,
        **extra,
    )


def one_line_error(result, *fragments):
    """A CLI result that failed the way users are promised: exit 1, one line starting "error:", no traceback,
    and each of ``fragments`` in that line."""
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@contextlib.contextmanager
def chromium_page():
    """A page in headless Chromium through playwright, and the list its errors go to: page errors and console
    errors (a CSP violation is one), and dialogs (an injected alert() would open one). Skipped without a
    browser, or failed when ZSBENCH_REQUIRE_BROWSER=1 (as CI sets it, so a missing browser cannot pass)."""
    import shutil

    import pytest

    executable = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = "playwright is not installed" if sync_playwright is None else None
    missing = missing or (None if executable else "no chromium, chromium-browser or google-chrome on PATH")
    if missing:
        if os.environ.get("ZSBENCH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ZSBENCH_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page()
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
            page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
            yield page, errors
        finally:
            browser.close()


def packaged_file(root, name: str, filename: str, content: bytes):
    """An importable package ``name`` under ``root`` holding ``filename``; its folder. The caller puts ``root``
    on sys.path (monkeypatch.syspath_prepend) and drops ``name`` from sys.modules afterwards."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / filename).write_bytes(content)
    return folder
