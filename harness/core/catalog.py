"""Components by kind and name, collected from the plugins' ``register_*`` hooks."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from zsbench.core.isolation import plugin_code, reason
from zsbench.core.manager import PluginSet, get_plugins
from zsbench.core.names import builtin_clash, shown
from zsbench.core.names import parse_spec as parse_spec  # where callers have always found it
from zsbench.core.registration import check_registration
from zsbench.core.unicode_names import hidden_char
from zsbench.plugin.errors import DuplicateComponentError, UnknownComponentError, ZsbenchError

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
    factory: Callable[..., Any]  # a family's takes the rest of the name; a concrete entry's, nothing
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
        rest = name[len(self.name) :]
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
                f"{self.kind[:-1]} {self.name!r} does not accept option(s) "
                f"{', '.join(shown(k, 40) for k in unknown[:5])}{', ...' if len(unknown) > 5 else ''}"
                f"; it accepts: {', '.join(accepted) or 'none'}"
            )

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
        return {"name": self.name, "plugin": self.plugin, "distribution": self.distribution, "version": self.version}


# What built each live object, so a failure inside one (an encoder's embed) can name its plugin.
# Keyed by id with a weak reference: objects need not be hashable, and are not kept alive.
_origins: dict[int, tuple[weakref.ref, Entry]] = {}


def _remember(obj: Any, entry: Entry) -> None:
    key = id(obj)
    try:
        # the dict is bound now: at interpreter exit module globals may already be None
        def forget(_ref: object, origins: dict[int, tuple[weakref.ref, Entry]] = _origins) -> None:
            origins.pop(key, None)

        ref = weakref.ref(obj, forget)
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
    # (kind, name) a third party registered that is a built-in's (or inside a built-in's namespace,
    # see names.builtin_clash) -> the plugins that registered it, and were left out
    refused: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    hook_seconds: dict[str, float] = field(default_factory=dict)  # plugin key -> time in its register hooks

    def names(self, kind: str) -> list[str]:
        return sorted(self.entries[kind])

    def get(self, kind: str, name: str) -> Entry:
        if (kind, name) in self.conflicts:
            raise DuplicateComponentError(self.conflict_message(kind, name))
        entries = self.entries[kind]
        if name in entries and not entries[name].is_family:
            return entries[name]
        if name in entries:
            raise ZsbenchError(f"{name} is a family of {kind}: name one member, {entries[name].description}")
        families = [e for e in entries.values() if e.is_family and name.startswith(e.name) and len(name) > len(e.name)]
        if families:
            # a member's name is free text (timm/<model>): it names a board's row, so it must be visible text
            hidden = hidden_char(name)
            if hidden is not None:
                raise ZsbenchError(f"{kind[:-1]} {ascii(name)} holds {hidden}; a name is visible text: remove it")
            return max(families, key=lambda e: len(e.name)).member(name)
        raise UnknownComponentError(kind, name, entries)

    def conflict_message(self, kind: str, name: str) -> str:
        owners = " and ".join(sorted(self.conflicts[(kind, name)]))
        return (
            f"{kind[:-1]} {name!r} is registered by both {owners}; uninstall one, or narrow "
            "loading with ZSBENCH_LOAD_PLUGINS"
        )

    def refusal_messages(self) -> list[str]:
        """One line per plugin left out of a built-in's name."""
        messages = []
        for (kind, name), keys in sorted(self.refused.items()):
            builtins = [n for n, e in self.entries[kind].items() if e.distribution == BUILTIN_DISTRIBUTION]
            why = builtin_clash(name, builtins) or "a built-in name"
            messages += [f"plugin {key} registers {kind[:-1]} {name!r}, {why}; rename it" for key in sorted(keys)]
        return messages

    def with_options(
        self,
        kind: str,
        text: str,
        given: Mapping[str, Any] | None = None,
        given_as: str = "options",
        precheck: Callable[[Mapping[str, Any], str | None], None] | None = None,
    ) -> tuple[Entry, dict[str, Any]]:
        """``"raw-pixels:size=16"`` -> its entry and options, merged with ``given`` (e.g. ``--weights``);
        an option set both ways, or one the factory does not take, is an error before any work.
        Without ``=`` after the ``:`` the whole text is a name (a family member such as ``csv:<file>``).
        ``precheck(options, name)`` sees the ``given`` options with ``name`` None, then those of the
        text with its component name, so a message can say how the option was given."""
        name, options = parse_spec(text) if "=" in text.partition(":")[2] else (text, {})
        twice = sorted(set(options) & set(given or {}))
        if twice:
            raise ZsbenchError(
                f"{shown(text)}: option(s) {', '.join(twice)} given twice, in the name and as "
                f"{given_as}; give each once"
            )
        entry = self.get(kind, name)
        if precheck is not None:  # e.g. a weights file that is not there: said before "does not accept"
            precheck(dict(given or {}), None)
            precheck(options, entry.name)
        options = {**(given or {}), **options}
        entry.check_options(options)
        return entry, options


