"""Hostile inputs (issue 11, cases 12-17): odd file names, sizes, archives, options, CSVs and
pixel modes each end in a result or in one line naming the input, never a traceback or a hang."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from zsbench.cli.app import app
from zsbench.core.catalog import parse_spec
from zsbench.core.progress import NullProgress
from zsbench.engine import inputs
from zsbench.engine.inputs import load_npz, select_samples
from zsbench.plugin.datasets import (
    BadImageError,
    ImageFiles,
    csv_images,
    fingerprint,
    image_folder,
    open_image,
    to_8bit,
)
from zsbench.plugin.errors import InvalidInputError, ZsbenchError
from zsbench.plugins.raw_pixels import RawPixels

RUN = ["run", "--encoder", "raw-pixels", "--reducer", "none", "--clusterer", "kmeans", "--seeds", "1"]


def _cli(*args: str):
    return CliRunner().invoke(app, list(args))


def _one_line_error(result) -> str:
    """The run failed as a user error: exit 1, one line on stderr, no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def _png(path: Path | bytes, shade: int, size: tuple[int, int] = (8, 8)) -> None:
    pixels = np.full((size[1], size[0]), shade, dtype=np.uint8)
    pixels[::2] //= 2  # some texture, still clearly one class per shade
    with open(path, "wb") as fh:
        Image.fromarray(pixels).save(fh, format="PNG")


def _fifo_supported() -> bool:
    return hasattr(os, "mkfifo")


# 12. non-UTF-8 class and file names ------------------------------------------------------------


def test_folder_with_non_utf8_names_runs(tmp_path):
    root = os.fsencode(tmp_path / "tree")
    for cls, shade in ((b"caf\xe9", 40), (b"plain", 220)):
        os.makedirs(os.path.join(root, cls))
        for i in range(4):
            _png(os.path.join(root, cls, b"img\xff%d.png" % i), shade + 5 * i)
    result = _cli(*RUN, "--dataset", f"folder:{tmp_path / 'tree'}")
    assert result.exit_code == 0, result.output


def test_non_utf8_names_fingerprint_their_bytes_and_print_escaped(tmp_path):
    name = os.fsdecode(b"caf\xe9")  # a surrogate escape
    assert fingerprint([f"{name}/a.png"], [name], "all") != fingerprint(["caf/a.png"], ["caf"], "all")
    assert fingerprint(["a.png"], ["x"], "all") == fingerprint(["a.png"], ["x"], "all")
    folder = os.path.join(os.fsencode(tmp_path), b"caf\xe9")
    os.makedirs(folder)
    with open(os.path.join(folder, b"broken.png"), "wb") as fh:
        fh.write(b"not a png")
    ds = image_folder(tmp_path, "folder:x", {})
    with pytest.raises(BadImageError) as err:
        ds[0]
    message = str(err.value)
    assert "caf\\xe9" in message and "\n" not in message
    message.encode("utf-8")  # printable as it stands


# 13. mixed sizes below the raw-pixel size ------------------------------------------------------


class _Images:
    def __init__(self, images, ids=None):
        self.images, self.ids = images, ids

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


def test_raw_pixels_gives_one_length_for_mixed_small_sizes():
    sizes = [(20, 20), (28, 28), (10, 14), (64, 48), (3, 1)]
    images = [Image.new("L", size, 128) for size in sizes]
    rows = np.concatenate(list(RawPixels().embed(_Images(images))))
    assert rows.shape == (5, 400)  # the first image fixes 20x20
    np.testing.assert_allclose(rows, 128 / 255, atol=1e-6)


def test_raw_pixels_keeps_uniform_sizes_as_before():
    images = [Image.new("L", (28, 28), v) for v in (0, 255)]
    assert np.concatenate(list(RawPixels().embed(_Images(images)))).shape == (2, 784)
    big = [Image.new("RGB", (50, 40), (255, 0, 0))] * 2
    assert np.concatenate(list(RawPixels().embed(_Images(big)))).shape == (2, 32 * 32 * 3)


# 14. hostile .npz files ------------------------------------------------------------------------


def _npz_with_header(path: Path, shape: tuple[int, ...], compression: int) -> None:
    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False, "shape": shape})
    member.write(b"\0" * 64)
    labels = io.BytesIO()
    np.save(labels, np.arange(4))
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.writestr("embeddings.npy", member.getvalue())
        archive.writestr("labels.npy", labels.getvalue())


