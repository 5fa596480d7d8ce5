"""``zsbench run --knn``: the study's weighted kNN top-1 accuracy beside the clustering results.

The contract with datasets: a dataset factory with a ``split`` parameter provides a train partition
(``split="train"``) and a test partition (``split="test"``). With ``--knn`` the run clusters the test
partition (so a kNN score and the AMIs of a cell are of the same images), and the train partition,
all of it (``--max-samples`` subsamples only what is clustered), is embedded like any other dataset
(cached under its own sample fingerprint) and gives the neighbours. A factory without ``split`` has
no train partition: ``--knn`` on it is an error before any work.

kNN rows are :class:`~zsbench.core.result.Result` rows of their own protocol version,
:data:`KNN_VERSION`, with clusterer ``knn`` and reducer ``none``: boards, records and the proxy select
results by protocol version, so kNN accuracy never enters an AMI mean. They go to the run's store (the
one the grid writes) under :func:`~zsbench.engine.keys.knn_key`, so a rerun finds them there and neither
embeds the train partition nor adds a row again. Rows stored before kNN rows had keys are read as they
are (a rerun scores and stores them once more, with their key).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from zsbench.core.catalog import Entry
from zsbench.core.knn import DEFAULT_KS, DEFAULT_TEMPERATURE, knn_accuracy
from zsbench.core.progress import Progress
from zsbench.core.result import Result
from zsbench.engine.embed import Samples, embed_samples, load_dataset
from zsbench.engine.inputs import select_samples
from zsbench.engine.jobs import Embedding
from zsbench.engine.keys import knn_key, sample_fingerprint
from zsbench.engine.request import RunRequest
from zsbench.engine.session import takes_keyword
from zsbench.plugin.errors import InvalidInputError
from zsbench.storage.cache import ArtifactCache
from zsbench.storage.store import ResultStore

KNN_VERSION = "knn-1"  # the protocol version kNN rows are stored under
KNN = "knn"  # their clusterer name
METRIC = "knn_top1"


def test_options(ds_entries: list[Entry], options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The dataset options of a ``--knn`` run (``split="test"``); an error, before any work, naming each
    dataset without a train partition, or a ``split`` option other than ``test``."""
    lacking = [e.name for e in ds_entries if not takes_keyword(e.factory, "split")]
    if lacking:
        raise InvalidInputError(
            f"--knn needs a dataset's train partition; dataset(s) {', '.join(lacking)} provide none (their "
            "factory takes no split option); run them without --knn"
        )
    split = (options or {}).get("split", "test")
    if split != "test":
        raise InvalidInputError(
            f"--knn clusters and scores the test partition; dataset option split={split!r} conflicts (leave split out)"
        )
    return {**(options or {}), "split": "test"}


