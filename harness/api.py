"""The Python API: the same runs as the CLI, returning plain objects.

>>> import zsbench
>>> out = zsbench.run()                       # raw pixels on digits, the standard protocol
>>> out.to_dataframe()                        # needs pandas
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.catalog import Catalog, build_catalog
from zsbench.datasets import fingerprint
from zsbench.errors import InvalidInputError, ZsbenchError
from zsbench.inputs import check_inputs, prepare_labels, select_samples
from zsbench.leaderboard import Leaderboard, build
from zsbench.progress import NullProgress, Progress
from zsbench.protocol import Component, ProtocolSpec, embed, evaluate, load_spec
from zsbench.provenance import environment
from zsbench.store import ResultStore
from zsbench.types import Result

StoreArg = str | os.PathLike[str] | ResultStore | None | bool


@dataclass(frozen=True)
class RunResult:
    run_id: str
    results: list[Result]
    store_path: Path | None

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if not r.ok]

    def leaderboard(self) -> Leaderboard:
        return build(self.results)

    def to_records(self) -> list[dict[str, Any]]:
        return [r.to_record() for r in self.results]

    def to_dataframe(self):
        try:
            import pandas as pd
        except ImportError:
            raise ZsbenchError("to_dataframe() needs pandas: pip install 'zsbench[pandas]'") from None
        return pd.DataFrame([r.flat() for r in self.results])


def _open_store(store: StoreArg) -> ResultStore | None:
    if store is False:
        return None
    if isinstance(store, ResultStore):
        return store
    return ResultStore(None if store in (None, True) else store)


def _components(catalog: Catalog, spec: ProtocolSpec, reducer: str | None,
                clusterers: Sequence[str] | None) -> tuple[Component, list[Component], Component]:
    chosen = list(clusterers) if clusterers else list(spec.clusterers)
    return (Component.resolve(catalog, "reducers", reducer or spec.reducer),
            [Component.resolve(catalog, "clusterers", c) for c in chosen],
            Component.resolve(catalog, "reducers", spec.proxy_reducer))


def _seeds(seeds: int | Sequence[int] | None, spec: ProtocolSpec) -> list[int]:
    if seeds is None:
        return list(range(spec.seeds))
    if isinstance(seeds, int):
        if seeds < 1:
            raise InvalidInputError(f"--seeds must be at least 1, got {seeds}")
        return list(range(seeds))
    return [int(s) for s in seeds]


def _score(x, y, *, encoder, dataset, comps, seeds, spec, config, provenance, store,
           embed_seconds, progress) -> RunResult:
    reducer, clusterers, proxy = comps
    run_id = uuid.uuid4().hex[:12]
    db = _open_store(store)
    try:
        results = evaluate(
            x, y, encoder=encoder, dataset=dataset, reducer=reducer, clusterers=clusterers,
            seeds=seeds, proxy=proxy, spec=spec, run_id=run_id, config=config,
            provenance={**environment(), **provenance}, embed_seconds=embed_seconds,
            progress=progress, on_result=db.add if db else (lambda r: None))
    finally:
        if db is not None and not isinstance(store, ResultStore):
            db.close()
    return RunResult(run_id, results, db.path if db else None)


def run(
    encoder: str | None = None,
    dataset: str | None = None,
    *,
    clusterers: Sequence[str] | None = None,
    reducer: str | None = None,
    seeds: int | Sequence[int] | None = None,
    store: StoreArg = None,
    progress: Progress | None = None,
    protocol: str = "1",
    encoder_options: Mapping[str, Any] | None = None,
    dataset_options: Mapping[str, Any] | None = None,
    max_samples: int | None = None,
    subsample_seed: int = 0,
    skip_bad: bool = False,
) -> RunResult:
    """Embed ``dataset`` with ``encoder`` and score every clusterer under the standard protocol.

    Defaults come from the protocol file: its default encoder and dataset, its six clusterers,
    its reducer and seed count. ``encoder_options`` go to the encoder's factory (e.g.
    ``{"weights": "file.safetensors"}``, what ``--weights`` passes). ``store=None`` writes to
    the default results store, ``False`` keeps results in memory only, a path or
    :class:`ResultStore` writes there. ``dataset_options`` go to the dataset's factory
    (``data_dir``, ``download``). ``max_samples`` takes a seeded stratified subsample;
    ``skip_bad`` leaves out images that cannot be decoded, counting them.
    """
    spec = load_spec(protocol)
    progress = progress or NullProgress()
    catalog = build_catalog()
    enc_entry = catalog.get("encoders", encoder or spec.default_encoder)
    ds_entry = catalog.get("datasets", dataset or spec.default_dataset)
    comps = _components(catalog, spec, reducer, clusterers)  # resolve all names before any work
    seed_list = _seeds(seeds, spec)

    with progress.stage(f"load dataset {ds_entry.name}"):
        ds = ds_entry.create(**dict(dataset_options or {}))
    view, selection = select_samples(ds, ds_entry.name, progress, max_samples=max_samples,
                                     subsample_seed=subsample_seed, skip_bad=skip_bad)
    label = f"{enc_entry.name} on {ds_entry.name}"
    y, _ = prepare_labels(view.labels, f"dataset {ds_entry.name}", progress)
    options = dict(encoder_options or {})
    with progress.stage(f"load encoder {enc_entry.name}"):
        enc = enc_entry.create(**options)
    start = time.perf_counter()
    x = embed(enc, view, label, progress)
    embed_seconds = time.perf_counter() - start
    x = check_inputs(x, y, label)
    split = view.info.get("split")
    config = {
        "encoder": {"name": enc_entry.name, "options": options, "identity": dict(enc.identity)},
        "dataset": {"name": ds_entry.name, "info": view.info, **selection,
                    "fingerprint": fingerprint(view.ids, view.labels.astype(str).tolist(),
                                               {"split": split, **_selection_rule(selection)}),
                    "labels_sha256": _labels_hash(y)},
        "n_samples": int(len(x)), "n_features": int(x.shape[1]),
    }
    provenance = {"plugins": {"encoder": enc_entry.provenance, "dataset": ds_entry.provenance}}
    return _score(x, y, encoder=enc_entry.name, dataset=ds_entry.name, comps=comps,
                  seeds=seed_list, spec=spec, config=config, provenance=provenance, store=store,
                  embed_seconds=embed_seconds, progress=progress)


def run_embeddings(
    embeddings: Any,
    labels: Any,
    *,
    encoder: str,
    dataset: str,
    clusterers: Sequence[str] | None = None,
    reducer: str | None = None,
    seeds: int | Sequence[int] | None = None,
    store: StoreArg = None,
    progress: Progress | None = None,
    source: dict[str, Any] | None = None,
    protocol: str = "1",
) -> RunResult:
    """Score embeddings computed elsewhere through the same reduce, cluster and score stages."""
    spec = load_spec(protocol)
    progress = progress or NullProgress()
    comps = _components(build_catalog(), spec, reducer, clusterers)
    label = (source or {}).get("path", f"embeddings {encoder!r}")
    y, keep = prepare_labels(labels, label, progress)
    x = np.asarray(embeddings)
    if x.ndim >= 1 and len(x) != len(keep):
        raise InvalidInputError(
            f"{label}: {len(x)} embeddings but {len(keep)} labels; they must pair one to one")
    x = check_inputs(x[keep] if x.ndim >= 1 else x, y, label)
    config = {
        "encoder": {"name": encoder, "identity": {"source": source or "in-memory array"}},
        "dataset": {"name": dataset, "n_missing_labels": int((~keep).sum()),
                    # no sample identifiers in an embeddings file: positions, labels and the file
                    "fingerprint": fingerprint(None, np.asarray(labels)[keep].astype(str).tolist(),
                                               {"embeddings": (source or {}).get("sha256", "in-memory")}),
                    "labels_sha256": _labels_hash(y)},
        "n_samples": int(len(x)), "n_features": int(x.shape[1]),
    }
    return _score(x, y, encoder=encoder, dataset=dataset, comps=comps,
                  seeds=_seeds(seeds, spec), spec=spec, config=config,
                  provenance={"plugins": {}}, store=store, embed_seconds=0.0, progress=progress)


def _selection_rule(selection: dict[str, Any]) -> dict[str, Any]:
    """The parts of the sample selection that change which samples are clustered."""
    return {k: selection[k] for k in ("max_samples", "subsample_seed", "n_bad_skipped") if k in selection}


def _labels_hash(y: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(y, dtype=np.int64).tobytes()).hexdigest()