def test_npz_that_starts_with_pk_but_is_not_a_zip(tmp_path):
    path = tmp_path / "fake.npz"
    path.write_bytes(b"PK" + b"\0" * 100)
    with pytest.raises(InvalidInputError, match="fake.npz: not a readable .npz") as err:
        load_npz(path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_npz_declaring_an_absurd_shape_is_refused_before_allocating(tmp_path, compression):
    path = tmp_path / "huge.npz"
    _npz_with_header(path, (5_000_000_000_000, 1), compression)  # 36 TiB of float64
    with pytest.raises(InvalidInputError, match="huge.npz: array 'embeddings' declares shape") as err:
        load_npz(path)
    assert "\n" not in str(err.value)


def test_npz_larger_than_half_the_memory_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.npz"
    np.savez(path, embeddings=np.zeros((100, 10)), labels=np.arange(100))
    monkeypatch.setattr(inputs, "available_memory", lambda: 1000)
    with pytest.raises(InvalidInputError, match="big.npz: array 'embeddings' .* more than half"):
        load_npz(path)
    monkeypatch.setattr(inputs, "available_memory", lambda: None)
    assert load_npz(path)[0].shape == (100, 10)


def test_npz_via_cli_is_one_line(tmp_path):
    path = tmp_path / "fake.npz"
    path.write_bytes(b"PK\x03\x04 not really")
    line = _one_line_error(
        _cli("run", "--embeddings", str(path), "--reducer", "none", "--clusterer", "kmeans", "--seeds", "1")
    )
    assert "fake.npz" in line


# 15. seeds and option values -------------------------------------------------------------------


@pytest.mark.parametrize("extra", [["--max-samples", "50"], []])
def test_negative_subsample_seed_is_one_line(extra):
    line = _one_line_error(_cli(*RUN, "--dataset", "digits", "--subsample-seed", "-1", *extra))
    assert "--subsample-seed -1 is out of range" in line


def test_deeply_nested_option_value_is_one_line():
    deep = "[" * 10_000 + "]" * 10_000
    line = _one_line_error(
        _cli(
            "run",
            "--encoder",
            "raw-pixels",
            "--dataset",
            "digits",
            "--reducer",
            "none",
            "--clusterer",
            f"kmeans:n_init={deep}",
            "--seeds",
            "1",
        )
    )
    assert "'n_init'" in line and "10000 deep" in line and len(line) < 300
    for value in ("-" * 100_000 + "1", "1+" * 100_000 + "1"):
        with pytest.raises(ZsbenchError, match="at most"):
            parse_spec(f"kmeans:n_init={value}")
    assert parse_spec("kmeans:n_init=3,algo=lloyd") == ("kmeans", {"n_init": 3, "algo": "lloyd"})


# 16. CSV datasets ------------------------------------------------------------------------------


def _csv_tree(tmp_path: Path, text: str) -> Path:
    for name, shade in (("a.png", 30), ("b.png", 200)):
        _png(tmp_path / name, shade)
    path = tmp_path / "list.csv"
    path.write_bytes(text.encode("utf-8"))
    return path


def test_csv_with_a_byte_order_mark_is_read(tmp_path):
    path = _csv_tree(tmp_path, "\ufeffpath,label\na.png,x\nb.png,y\n")
    ds = csv_images(path, "csv:list.csv", {})
    assert ds.ids == ["a.png", "b.png"] and list(ds.labels) == ["x", "y"]


def test_csv_short_row_names_its_line(tmp_path):
    path = _csv_tree(tmp_path, "path,label\na.png,x\nb.png\n")
    with pytest.raises(ZsbenchError, match=r"list.csv line 3 has 1 field\(s\) but the header has 2"):
        csv_images(path, "csv:list.csv", {})
    empty_label = _csv_tree(tmp_path, "path,label\na.png,x\nb.png,\n")  # still "no label"
    assert list(csv_images(empty_label, "csv:list.csv", {}).labels) == ["x", ""]


@pytest.mark.skipif(not _fifo_supported(), reason="needs os.mkfifo")
def test_csv_row_pointing_at_a_fifo_is_a_bad_image(tmp_path):
    path = _csv_tree(tmp_path, "path,label\na.png,x\nb.png,y\npipe.png,y\nc.png,x\n")
    _png(tmp_path / "c.png", 40)
    os.mkfifo(tmp_path / "pipe.png")
    ds = csv_images(path, "csv:list.csv", {})
    with pytest.raises(BadImageError, match="pipe.png cannot be read .*not a regular file"):
        ds[2]
    view, record = select_samples(ds, "csv:list.csv", NullProgress(), skip_bad=True)
    assert record["n_bad_skipped"] == 1 and "pipe.png" not in view.ids


# 17. 16-bit and float images -------------------------------------------------------------------


def _encode(tmp_path: Path, images: dict[str, Image.Image]) -> np.ndarray:
    paths = []
    for name, image in images.items():
        image.save(tmp_path / name)
        paths.append(tmp_path / name)
    ds = ImageFiles(paths, ["a"] * len(paths), tmp_path, {})
    return np.concatenate(list(RawPixels().embed(ds)))


def test_sixteen_bit_png_keeps_its_intensities(tmp_path):
    image = Image.fromarray(np.full((8, 8), 32768, dtype=np.uint16))
    assert image.mode.startswith("I;16")
    rows = _encode(tmp_path, {"half.png": image, "full.png": Image.fromarray(np.full((8, 8), 65535, dtype=np.uint16))})
    np.testing.assert_allclose(rows[0], 0.5, atol=0.01)
    np.testing.assert_allclose(rows[1], 1.0, atol=1e-6)


def test_float_tiff_keeps_its_intensities(tmp_path):
    quarter = Image.fromarray(np.full((8, 8), 0.25, dtype=np.float32))
    assert quarter.mode == "F"
    bytes_range = Image.fromarray(np.full((8, 8), 200.0, dtype=np.float32))
    rows = _encode(tmp_path, {"q.tif": quarter, "b.tif": bytes_range})
    np.testing.assert_allclose(rows[0], 0.25, atol=0.01)
    np.testing.assert_allclose(rows[1], 200 / 255, atol=1e-6)


def test_float_image_out_of_range_is_refused_in_one_line(tmp_path):
    Image.fromarray(np.full((8, 8), 1000.0, dtype=np.float32)).save(tmp_path / "hot.tif")
    with pytest.raises(BadImageError, match=r"hot.tif holds floats in \[1000, 1000\]") as err:
        open_image(tmp_path / "hot.tif")
    assert "\n" not in str(err.value)
    in_memory = to_8bit(Image.fromarray(np.full((2, 2), 0.5, dtype=np.float32)), "x")
    assert in_memory.mode == "L" and np.asarray(in_memory).max() == 128
