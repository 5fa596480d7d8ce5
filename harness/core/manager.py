"""Plugin discovery: each entry point of the ``zsbench`` group is loaded in isolation.

pluggy keys plugins by name and silently drops a second plugin of the same name, so plugins
are keyed ``"{distribution}:{entry point}"``. A plugin that fails to import (whatever it raises, even
SystemExit), or implements a hook that does not exist, is recorded with its reason and left out;
the rest keep working. What ``zsbench plugins`` shows beside that is measured here too: how long each
entry point took to import, and the warnings pluggy raised when it was registered (a hook
deprecated with ``warn_on_impl``). Each plugin's code runs under :func:`zsbench.core.isolation.plugin_code`.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from importlib import metadata

import pluggy

from zsbench.core.isolation import plugin_code, reason
from zsbench.plugin import hookspecs

ENV_LOAD_PLUGINS = "ZSBENCH_LOAD_PLUGINS"
# a plugin slower than this to import and register is named by `zsbench plugins`: every command pays it
SLOW_IMPORT_SECONDS = 0.5


@dataclass(frozen=True)
class PluginInfo:
    key: str
    distribution: str
    version: str
    source: str  # "module:attr" of the entry point, or "<registered>" for objects added in code
    hooks: tuple[str, ...] = ()
    error: str | None = None
    import_seconds: float = 0.0  # loading the entry point (0 for objects registered in code)
    warnings: tuple[str, ...] = ()  # raised while registering it: deprecated hooks or arguments

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def slow(self) -> bool:
        return self.import_seconds > SLOW_IMPORT_SECONDS


@dataclass
class PluginSet:
    """A pluggy manager plus what was found, loaded and rejected."""

    pm: pluggy.PluginManager
    infos: dict[str, PluginInfo] = field(default_factory=dict)
    # distributions named in ZSBENCH_LOAD_PLUGINS that have no `zsbench` entry point installed
    unmatched: list[str] = field(default_factory=list)

    @property
    def loaded(self) -> list[PluginInfo]:
        return [i for i in self.infos.values() if i.ok]

    @property
    def failed(self) -> list[PluginInfo]:
        return [i for i in self.infos.values() if not i.ok]

    def add(
        self, plugin: object, key: str, distribution: str, version: str, source: str, import_seconds: float = 0.0
    ) -> None:
        """Register one plugin object; on any problem record it as failed instead."""
        info = PluginInfo(key, distribution, version, source, import_seconds=import_seconds)
        try:
            # pluggy warns here about a hook (or argument) its spec deprecates (warn_on_impl): keep
            # each with the plugin that caused it, for `zsbench plugins`
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self.pm.register(plugin, name=key)
        except Exception as exc:  # pluggy validates argument names against the specs
            self.infos[key] = replace(info, error=reason(exc))
            return
        info = replace(info, warnings=tuple(f"{w.category.__name__}: {w.message}" for w in caught))
        unknown = [c.name for c in self.pm.get_hookcallers(plugin) or [] if not c.has_spec()]
        if unknown:
            self.pm.unregister(plugin)
            known = [n for n in dir(hookspecs) if n.startswith("register_")]
            parts = []
            for name in unknown:
                hint = difflib.get_close_matches(name, known, n=1)
                parts.append(f"{name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
            self.infos[key] = replace(info, error="implements unknown hook " + ", ".join(parts))
            return
        hooks = tuple(sorted(c.name for c in self.pm.get_hookcallers(plugin) or []))
        self.infos[key] = replace(info, hooks=hooks)

    def remove(self, key: str) -> None:
        if self.pm.has_plugin(key):
            self.pm.unregister(name=key)
        self.infos.pop(key, None)

    def distribution_of(self, key: str) -> tuple[str, str]:
        info = self.infos[key]
        return info.distribution, info.version


def _allowed_distributions() -> set[str] | None:
    raw = os.environ.get(ENV_LOAD_PLUGINS)
    if raw is None:
        return None
    return {_normalise(d) for d in raw.split(",") if d.strip()}


def _normalise(dist: str) -> str:
    return dist.strip().lower().replace("_", "-").replace(".", "-")


def discover() -> PluginSet:
    """Load every entry point of the ``zsbench`` group (narrowed by ``ZSBENCH_LOAD_PLUGINS``)."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    plugins = PluginSet(pm)
    allowed = _allowed_distributions()
    seen: set[str] = set()
    named: dict[int, tuple[str, str]] = {}  # each read of a name or version parses the METADATA file again
    for ep in metadata.entry_points(group=hookspecs.PROJECT):
        if ep.dist is None:
            dist, version = "unknown", "unknown"
        else:
            if id(ep.dist) not in named:
                meta = ep.dist.metadata
                named[id(ep.dist)] = (meta["Name"], meta["Version"])
            dist, version = named[id(ep.dist)]
        seen.add(_normalise(dist))
        if allowed is not None and _normalise(dist) not in allowed:
            continue
        key = f"{dist}:{ep.name}"
        if key in plugins.infos:  # the same distribution seen twice on sys.path: first wins
            continue
        start = time.perf_counter()
        try:
            with plugin_code():  # a plugin calling sys.exit() at import must not end every command
                obj = ep.load()
        except Exception as exc:
            plugins.infos[key] = PluginInfo(
                key, dist, version, ep.value, error=reason(exc), import_seconds=time.perf_counter() - start
            )
            continue
        plugins.add(obj, key, dist, version, ep.value, import_seconds=time.perf_counter() - start)
    plugins.unmatched = sorted((allowed or set()) - seen)
    return plugins


_current: PluginSet | None = None


def get_plugins() -> PluginSet:
    """The process-wide plugin set, discovered on first use."""
    global _current
    if _current is None:
        _current = discover()
    return _current


def reset() -> None:
    """Forget discovered plugins (the next call to :func:`get_plugins` rediscovers)."""
    global _current
    _current = None


@contextlib.contextmanager
def registered(plugin: object, name: str = "local", distribution: str = "__main__") -> Iterator[str]:
    """Register a plugin object for the duration of a ``with`` block (notebooks, tests)."""
    from zsbench.plugin.errors import ZsbenchError

    plugins = get_plugins()
    key = f"{distribution}:{name}"
    if key in plugins.infos:
        raise ZsbenchError(f"a plugin named {key} is already registered; pass another name=")
    plugins.add(plugin, key, distribution, "0", "<registered>")
    if not plugins.infos[key].ok:
        error = plugins.infos.pop(key).error
        raise ZsbenchError(f"plugin {key} could not be registered: {error}")
    try:
        yield key
    finally:
        plugins.remove(key)
