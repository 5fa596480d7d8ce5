"""Shared set-up. Plugin loading is narrowed to zsbench itself, so a developer's installed
plugins cannot leak into the tests; model hubs are never contacted."""

from __future__ import annotations

import os
import signal

os.environ["ZSBENCH_LOAD_PLUGINS"] = "zsbench"
os.environ["HF_HUB_OFFLINE"] = "1"
# Stages run in-process unless a test asks for a pool: a pool's start-up (imports, numba's cache)
# costs more than the tiny inputs here; tests of the executors and the grid use real pools.
os.environ["ZSBENCH_WORKERS"] = "1"

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from zsbench.core import manager  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_store(tmp_path, monkeypatch):
    """Every test writes to its own store and artifact cache, never to the user's."""
    path = tmp_path / "results.sqlite"
    monkeypatch.setenv("ZSBENCH_STORE", str(path))
    monkeypatch.setenv("ZSBENCH_CACHE", str(tmp_path / "cache"))
    return path


@pytest.fixture
def fresh_plugins():
    """Rediscover plugins before and after a test that changes sys.path or the environment."""
    manager.reset()
    yield
    manager.reset()


@pytest.fixture(scope="session")
def default_run(tmp_path_factory):
    """The main job (raw pixels on digits, six clusterers, UMAP-50), run once for many tests.

    Two seeds instead of the default three keep the suite quick; UMAP's numba compilation
    happens here once and is reused by every later UMAP call in the session.
    """
    import zsbench

    root = tmp_path_factory.mktemp("default")
    return zsbench.run(seeds=2, store=root / "results.sqlite", cache=root / "cache")


@pytest.fixture(scope="session")
def smoke(tmp_path_factory):
    """A smoke suite's store and cache: raw-pixels on 300 digits, K-Means and agglomerative, seeds 0-5.

    Registry and gate tests take seeds 0-2 as a baseline and 3-5 as a re-run of the same encoder.
    """
    import zsbench

    root = tmp_path_factory.mktemp("smoke")
    zsbench.run(
        "raw-pixels",
        "digits",
        clusterers=["kmeans", "agglomerative"],
        seeds=list(range(6)),
        max_samples=300,
        store=root / "results.sqlite",
        cache=root / "cache",
    )
    return root


@pytest.fixture(scope="session")
def digits_umap50(default_run):
    """A UMAP-50 reduction of digits' raw pixels (seed 0), fitted once."""
    from zsbench.core.catalog import build_catalog
    from zsbench.core.protocol import Component

    from .helpers import digits_pixels

    umap = Component.resolve(build_catalog(), "reducers", "umap")
    x, y = digits_pixels()
    return np.asarray(umap.build(seed=0).fit_transform(x)), y


def pytest_collection_modifyitems(items):
    """Tests marked ``long`` first: pytest-xdist hands tests out in this order, so a long one started last
    would keep one worker busy while the other idles (longest first evens out the workers)."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)  # stable: the rest keep their order


@pytest.fixture
def weights_package(tmp_path, monkeypatch):
    """(name, folder) of an importable package (a fresh name: importlib keeps packages it imported) holding
    w.safetensors with the bytes b"published weights", for the weights tests."""
    import sys
    import uuid

    from .helpers import packaged_file

    name = f"zsb_weights_{uuid.uuid4().hex[:8]}"
    folder = packaged_file(tmp_path / "site", name, "w.safetensors", b"published weights")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    yield name, folder
    sys.modules.pop(name, None)


@pytest.fixture
def ctrl_c():
    """Ctrl-C raises KeyboardInterrupt in this test, as in a terminal. A test that sends itself SIGINT sets up the
    handler it relies on: a suite started in the background (``nohup``, ``&``) inherits SIGINT ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
