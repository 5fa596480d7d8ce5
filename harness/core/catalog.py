"""Components by kind and name, collected from the plugins' ``register_*`` hooks."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from zsbench.core.manager import PluginSet, get_plugins, plugin_code, reason
from zsbench.plugin.errors import DuplicateComponentError, UnknownComponentError, ZsbenchError
from zsbench.plugin.protocols import METADATA

KINDS: dict[str, str] = {
    "encoders": "register_encoders",
    "datasets": "register_datasets",
    "reducers": "register_reducers",
    "clusterers": "register_clusterers",
    "executors": "register_executors",
}


@dataclass(frozen=True)
class Entry:
    kind: str
    name: str
    factory: Callable[[], Any]
    plugin: str
    distribution: str
    version: str
    description: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_family(self) -> bool:
        """A name ending in "/" or ":" is a family: ``timm/`` serves ``timm/<any model>``."""
        return self.name.endswith(("/", ":"))

    def member(self, name: str) -> Entry:
        """The concrete entry for ``name`` in this family; its factory gets the rest of the name."""
        rest = name[len(self.name):]
        factory = functools.partial(self.factory, rest)
        return dataclasses.replace(self, name=name, factory=factory)

    def check_options(self, options: Mapping[str, Any]) -> None:
        """Refuse, before any work, options the factory has no parameter for."""
        if not options:
            return
        try:
            accepted = inspect.signature(self.factory).parameters
        except (TypeError, ValueError):  # a builtin or C factory: its own call will say
            return
        takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
        unknown = sorted(set(options) - set(accepted)) if not takes_any else []
        if unknown:
            raise ZsbenchError(
                f"{self.kind[:-1]} {self.name!r} does not accept option(s) {', '.join(unknown)}"
                f"; it accepts: {', '.join(accepted) or 'none'}")

    def create(self, **options: Any) -> Any:
        self.check_options(options)
        try:
            with plugin_code():  # SystemExit or a KeyboardInterrupt from a factory is its failure too
                built = self.factory(**options)
        except ZsbenchError:
            raise
        except Exception as exc:
            raise ZsbenchError(
                f"{self.kind.rstrip('s')} {self.name!r} (plugin {self.plugin}) failed to build: {reason(exc)}"
            ) from exc
        _remember(built, self)
        return built

    @property
    def provenance(self) -> dict[str, str]:
        return {"name": self.name, "plugin": self.plugin,
                "distribution": self.distribution, "version": self.version}


# What built each live object, so a failure inside one (an encoder's embed) can name its plugin.
# Keyed by id with a weak reference: objects need not be hashable, and are not kept alive.
_origins: dict[int, tuple[weakref.ref, Entry]] = {}


def _remember(obj: Any, entry: Entry) -> None:
    key = id(obj)
    try:
        # the dict is bound now: at interpreter exit module globals may already be None
        ref = weakref.ref(obj, lambda _ref, origins=_origins: origins.pop(key, None))
    except TypeError:  # not weak-referenceable (None, ints, __slots__ classes): left unnamed
        return
    _origins[key] = (ref, entry)


def origin(obj: Any) -> Entry | None:
    """The entry whose factory built ``obj`` (while ``obj`` is alive), else None."""
    found = _origins.get(id(obj))
    return found[1] if found is not None and found[0]() is obj else None


# The distribution of the built-in plugins: their names cannot be taken over by another plugin.
BUILTIN_DISTRIBUTION = "zsbench"


@dataclass
class Catalog:
    entries: dict[str, dict[str, Entry]]
    hook_errors: dict[str, str]  # plugin key -> why its register hook failed
    # (kind, name) -> the plugins that all registered it; such a name cannot be used
    conflicts: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # (kind, name) of a built-in -> the other plugins that registered it too, and were left out
    refused: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def names(self, kind: str) -> list[str]:
        return sorted(self.entries[kind])

    def get(self, kind: str, name: str) -> Entry:
        if (kind, name) in self.conflicts:
            raise DuplicateComponentError(self.conflict_message(kind, name))
        entries = self.entries[kind]
        if name in entries and not entries[name].is_family:
            return entries[name]
        if name in entries:
            raise ZsbenchError(f"{name} is a family of {kind}: name one member, "
                               f"{entries[name].description}")
        families = [e for e in entries.values() if e.is_family and name.startswith(e.name)
                    and len(name) > len(e.name)]
        if families:
            return max(families, key=lambda e: len(e.name)).member(name)
        raise UnknownComponentError(kind, name, entries)

    def conflict_message(self, kind: str, name: str) -> str:
        owners = " and ".join(sorted(self.conflicts[(kind, name)]))
        return (f"{kind[:-1]} {name!r} is registered by both {owners}; uninstall one, or narrow "
                "loading with ZSBENCH_LOAD_PLUGINS")

    def refusal_messages(self) -> list[str]:
        """One line per plugin left out of a built-in's name."""
        return [f"plugin {key} registers {kind[:-1]} {name!r}, a built-in name; rename it"
                for (kind, name), keys in sorted(self.refused.items()) for key in sorted(keys)]

    def with_options(self, kind: str, text: str, given: Mapping[str, Any] | None = None,
                     given_as: str = "options", precheck: Callable[[Mapping[str, Any]], None] | None = None
                     ) -> tuple[Entry, dict[str, Any]]:
        """``"raw-pixels:size=16"`` -> its entry and options, merged with ``given`` (e.g. ``--weights``);
        an option set both ways, or one the factory does not take, is an error before any work.
        Without ``=`` after the ``:`` the whole text is a name (a family member such as ``csv:<file>``)."""
        name, options = parse_spec(text) if "=" in text.partition(":")[2] else (text, {})
        twice = sorted(set(options) & set(given or {}))
        if twice:
            raise ZsbenchError(f"{text}: option(s) {', '.join(twice)} given twice, in the name and as "
                               f"{given_as}; give each once")
        entry = self.get(kind, name)
        options = {**(given or {}), **options}
        if precheck is not None:  # e.g. a weights file that is not there: said before "does not accept"
            precheck(options)
        entry.check_options(options)
        return entry, options


