"""Plugin discovery: each entry point of the ``zsbench`` group is loaded in isolation.

pluggy keys plugins by name and silently drops a second plugin of the same name, so plugins
are keyed ``"{distribution}:{entry point}"``. A plugin that fails to import, or implements a hook
that does not exist, is recorded with its reason and left out; the rest keep working.
"""

from __future__ import annotations

import contextlib
import difflib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata

import pluggy

from zsbench import hookspecs

ENV_LOAD_PLUGINS = "ZSBENCH_LOAD_PLUGINS"


@dataclass(frozen=True)
class PluginInfo:
    key: str
    distribution: str
    version: str
    source: str  # "module:attr" of the entry point, or "<registered>" for objects added in code
    hooks: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


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

    def add(self, plugin: object, key: str, distribution: str, version: str, source: str) -> None:
        """Register one plugin object; on any problem record it as failed instead."""
        try:
            self.pm.register(plugin, name=key)
        except Exception as exc:  # pluggy validates argument names against the specs
            self.infos[key] = PluginInfo(key, distribution, version, source, error=_reason(exc))
            return
        unknown = [c.name for c in self.pm.get_hookcallers(plugin) or [] if not c.has_spec()]
        if unknown:
            self.pm.unregister(plugin)
            known = [n for n in dir(hookspecs) if n.startswith("register_")]
            parts = []
            for name in unknown:
                hint = difflib.get_close_matches(name, known, n=1)
                parts.append(f"{name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
            error = "implements unknown hook " + ", ".join(parts)
            self.infos[key] = PluginInfo(key, distribution, version, source, error=error)
            return
        hooks = tuple(sorted(c.name for c in self.pm.get_hookcallers(plugin) or []))
        self.infos[key] = PluginInfo(key, distribution, version, source, hooks=hooks)

    def remove(self, key: str) -> None:
        if self.pm.has_plugin(key):
            self.pm.unregister(name=key)
        self.infos.pop(key, None)

    def distribution_of(self, key: str) -> tuple[str, str]:
        info = self.infos[key]
        return info.distribution, info.version


def _reason(exc: BaseException) -> str:
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return f"{type(exc).__name__}: {text}".rstrip(": ")


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
    for ep in metadata.entry_points(group=hookspecs.PROJECT):
        dist = ep.dist.name if ep.dist is not None else "unknown"
        version = ep.dist.version if ep.dist is not None else "unknown"
        seen.add(_normalise(dist))
        if allowed is not None and _normalise(dist) not in allowed:
            continue
        key = f"{dist}:{ep.name}"
        if key in plugins.infos:  # the same distribution seen twice on sys.path: first wins
            continue
        try:
            obj = ep.load()
        except Exception as exc:
            plugins.infos[key] = PluginInfo(key, dist, version, ep.value, error=_reason(exc))
            continue
        plugins.add(obj, key, dist, version, ep.value)
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
    from zsbench.errors import ZsbenchError

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