def build_catalog(plugins: PluginSet | None = None) -> Catalog:
    """Call every plugin's register hooks, one plugin at a time so each entry knows its origin."""
    plugins = plugins or get_plugins()
    hook_errors: dict[str, str] = {}
    hook_seconds: dict[str, float] = {}
    claims: dict[tuple[str, str], list[Entry]] = {}  # every registration of each casefolded name
    for kind, hook_name in KINDS.items():
        for impl in getattr(plugins.pm.hook, hook_name).get_hookimpls():
            key = impl.plugin_name
            dist, version = plugins.distribution_of(key)
            found: dict[str, Entry] = {}  # by casefolded name: Foo and foo are one name

            def register(
                name: str,
                factory: Callable[..., Any],
                *,
                description: str = "",
                gpu: bool = False,
                memory_bytes: Callable[[int, int], float] | None = None,
                k_param: str | None = None,
                group: str | None = None,
                weights: Any = None,
                _found=found,
                _key=key,
                _dist=dist,
                _ver=version,
                _kind=kind,
            ) -> None:
                # the signature of zsbench.plugin.Register: a misspelt keyword is a TypeError of the hook
                meta = check_registration(
                    _kind,
                    name,
                    factory,
                    gpu=gpu,
                    memory_bytes=memory_bytes,
                    k_param=k_param,
                    group=group,
                    weights=weights,
                )
                if name.casefold() in _found:
                    raise DuplicateComponentError(
                        f"plugin {_key} registers {_kind[:-1]} {name!r} twice (names are compared ignoring case)"
                    )
                _found[name.casefold()] = Entry(
                    _kind, name, factory, _key, _dist, _ver, str(description), MappingProxyType(meta)
                )

            register.__qualname__ = "register"  # a TypeError names register(), not build_catalog.<locals>...
            start = time.perf_counter()
            try:
                with plugin_code():  # SystemExit, or a KeyboardInterrupt the hook raises, is its failure
                    impl.function(register=register)
            except Exception as exc:
                problem = f"{hook_name} raised {reason(exc)}"  # each failing hook of a plugin is named
                hook_errors[key] = f"{hook_errors[key]}; {problem}" if key in hook_errors else problem
                continue
            finally:  # every command pays for the hooks, as for the import: `zsbench plugins` says so
                hook_seconds[key] = hook_seconds.get(key, 0.0) + time.perf_counter() - start
            for folded, entry in found.items():
                claims.setdefault((kind, folded), []).append(entry)
    entries, conflicts, refused = _resolve(claims)
    return Catalog(entries, hook_errors, conflicts, refused, hook_seconds)


def _resolve(
    claims: dict[tuple[str, str], list[Entry]],
) -> tuple[dict[str, dict[str, Entry]], dict[tuple[str, str], list[str]], dict[tuple[str, str], list[str]]]:
    """Who gets each name: a built-in keeps its own and its namespace (third parties there are
    refused); a name two third parties claim is nobody's, whatever the install order."""
    entries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}
    conflicts: dict[tuple[str, str], list[str]] = {}
    refused: dict[tuple[str, str], list[str]] = {}
    builtin_names = {
        kind: [
            e.name for (k, _), es in claims.items() if k == kind for e in es if e.distribution == BUILTIN_DISTRIBUTION
        ]
        for kind in KINDS
    }
    for (kind, _), claimants in claims.items():
        builtins = [e for e in claimants if e.distribution == BUILTIN_DISTRIBUTION]
        others = [e for e in claimants if e.distribution != BUILTIN_DISTRIBUTION]
        for entry in others:
            if builtins or builtin_clash(entry.name, builtin_names[kind]):
                refused.setdefault((kind, entry.name), []).append(entry.plugin)
        others = [e for e in others if (kind, e.name) not in refused]
        if len(builtins) == 1:
            entries[kind][builtins[0].name] = builtins[0]
        elif len(builtins) + len(others) > 1:
            # Neither wins: a silent choice would make results depend on install order.
            for entry in builtins + others:
                conflicts[(kind, entry.name)] = sorted(e.plugin for e in builtins + others)
        elif others:
            entries[kind][others[0].name] = others[0]
    return entries, conflicts, refused
