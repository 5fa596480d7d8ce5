"""Dataset machinery every loader relies on: selection, fingerprints, bad files, user folders."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import zsbench
from zsbench.cli.app import app
from zsbench.plugin.datasets import BadImageError, MissingDataError, fingerprint, stratified_indices


def _tree(root, classes=("cat", "dog", "owl"), per_class=6, size=12):
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.clip(40 + 80 * c + rng.integers(-5, 6, (size, size, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.jpg", quality=95)
    return root


def test_stratified_subsample_keeps_proportions_is_seeded_and_sorted():
    labels = np.array([0] * 60 + [1] * 30 + [2] * 10)
    picked = stratified_indices(labels, 20, seed=0)
    assert len(picked) == 20 and np.all(np.diff(picked) > 0)
    assert np.bincount(labels[picked]).tolist() == [12, 6, 2]
    assert np.array_equal(picked, stratified_indices(labels, 20, seed=0))
    assert not np.array_equal(picked, stratified_indices(labels, 20, seed=1))
    rare = np.array([0] * 98 + [1, 2])
    assert set(rare[stratified_indices(rare, 10, seed=0)]) == {0, 1, 2}  # every class kept
    assert len(stratified_indices(labels, 0.15, seed=0)) == 15


def test_fingerprint_covers_ids_labels_and_split():
    base = fingerprint(["a.jpg", "b.jpg"], ["x", "y"], "test")
    assert base == fingerprint(["a.jpg", "b.jpg"], ["x", "y"], "test")
    assert base != fingerprint(["a.jpg", "c.jpg"], ["x", "y"], "test")
    assert base != fingerprint(["a.jpg", "b.jpg"], ["x", "x"], "test")
    assert base != fingerprint(["a.jpg", "b.jpg"], ["x", "y"], "val")


def test_folder_run_end_to_end_through_the_cli(tmp_path, isolated_store):
    root = _tree(tmp_path / "pets")
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--dataset",
            f"folder:{root}",
            "--reducer",
            "none",
            "--clusterer",
            "kmeans",
            "--seeds",
            "1",
            "--max-samples",
            "12",
        ],
    )
    assert result.exit_code == 0, result.output
    (r,) = zsbench.ResultStore(isolated_store).results()
    ds = r.config["dataset"]
    assert r.dataset == f"folder:{root}" and r.metrics["n_samples"] == 12
    assert (ds["n_available"], ds["max_samples"], ds["subsample_seed"]) == (18, 12, 0)
    assert len(ds["fingerprint"]) == 64
    assert r.ami == pytest.approx(1.0)  # brightness separates the three folders


def test_fingerprint_of_a_run_changes_with_the_subsample(tmp_path):
    root = _tree(tmp_path / "pets")
    runs = [
        zsbench.run(
            "raw-pixels",
            f"folder:{root}",
            clusterers=["kmeans"],
            reducer="none",
            seeds=1,
            store=False,
            max_samples=9,
            subsample_seed=s,
        )
        for s in (0, 0, 1)
    ]
    prints = [r.results[0].config["dataset"]["fingerprint"] for r in runs]
    assert prints[0] == prints[1] != prints[2]


def test_a_corrupt_image_names_the_file_or_is_skipped_and_counted(tmp_path, isolated_store):
    root = _tree(tmp_path / "pets")
    (root / "dog" / "3.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    args = ["run", "--dataset", f"folder:{root}", "--reducer", "none", "--clusterer", "kmeans", "--seeds", "1"]
    failed = CliRunner().invoke(app, args)
    assert failed.exit_code == 1
    lines = [ln for ln in failed.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "dog/3.jpg cannot be read" in lines[0] and "--skip-bad" in lines[0]
    ok = CliRunner().invoke(app, args + ["--skip-bad"])
    assert ok.exit_code == 0, ok.output
    (r,) = zsbench.ResultStore(isolated_store).results()
    assert r.config["dataset"]["n_bad_skipped"] == 1 and r.metrics["n_samples"] == 17


def test_bad_image_error_keeps_one_line_when_reraised_by_a_dataloader_worker():
    text = (
        "Caught BadImageError in DataLoader worker process 0.\nOriginal Traceback (most recent "
        'call last):\n  File "x.py", line 1\nzsbench.plugin.datasets.BadImageError: image /d/3.jpg '
        "cannot be read (OSError: truncated); replace it, or pass --skip-bad"
    )
    assert str(BadImageError(text)) == (
        "image /d/3.jpg cannot be read (OSError: truncated); replace it, or pass --skip-bad"
    )


def test_csv_dataset_with_relative_paths_and_missing_labels(tmp_path):
    _tree(tmp_path / "imgs", per_class=4)
    rows = ["path,label"] + [f"imgs/{c}/{i}.jpg,{c}" for c in ("cat", "dog", "owl") for i in range(4)]
    rows[-1] = "imgs/owl/3.jpg,"  # an unlabelled image: left out, never a class of its own
    (tmp_path / "list.csv").write_text("\n".join(rows) + "\n")
    out = zsbench.run(
        "raw-pixels", f"csv:{tmp_path / 'list.csv'}", clusterers=["kmeans"], reducer="none", seeds=1, store=False
    )
    r = out.results[0]
    assert r.metrics["n_samples"] == 11 and r.metrics["n_classes"] == 3
    assert r.config["dataset"]["n_missing_labels"] == 1


def test_user_data_errors_are_clear(tmp_path):
    with pytest.raises(MissingDataError, match="no images in class sub-folders"):
        zsbench.run("raw-pixels", f"folder:{tmp_path}", store=False)
    (tmp_path / "list.csv").write_text("file,kind\n")
    with pytest.raises(zsbench.ZsbenchError, match="needs a header with an image column"):
        zsbench.run("raw-pixels", f"csv:{tmp_path / 'list.csv'}", store=False)
    one = _tree(tmp_path / "one", classes=("only",))
    with pytest.raises(zsbench.ZsbenchError, match="found 1 distinct label"):
        zsbench.run("raw-pixels", f"folder:{one}", reducer="none", clusterers=["kmeans"], store=False)
    with pytest.raises(zsbench.ZsbenchError, match="does not accept option"):
        zsbench.run("raw-pixels", "digits", dataset_options={"data_dir": "x"}, store=False)
