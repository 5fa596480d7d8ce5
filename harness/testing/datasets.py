"""Checks of a dataset: labels readable without decoding images, unique string ids, PIL images, plain-JSON info.

Only a few images are read, so a large dataset is checked in a moment.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from zsbench.core.catalog import Entry
from zsbench.plugin.errors import ZsbenchError
from zsbench.testing.findings import DEFAULT_TIMEOUT_S, CheckFailed, Finding, Recorder
from zsbench.testing.subjects import as_entry, component_name, create

DATASET_CHECKS = ("create", "unknown-option", "labels", "ids", "images", "info", "quiet")


def check_dataset(
    dataset: Entry | Callable[..., Any],
    name: str | None = None,
    *,
    options: Mapping[str, Any] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT_S,
) -> list[Finding]:
    """Check a dataset (a catalog entry, or a factory named ``name``) built with ``options``
    (e.g. ``{"data_dir": ...}``). A dataset whose files are not on this machine is reported as skipped.
    Each check fails after ``timeout`` seconds (None: no limit)."""
    entry = as_entry("datasets", dataset, name)
    options = dict(options or {})
    rec = Recorder(component_name(entry), timeout)
    built = create(rec, entry, lambda: entry.create(**options))
    rec.run("labels", lambda: labels(built))
    rec.run("ids", lambda: ids(built))
    rec.run("images", lambda: images(built))
    rec.run("info", lambda: info(built))
    rec.quiet()
    return rec.findings


@contextlib.contextmanager
def counting_reads(dataset: Any) -> Iterator[list[int]]:
    """Count the images ``dataset`` decodes (calls of its ``__getitem__``) while the block runs."""
    cls, calls = type(dataset), [0]
    own = "__getitem__" in vars(cls)
    original = cls.__getitem__

    def counted(self: Any, index: Any) -> Any:
        if self is dataset:
            calls[0] += 1
        return original(self, index)

    try:
        cls.__getitem__ = counted
    except (TypeError, AttributeError):  # a built-in or extension type: cannot be watched
        yield calls
        return
    try:
        yield calls
    finally:
        if own:
            cls.__getitem__ = original
        else:
            del cls.__getitem__


class _Notes:
    """A Progress that keeps what the label check notes (missing labels) instead of logging it."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    @contextlib.contextmanager
    def stage(self, description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        def advance(n: int = 1) -> None:  # the kit shows no progress
            pass

        yield advance

    def note(self, message: str) -> None:
        self.notes.append(message)


def labels(dataset: Any) -> str:
    """``labels``: 1-d, one per image, read without decoding images, at least two classes."""
    from zsbench.engine.inputs import prepare_labels

    n = len(dataset)
    with counting_reads(dataset) as calls:
        values = np.asarray(dataset.labels)
    if calls[0]:
        raise CheckFailed(
            f"reading labels decoded {calls[0]} image(s); keep labels apart from images "
            "(from folder or file names, or an annotation file)"
        )
    if values.ndim != 1 or len(values) != n:
        raise CheckFailed(f"labels have shape {values.shape} for {n} images; give one label per image, 1-d")
    notes = _Notes()
    try:
        codes, keep = prepare_labels(values, "labels", notes)
    except ZsbenchError as exc:
        raise CheckFailed(str(exc)) from None
    k = len(np.unique(codes))
    if k < 2:
        raise CheckFailed(f"{k} distinct label(s); clustering is scored against at least 2 classes")
    missing = n - int(keep.sum())
    return f"{n} labels, {k} classes" + (f", {missing} missing (left out of runs)" if missing else "")


def ids(dataset: Any) -> str:
    """``ids`` (optional): one unique string per image."""
    values = getattr(dataset, "ids", None)
    if values is None:
        return "none (optional: samples are then named by position)"
    values = list(values)
    if len(values) != len(dataset):
        raise CheckFailed(f"{len(values)} ids for {len(dataset)} images; give one id per image")
    odd = next((v for v in values if not isinstance(v, str)), None)
    if odd is not None:
        raise CheckFailed(f"an id is a {type(odd).__name__} ({odd!r}); ids are strings")
    if len(set(values)) != len(values):
        seen: set[str] = set()
        for twice in values:  # the first id met a second time
            if twice in seen:
                break
            seen.add(twice)
        raise CheckFailed(
            f"{len(values) - len(set(values))} repeated id(s), e.g. {twice!r}; each image needs "
            "its own id (ids are hashed into a run's fingerprint)"
        )
    return f"{len(values)} unique strings"


def images(dataset: Any) -> str:
    """``dataset[i]`` is a PIL image, for the first, middle and last positions."""
    from PIL import Image

    n = len(dataset)
    if n == 0:
        raise CheckFailed("the dataset is empty")
    seen = []
    for i in sorted({0, n // 2, n - 1}):
        image = dataset[i]
        if not isinstance(image, Image.Image):
            raise CheckFailed(f"dataset[{i}] is a {type(image).__name__}; return a PIL.Image.Image")
        if min(image.size) < 1:
            raise CheckFailed(f"dataset[{i}] is an empty image of size {image.size}")
        seen.append(f"{image.mode} {image.size[0]}x{image.size[1]}")
    return f"{n} images; read {', '.join(seen)}"


def info(dataset: Any) -> str:
    """``info`` is a mapping of plain JSON (it is recorded with every result)."""
    from zsbench.plugin.identity import plain

    value = getattr(dataset, "info", None)
    if not isinstance(value, Mapping):
        raise CheckFailed(f"info is a {type(value).__name__}; give the dataset an info dict (source, split, ...)")
    try:
        plain(value, "info")
    except ZsbenchError as exc:
        raise CheckFailed(str(exc)) from None
    return f"plain JSON ({', '.join(sorted(value)[:6])}{', …' if len(value) > 6 else ''})"
