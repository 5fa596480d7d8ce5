"""A run as one value: :class:`RunRequest`, built once (by ``zsbench run`` from its options, by
:func:`zsbench.run` from its arguments), validated once when built, and passed unchanged to the
pipeline (:mod:`zsbench.engine.pipeline`) and the grid (:func:`zsbench.engine.grid.execute`).

A new run option is one field here, its CLI option, and the code that uses it. What is checked here
is the request itself (the protocol's name, the seeds, the sample selection); what needs the
catalog (component names and their options) is checked by the pipeline, still before any work.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from zsbench.core.protocol import ProtocolSpec, load_spec
from zsbench.engine.components import Names
from zsbench.engine.inputs import check_max_samples
from zsbench.engine.limits import check_cells, check_samples, check_seeds, check_workers
from zsbench.engine.session import CacheArg
from zsbench.plugin.errors import InvalidInputError, check_seed
from zsbench.storage.store import ResultStore

StoreArg = str | os.PathLike[str] | ResultStore | None | bool
Options = Mapping[str, Any]


def frozen(options: Options | None) -> Options:
    """A read-only copy of ``options`` (None: none): the caller's dict may change, the request does not."""
    return MappingProxyType(dict(options or {}))


def name_tuple(value: Names) -> tuple[str, ...] | None:
    """Names as a tuple; None stays None (the protocol's default), one name is a tuple of one."""
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


def seed_tuple(seeds: int | Sequence[int] | None) -> tuple[int, ...] | None:
    """``seeds`` as the seeds themselves, each checked (an int N: 0..N-1; None: the protocol's); their
    number is bounded (:data:`zsbench.engine.limits.MAX_SEEDS`) before any is made."""
    if seeds is None:
        return None
    if isinstance(seeds, int):
        if seeds < 1:
            raise InvalidInputError(f"--seeds must be at least 1, got {seeds}")
        check_seeds(seeds)
        return tuple(range(seeds))
    if hasattr(seeds, "__len__"):
        check_seeds(len(seeds), "seeds=")
    given = []
    for s in seeds:  # an iterable without a length: counted as it is read
        given.append(check_seed(s, "seed"))
        check_seeds(len(given), "seeds=")
    return tuple(given)


@dataclass(frozen=True)
class RunRequest:
    """What a run is asked to do, and where: every option of ``zsbench run`` and :func:`zsbench.run`.

    Names: None for the protocol's default; ``encoders``, ``datasets``, ``reducers`` accept one name or
    several, ``clusterers`` several. ``seeds``: a number N (0..N-1), the seeds, or None (the protocol's).
    Option mappings are copied read-only. ``store``/``cache``: None the default location, False none, or
    a path (or an open store / cache). Progress is not part of the request: it is the caller's display.
    """

    # typed as given; stored as tuples (names, seeds) and read-only copies (options) once built
    encoders: Names = None
    datasets: Names = None
    reducers: Names = None
    clusterers: Sequence[str] | None = None
    seeds: int | Sequence[int] | None = None
    protocol: str = "standard"
    encoder_options: Options | None = None
    dataset_options: Options | None = None
    max_samples: int | None = None
    subsample_seed: int = 0
    skip_bad: bool = False
    knn: bool = False
    executor: str | None = None
    executor_options: Options | None = None
    store: StoreArg = None
    cache: CacheArg = None

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)  # normalising a frozen dataclass's fields, once

        load_spec(self.protocol)  # an unknown protocol: one line naming those there are
        for name in ("encoders", "datasets", "reducers"):
            put(name, name_tuple(getattr(self, name)))
        # a sequence of names, as it always was taken (an empty one: the protocol's)
        put("clusterers", None if self.clusterers is None else tuple(self.clusterers))
        put("seeds", seed_tuple(self.seeds))
        for name in ("encoder_options", "dataset_options", "executor_options"):
            put(name, frozen(getattr(self, name)))
        check_seed(self.subsample_seed, "--subsample-seed")  # checked even when unused, as sample selection does
        check_max_samples(self.max_samples)
        check_samples(self.max_samples)
        check_workers((self.executor_options or {}).get("workers"))
        check_cells(*self.cells())

    @property
    def spec(self) -> ProtocolSpec:
        """The protocol the request names (loaded once per process)."""
        return load_spec(self.protocol)

    def encoder_names(self) -> list[str]:
        return list(self.encoders) if self.encoders is not None else [self.spec.default_encoder]

    def dataset_names(self) -> list[str]:
        return list(self.datasets) if self.datasets is not None else [self.spec.default_dataset]

    def cells(self) -> tuple[int, str]:
        """The clusterings the request asks for, counted from its options before anything is planned, and
        how they multiply (a protocol that configures each encoder's pairs is counted exactly by the grid)."""
        counts = {
            "encoder": len(self.encoder_names()),
            "dataset": len(self.dataset_names()),
            "reducer": len(self.reducers or ()) or 1,
            "seed": len(self.seed_list()),
            "clusterer": len(self.clusterers or ()) or len(self.spec.clusterers),
        }
        n = 1
        for count in counts.values():
            n *= count
        return n, " x ".join(f"{count:,} {what}(s)" for what, count in counts.items())

    def seed_list(self) -> list[int]:
        seeds = self.seeds
        assert not isinstance(seeds, int)  # a tuple once built (__post_init__)
        return list(range(self.spec.seeds)) if seeds is None else list(seeds)
