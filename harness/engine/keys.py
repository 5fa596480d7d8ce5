"""Every key zsbench writes, in one place: what each covers is what its hash holds, so a change to any
of it is a new key (and a stage recomputed), never a stale entry. CONTRIBUTING's developer half has
the table ("The keys").

The sample fingerprint and the embedding key (the whole embedding's too, for a subsample's rows), the key
of embeddings scored from an array or file, the stage keys of a reduction and of a clustering's labels
(:func:`reduce_key`, :func:`labels_key`: their parameters' text is given, obtained by
:class:`zsbench.engine.params.Params`, which imports this module for the memo's key), the result key
under which the store keeps a scored result, the key of a kNN row, and the parameters memo's key. Each is
:func:`zsbench.storage.layout.cache_key` of a plain dict: existing caches and stores stay valid only
while these dicts stay byte for byte what they are.
"""

from __future__ import annotations

import functools
import sys
import types
from collections.abc import Mapping
from typing import Any

from zsbench.core.catalog import Entry
from zsbench.core.identity import of_config
from zsbench.core.protocol import Component, ProtocolSpec
from zsbench.plugin.datasets import fingerprint
from zsbench.storage.layout import cache_key


def sample_fingerprint(view, selection: dict[str, Any]) -> str:
    """The fingerprint of the samples a run clusters: ids, labels, split and selection rule."""
    return fingerprint(
        view.ids, view.labels.astype(str).tolist(), {"split": view.info.get("split"), **selection_rule(selection)}
    )


def selection_rule(selection: dict[str, Any]) -> dict[str, Any]:
    """The parts of the sample selection that change which samples are clustered."""
    return {k: selection[k] for k in ("max_samples", "subsample_seed", "n_bad_skipped") if k in selection}


def embed_key(spec: ProtocolSpec, enc_entry, described: Mapping[str, Any], dataset: str, fingerprint_: str) -> str:
    """An embedding's cache key; `zsbench run` and `zsbench proxy --choose` share embeddings through it.

    It holds the encoder's identity by content (:func:`zsbench.identity.describe`), never a path:
    the same weights file reached through two paths is embedded once.
    """
    return cache_key(
        {
            "stage": "embed",
            "protocol": spec.stage_version,
            "encoder": enc_entry.name,
            "identity_sha256": described["identity_sha256"],
            "plugin": enc_entry.provenance,
            "dataset": dataset,
            "fingerprint": fingerprint_,
        }
    )


def arrays_key(spec: ProtocolSpec, content: str, labels_fingerprint: str) -> str:
    """The key of embeddings scored as given (:func:`zsbench.run_embeddings`, ``zsbench run --embeddings``):
    their content's sha256 and their labels' fingerprint; no encoder, which is unknown."""
    return cache_key(
        {"stage": "embed", "protocol": spec.stage_version, "embeddings": content, "labels": labels_fingerprint}
    )


def stage_key(stage: str, spec: ProtocolSpec, input_key: str, comp: Component, params: str, seed: int) -> str:
    """The key of a stage: ``params`` is the estimator's ``get_params(deep=False)`` as canonical JSON
    (:meth:`zsbench.engine.params.Params.text`), hashed as if the dict itself were in the spec."""
    return cache_key(
        {
            "stage": stage,
            "protocol": spec.stage_version,
            "input": input_key,
            "component": comp.label,
            "plugin": comp.entry.provenance,
            "seed": int(seed),
        },
        raw={"params": params},
    )


def reduce_key(spec: ProtocolSpec, input_key: str, reducer: Component, params: str, seed: int) -> str:
    """The key of a reduction: ``reducer`` fitted with ``seed`` on the embedding ``input_key``; ``params``:
    its parameters' canonical text (:meth:`zsbench.engine.params.Params.text`)."""
    return stage_key("reduce", spec, input_key, reducer, params, seed)


def labels_key(spec: ProtocolSpec, reduce_key: str, clusterer: Component, params: str, seed: int) -> str:
    """The key of ``clusterer``'s labels on the reduction ``reduce_key``; ``params``: its parameters' canonical
    text, built with ``seed`` and the k it is given (none when it finds k itself)."""
    return stage_key("labels", spec, reduce_key, clusterer, params, seed)


def result_key(
    spec: ProtocolSpec, labels_key: str, proxy_key: str, encoder_config: Mapping[str, Any], dataset: str
) -> str:
    """The key of a scored result in the store: its labels, the proxy space it is scored in, the scoring
    setting, and the row it is (encoder identity, dataset name)."""
    # a study result is its own, even where its configuration is the standard one
    made_by = {} if spec.study is None else {"protocol": spec.version}
    # The stages are keyed by content, so one file of embeddings run as --name alpha and
    # --name beta shares them; a stored result is a row, and answers only for its own.
    return cache_key(
        {
            "result": labels_key,
            "proxy": proxy_key,
            "silhouette_max_samples": spec.silhouette_max_samples,
            **made_by,
            "row": [of_config(encoder_config), dataset],
        }
    )


def knn_key(version: str, test_embedding: str, train_fingerprint: str, k: int, temperature: float) -> str:
    """The key of a kNN row in the store (``zsbench run --knn``): the kNN rows' version
    (:data:`zsbench.engine.knn.KNN_VERSION`), the key of the clustered (test) samples' embedding (the stage
    version, the encoder's name, identity sha256 and plugin, the dataset, the test samples' fingerprint),
    the train partition's sample fingerprint (embedded by the same encoder), k and the temperature."""
    return cache_key(
        {
            "knn": version,
            "test": test_embedding,
            "train": train_fingerprint,
            "k": int(k),
            "temperature": float(temperature),
        }
    )


def factory_id(entry: Entry) -> list[Any] | None:
    """What names ``entry``'s factory across processes (module, name, line, bound arguments and defaults),
    or None when it cannot be named that way (registered in code, or a closure whose captured values are
    unknown)."""
    if entry.distribution == "__main__":
        return None
    fn, bound = entry.factory, []
    while isinstance(fn, functools.partial):  # a family member: the rest of its name, bound
        bound.append([list(fn.args), dict(fn.keywords)])
        fn = fn.func
    if isinstance(fn, type):  # the estimator's class itself
        return [fn.__module__, fn.__qualname__, None, bound]
    if not isinstance(fn, types.FunctionType) or fn.__closure__:
        return None
    # default values are bound where the function is defined: part of what it builds
    return [fn.__module__, fn.__qualname__, fn.__code__.co_firstlineno, bound, fn.__defaults__, fn.__kwdefaults__]


def memo_key(component: Component, purpose: str, seed: int, n_clusters: int | None) -> str | None:
    """The memo's key for ``component`` built with ``seed`` and ``n_clusters`` (None: not memoisable)."""
    entry = component.entry
    factory = factory_id(entry)
    if factory is None:
        return None
    # where: the environment and the factory's file, so environments (or copies of a plugin) that share a
    # cache folder never share entries, even at one version
    where = [sys.prefix, getattr(sys.modules.get(factory[0]), "__file__", None)]
    return cache_key(
        {
            "memo": purpose,
            "kind": entry.kind,
            "name": entry.name,
            "label": component.label,
            "options": component.params,
            "plugin": entry.provenance,
            "factory": factory,
            "where": where,
            "k_param": entry.meta.get("k_param"),
            "seed": int(seed),
            "n_clusters": None if n_clusters is None else int(n_clusters),
        }
    )
