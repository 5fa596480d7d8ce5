"""The standard protocol: its declared settings, its components, and the embedding stage.

The protocol itself is core code, not a plugin: :mod:`zsbench.engine.grid` plans and runs its stages
(embed -> reduce -> cluster -> score) and :mod:`zsbench.core.metrics` scores them.
"""

from __future__ import annotations

import contextlib
import functools
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import numpy as np

from zsbench.core.catalog import Catalog, Entry, origin
from zsbench.core.isolation import plugin_code, reason
from zsbench.core.names import parse_spec, shown
from zsbench.core.progress import Progress
from zsbench.core.study import StudyProtocol, load_study
from zsbench.plugin.errors import InvalidInputError, ZsbenchError
from zsbench.plugin.protocols import Dataset


@dataclass(frozen=True)
class ProtocolSpec:
    version: str  # what results record: "1" is standard-1 (so older stores stay valid), "study-1" the study
    reducer: str  # the study's: "configured" (each encoder's own, per clusterer)
    proxy_reducer: str
    clusterers: tuple[str, ...]
    seeds: int
    silhouette_max_samples: int
    default_encoder: str
    default_dataset: str
    default_executor: str  # the executor a run uses unless told otherwise (it changes no result)
    name: str = "standard"
    # the stage rules that stage keys carry: the study runs standard-1's stages, so a fit with the same
    # parameters on the same input is the same artifact under either protocol
    stage_version: str = "1"
    study: StudyProtocol | None = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        """The protocol's full name: standard-1, study-1."""
        return f"standard-{self.version}" if self.study is None else self.version

    def cell(self, reducer: str, clusterer: str) -> tuple[str, str]:
        """The (reducer, clusterer) a board compares results under: the labels as run in the standard
        protocol; in the study, where each encoder has its own, the protocol's clusterer name (its
        ``hdbscan-sklearn`` specs are its ``hdbscan``)."""
        if self.study is None:
            return reducer, clusterer
        return self.reducer, self.study.slot(parse_spec(clusterer)[0])


PROTOCOLS = {
    "standard": "one fixed configuration for every encoder: UMAP-50, then six clusterers (the leaderboard's)",
    "study": "each study encoder's own tuned reducer and clusterer settings per clusterer (Lowe et al. 2024)",
}
ALIASES = {
    "1": "standard-1",
    "standard": "standard-1",
    "standard-1": "standard-1",
    "study": "study-1",
    "study-1": "study-1",
}


def protocol_names() -> list[tuple[str, str, str]]:
    """(name, version, description) of each protocol this zsbench knows."""
    return [(name, load_spec(name).label, text) for name, text in PROTOCOLS.items()]


@functools.cache
def load_spec(version: str = "1") -> ProtocolSpec:
    """The protocol named ``version``: standard (also "1", "standard-1") or study ("study-1")."""
    full = ALIASES.get(str(version))
    if full is None:
        raise ZsbenchError(
            f"unknown protocol {shown(version)!r}; this zsbench knows: standard (standard-1, "
            "recorded as version 1) and study (study-1); see `zsbench list protocols`"
        )
    if full.startswith("study-"):
        study = load_study(full.removeprefix("study-"))
        return replace(
            load_spec("1"),
            version=study.name,
            name="study",
            reducer="configured",
            clusterers=study.clusterers,
            study=study,
        )
    text = resources.files("zsbench.core").joinpath("protocols/standard-1.toml").read_text()
    data = tomllib.loads(text)
    data["clusterers"] = tuple(data["clusterers"])
    return ProtocolSpec(**data)


