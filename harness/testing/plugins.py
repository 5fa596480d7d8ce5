"""The checks of a plugin itself: it loads, its register hooks run, and its names are unique and easy to type.

:func:`plugin_findings` gives the first three of :data:`PLUGIN_CHECKS` for one loaded plugin; the fourth,
``lazy-imports``, runs every entry point of a distribution at once
(:func:`~zsbench.testing.imports.check_lazy_imports`).
"""

from __future__ import annotations

import unicodedata

from zsbench.core.catalog import KINDS, Catalog
from zsbench.core.manager import PluginInfo
from zsbench.testing.findings import FAILED, PASSED, SKIPPED, Finding

PLUGIN_CHECKS = ("loads", "register", "unique-names", "lazy-imports")


def plugin_findings(info: PluginInfo, catalog: Catalog, component: str) -> list[Finding]:
    """The ``loads``, ``register`` and ``unique-names`` findings of plugin ``info``, as ``component``."""
    loads = Finding(
        "loads",
        component,
        FAILED if info.error else PASSED,
        info.error or f"hooks: {', '.join(info.hooks) or 'none'}",
    )
    hook_error = catalog.hook_errors.get(info.key)  # e.g. a name the core refuses: nothing of that hook is kept
    register = (
        Finding("register", component, SKIPPED, "not loaded (see loads)")
        if info.error
        else Finding("register", component, FAILED, hook_error)
        if hook_error
        else Finding("register", component, PASSED, "its register hooks ran")
    )
    lost = [
        f"{kind[:-1]} {name!r} is left unusable (also registered by {', '.join(k for k in keys if k != info.key)})"
        for (kind, name), keys in sorted(catalog.conflicts.items())
        if info.key in keys
    ]
    lost += [
        f"{kind[:-1]} {name!r} is left unusable (a built-in name)"
        for (kind, name), keys in sorted(getattr(catalog, "refused", {}).items())
        if info.key in keys
    ]
    lost += name_problems(catalog, info.key)
    unique = Finding(
        "unique-names",
        component,
        FAILED if lost else PASSED,
        f"{'; '.join(lost)}; rename them" if lost else "no name clashes",
    )
    return [loads, register, unique]


def squashed(name: str) -> str:
    """A name as a person reads it: case and whitespace ignored."""
    return "".join(name.split()).casefold()


def odd_characters(name: str) -> str | None:
    """What makes ``name`` hard to type on a command line, or None."""
    if any(ch.isspace() for ch in name):
        return "whitespace"
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        return "a control character"
    odd = sorted({ch for ch in name if ord(ch) > 127})
    return f"non-ASCII characters ({''.join(odd)})" if odd else None


def name_problems(catalog: Catalog, key: str) -> list[str]:
    """The names plugin ``key`` registered that are hard to type, or that differ from another installed
    component's name of the same kind only by case or whitespace (``KMeans`` next to ``kmeans``)."""
    problems = []
    for kind in KINDS:
        for name, entry in sorted(catalog.entries[kind].items()):
            if entry.plugin != key:
                continue
            if (odd := odd_characters(name)) is not None:
                problems.append(f"{kind[:-1]} {name!r} has {odd}")
            twins = [other for other in catalog.entries[kind] if other != name and squashed(other) == squashed(name)]
            if twins:
                owner = catalog.entries[kind][twins[0]].plugin
                problems.append(
                    f"{kind[:-1]} {name!r} differs from {twins[0]!r} (plugin {owner}) only by case or whitespace"
                )
    return problems