@dataclass
class KnnRun:
    """The kNN scores of one run: train partitions loaded once per dataset, rows kept until stored
    (:meth:`stored`, after the grid, with its run id)."""

    request: RunRequest
    dataset_options: Mapping[str, Any] | None  # of the clustered partition: with knn, split="test"
    rows: list[tuple[Result, str]] = field(default_factory=list)  # each with its key in the store
    found: set[str] = field(default_factory=set)  # the keys of rows found in the store (stored already)
    partitions: dict[str, Samples] = field(default_factory=dict)

    @classmethod
    def start(cls, request: RunRequest, ds_entries: list[Entry]) -> KnnRun:
        """The kNN step of ``request`` (checked before any work), or one that does nothing (without ``knn``)."""
        options = test_options(ds_entries, request.dataset_options) if request.knn else request.dataset_options
        return cls(request, options)

    @property
    def enabled(self) -> bool:
        return self.request.knn  # False: a run without --knn (nothing is scored or stored)

    def train(self, ds_entry: Entry, progress: Progress) -> Samples:
        """``ds_entry``'s train partition, all of it (loaded once)."""
        if ds_entry.name not in self.partitions:
            options = {**(self.dataset_options or {}), "split": "train"}
            ds = load_dataset(ds_entry, options, progress)
            view, selection = select_samples(ds, f"{ds_entry.name} (train partition)", progress)
            self.partitions[ds_entry.name] = Samples(ds_entry, options, view, sample_fingerprint(view, selection))
        return self.partitions[ds_entry.name]

    def score(
        self,
        emb: Embedding,
        test: Samples,
        enc_entry: Entry,
        enc_options: Mapping[str, Any],
        *,
        cache: ArtifactCache,
        executor: Any,
        progress: Progress,
        store: ResultStore | None,
    ) -> None:
        """Embed the train partition of ``test``'s dataset with the encoder (or find it cached) and score
        ``test`` (the clustered samples, embedded as ``emb``) per k; the rows ``store`` (the run's, open)
        holds under their keys already are taken from it, and when it holds all, nothing is embedded."""
        if not self.enabled:
            return
        ds_entry = test.dataset
        part = self.train(ds_entry, progress)
        if part.view.ids is not None and test.view.ids is not None and set(part.view.ids) & set(test.view.ids):
            raise InvalidInputError(
                f"dataset {ds_entry.name}: its train and test partitions share images; "
                "kNN accuracy on them would be inflated (fix the dataset's split)"
            )
        keys = {k: knn_key(KNN_VERSION, emb.key, part.fingerprint, k, DEFAULT_TEMPERATURE) for k in DEFAULT_KS}
        stored = {k: row for k, key in keys.items() if store is not None and (row := store.finished(key)) is not None}
        self.found.update(keys[k] for k in stored)
        if len(stored) == len(keys):  # scored by an earlier run
            self.rows += [(stored[k], keys[k]) for k in DEFAULT_KS]
            return
        e = embed_samples(self.request, enc_entry, enc_options, part, cache=cache, executor=executor, progress=progress)
        start = time.perf_counter()
        with progress.stage(f"kNN {enc_entry.name} on {ds_entry.name}"):
            acc = knn_accuracy(e.x, part.view.labels, emb.x, test.view.labels, DEFAULT_KS, DEFAULT_TEMPERATURE)
        seconds = time.perf_counter() - start
        train = {
            "split": part.view.info.get("split"),
            "fingerprint": part.fingerprint,
            "n_samples": len(part.view),
            "embedding": e.key,
            "embedding_reused": e.reused,
            "embedded_on": e.where,
        }
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for k, value in acc.items():
            if k in stored:  # an earlier run's row of this k stands (a run stopped while storing its rows)
                self.rows.append((stored[k], keys[k]))
                continue
            config = {
                **emb.config,
                "k": k,
                "ks": list(DEFAULT_KS),
                "temperature": DEFAULT_TEMPERATURE,
                "weighting": "exp(cosine / T), DINO's weighted kNN",
                "train": train,
                "protocol": self.request.spec.version,
                "embedding": emb.key,
            }
            row = Result(
                encoder=emb.encoder,
                dataset=emb.dataset,
                reducer="none",
                clusterer=KNN,
                seed=0,
                status="ok",
                error=None,
                metrics={METRIC: float(value), "k": int(k)},
                config=config,
                timings={"embed_train": e.seconds, "knn": seconds},
                provenance=emb.provenance,
                protocol_version=KNN_VERSION,
                created_at=now,
                run_id="",
            )
            self.rows.append((row, keys[k]))

    def stored(self, grid: Any, store: ResultStore | None) -> Any:
        """``grid`` (a :class:`~zsbench.engine.pipeline.GridRun`) with the kNN rows: those this run scored
        stamped with its run id and added to ``store`` (the run's, open; None: none) under their keys, those
        found there as they were stored."""
        if not self.enabled:
            return grid
        rows = []
        for row, key in self.rows:
            if key not in self.found:
                row = replace(row, run_id=grid.run_id)
                if store is not None:
                    store.add(row, key)
            rows.append(row)
        return replace(grid, knn=rows)
