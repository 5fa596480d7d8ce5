"""Inputs the protocol can score: labels, embeddings, and .npz files of both.

Every check ends in a one-line :class:`InvalidInputError` that names the input and says what to do.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.errors import InvalidInputError, check_seed
from zsbench.progress import Progress


def prepare_labels(labels: Any, source: str, progress: Progress) -> tuple[np.ndarray, np.ndarray]:
    """Integer class codes, and the mask of samples that have a label.

    Missing labels (NaN, None, empty string) never become a class of their own: those samples
    are left out of clustering and scoring, and the count is reported.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise InvalidInputError(f"{source}: labels must be 1-d, got shape {labels.shape}")
    if labels.dtype.kind == "f":
        keep = ~np.isnan(labels)
    elif labels.dtype.kind in "OUS":
        keep = np.array([v is not None and v == v and str(v) != "" for v in labels], dtype=bool)
    elif labels.dtype.kind in "iub":
        keep = np.ones(len(labels), dtype=bool)
    else:
        raise InvalidInputError(f"{source}: labels of dtype {labels.dtype} are not class labels")
    if not keep.all():
        progress.note(f"{source}: {int((~keep).sum())} samples have no label and are left out")
    kept = labels[keep]
    if kept.dtype.kind == "O":
        kept = kept.astype(str)
    _, codes = np.unique(kept, return_inverse=True)
    return codes.astype(np.int64), keep


def check_inputs(embeddings: Any, labels: np.ndarray, source: str) -> np.ndarray:
    """Raise a clear error for anything the protocol cannot score; return float32 embeddings."""
    x = np.asarray(embeddings)
    if x.ndim != 2:
        raise InvalidInputError(
            f"{source}: embeddings must be a 2-d (samples, features) array, got shape {x.shape}")
    if x.dtype.kind not in "fiub":
        raise InvalidInputError(f"{source}: embeddings of dtype {x.dtype} are not numbers")
    if len(x) != len(labels):
        raise InvalidInputError(
            f"{source}: {len(x)} embeddings but {len(labels)} labels; they must pair one to one")
    x = x.astype(np.float32, copy=False)  # fp16 from a GPU must not reach the clusterers
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise InvalidInputError(
            f"{source}: {len(rows)} embeddings contain NaN or Inf (first rows: "
            f"{', '.join(map(str, rows[:5]))}); fix the encoder or drop those samples")
    k = len(np.unique(labels))
    if k < 2:
        raise InvalidInputError(
            f"{source}: found {k} distinct label(s); clustering needs at least 2 classes")
    if k >= len(x):
        raise InvalidInputError(
            f"{source}: k={k} classes for {len(x)} samples; k must be smaller than the sample "
            "count (every sample has its own label?)")
    return x


def load_npz(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Read ``embeddings`` (n, d) and ``labels`` (n,) from an .npz file, never unpickling."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such file; pass an .npz with arrays 'embeddings' and 'labels'")
    with path.open("rb") as fh:
        if fh.read(2) != b"PK":
            raise InvalidInputError(
                f"{path}: not an .npz archive; save with np.savez(path, embeddings=X, labels=y)")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = {"embeddings", "labels"} - set(data.files)
            if missing:
                raise InvalidInputError(
                    f"{path}: missing array(s) {', '.join(sorted(missing))}; found "
                    f"{', '.join(data.files) or 'none'}. Save with np.savez(path, "
                    "embeddings=X, labels=y)")
            x, y = data["embeddings"], data["labels"]
    except InvalidInputError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc):
            raise InvalidInputError(
                f"{path}: holds object arrays, which zsbench will not unpickle; save numeric "
                "embeddings and integer or string labels") from None
        raise InvalidInputError(f"{path}: not a readable .npz file ({exc})") from None
    except OSError as exc:
        raise InvalidInputError(f"{path}: not a readable .npz file ({exc})") from None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return x, y, {"path": str(path), "sha256": digest}


class DatasetView:
    """Some positions of a dataset, in order: what a run actually embeds and clusters."""

    def __init__(self, dataset: Any, positions: np.ndarray) -> None:
        self.dataset, self.positions = dataset, np.asarray(positions, dtype=np.int64)
        self.info = dict(getattr(dataset, "info", {}))
        ids = getattr(dataset, "ids", None)
        self.ids = [str(ids[p]) for p in self.positions] if ids is not None else None
        self.labels = np.asarray(dataset.labels)[self.positions]

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, index: int):
        return self.dataset[int(self.positions[index])]


def select_samples(dataset: Any, name: str, progress: Progress, *, max_samples: int | None = None,
                   subsample_seed: int = 0, skip_bad: bool = False) -> tuple[DatasetView, dict[str, Any]]:
    """Drop unlabelled samples, take a seeded stratified subsample, and (optionally) leave out
    images that cannot be decoded. Returns the view and a record of what was done."""
    from zsbench.datasets import BadImageError, stratified_indices

    if len(dataset) == 0:
        raise InvalidInputError(f"dataset {name} is empty; check its files")
    if len(dataset.labels) != len(dataset):
        raise InvalidInputError(f"dataset {name} has {len(dataset)} images but "
                                f"{len(dataset.labels)} labels")
    _, keep = prepare_labels(dataset.labels, f"dataset {name}", progress)
    positions = np.flatnonzero(keep)
    record: dict[str, Any] = {"n_available": len(dataset), "n_missing_labels": int((~keep).sum())}
    if max_samples is not None:
        if max_samples < 2:
            raise InvalidInputError(f"--max-samples must be at least 2, got {max_samples}")
        check_seed(subsample_seed, "--subsample-seed")
        labels = np.asarray(dataset.labels)[positions]
        positions = positions[stratified_indices(labels.astype(str), max_samples, subsample_seed)]
        record.update(max_samples=max_samples, subsample_seed=subsample_seed,
                      subsample="stratified by label, seeded")
    if skip_bad:
        bad = []
        with progress.stage(f"check images of {name}", total=len(positions)) as advance:
            for p in positions:
                try:
                    dataset[int(p)]
                except BadImageError:
                    bad.append(p)
                advance(1)
        if bad:
            progress.note(f"dataset {name}: {len(bad)} unreadable image(s) left out (--skip-bad)")
        positions = np.setdiff1d(positions, bad)
        record["n_bad_skipped"] = len(bad)
    return DatasetView(dataset, positions), record
