"""Plugin discovery: each entry point of the ``zsbench`` group is loaded in isolation.

pluggy keys plugins by name and silently drops a second plugin of the same name, so plugins
are keyed ``"{distribution}:{entry point}"``. A plugin that fails to import (whatever it raises, even
SystemExit), or implements a hook that does not exist, is recorded with its reason and left out;
the rest keep working. What ``zsbench plugins`` shows beside that is measured here too: how long each
entry point took to import, and the warnings pluggy raised when it was registered (a hook
deprecated with ``warn_on_impl``). Each plugin's code runs under :func:`zsbench.core.isolation.plugin_code`.

Which entry points load is :mod:`zsbench.core.selection`'s. A third-party import still going after
``ZSBENCH_PLUGIN_TIMEOUT`` seconds is named on stderr (it cannot be stopped in the program's own process);
the diagnostic commands try those plugins first in a child process under that limit
(:mod:`zsbench.core.probe`) and pass what hung or ended it here as ``refused``.
"""

from __future__ import annotations

import contextlib
import difflib
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace

import pluggy

from zsbench.core.inert import terminal
from zsbench.core.isolation import plugin_code, reason
from zsbench.core.selection import ENV_LOAD_PLUGINS as ENV_LOAD_PLUGINS  # where callers have found it
from zsbench.core.selection import (
    ENV_PLUGIN_TIMEOUT,
    Selection,
    is_builtin,
    nothing_usable,
    plugin_timeout,
    select,
)
from zsbench.plugin import hookspecs
from zsbench.plugin.errors import ZsbenchError

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
    selection: Selection = field(default_factory=Selection)  # what ZSBENCH_LOAD_PLUGINS let load

    @property
    def unmatched(self) -> list[str]:
        """Distributions named in ZSBENCH_LOAD_PLUGINS that have no `zsbench` entry point installed."""
        return self.selection.unmatched

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

    @property
    def selection_problem(self) -> str | None:
        """One line when ZSBENCH_LOAD_PLUGINS left no plugin that loaded, naming it; else None."""
        return nothing_usable(self.selection, [i.key for i in self.loaded], [i.key for i in self.failed])


def discover(refused: Mapping[str, str] | None = None) -> PluginSet:
    """Load every entry point of the ``zsbench`` group (narrowed by ``ZSBENCH_LOAD_PLUGINS``); those in
    ``refused`` (key -> why) are recorded as failed without being imported."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    plugins = PluginSet(pm, selection=select())
    limit: float | None = None
    for point in plugins.selection.points:
        key, dist, version, ep = point.key, point.distribution, point.version, point.entry_point
        if refused and key in refused:
            plugins.infos[key] = PluginInfo(key, dist, version, ep.value, error=refused[key])
            continue
        watch = None
        if not is_builtin(dist):
            limit = plugin_timeout() if limit is None else limit
            watch = _watch(key, limit)
        start = time.perf_counter()
        try:
            with plugin_code():  # a plugin calling sys.exit() at import must not end every command
                obj = ep.load()
        except Exception as exc:
            plugins.infos[key] = PluginInfo(
                key, dist, version, ep.value, error=reason(exc), import_seconds=time.perf_counter() - start
            )
            continue
        finally:
            if watch is not None:
                watch.cancel()
        plugins.add(obj, key, dist, version, ep.value, import_seconds=time.perf_counter() - start)
    return plugins


def _watch(key: str, limit: float | None) -> threading.Timer | None:
    """A timer naming ``key`` on stderr once its import has taken ``limit`` seconds: it cannot be stopped
    in this process, but the user learns which plugin it is and what to do."""
    if limit is None:
        return None

    def note() -> None:
        sys.stderr.write(
            terminal(
                f"zsbench: plugin {key} is still importing after {limit:g} s ({ENV_PLUGIN_TIMEOUT}); if it hangs, "
                f"stop zsbench (Ctrl-C) and leave its distribution out of {ENV_LOAD_PLUGINS}; `zsbench plugins` "
                "names it"
            )
            + "\n"
        )

    timer = threading.Timer(limit, note)
    timer.daemon = True
    timer.start()
    return timer


_current: PluginSet | None = None


def current_plugins(refused: Mapping[str, str] | None = None) -> PluginSet:
    """The process-wide plugin set, discovered on first use (then without ``refused``'s entry points),
    whatever ZSBENCH_LOAD_PLUGINS selected: for commands that show what was found."""
    global _current
    if _current is None:
        _current = discover(refused)
    return _current


def discovered() -> bool:
    """Whether the process-wide plugin set has been discovered (else the next use discovers it)."""
    return _current is not None


def get_plugins() -> PluginSet:
    """The process-wide plugin set, discovered on first use; a ZsbenchError naming ZSBENCH_LOAD_PLUGINS
    when it selected no plugin that loaded (else every name would be unknown, with no word of why)."""
    plugins = current_plugins()
    problem = plugins.selection_problem
    if problem is not None:
        raise ZsbenchError(problem)
    return plugins


def reset() -> None:
    """Forget discovered plugins (the next call to :func:`get_plugins` rediscovers)."""
    global _current
    _current = None


@contextlib.contextmanager
def registered(plugin: object, name: str = "local", distribution: str = "__main__") -> Iterator[str]:
    """Register a plugin object for the duration of a ``with`` block (notebooks, tests)."""
    plugins = current_plugins()  # into an empty selection too: it is then not empty
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
