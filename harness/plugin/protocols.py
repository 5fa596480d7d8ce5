"""What plugins provide: the Protocols the core relies on, and the typed ``register`` callback.

These are structural types (``typing.Protocol``): a plugin's classes need not inherit from them.
A type checker checks a plugin against them; :mod:`zsbench.testing` checks the behaviour behind them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # the annotation only: importing this module stays light
    from zsbench.plugin.weights import WeightsFile


@runtime_checkable
class Dataset(Protocol):
    """A sequence of images with one label each.

    ``labels`` is read without decoding any image; ``ids`` (optional but preferred) holds one
    stable identifier per sample, hashed into the run's fingerprint; ``info`` is plain JSON
    (source, ``"split"`` rule, class count, group).
    """

    labels: Any  # 1-d array-like, len(labels) == len(self)
    info: Mapping[str, Any]

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...  # a PIL.Image.Image


@runtime_checkable
class Encoder(Protocol):
    """Turns a dataset's images into embeddings, in order, batch by batch.

    ``identity`` is everything that changes the embedding, as plain JSON (weights by sha256, never a
    local path); ``source`` (optional) says where the weights came from and is recorded, not hashed.
    """

    identity: Mapping[str, Any]

    def embed(self, dataset: Dataset) -> Iterator[Any]: ...  # yields float (batch, dim) arrays


@runtime_checkable
class Reducer(Protocol):
    """A scikit-learn transformer. A ``random_state`` parameter receives the seed."""

    def fit_transform(self, X: Any, y: Any = None) -> Any: ...

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...

    def set_params(self, **params: Any) -> Any: ...


@runtime_checkable
class Clusterer(Protocol):
    """A scikit-learn clusterer; label -1 is noise.

    The parameter named by ``register(..., k_param=)`` (default ``n_clusters``) receives the number of
    true classes unless its value is None ("finds k itself"); ``random_state`` receives the seed.
    """

    def fit_predict(self, X: Any, y: Any = None) -> Any: ...

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...

    def set_params(self, **params: Any) -> Any: ...


class Future(Protocol):
    def result(self, timeout: float | None = None) -> Any: ...


@runtime_checkable
class Executor(Protocol):
    """Where the stages of a grid run. The whole contract; the core uses nothing else.

    ``submit(fn, *args, resources=None)`` runs ``fn(*args)`` somewhere and returns a future whose
    ``result()`` is its return value or raises its exception; ``fn`` and ``args`` are picklable and
    tasks exchange arrays through the artifact cache, never through ``args``; ``resources`` (e.g.
    ``{"GPU": 1}``) is a hint an executor may ignore. ``as_completed(futures)`` yields them as they
    finish. ``close(cancel=False)`` waits for running tasks; ``cancel=True`` (on Ctrl-C or an error)
    drops queued ones and stops at once (a ``close()`` without that parameter is called bare).
    Optional: ``runs_embedding`` (True to receive embedding tasks as well; default False keeps
    embedding in the calling process). ``describe()`` is a convention of the built-ins, not read. The
    factory's keyword options come from ``--executor NAME:key=value``; a factory with a parameter
    named ``workers`` also receives ``ZSBENCH_WORKERS``.
    """

    def submit(self, fn: Callable[..., Any], *args: Any, resources: Mapping[str, float] | None = None) -> Future: ...

    def as_completed(self, futures: Iterable[Future]) -> Iterator[Future]: ...

    def close(self, cancel: bool = False) -> None: ...


class Register(Protocol):
    """The callback every ``register_*`` hook receives.

    ``register(name, factory, description=..., **metadata)``: the factory is called with keyword
    options only when the component is used, so heavy imports belong inside it. A name ending in
    ``/`` or ``:`` is a family (``timm/`` serves ``timm/<model>``; the factory receives the rest of
    the name first). The metadata, each for the kinds it applies to:

    - ``description``: one line for ``zsbench list`` (every kind).
    - ``gpu``: the encoder wants a GPU; an executor that runs embedding asks for one (encoders).
    - ``weights``: the published weights files the encoder uses, a :class:`~zsbench.plugin.WeightsFile`
      or a sequence of them, each pinned by sha256; ``zsbench plugins --check`` verifies them: a file its
      package should ship is there with its pin, a downloaded one matches its pin if present (encoders).
    - ``memory_bytes``: ``f(n, d) -> bytes``, the peak memory of fitting ``n`` samples of ``d``
      dims; a run refuses the configuration rather than be killed by the OS (reducers, clusterers).
    - ``k_param``: the parameter that receives the number of clusters, when it is not
      ``n_clusters`` (``"n_components"`` for a Gaussian mixture); the estimator's ``get_params()``
      must have it, and a spec may set it (or ``n_clusters``) only to None, "find k yourself" (clusterers).
    - ``group``: the dataset group of the study, one of :data:`REGISTER_GROUPS` (in-domain,
      domain-shift, near-OOD, fine-grained, far-OOD, or validation for a dev set; any case), recorded
      in a run's dataset info unless the dataset's own ``info`` names a group, which then wins (datasets).

    ``name``: 1-100 printable ASCII characters, no spaces, starting with a letter or digit, none of
    ``, = " '``, ``:`` only as the last character. A name equal to a built-in's (ignoring case), or
    inside a built-in's namespace (``timm/x``, ``folder:/x``, ``kmeans:``), is refused: the built-in
    keeps it. A wrong keyword, type or value is a ``TypeError`` or ``ValueError`` of the hook
    (``gpu`` a bool; ``weights`` WeightsFile objects, no file declared twice; ``memory_bytes`` is called
    once with ``(100, 10)`` and must return a finite, non-negative number), reported against the plugin by
    ``zsbench plugins``.
    """

    def __call__(
        self,
        name: str,
        factory: Callable[..., Any],
        *,
        description: str = "",
        gpu: bool = False,
        memory_bytes: Callable[[int, int], float] | None = None,
        k_param: str | None = None,
        group: str | None = None,
        weights: WeightsFile | Sequence[WeightsFile] | None = None,
    ) -> None: ...


# the dataset groups of the study's tables, in its order (the leaderboard's columns)
GROUPS: tuple[str, ...] = ("in-domain", "domain-shift", "near-OOD", "fine-grained", "far-OOD")
# what register(..., group=) accepts: those, and the study's dev sets for tuning (Imagenette, Imagewoof)
REGISTER_GROUPS: tuple[str, ...] = (*GROUPS, "validation")

# the metadata keywords of register(), by the kinds they apply to
METADATA: dict[str, tuple[str, ...]] = {
    "gpu": ("encoders",),
    "weights": ("encoders",),
    "memory_bytes": ("reducers", "clusterers"),
    "k_param": ("clusterers",),
    "group": ("datasets",),
}