def build_catalog(plugins: PluginSet | None = None) -> Catalog:
    """Call every plugin's register hooks, one plugin at a time so each entry knows its origin."""
    plugins = plugins or get_plugins()
    entries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}
    hook_errors: dict[str, str] = {}
    conflicts: dict[tuple[str, str], list[str]] = {}
    refused: dict[tuple[str, str], list[str]] = {}
    claims: dict[tuple[str, str], list[Entry]] = {}  # every registration of each name, then resolved
    for kind, hook_name in KINDS.items():
        for impl in getattr(plugins.pm.hook, hook_name).get_hookimpls():
            key = impl.plugin_name
            dist, version = plugins.distribution_of(key)
            found: dict[str, Entry] = {}

            def register(name: str, factory: Callable[..., Any], *, description: str = "", gpu: bool = False,
                         memory_bytes: Callable[[int, int], float] | None = None, k_param: str | None = None,
                         group: str | None = None, _found=found, _key=key, _dist=dist, _ver=version,
                         _kind=kind) -> None:
                # the signature of zsbench.plugin.Register: a misspelt keyword is a TypeError of the hook
                if not isinstance(name, str) or not name or not callable(factory):
                    raise TypeError(f"register({name!r}, ...) needs a non-empty name and a callable")
                given = {"gpu": gpu, "memory_bytes": memory_bytes, "k_param": k_param, "group": group}
                meta = {k: v for k, v in given.items() if v not in (None, False)}
                for keyword in meta:
                    if _kind not in METADATA[keyword]:
                        raise TypeError(f"register({name!r}, ..., {keyword}=...): {keyword} applies to "
                                        f"{' and '.join(METADATA[keyword])}, not {_kind}")
                if memory_bytes is not None and not callable(memory_bytes):
                    raise TypeError(f"register({name!r}, ..., memory_bytes=...) takes a function f(n, d) -> bytes")
                if k_param is not None and not (isinstance(k_param, str) and k_param.isidentifier()):
                    raise TypeError(f"register({name!r}, ..., k_param={k_param!r}) takes a parameter name")
                if name in _found:
                    raise DuplicateComponentError(
                        f"plugin {_key} registers {_kind[:-1]} {name!r} twice")
                _found[name] = Entry(_kind, name, factory, _key, _dist, _ver, str(description),
                                     MappingProxyType(meta))

            register.__qualname__ = "register"  # a TypeError names register(), not build_catalog.<locals>...
            try:
                with plugin_code():  # SystemExit, or a KeyboardInterrupt the hook raises, is its failure
                    impl.function(register=register)
            except Exception as exc:
                problem = f"{hook_name} raised {reason(exc)}"  # each failing hook of a plugin is named
                hook_errors[key] = f"{hook_errors[key]}; {problem}" if key in hook_errors else problem
                continue
            for name, entry in found.items():
                claims.setdefault((kind, name), []).append(entry)
    for (kind, name), claimants in claims.items():
        builtins = [e for e in claimants if e.distribution == BUILTIN_DISTRIBUTION]
        if len(builtins) == 1:  # a built-in name is the built-in's: another plugin cannot take it over
            entries[kind][name] = builtins[0]
            if len(claimants) > 1:
                refused[(kind, name)] = [e.plugin for e in claimants if e is not builtins[0]]
        elif len(claimants) > 1:
            # Neither wins: a silent choice would make results depend on install order.
            conflicts[(kind, name)] = [e.plugin for e in claimants]
        else:
            entries[kind][name] = claimants[0]
    return Catalog(entries, hook_errors, conflicts, refused)


MAX_OPTION_CHARS = 1000
MAX_OPTION_DEPTH = 16


def _nesting(text: str) -> int:
    """The deepest bracket nesting in ``text`` (quotes not considered: an over-estimate is safe)."""
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest


def parse_spec(text: str) -> tuple[str, dict[str, Any]]:
    """``"pca:n_components=0.9,whiten=False"`` -> ``("pca", {"n_components": 0.9, "whiten": False})``."""
    import ast

    name, _, rest = text.strip().partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, raw = item.partition("=")
        if not eq or not key.strip():
            raise ZsbenchError(
                f"cannot read option {item!r} in {text!r}; write NAME:key=value,key=value")
        raw = raw.strip()
        # literal_eval recurses per nesting level: a huge or deeply nested value is a
        # MemoryError / RecursionError, so it is refused before parsing, without echoing it
        depth = max(_nesting(raw), len(raw) - len(raw.lstrip("-+~")))
        if len(raw) > MAX_OPTION_CHARS or depth > MAX_OPTION_DEPTH:
            raise ZsbenchError(
                f"option {key.strip()[:40]!r} of {name.strip()[:40]!r} is {len(raw):,} characters "
                f"nested {depth} deep; values are at most {MAX_OPTION_CHARS} characters and "
                f"{MAX_OPTION_DEPTH} levels")
        try:
            params[key.strip()] = ast.literal_eval(raw)
        except (ValueError, SyntaxError, RecursionError, MemoryError):
            params[key.strip()] = raw  # a bare word such as linkage=average
    return name.strip(), params
