"""Inputs the protocol can score: labels, embeddings, and .npz files of both.

Every check ends in a one-line :class:`InvalidInputError` that names the input and says what to do.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.core.progress import Progress
from zsbench.plugin.errors import InvalidInputError, check_seed


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


def check_embeddings(embeddings: Any, n: int, source: str) -> np.ndarray:
    """Raise a clear error for embeddings the protocol cannot use (``n``: the samples they must pair
    with one to one); return them as float32."""
    x = np.asarray(embeddings)
    if x.ndim != 2:
        raise InvalidInputError(f"{source}: embeddings must be a 2-d (samples, features) array, got shape {x.shape}")
    if x.dtype.kind not in "fiub":
        raise InvalidInputError(f"{source}: embeddings of dtype {x.dtype} are not numbers")
    if len(x) != n:
        raise InvalidInputError(f"{source}: {len(x)} embeddings but {n} labels; they must pair one to one")
    x = x.astype(np.float32, copy=False)  # fp16 from a GPU must not reach the clusterers
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise InvalidInputError(
            f"{source}: {len(rows)} embeddings contain NaN or Inf (first rows: "
            f"{', '.join(map(str, rows[:5]))}); fix the encoder or drop those samples"
        )
    return x


def check_classes(labels: np.ndarray, n: int, source: str) -> None:
    """Raise a clear error when ``labels`` (class codes of ``n`` samples) cannot be scored against."""
    k = len(np.unique(labels))
    if k < 2:
        raise InvalidInputError(f"{source}: found {k} distinct label(s); clustering needs at least 2 classes")
    if k >= n:
        raise InvalidInputError(
            f"{source}: k={k} classes for {n} samples; k must be smaller than the sample "
            "count (every sample has its own label?)"
        )


def check_inputs(embeddings: Any, labels: np.ndarray, source: str) -> np.ndarray:
    """Raise a clear error for anything the protocol cannot score; return float32 embeddings."""
    x = check_embeddings(embeddings, len(labels), source)
    check_classes(labels, len(x), source)
    return x


def load_npz(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Read ``embeddings`` (n, d) and ``labels`` (n,) from an .npz file, never unpickling."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such file; pass an .npz with arrays 'embeddings' and 'labels'")
    with path.open("rb") as fh:
        if fh.read(2) != b"PK":
            raise InvalidInputError(f"{path}: not an .npz archive; save with np.savez(path, embeddings=X, labels=y)")
    # np.load takes a "PK" file that is no zip for a pickle, and says "object arrays"
    if not zipfile.is_zipfile(path):
        raise InvalidInputError(
            f"{path}: not a readable .npz file (starts like a zip archive but "
            "is not one: truncated?); save with np.savez(path, embeddings=X, "
            "labels=y)"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = {"embeddings", "labels"} - set(data.files)
            if missing:
                raise InvalidInputError(
                    f"{path}: missing array(s) {', '.join(sorted(missing))}; found "
                    f"{', '.join(data.files) or 'none'}. Save with np.savez(path, "
                    "embeddings=X, labels=y)"
                )
            for key in ("embeddings", "labels"):
                _check_declared_size(path, data.zip, key)
            x, y = data["embeddings"], data["labels"]
    except InvalidInputError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise InvalidInputError(
            f"{path}: not a readable .npz file ({exc}); save with np.savez(path, embeddings=X, labels=y)"
        ) from None
    except ValueError as exc:
        if "pickle" in str(exc):
            raise InvalidInputError(
                f"{path}: holds object arrays, which zsbench will not unpickle; save numeric "
                "embeddings and integer or string labels"
            ) from None
        raise InvalidInputError(f"{path}: not a readable .npz file ({exc})") from None
    except OSError as exc:
        raise InvalidInputError(f"{path}: not a readable .npz file ({exc})") from None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return x, y, {"path": str(path), "sha256": digest}


def available_memory() -> int | None:
    """Bytes of memory available now (Linux MemAvailable, else free pages), or None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _check_declared_size(path: Path, archive: zipfile.ZipFile, key: str) -> None:
    """Refuse an array whose .npy header declares more bytes than the archive member holds, or
    more than half the memory available: numpy allocates the declared shape before reading, so
    a forged header would otherwise be a MemoryError (or a machine brought to a halt)."""
    names = archive.namelist()
    info = archive.getinfo(f"{key}.npy" if f"{key}.npy" in names else key)
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(member)
        else:  # 3.0 is 2.0's layout with a utf-8 header, which has no public reader of its own
            shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    if dtype.hasobject:
        return  # np.load refuses object arrays without unpickling; that error says so
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    # file_size is the member's (declared) uncompressed size: header plus data
    if need > info.file_size:
        raise InvalidInputError(
            f"{path}: array {key!r} declares shape {tuple(shape)} ({need:,} bytes) but holds "
            f"only {info.file_size:,}; the file is truncated or corrupt, save it again"
        )
    available = available_memory()
    if available is not None and need > available // 2:
        raise InvalidInputError(
            f"{path}: array {key!r} of shape {tuple(shape)} needs {need / 2**30:.1f} GiB, more "
            f"than half the memory available ({available / 2**30:.1f} GiB); use fewer samples "
            "or a smaller dtype"
        )


