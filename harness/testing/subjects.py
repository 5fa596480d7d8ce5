"""What the checks run on: the component under test (a catalog entry, or a bare factory) and tiny inputs."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from zsbench.core.catalog import Entry
from zsbench.core.registration import weights_files
from zsbench.plugin.errors import ZsbenchError
from zsbench.testing.findings import CheckFailed, CheckSkipped, Recorder, one_line

# Passed to every factory by the unknown-option check; no real factory has a parameter of this name.
UNKNOWN_OPTION = "__zsbench_unknown_option"


def as_entry(
    kind: str,
    subject: Entry | Callable[..., Any],
    name: str | None = None,
    k_param: str | None = None,
    memory_bytes: Callable[[int, int], float] | None = None,
    weights: Any = None,
) -> Entry:
    """``subject`` as a catalog entry of ``kind``: an :class:`Entry` as it is, or a factory under ``name``
    (with the ``k_param``, ``memory_bytes`` and ``weights`` it would be registered with)."""
    if isinstance(subject, Entry):
        if subject.kind != kind:
            raise ZsbenchError(
                f"{subject.kind[:-1]} {subject.name!r} is not a {kind[:-1]}; "
                "use check_entry(), which checks each entry by its kind"
            )
        return subject
    if not callable(subject):
        raise ZsbenchError(
            f"check_{kind[:-1]}() takes a catalog Entry or a factory (a callable), not {type(subject).__name__}"
        )
    name = name or getattr(subject, "__name__", None) or type(subject).__name__
    given = {"k_param": k_param, "memory_bytes": memory_bytes, "weights": weights_files(weights) or None}
    meta = MappingProxyType({key: value for key, value in given.items() if value is not None})
    return Entry(kind, name, subject, plugin="(factory)", distribution="(none)", version="0", meta=meta)


def component_name(entry: Entry) -> str:
    return f"{entry.kind[:-1]}:{entry.name}"


def unavailable(exc: BaseException) -> str | None:
    """Why a component cannot be built on this machine (weights or data not present, an optional
    dependency not installed), or None when its failure to build is a defect."""
    from zsbench.plugin.datasets import MissingDataError
    from zsbench.plugin.weights import FetchArgumentError, WeightsError

    if isinstance(exc, MissingDataError | WeightsError) and not isinstance(exc, FetchArgumentError):
        return one_line(str(exc))
    if isinstance(exc.__cause__, ModuleNotFoundError):
        return one_line(f"an optional dependency is not installed: {exc}")
    return None


def unknown_option(entry: Entry, close: Callable[[Any], None] = lambda obj: None) -> str:
    """The check that the factory refuses an option it does not declare (a misspelt ``--option``)."""
    try:
        built = entry.create(**{UNKNOWN_OPTION: 1})
    except ZsbenchError:
        return "refuses an option it does not declare"
    close(built)
    raise CheckFailed(
        f"the factory accepted {UNKNOWN_OPTION}=1 (it takes **kwargs?): a misspelt option would "
        "be ignored silently; declare each option as a parameter"
    )


def create(
    rec: Recorder, entry: Entry, make: Callable[[], Any], close: Callable[[Any], None] = lambda obj: None
) -> Any:
    """The ``create`` and ``unknown-option`` checks; the built object, or None (later checks are then skipped)."""
    built: list[Any] = []

    def build() -> str:
        if entry.is_family:
            raise CheckSkipped(
                f"{entry.name}… is a family; check a member, e.g. "
                f"check_entry(catalog.get({entry.kind!r}, {entry.name + '<member>'!r}))"
            )
        try:
            obj = make()
        except ZsbenchError as exc:
            why = unavailable(exc)
            if why is not None:
                raise CheckSkipped(why) from None
            raise CheckFailed(str(exc)) from None
        if obj is None:
            raise CheckFailed("the factory returned None")
        built.append(obj)
        return f"built: {type(obj).__name__}"

    rec.run("create", build)
    if not built:
        rec.block("not built (see create)")
    rec.run("unknown-option", lambda: unknown_option(entry, close), always=True)
    return built[0] if built else None


class TinyImages:
    """Four small images, as a dataset: two RGB, one greyscale, one of an odd size; labels, ids, info."""

    def __init__(self) -> None:
        from PIL import Image

        rng = np.random.default_rng(0)
        self._images = [
            Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)),
            Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)),
            Image.fromarray(rng.integers(0, 256, (40, 48), dtype=np.uint8)),  # greyscale
            Image.fromarray(rng.integers(0, 256, (53, 37, 3), dtype=np.uint8)),
        ]  # odd size
        self.labels = np.array([0, 1, 0, 1])
        self.ids = [f"zsbench.testing/{i}" for i in range(len(self._images))]
        self.info = {"source": "zsbench.testing", "n_classes": 2}

    def __len__(self) -> int:
        return len(self._images)

    def __getitem__(self, index: int) -> Any:
        return self._images[index].copy()  # an encoder may change the image it gets


def blobs(per_class: int = 15, dim: int = 64, classes: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``classes`` well-separated gaussian blobs, float32: enough samples and dims for 50-d reducers, and
    classes small enough for a clusterer that caps cluster size at a fraction of the samples (0.2 N)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), per_class)
    centres = rng.normal(0.0, 6.0, (classes, dim))
    return (centres[y] + rng.normal(0.0, 1.0, (len(y), dim))).astype(np.float32), y


@contextmanager
def read_only(x: np.ndarray) -> Iterator[np.ndarray]:
    """``x`` as the artifact cache hands arrays out: a read-only memory map of an ``.npy`` file."""
    # ignore_cleanup_errors: on Windows the file stays open while a caller holds the map
    with tempfile.TemporaryDirectory(prefix="zsbench-testing-", ignore_cleanup_errors=True) as folder:
        path = Path(folder) / "x.npy"
        np.save(path, x)
        yield np.load(path, mmap_mode="r")