@dataclass(frozen=True)
class Component:
    """A catalog entry plus user parameters, e.g. ``pca:n_components=0.9``."""

    label: str
    entry: Entry
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def resolve(cls, catalog: Catalog, kind: str, spec: str, *, validate: bool = True) -> Component:
        """The component ``spec`` names; ``validate``: build and :meth:`check` it now (a caller that
        passes False checks it another way, e.g. :meth:`zsbench.engine.params.Params.check`)."""
        name, params = parse_spec(spec)
        entry = catalog.get(kind, name)
        # The protocol sets the seed and k: under the declared k parameter, and n_clusters, the
        # common name of k, is never the user's to set either (to None it may be: "find k yourself")
        k_param = entry.meta.get("k_param", "n_clusters")
        taken = ["random_state"] * ("random_state" in params) + [
            p for p in dict.fromkeys((k_param, "n_clusters")) if params.get(p) is not None
        ]
        if taken:
            raise ZsbenchError(
                f"{shown(spec)}: {' and '.join(taken)} {'are' if len(taken) > 1 else 'is'} set by the protocol "
                f"(random_state the seed, {k_param} the number of classes); only {k_param}=None, "
                "'find k yourself', may be given"
            )
        label = name + (":" + ",".join(f"{k}={v!r}" for k, v in sorted(params.items())) if params else "")
        component = cls(label, entry, params)
        if validate:  # fail now, before any work, on a bad parameter
            component.check(component.build(seed=0, n_clusters=2))
        return component

    def check(self, estimator: Any) -> None:
        """The estimator's own parameter validation, which scikit-learn otherwise runs only at fit."""
        try:
            if getattr(estimator, "_parameter_constraints", None):
                estimator._validate_params()
            # a count of output dimensions (or a variance fraction) is never zero or negative,
            # whatever the estimator; those without constraints (UMAP, wrappers) check it only at fit
            n = estimator.get_params(deep=False).get("n_components")
            if isinstance(n, int | float) and not isinstance(n, bool) and n <= 0:
                raise ValueError(f"n_components={n!r} must be positive")
        except (ValueError, TypeError) as exc:  # sklearn's InvalidParameterError is a ValueError
            why = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
            raise InvalidInputError(
                f"{shown(self.label, 120)}: {shown(why, 200)}; change or drop that option"
            ) from None

    def build(self, *, seed: int, n_clusters: int | None = None) -> Any:
        estimator = self.entry.create()
        try:
            if self.params:
                estimator.set_params(**self.params)
        except (ValueError, TypeError) as exc:
            raise ZsbenchError(f"{shown(self.label, 120)}: {shown(' '.join(str(exc).split()), 200)}") from None
        own = estimator.get_params(deep=False)
        updates: dict[str, Any] = {}
        if "random_state" in own:
            updates["random_state"] = seed
        k_param = self.entry.meta.get("k_param", "n_clusters")  # declared at register (n_components...)
        if "k_param" in self.entry.meta and k_param not in own:  # else k would silently never be set
            raise ZsbenchError(
                f"{self.entry.kind[:-1]} {self.entry.name!r} (plugin {self.entry.plugin}) declares "
                f"k_param={k_param!r} but its estimator has no parameter {k_param!r} (it has: "
                f"{shown(', '.join(sorted(own)) or 'none', 120)}); fix its register(..., k_param=...)"
            )
        if n_clusters is not None and own.get(k_param) is not None:
            updates[k_param] = n_clusters
        return estimator.set_params(**updates) if updates else estimator

    def describe(self, estimator: Any) -> dict[str, Any]:
        return {
            "label": self.label,
            "class": f"{type(estimator).__module__}.{type(estimator).__name__}",
            "params": estimator.get_params(deep=False),
        }


# -- stages -----------------------------------------------------------------------------------------

_DONE = object()  # the end of an encoder's batches


@contextlib.contextmanager
def _encoder_code(label: str, entry: Entry | None) -> Iterator[None]:
    """Whatever the encoder's own code raises becomes one line naming its plugin; the original is the
    cause, which ``zsbench --debug`` shows. A ZsbenchError is already meant for the user."""
    try:
        with plugin_code():
            yield
    except ZsbenchError:
        raise
    except Exception as exc:
        where = (
            f" of plugin {entry.plugin} (distribution {entry.distribution} {entry.version})"
            if entry is not None
            else ""
        )
        raise ZsbenchError(f"{label}: the encoder's embed(){where} raised {reason(exc)}") from exc


def embed(encoder: Any, dataset: Dataset, label: str, progress: Progress, entry: Entry | None = None) -> np.ndarray:
    """Embed ``dataset`` batch by batch. ``entry``, the encoder's catalog entry (default: the one
    whose factory built ``encoder``), names the plugin when the encoder fails."""
    entry = entry or origin(encoder)
    n = len(dataset)
    if n == 0:
        raise InvalidInputError(f"{label}: the dataset is empty")
    batches = []
    with progress.stage(f"embed {label}", total=n) as advance:
        with _encoder_code(label, entry):
            stream = iter(encoder.embed(dataset))
        while True:
            with _encoder_code(label, entry):  # only the encoder's code: our own checks are not its failure
                batch = next(stream, _DONE)
            if batch is _DONE:
                break
            batch = np.asarray(batch)
            if batch.ndim != 2:
                raise InvalidInputError(f"{label}: the encoder yielded a batch of shape {batch.shape}; expected 2-d")
            batches.append(batch.astype(np.float32, copy=False))
            advance(len(batch))
    x = np.concatenate(batches) if batches else np.empty((0, 0), np.float32)
    if len(x) != n:
        raise InvalidInputError(f"{label}: the encoder returned {len(x)} embeddings for {n} images")
    return x
