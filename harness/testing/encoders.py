"""Checks of an encoder: it builds, the weights files it declares are there with their pins, its identity is
plain JSON without local paths, and it embeds a tiny dataset into one finite float row per image, the same
way twice."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from zsbench.core.catalog import Entry
from zsbench.plugin.errors import ZsbenchError
from zsbench.testing.findings import DEFAULT_TIMEOUT_S, CheckFailed, CheckSkipped, Finding, Recorder
from zsbench.testing.subjects import TinyImages, as_entry, component_name, create

# "weights" only for an encoder that declares weights (see check_encoder)
ENCODER_CHECKS = ("create", "unknown-option", "weights", "identity", "embed", "deterministic", "quiet")


def check_encoder(
    encoder: Entry | Callable[..., Any],
    name: str | None = None,
    *,
    options: Mapping[str, Any] | None = None,
    download: bool = False,
    weights: Any = None,
    timeout: float | None = DEFAULT_TIMEOUT_S,
) -> list[Finding]:
    """Check an encoder (a catalog entry, or a factory named ``name`` declaring ``weights``, as
    ``register(..., weights=)`` would) built with ``options``.

    It embeds four small images (RGB, greyscale, an odd size) twice. An encoder whose weights are
    not on this machine is reported as skipped, with the reason: weights are not downloaded unless
    ``download`` (``ZSBENCH_OFFLINE`` and ``HF_HUB_OFFLINE`` are set while it is built). The ``weights``
    check verifies each declared file (see :func:`declared_weights`). Each check fails after ``timeout``
    seconds (None: no limit), and building and embedding must print nothing.
    """
    entry = as_entry("encoders", encoder, name, weights=weights)
    options = dict(options or {})
    rec = Recorder(component_name(entry), timeout)
    with contextlib.ExitStack() if download else offline():
        built = create(rec, entry, lambda: entry.create(**options))
    # No declaration, no finding: an encoder without published files (raw pixels, random init, --weights
    # only) has nothing to verify, and a "passed" row would claim a look at a file that never happened.
    if entry.meta.get("weights"):
        with contextlib.ExitStack() if download else offline():
            rec.run("weights", lambda: declared_weights(entry), always=True)  # even when not built
    data = TinyImages()
    first: list[np.ndarray] = []
    rec.run("identity", lambda: identity(entry, built, options))

    def embed_first() -> str:
        first.append(embedding(built, data))
        return f"{first[0].shape[1]}-d {first[0].dtype} rows"

    rec.run("embed", embed_first)
    rec.run("deterministic", lambda: deterministic(built, data, first))
    rec.quiet()
    return rec.findings


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """No downloads while a check builds a component: weights not on this machine are a skip, not 3 GB."""
    saved = {k: os.environ.get(k) for k in ("ZSBENCH_OFFLINE", "HF_HUB_OFFLINE")}
    os.environ.update({k: "1" for k in saved})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def declared_weights(entry: Entry) -> str:
    """The ``weights`` check: each file declared at ``register(..., weights=)`` has its pinned sha256.

    A packaged file (``package=``) must be in the installed package: absent, it failed (a wheel built
    without its package data), never skipped. A downloaded one (``url=``) is checked when it is in the
    weights folder and skipped, with fetch's message, when not (downloads are off here)."""
    from zsbench.plugin.weights import WeightsError, weights_dir

    failed: list[str] = []
    skipped: list[str] = []
    passed: list[str] = []
    for declared in entry.meta["weights"]:
        absent = declared.url is not None and not (weights_dir() / declared.file).is_file()
        try:
            declared.path(entry.name)
        except WeightsError as exc:
            (skipped if absent else failed).append(str(exc))
        else:
            where = f"package {declared.package}" if declared.package else "the weights folder"
            passed.append(f"{declared.file} in {where} matches its pin {declared.sha256[:12]}")
    if failed:
        raise CheckFailed("; ".join(failed))
    if skipped:
        raise CheckSkipped("; ".join(skipped))
    return "; ".join(passed)


def identity(entry: Entry, encoder: Any, options: Mapping[str, Any]) -> str:
    """``identity`` (and ``source``) as the core records them: plain JSON, no local paths."""
    from zsbench.core.identity import describe, short

    value = getattr(encoder, "identity", None)
    if not isinstance(value, Mapping):
        raise CheckFailed(
            f"identity is a {type(value).__name__}; give the encoder an identity dict naming its "
            "weights (by sha256), preprocessing and dtype"
        )
    try:
        described = describe(entry.name, entry.plugin, encoder, options)
    except ZsbenchError as exc:
        raise CheckFailed(str(exc)) from None
    return f"plain JSON, identity {short(described['identity_sha256'])}"


def embedding(encoder: Any, dataset: Any) -> np.ndarray:
    """Everything ``encoder.embed(dataset)`` yields, checked batch by batch, as one array."""
    batches: list[np.ndarray] = []
    for i, batch in enumerate(encoder.embed(dataset)):
        array = np.asarray(batch)
        if array.ndim != 2:
            raise CheckFailed(f"batch {i} has shape {array.shape}; yield 2-d (batch, dim) arrays")
        if array.dtype.kind != "f":
            raise CheckFailed(f"batch {i} is {array.dtype}; yield float arrays")
        if batches and array.shape[1] != batches[0].shape[1]:
            raise CheckFailed(
                f"batch {i} has {array.shape[1]} dims, batch 0 had {batches[0].shape[1]}; "
                "every row of a dataset has one length"
            )
        batches.append(array)
    rows = sum(len(b) for b in batches)
    if rows != len(dataset):
        raise CheckFailed(f"yielded {rows} rows for {len(dataset)} images; yield one row per image, in order")
    x = np.concatenate(batches)
    if x.shape[1] == 0:
        raise CheckFailed("yielded rows of 0 dims")
    bad = int((~np.isfinite(x).all(axis=1)).sum())
    if bad:
        raise CheckFailed(f"{bad} of {len(x)} rows hold NaN or Inf")
    return x


def deterministic(encoder: Any, dataset: Any, first: list[np.ndarray]) -> str:
    if not first:
        raise CheckSkipped("needs embed, which failed")
    again = embedding(encoder, dataset)
    if again.shape != first[0].shape:
        raise CheckFailed(f"embedding the same images twice gave shapes {first[0].shape} and {again.shape}")
    if not np.allclose(again, first[0], rtol=1e-5, atol=1e-6):
        raise CheckFailed(
            f"embedding the same images twice differs (by up to {np.max(np.abs(again - first[0])):.3g}); "
            "the cache assumes an encoder's identity fixes its output (eval mode, no dropout, seeded)"
        )
    return "the same rows twice"
