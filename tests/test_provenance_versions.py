"""Results and records name the versions of the libraries that made their embedding (timm, open_clip,
transformers, torchvision, torch), read where the embedding was made, and only when they were used."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import sys
import types
from importlib import metadata

import numpy as np
import pytest

import zsbench
from zsbench.core import provenance
from zsbench.core.protocol import load_spec

from .helpers import Blobs

FAKE = "zsbench_fake_embedding_lib"  # a library an encoder may import, standing for timm and the like
FAKE_DIST = "pytest"  # the installed distribution it is mapped to: its version is what a result must name


@pytest.fixture
def fake_library(monkeypatch):
    """``FAKE`` is an embedding library (of distribution ``FAKE_DIST``); returns how to import it here."""
    monkeypatch.setitem(provenance.EMBEDDING_LIBRARIES, FAKE, FAKE_DIST)
    return lambda: monkeypatch.setitem(sys.modules, FAKE, types.ModuleType(FAKE))


class Pixels:
    """Each image's pixels; ``embed`` runs ``using`` first (the libraries its model would import)."""

    using = staticmethod(lambda: None)
    identity = {"name": "pixels-with-libraries"}

    def embed(self, dataset):
        type(self).using()
        yield np.stack([np.asarray(dataset[i], dtype=np.float32).ravel() for i in range(len(dataset))])


class TimmPixels(Pixels):
    identity = {"name": "pixels-after-timm"}

    @staticmethod
    def using():
        import timm  # noqa: F401  (an encoder whose model comes from timm imports it to embed)


class SameProcessWorker:
    """An executor that embeds (``runs_embedding``) in a "worker" that has ``FAKE`` imported while its
    tasks run and only then: in this process, outside the tasks, it is not."""

    runs_embedding = True

    def __init__(self, imported=None):
        self.imported = imported

    def submit(self, fn, *args, resources=None):
        future = concurrent.futures.Future()
        sys.modules[FAKE] = types.ModuleType(FAKE)
        try:
            future.set_result(fn(*args))
        finally:
            del sys.modules[FAKE]
        return future

    def as_completed(self, futures):
        return concurrent.futures.as_completed(futures)

    def close(self, cancel=False):
        pass


@zsbench.hookimpl
def register_encoders(register):
    register("pixels-with-libraries", Pixels, description="pixels; imports what it is told to")
    register("pixels-after-timm", TimmPixels, description="pixels, after importing timm")


@zsbench.hookimpl
def register_datasets(register):
    register("blobs", Blobs, description="three brightness classes")


@zsbench.hookimpl
def register_executors(register):
    register("same-process-worker", SameProcessWorker, description="a worker with its own imports")


PLUGIN = types.SimpleNamespace(
    register_encoders=register_encoders, register_datasets=register_datasets, register_executors=register_executors
)


@pytest.fixture
def plugin():
    # an installed distribution's plugin, as far as the run can tell: an executor may embed with it
    with zsbench.registered(PLUGIN, "versions", distribution="zsbench-tests-versions"):
        yield
    Pixels.using = staticmethod(lambda: None)


def _run(encoder, cache, **extra):
    return zsbench.run(
        encoder, "blobs", clusterers=["kmeans"], reducer="none", seeds=1, store=False, cache=cache, **extra
    )


def test_imported_versions_names_only_installed_libraries_imported_in_this_process(fake_library, monkeypatch):
    assert FAKE_DIST not in provenance.imported_versions()
    fake_library()
    assert provenance.imported_versions()[FAKE_DIST] == metadata.version(FAKE_DIST)
    # a module no installed distribution owns: no version to give, nothing claimed
    monkeypatch.setitem(provenance.EMBEDDING_LIBRARIES, FAKE, "zsbench-no-such-distribution")
    assert "zsbench-no-such-distribution" not in provenance.imported_versions()


def test_a_result_embedded_with_timm_names_timm_and_so_does_its_record(plugin, tmp_path):
    from zsbench.analysis import records
    from zsbench.analysis.records.submission import make_record
    from zsbench.analysis.records.validation import validate

    pytest.importorskip("timm")
    (r,) = _run("pixels-after-timm", tmp_path).results
    assert r.ok and r.provenance["packages"]["timm"] == metadata.version("timm")
    # a record's environments are its results' provenance (standard track: posed as the protocol's reducer)
    standard = dataclasses.replace(r, reducer=load_spec("1").reducer)
    submission = make_record([standard], "pixels-after-timm", with_labels=False, partial=True)
    assert submission.record["environments"][0]["packages"]["timm"] == metadata.version("timm")
    path = tmp_path / "record.json"
    path.write_text(records.dumps(submission.record))
    # the schema admits the library versions (a registered plugin of version "0" is refused, rightly)
    assert not [p for p in validate(path) if "packages" in p]


def test_a_raw_pixels_result_does_not_claim_libraries_it_did_not_use(monkeypatch, tmp_path):
    from .helpers import throwaway_plugin

    for module in ("timm", "open_clip", "transformers", "torchvision"):  # a process that never imported them
        monkeypatch.delitem(sys.modules, module, raising=False)
    with zsbench.registered(throwaway_plugin(), "raw"):
        (r,) = _run("raw-pixels", tmp_path).results
    packages = r.provenance["packages"]
    assert {"zsbench", "numpy", "scikit-learn"} <= set(packages)
    assert not {"timm", "open_clip_torch", "transformers", "torchvision"} & set(packages)


def test_versions_come_from_where_the_embedding_was_made_and_stay_with_the_cached_embedding(
    plugin, fake_library, tmp_path
):
    Pixels.using = staticmethod(fake_library)  # the encoder imports the library while it embeds
    made = _run("pixels-with-libraries", tmp_path).results[0]
    assert made.provenance["packages"][FAKE_DIST] == metadata.version(FAKE_DIST)
    # a later process that never imported it: the embedding (and a subsample's rows of it) come from the
    # cache, made with the library, and say so; results are not stored, so each one is made again
    del sys.modules[FAKE]
    Pixels.using = staticmethod(lambda: None)
    for again in (_run("pixels-with-libraries", tmp_path), _run("pixels-with-libraries", tmp_path, max_samples=30)):
        (r,) = again.results
        assert r.config["embedding_reused"] and r.provenance["packages"][FAKE_DIST] == metadata.version(FAKE_DIST)
    # embedded on a worker that imported it (this process has not): the worker's versions are recorded
    (worker,) = _run("pixels-with-libraries", tmp_path / "other", executor="same-process-worker").results
    assert FAKE not in sys.modules and worker.config["embedded_on"] != "here"
    assert worker.provenance["packages"][FAKE_DIST] == metadata.version(FAKE_DIST)
