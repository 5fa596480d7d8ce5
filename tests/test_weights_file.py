"""``zsbench.plugin.WeightsFile``: a published weights file declared with its sha256 pin, found in the
plugin's installed package or fetched, and checked every time; ``register(..., weights=)`` declares it."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import types

import pytest

import zsbench
import zsbench.plugin
from zsbench.core.catalog import build_catalog
from zsbench.plugin import WeightsError, WeightsFile, require_api
from zsbench.plugin.weights import FetchArgumentError

from .helpers import MeanStd

CONTENT = b"published weights"
GOOD = hashlib.sha256(CONTENT).hexdigest()
URL = "https://example.org/models/w.safetensors"


@pytest.fixture
def package(weights_package):
    return weights_package  # conftest's: a package holding w.safetensors, CONTENT


@pytest.fixture
def weights_folder(tmp_path, monkeypatch):
    folder = tmp_path / "weights"
    folder.mkdir()
    monkeypatch.setenv("ZSBENCH_WEIGHTS_DIR", str(folder))
    monkeypatch.setenv("ZSBENCH_OFFLINE", "1")
    return folder


def test_a_packaged_file_with_its_pin_is_the_file_in_the_installed_package(package):
    name, folder = package
    declared = WeightsFile("w.safetensors", "sha256:" + GOOD.upper(), package=name)
    assert declared.sha256 == GOOD  # one spelling of the pin: two declarations of one file are equal
    assert declared == WeightsFile("w.safetensors", GOOD, package=name)
    assert declared.path("my-encoder") == folder / "w.safetensors"
    with pytest.raises(dataclasses.FrozenInstanceError):
        declared.file = "other.bin"


def test_a_packaged_file_that_is_absent_says_how_to_ship_it(package):
    name, folder = package
    with pytest.raises(WeightsError) as caught:
        WeightsFile("absent.bin", GOOD, package=name).path("my-encoder")
    message = str(caught.value)
    assert "\n" not in message and not isinstance(caught.value, FetchArgumentError)
    assert message == (
        f"my-encoder: absent.bin is not in the installed package {name} ({folder}); declare it as "
        f'package data ([tool.setuptools.package-data] {name} = ["absent.bin"]), then rebuild and '
        "reinstall the distribution"
    )


def test_a_packaged_file_of_another_sha256_names_both_hashes(package):
    name, folder = package
    (folder / "w.safetensors").write_bytes(b"retrained weights")
    actual = hashlib.sha256(b"retrained weights").hexdigest()
    with pytest.raises(WeightsError) as caught:
        WeightsFile("w.safetensors", GOOD, package=name).path("my-encoder")
    assert str(caught.value) == (
        f"my-encoder: w.safetensors in the installed package {name} has SHA-256 "
        f"{actual[:16]}..., expected {GOOD[:16]}... (its pin); reinstall the plugin, or, "
        "as its author, ship the published file or correct the pin"
    )


@pytest.mark.parametrize(
    "missing, said",
    [("zsb_no_such_package_x", "ModuleNotFoundError"), ("json.decoder", "'json.decoder' is not a package")],
)
def test_a_package_that_cannot_hold_the_file_is_named(missing, said):
    with pytest.raises(WeightsError, match=f"cannot read w.bin from package '{missing}'.*{said}"):
        WeightsFile("w.bin", GOOD, package=missing).path("m")


def test_a_downloaded_file_is_fetched_and_checked_against_its_pin(weights_folder):
    declared = WeightsFile("w.safetensors", GOOD, url=URL)
    with pytest.raises(WeightsError, match="weights not found at .*downloads are off"):
        declared.path("m")  # fetch's own message: nothing is downloaded with ZSBENCH_OFFLINE=1
    (weights_folder / "w.safetensors").write_bytes(CONTENT)
    assert declared.path("m") == weights_folder / "w.safetensors"
    with pytest.raises(WeightsError, match="expected 000000"):
        WeightsFile("w.safetensors", "0" * 64, url=URL).path("m")


@pytest.mark.parametrize(
    "kwargs, said",
    [
        (
            {"file": "w.bin", "sha256": GOOD},
            re.escape(
                "give exactly one of package= (the import package that ships "
                "the file, e.g. __package__) and url= (where to download it), "
                "not neither"
            ),
        ),
        ({"file": "w.bin", "sha256": GOOD, "package": "p", "url": URL}, "give exactly one of package= .* not both"),
        ({"file": "w.bin", "sha256": GOOD[:12], "package": "p"}, "sha256 must be the 64 hex digits"),
        ({"file": "w.bin", "sha256": None, "package": "p"}, "sha256 must be the 64 hex digits .* got None"),
        ({"file": "w.bin", "sha256": GOOD, "package": ""}, "package= must be an import package's name"),
        ({"file": "w.bin", "sha256": GOOD, "package": "my-plugin"}, "package= must be an import package's name"),
        ({"file": "w.bin", "sha256": GOOD, "url": ""}, "url= must be the file's address"),
        ({"file": "weights/w.bin", "sha256": GOOD, "package": "p"}, "file must be a plain file name"),
        ({"file": "..", "sha256": GOOD, "package": "p"}, "file must be a plain file name"),
        ({"file": "a\\b.bin", "sha256": GOOD, "url": URL}, "file must be a plain file name"),
        ({"file": None, "sha256": GOOD, "url": URL}, "file must be a plain file name"),
    ],
)
def test_a_wrong_argument_is_refused_where_the_declaration_is_written(kwargs, said):
    with pytest.raises(FetchArgumentError, match=said) as caught:
        WeightsFile(**kwargs)
    assert str(caught.value).startswith(f"WeightsFile({kwargs['file']!r}, ...): ")


def test_weights_file_is_on_the_plugin_surface_of_api_1_2():
    assert zsbench.plugin.API_VERSION == "1.2" and "WeightsFile" in zsbench.plugin.__all__
    require_api("1.2")
    with pytest.raises(zsbench.plugin.PluginAPIError):
        require_api("1.3")


# -- register(..., weights=) ---------------------------------------------------------------------------


def mean_std():
    return MeanStd()


def plugin(kind: str, **keywords):
    hook = f"register_{kind}"

    def register_all(register):
        register("x", mean_std, **keywords)

    register_all.__name__ = hook
    return types.SimpleNamespace(**{hook: zsbench.hookimpl(register_all)})


def test_declared_weights_are_kept_in_the_catalog_as_a_tuple():
    one = WeightsFile("a.bin", GOOD, url=URL)
    two = WeightsFile("b.bin", GOOD, package="zsb_pkg")
    for given, kept in ((one, (one,)), ([one, two], (one, two)), ((two,), (two,))):
        with zsbench.registered(plugin("encoders", weights=given), "w"):
            assert build_catalog().get("encoders", "x").meta["weights"] == kept
    with zsbench.registered(plugin("encoders", weights=[]), "w"):
        assert "weights" not in build_catalog().get("encoders", "x").meta  # nothing declared


@pytest.mark.parametrize(
    "kind, weights, error",
    [
        (
            "encoders",
            "w.bin",
            "TypeError: register('x', ..., weights=...) takes a zsbench.plugin.WeightsFile or a "
            "list of them, got 'w.bin'",
        ),
        ("encoders", [WeightsFile("a.bin", GOOD, url=URL), "b.bin"], "weights=...) takes a zsbench.plugin.WeightsFile"),
        ("encoders", {"file": "a.bin"}, "weights=...) takes a zsbench.plugin.WeightsFile"),
        (
            "encoders",
            [WeightsFile("a.bin", GOOD, url=URL), WeightsFile("a.bin", "0" * 64, url=URL + "2")],
            "ValueError: register('x', ..., weights=...) declares a.bin in the weights folder twice",
        ),
        (
            "clusterers",
            WeightsFile("a.bin", GOOD, url=URL),
            "weights=...): weights applies to encoders, not clusterers",
        ),
    ],
)
def test_a_wrong_weights_declaration_fails_the_hook_naming_the_keyword(kind, weights, error):
    with zsbench.registered(plugin(kind, weights=weights), "kw"):
        catalog = build_catalog()
    assert error in catalog.hook_errors["__main__:kw"]
    assert "x" not in catalog.names(kind)
