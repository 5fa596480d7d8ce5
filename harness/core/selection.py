"""Which installed plugins load, and how long one may take: the environment that steers discovery.

``ZSBENCH_LOAD_PLUGINS`` narrows discovery to the distributions it names (comma-separated, compared as
pip compares names); when it leaves no plugin that loads, :func:`nothing_usable` says so in one line
naming it, instead of every component name being unknown with no word of why. ``ZSBENCH_PLUGIN_TIMEOUT``
bounds one third-party plugin's import (and each of its register hooks) in the diagnostic commands
(:mod:`zsbench.core.probe`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from importlib import metadata

from zsbench.core.names import shown
from zsbench.plugin import hookspecs
from zsbench.plugin.errors import ZsbenchError

ENV_LOAD_PLUGINS = "ZSBENCH_LOAD_PLUGINS"
ENV_PLUGIN_TIMEOUT = "ZSBENCH_PLUGIN_TIMEOUT"
DEFAULT_PLUGIN_TIMEOUT_S = 60.0
MAX_PLUGIN_TIMEOUT_S = 86400.0
BUILTIN = "zsbench"  # the distribution of the built-in plugins: trusted, never tried in a child process


def normalise(dist: str) -> str:
    """A distribution's name as pip compares them: case, ``-``, ``_`` and ``.`` alike."""
    return dist.strip().lower().replace("_", "-").replace(".", "-")


def is_builtin(distribution: str) -> bool:
    return normalise(distribution) == BUILTIN


def plugin_timeout() -> float | None:
    """ZSBENCH_PLUGIN_TIMEOUT in seconds (default 60; None when it is 0: no limit); one line naming it when
    it is not a number of seconds."""
    raw = os.environ.get(ENV_PLUGIN_TIMEOUT, "")
    if not raw.strip():
        return DEFAULT_PLUGIN_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if value == 0:
        return None
    if not 0 < value <= MAX_PLUGIN_TIMEOUT_S:  # nan and inf too
        raise ZsbenchError(
            f"{ENV_PLUGIN_TIMEOUT}={shown(raw, 40)!r} is not a number of seconds from 0 to {MAX_PLUGIN_TIMEOUT_S:g}; "
            f"set it to how long one plugin may take to load (default {DEFAULT_PLUGIN_TIMEOUT_S:g}; 0: no limit), "
            "or unset it"
        )
    return value


@dataclass(frozen=True)
class Selected:
    """An entry point that discovery loads, keyed ``"{distribution}:{entry point}"``."""

    key: str
    distribution: str
    version: str
    entry_point: metadata.EntryPoint


@dataclass
class Selection:
    """What ZSBENCH_LOAD_PLUGINS lets load, and what it was measured against."""

    points: list[Selected] = field(default_factory=list)
    raw: str | None = None  # ZSBENCH_LOAD_PLUGINS as found (None: not set, everything loads)
    installed: list[str] = field(default_factory=list)  # distributions with a `zsbench` entry point
    unmatched: list[str] = field(default_factory=list)  # names in it that no such distribution has


def select() -> Selection:
    """The entry points of the ``zsbench`` group that ZSBENCH_LOAD_PLUGINS lets load, in discovery's order;
    the same distribution twice on sys.path: the first wins."""
    raw = os.environ.get(ENV_LOAD_PLUGINS)
    allowed = None if raw is None else {normalise(d) for d in raw.split(",") if d.strip()}
    seen: dict[str, str] = {}  # normalised name -> name, of every distribution with an entry point
    named: dict[int, tuple[str, str]] = {}  # each read of a name or version parses the METADATA file again
    found: dict[str, Selected] = {}
    for ep in metadata.entry_points(group=hookspecs.PROJECT):
        if ep.dist is None:
            dist, version = "unknown", "unknown"
        else:
            if id(ep.dist) not in named:
                meta = ep.dist.metadata
                named[id(ep.dist)] = (meta["Name"], meta["Version"])
            dist, version = named[id(ep.dist)]
        seen.setdefault(normalise(dist), dist)
        if allowed is not None and normalise(dist) not in allowed:
            continue
        key = f"{dist}:{ep.name}"
        found.setdefault(key, Selected(key, dist, version, ep))
    installed = sorted(seen.values(), key=normalise)
    return Selection(list(found.values()), raw, installed, sorted((allowed or set()) - set(seen)))


def nothing_usable(selection: Selection, loaded: list[str], failed: list[str]) -> str | None:
    """One line when ZSBENCH_LOAD_PLUGINS is set and left no plugin that loaded (``loaded`` and ``failed``
    are plugin keys): what it holds, what it selected, and what to do; None otherwise."""
    if selection.raw is None or loaded:
        return None
    if failed:
        chosen = f"only plugins that failed to load ({', '.join(sorted(failed))}; see `zsbench plugins`)"
    elif selection.unmatched:
        more = ", ..." if len(selection.unmatched) > 5 else ""
        names = ", ".join(shown(n, 60) for n in selection.unmatched[:5]) + more
        chosen = f"no plugin: no installed distribution named {names} has a `zsbench` entry point"
    else:
        chosen = "no plugin: it names no distribution"
    installed = ", ".join(selection.installed[:10]) + (", ..." if len(selection.installed) > 10 else "")
    return (
        f"{ENV_LOAD_PLUGINS}={shown(selection.raw, 80)!r} selects {chosen}; unset it to load every installed "
        f"plugin, or set it to installed plugin distributions, comma-separated ({installed or 'none is installed'})"
    )
