"""The whole plugin contract of zsbench.

A plugin is a module (or any object) with functions marked ``@zsbench.hookimpl`` whose names are
the hooks below. It is found through an entry point in the ``zsbench`` group. Every hook receives a
``register`` callback::

    register(name, factory, description="...", **meta)

``factory`` is called (with the user's keyword options, if any) only when the component is used, so
heavy imports (torch, scikit-learn, umap) belong inside it: listing plugins never imports them, and
``zsbench plugins`` warns about a plugin whose import takes over half a second. The keywords of
``register`` are typed (:class:`zsbench.plugin.Register`): a misspelt one fails the hook, and
``zsbench plugins`` names the plugin and the reason.
"""

from __future__ import annotations

import pluggy

from zsbench.plugin.protocols import Register  # typing only, so light: typing.get_type_hints() resolves it

PROJECT = "zsbench"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_encoders(register: Register) -> None:
    """Register image encoders.

    The factory returns an object with ``identity`` (a plain-JSON dict naming weights by their
    sha256, preprocessing and dtype: everything that changes the embedding; never a local path),
    optionally ``source`` (a plain-JSON dict of where the weights came from: URL, file name;
    recorded but not hashed) and ``embed(dataset) -> Iterator[np.ndarray]`` yielding float
    (batch, dim) arrays in dataset order. An identity that is not plain JSON (a ``Path``, a tensor)
    or holds a local path is an error naming the plugin. Factories may accept keyword options;
    ``--weights PATH`` passes ``weights=PATH``; options naming files count by their content.
    :class:`zsbench.plugin.torch.TorchEncoder` implements ``embed`` for torch networks.
    """


@hookspec
def register_datasets(register: Register) -> None:
    """Register evaluation datasets.

    The factory returns a sequence of images: ``len(ds)``, ``ds[i]`` (a ``PIL.Image.Image``),
    ``ds.labels`` (a 1-d array, one label per image, read without decoding images), ``ds.info``
    (a JSON-able dict: source, split rule as ``"split"``, class count, group) and, preferably,
    ``ds.ids`` (one stable identifier per sample, hashed into the run's fingerprint). Factories
    may accept ``data_dir`` and ``download`` keyword options (``--data-dir``, ``--download``);
    :mod:`zsbench.plugin.datasets` has helpers for both and for the missing-data error.
    """


@hookspec
def register_reducers(register: Register) -> None:
    """Register dimensionality reducers.

    The factory returns a scikit-learn transformer: ``fit_transform(X)``, ``get_params()``,
    ``set_params()``. If it has a ``random_state`` parameter the protocol sets it to the seed.
    """


@hookspec
def register_clusterers(register: Register) -> None:
    """Register clusterers.

    The factory returns a scikit-learn clusterer: ``fit_predict(X)``, ``get_params()``,
    ``set_params()``; label -1 means noise. The protocol sets ``n_clusters`` (or the parameter named
    by ``register(..., k_param="n_components")``) to the number of true classes when the estimator
    has that parameter and its value is not None (None declares "finds k itself"), and
    ``random_state`` to the seed when it has that parameter.
    """


@hookspec
def register_executors(register: Register) -> None:
    """Register executors: where the stages of a grid run.

    The factory returns an object implementing :class:`zsbench.plugin.Executor`, the whole contract
    (the core reads nothing else from it):

    - ``submit(fn, *args, resources=None) -> future``: runs ``fn(*args)`` somewhere; ``future.result()``
      returns its value or raises its exception. ``fn`` and ``args`` are picklable; tasks exchange
      arrays through the artifact cache, never through ``args``. ``resources`` (e.g. ``{"GPU": 1}``)
      is a hint an executor may ignore.
    - ``as_completed(futures)``: yields the futures as they finish.
    - ``close(cancel=False)``: waits for running tasks; ``cancel=True`` (on Ctrl-C or an error) drops
      queued ones and stops at once. A ``close()`` without ``cancel`` is called as ``close()``.
    - optional ``runs_embedding`` (True to receive embedding tasks too; otherwise embedding stays in
      the calling process). Nothing else is read: no ``name``, no ``in_process``, no ``describe()``.

    The factory receives the keyword options of ``--executor NAME:key=value``; one with a parameter
    named ``workers`` also receives ``$ZSBENCH_WORKERS`` (``--workers``) unless given explicitly.
    """
