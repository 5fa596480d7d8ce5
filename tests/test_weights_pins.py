"""What a plugin passes to ``fetch`` is checked before any file is used (a malformed pin or a file name
that is a path is the plugin's bug, said as such), ``ZSBENCH_OFFLINE`` reads as documented, and
``zsbench.run(weights=...)`` is checked in the Python API's own words."""

from __future__ import annotations

import hashlib
import sys
import types

import pytest

import zsbench
from zsbench.plugin.errors import InvalidInputError, UnknownComponentError
from zsbench.plugin.weights import FetchArgumentError, WeightsError, fetch, weights_dir

URL = "https://example.org/models/w.pth"
CONTENT = b"published bytes"
GOOD = hashlib.sha256(CONTENT).hexdigest()


@pytest.fixture
def weights(tmp_path, monkeypatch):
    """The weights folder, holding w.pth; no ZSBENCH_OFFLINE."""
    monkeypatch.setenv("ZSBENCH_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.delenv("ZSBENCH_OFFLINE", raising=False)
    folder = weights_dir()
    folder.mkdir()
    (folder / "w.pth").write_bytes(CONTENT)
    return folder


@pytest.fixture
def downloads(monkeypatch):
    """torch.hub's download, replaced: the URLs it was asked for (it writes the published bytes)."""
    asked = []

    def download_url_to_file(url, dst, hash_prefix=None, progress=True):
        asked.append(url)
        with open(dst, "wb") as f:
            f.write(CONTENT)

    monkeypatch.setitem(
        sys.modules,
        "torch",
        types.SimpleNamespace(hub=types.SimpleNamespace(download_url_to_file=download_url_to_file)),
    )
    return asked


@pytest.mark.parametrize(
    "pin", ["xyz", GOOD[:16], "", GOOD + "0", "sha256:" + GOOD[:-1], "md5:" + GOOD, 5, b"0" * 64, " " + GOOD]
)
def test_a_malformed_pin_is_the_plugins_bug_said_before_the_file_is_looked_at(weights, pin):
    with pytest.raises(FetchArgumentError) as caught:
        fetch("m", URL, sha256=pin)
    assert str(caught.value) == (
        f"fetch('m', ...): sha256 must be the 64 hex digits of the file's SHA-256, got {pin!r}"
    )
    assert isinstance(caught.value, WeightsError) and (weights / "w.pth").exists()


@pytest.mark.parametrize("pin", [GOOD, GOOD.upper(), "sha256:" + GOOD, "SHA256:" + GOOD.upper()])
def test_a_pin_is_64_hex_digits_in_any_case_with_an_optional_sha256_prefix(weights, pin):
    assert fetch("m", URL, sha256=pin) == weights / "w.pth"


def test_a_well_formed_pin_that_does_not_match_says_to_delete_the_file(weights):
    with pytest.raises(WeightsError, match="delete it so zsbench downloads it again"):
        fetch("m", URL, sha256="0" * 64)


@pytest.mark.parametrize("value", ["1", "true", "YES", "On", " yes "])
def test_offline_values_turn_downloads_off(weights, downloads, monkeypatch, value):
    monkeypatch.setenv("ZSBENCH_OFFLINE", value)
    with pytest.raises(WeightsError, match="downloads are off"):
        fetch("m", "https://example.org/other.pth")
    assert downloads == []


@pytest.mark.parametrize("value", ["0", "false", "FALSE", "no", "off", ""])
def test_other_documented_values_leave_downloads_on(weights, downloads, monkeypatch, value):
    monkeypatch.setenv("ZSBENCH_OFFLINE", value)
    assert fetch("m", "https://example.org/other.pth", sha256=GOOD) == weights / "other.pth"
    assert downloads == ["https://example.org/other.pth"]


def test_an_offline_value_that_is_neither_is_an_error_not_a_download(weights, downloads, monkeypatch):
    monkeypatch.setenv("ZSBENCH_OFFLINE", "maybe")
    with pytest.raises(WeightsError, match=r"ZSBENCH_OFFLINE='maybe': set it to 1, true, yes or on"):
        fetch("m", "https://example.org/other.pth")
    assert downloads == []


@pytest.mark.parametrize(
    "filename", ["/etc/hostname", "../w.pth", "sub/w.pth", "sub\\w.pth", "", ".", "..", " w.pth", "w\0.pth", 5]
)
def test_a_file_name_that_is_not_a_plain_name_is_refused(weights, downloads, filename):
    with pytest.raises(FetchArgumentError, match=r"is not a plain file name; pass filename= a name"):
        fetch("m", URL, filename=filename)
    assert downloads == []


def test_the_file_name_comes_from_the_url_without_its_query_and_stays_in_the_weights_folder(weights, downloads):
    assert fetch("m", "https://example.org/get/x.pth?download=1#top", sha256=GOOD) == weights / "x.pth"
    with pytest.raises(FetchArgumentError, match="the file name of url 'https://example.org/models/'"):
        fetch("m", "https://example.org/models/")


def test_a_plugin_with_a_malformed_pin_fails_the_conformance_kit_not_skipped(weights):
    from zsbench.testing import check_encoder

    def pinned():
        fetch("m", URL, sha256="xyz")

    create = check_encoder(pinned, "pinned")[0]
    assert create.failed and "sha256 must be the 64 hex digits" in create.message


# -- zsbench.run(weights=...) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("", "weights is empty; pass a file path or leave it out"),
        ("   ", "weights is empty; pass a file path or leave it out"),
        (5, "weights takes the path of a weights file (a str or os.PathLike), got int"),
    ],
)
def test_run_refuses_weights_that_name_no_file(given, said):
    with pytest.raises(InvalidInputError) as caught:
        zsbench.run("raw-pixels", "digits", weights=given, store=False, cache=False)
    assert str(caught.value) == said


def test_run_names_its_own_arguments_when_weights_are_missing_or_given_twice(tmp_path):
    absent, first, second = tmp_path / "absent.pth", tmp_path / "a.pth", tmp_path / "b.pth"
    first.write_bytes(b"a")
    second.write_bytes(b"b")
    with pytest.raises(InvalidInputError) as caught:
        zsbench.run("raw-pixels", weights=absent, store=False, cache=False)
    assert str(caught.value) == f"weights={str(absent)!r}: no such file or folder; pass the path of the weights file"
    with pytest.raises(InvalidInputError) as caught:
        zsbench.run("raw-pixels", encoder_options={"weights": ""}, store=False, cache=False)
    assert str(caught.value).startswith("encoder_options['weights'] is empty")
    with pytest.raises(InvalidInputError) as caught:
        zsbench.run("raw-pixels", weights=first, encoder_options={"weights": str(second)}, store=False, cache=False)
    assert str(caught.value) == (
        f"weights={str(first)!r} and encoder_options['weights']={str(second)!r} name "
        "different files; pass the weights once, as weights="
    )
    assert "--weights" not in str(caught.value)
    # the same file both ways is fine: the run goes on (here to an encoder that does not exist)
    with pytest.raises(UnknownComponentError):
        zsbench.run("no-such-encoder", weights=first, encoder_options={"weights": str(first)}, store=False, cache=False)