class DatasetView:
    """Some positions of a dataset, in order: what a run actually embeds and clusters.

    ``whole``: for a subsample, the sorted positions it was drawn from (the selection without
    ``--max-samples``), whose cached embedding can serve its rows (:meth:`whole_view`, :meth:`rows_in`).
    """

    def __init__(self, dataset: Any, positions: np.ndarray, whole: np.ndarray | None = None) -> None:
        self.dataset, self.positions = dataset, np.asarray(positions, dtype=np.int64)
        self.whole = None if whole is None else np.asarray(whole, dtype=np.int64)
        self.info: Mapping[str, Any] = dict(getattr(dataset, "info", {}))
        ids = getattr(dataset, "ids", None)
        self.ids = [str(ids[p]) for p in self.positions] if ids is not None else None
        self.labels = np.asarray(dataset.labels)[self.positions]

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, index: int):
        return self.dataset[int(self.positions[index])]

    def whole_view(self) -> DatasetView | None:
        """The samples this subsample was drawn from, as a run without ``--max-samples`` selects them."""
        return None if self.whole is None else DatasetView(self.dataset, self.whole)

    def rows_in(self, whole: DatasetView) -> np.ndarray:
        """The rows of ``whole`` (sorted positions holding all of this view's) that are this view's samples."""
        rows = np.searchsorted(whole.positions, self.positions)
        if rows.size and (rows.max() >= len(whole) or (whole.positions[rows] != self.positions).any()):
            raise ValueError("the view's samples are not all in the whole it was drawn from")
        return rows


def check_max_samples(max_samples: int | None) -> None:
    """A subsample needs two images at least (a run's request checks it before any work)."""
    if max_samples is not None and max_samples < 2:
        raise InvalidInputError(f"--max-samples must be at least 2, got {max_samples}")


def select_samples(
    dataset: Any,
    name: str,
    progress: Progress,
    *,
    max_samples: int | None = None,
    subsample_seed: int = 0,
    skip_bad: bool = False,
) -> tuple[DatasetView, dict[str, Any]]:
    """Drop unlabelled samples, take a seeded stratified subsample, and (optionally) leave out
    images that cannot be decoded. Returns the view and a record of what was done."""
    from zsbench.plugin.datasets import BadImageError, stratified_indices

    if len(dataset) == 0:
        raise InvalidInputError(f"dataset {name} is empty; check its files")
    if len(dataset.labels) != len(dataset):
        raise InvalidInputError(f"dataset {name} has {len(dataset)} images but {len(dataset.labels)} labels")
    _, keep = prepare_labels(dataset.labels, f"dataset {name}", progress)
    positions = whole = np.flatnonzero(keep)
    record: dict[str, Any] = {"n_available": len(dataset), "n_missing_labels": int((~keep).sum())}
    # checked even without --max-samples (where it is unused): a bad value is a mistake either way
    check_seed(subsample_seed, "--subsample-seed")
    check_max_samples(max_samples)
    if max_samples is not None:
        labels = np.asarray(dataset.labels)[positions]
        positions = positions[stratified_indices(labels.astype(str), max_samples, subsample_seed)]
        record.update(max_samples=max_samples, subsample_seed=subsample_seed, subsample="stratified by label, seeded")
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
    return DatasetView(dataset, positions, whole if max_samples is not None else None), record


def select_all_samples(
    dataset: Any, name: str, progress: Progress, *, max_samples: int | None = None, subsample_seed: int = 0
) -> tuple[DatasetView, dict[str, Any]]:
    """The images to cluster without labels: all of them, labelled or not. A dataset whose images all
    have a label gets exactly :func:`select_samples`'s selection, so the embedding is shared with runs."""
    from zsbench.core.progress import NullProgress
    from zsbench.plugin.datasets import stratified_indices

    if len(dataset) == 0:
        raise InvalidInputError(f"dataset {name} is empty; check its files")
    labels = np.asarray(dataset.labels)
    if len(labels) != len(dataset):
        raise InvalidInputError(f"dataset {name} has {len(dataset)} images but {len(labels)} labels")
    _, has = prepare_labels(labels, f"dataset {name}", NullProgress())
    if has.all():
        return select_samples(dataset, name, progress, max_samples=max_samples, subsample_seed=subsample_seed)
    # select_samples would leave the unlabelled images out; here they are what is clustered
    positions = whole = np.arange(len(dataset))
    record: dict[str, Any] = {"n_available": len(dataset), "n_missing_labels": int((~has).sum())}
    check_max_samples(max_samples)
    if max_samples is not None:
        strata = np.where(has, labels.astype(str), "")  # the unlabelled images are one stratum
        positions = stratified_indices(strata, max_samples, subsample_seed)
        record.update(
            max_samples=max_samples,
            subsample_seed=subsample_seed,
            subsample="stratified by label (unlabelled as one group), seeded",
        )
    return DatasetView(dataset, positions, whole if max_samples is not None else None), record
