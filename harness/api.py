"""The Python API: the same runs as the CLI, returning plain objects.

>>> import zsbench
>>> out = zsbench.run()                       # raw pixels on digits, the standard protocol
>>> out.to_dataframe()                        # needs pandas

The work is :mod:`zsbench.engine.pipeline`'s, shared with the CLI and ``zsbench proxy --choose``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from zsbench.analysis.board import Leaderboard, build
from zsbench.core.progress import Progress
from zsbench.engine.components import Names
from zsbench.engine.pipeline import GridRun, run_arrays, run_datasets
from zsbench.engine.request import RunRequest, StoreArg
from zsbench.engine.session import CacheArg
from zsbench.plugin.errors import InvalidInputError, ZsbenchError

__all__ = ["RunRequest", "RunResult", "run", "run_embeddings", "run_request", "run_embeddings_request"]


@dataclass(frozen=True)
class RunResult(GridRun):
    """A run's results (``results``, ``failed``), where they were stored, and what was computed and reused."""

    @classmethod
    def of(cls, run: GridRun) -> RunResult:
        return cls(**{f.name: getattr(run, f.name) for f in fields(GridRun)})

    def leaderboard(self) -> Leaderboard:
        """The run's results as a board, of the protocol that made them."""
        return build(self.results, protocol=self.results[0].protocol_version if self.results else "1")

    def to_records(self) -> list[dict[str, Any]]:
        return [r.to_record() for r in self.results]

    def to_dataframe(self):
        try:
            import pandas as pd
        except ImportError:
            raise ZsbenchError("to_dataframe() needs pandas: pip install 'zsbench[pandas]'") from None
        return pd.DataFrame([r.flat() for r in self.results])


def run(
    encoder: Names = None,
    dataset: Names = None,
    *,
    clusterers: Sequence[str] | None = None,
    reducer: Names = None,
    seeds: int | Sequence[int] | None = None,
    store: StoreArg = None,
    cache: CacheArg = None,
    executor: str | None = None,
    executor_options: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    protocol: str = "standard",
    encoder_options: Mapping[str, Any] | None = None,
    dataset_options: Mapping[str, Any] | None = None,
    max_samples: int | None = None,
    subsample_seed: int = 0,
    skip_bad: bool = False,
    weights: str | os.PathLike[str] | None = None,
    knn: bool = False,
) -> RunResult:
    """Embed each dataset with each encoder and score every clusterer under the standard protocol.

    ``encoder``, ``dataset`` and ``reducer`` take a name or a list of names (a grid); defaults come
    from the protocol file. Every distinct stage runs once: one embedding per encoder x dataset, one
    reduction per embedding x reducer x seed, shared by every clusterer. Stages already in the
    artifact cache and results already in the store are reused, so a rerun recomputes nothing.

    ``store``/``cache``: ``None`` the default location, ``False`` none (in memory / a temporary
    cache), or a path. ``executor`` names where reductions and clusterings run (``local``: a process
    pool; ``dask``). ``weights``: a local weights file (or folder) for the encoder, as ``zsbench run
    --weights`` (the encoder option ``weights``; a path that does not exist is an error before any
    work). ``encoder_options`` go to the encoder factories, ``dataset_options`` to the dataset
    factories (``data_dir``, ``download``). ``max_samples`` takes a seeded stratified subsample;
    ``skip_bad`` leaves out images that cannot be decoded. ``protocol``: ``"standard"`` (also ``"1"``)
    or ``"study"``, each study encoder's tuned configuration per clusterer (``reducer`` must then be
    left out; ``clusterers`` only narrows the protocol's by name); results record ``"study-1"``.
    ``knn``: also the weighted kNN top-1 accuracy per k of each embedding (``result.knn``; stored as
    protocol ``knn-1``): the run then clusters each dataset's test partition, and embeds its train
    partition for the neighbours; a dataset without one is an error (see :mod:`zsbench.engine.knn`).
    """
    options = dict(encoder_options or {})
    if options.get("weights") is not None:  # said missing by the pipeline, which `zsbench run --weights` shares
        options["weights"] = weights_path(options["weights"], "encoder_options['weights']", must_exist=False)
    if weights is not None:
        given = weights_path(weights, "weights")
        other = options.get("weights")
        if other is not None and Path(other).expanduser().resolve() != Path(given).expanduser().resolve():
            raise InvalidInputError(
                f"weights={given!r} and encoder_options['weights']={other!r} name different "
                "files; pass the weights once, as weights="
            )
        options["weights"] = given
    return run_request(
        RunRequest(
            encoders=encoder,
            datasets=dataset,
            clusterers=clusterers,
            reducers=reducer,
            seeds=seeds,
            protocol=protocol,
            encoder_options=options,
            dataset_options=dataset_options,
            max_samples=max_samples,
            subsample_seed=subsample_seed,
            skip_bad=skip_bad,
            knn=knn,
            executor=executor,
            executor_options=executor_options,
            store=store,
            cache=cache,
        ),
        progress,
    )


def run_request(request: RunRequest, progress: Progress | None = None) -> RunResult:
    """The run ``request`` describes (what :func:`run` and ``zsbench run`` build), as :func:`run` returns it."""
    return RunResult.of(run_datasets(request, progress))


def weights_path(value: Any, argument: str, must_exist: bool = True) -> str:
    """A weights argument as the path string the encoder option takes: said in the Python API's words
    (``weights=``), before the pipeline's checks, which speak of ``--weights``."""
    if not isinstance(value, str | os.PathLike):
        raise InvalidInputError(
            f"{argument} takes the path of a weights file (a str or os.PathLike), got {type(value).__name__}"
        )
    path = os.fspath(value)
    if not isinstance(path, str):  # a bytes path
        raise InvalidInputError(f"{argument} takes a str path, got {type(path).__name__}")
    if not path.strip():
        raise InvalidInputError(f"{argument} is empty; pass a file path or leave it out")
    if must_exist and not Path(path).expanduser().exists():
        raise InvalidInputError(f"{argument}={path!r}: no such file or folder; pass the path of the weights file")
    return path


def run_embeddings(
    embeddings: Any,
    labels: Any,
    *,
    encoder: str,
    dataset: str,
    clusterers: Sequence[str] | None = None,
    reducer: Names = None,
    seeds: int | Sequence[int] | None = None,
    store: StoreArg = None,
    cache: CacheArg = None,
    executor: str | None = None,
    executor_options: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    source: dict[str, Any] | None = None,
    protocol: str = "standard",
) -> RunResult:
    """Score embeddings computed elsewhere through the same reduce, cluster and score stages.

    With ``protocol="study"``, ``encoder`` names the study encoder whose configurations apply
    (e.g. ``"raw-pixels"``); a name outside the study is an error naming the encoders it covers."""
    request = RunRequest(
        encoders=(encoder,),
        datasets=(dataset,),
        clusterers=clusterers,
        reducers=reducer,
        seeds=seeds,
        protocol=protocol,
        executor=executor,
        executor_options=executor_options,
        store=store,
        cache=cache,
    )
    return run_embeddings_request(embeddings, labels, request, source=source, progress=progress)


def run_embeddings_request(
    embeddings: Any,
    labels: Any,
    request: RunRequest,
    *,
    source: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """:func:`run_embeddings` of ``request``, which names one encoder and one dataset (the names recorded)."""
    return RunResult.of(run_arrays(embeddings, labels, request, source=source, progress=progress))
