"""Every check of a distribution's plugins and components, each run once and only when asked for.

:class:`Suite` discovers the plugins as a run does and lists the cases; :func:`check_distribution` runs them
all into one list (:func:`~zsbench.testing.parametrize.parametrize_checks` makes them pytest cases)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass

from zsbench.core.catalog import KINDS, Catalog, Entry, build_catalog
from zsbench.core.isolation import reason
from zsbench.core.manager import ENV_LOAD_PLUGINS, PluginInfo, PluginSet, get_plugins
from zsbench.plugin.errors import ZsbenchError
from zsbench.testing.datasets import DATASET_CHECKS, check_dataset
from zsbench.testing.encoders import ENCODER_CHECKS, check_encoder
from zsbench.testing.estimators import CLUSTERER_CHECKS, REDUCER_CHECKS, check_clusterer, check_reducer
from zsbench.testing.executors import EXECUTOR_CHECKS, check_executor
from zsbench.testing.findings import DEFAULT_TIMEOUT_S, FAILED, SKIPPED, Finding, time_limit, within
from zsbench.testing.imports import check_lazy_imports, entry_points, normalise
from zsbench.testing.plugins import PLUGIN_CHECKS, plugin_findings
from zsbench.testing.subjects import component_name

# The checks of each kind, in the order they run: what pytest ids and tables show.
CHECKS: dict[str, tuple[str, ...]] = {
    "encoders": ENCODER_CHECKS,
    "datasets": DATASET_CHECKS,
    "reducers": REDUCER_CHECKS,
    "clusterers": CLUSTERER_CHECKS,
    "executors": EXECUTOR_CHECKS,
}
_BY_KIND: dict[str, Callable[..., list[Finding]]] = {
    "encoders": check_encoder,
    "datasets": check_dataset,
    "reducers": check_reducer,
    "clusterers": check_clusterer,
    "executors": check_executor,
}


def checks_of(entry: Entry) -> tuple[str, ...]:
    """The checks ``entry`` gets, in order: its kind's, less ``weights`` for an encoder declaring none."""
    if entry.kind == "encoders" and not entry.meta.get("weights"):
        return tuple(check for check in CHECKS[entry.kind] if check != "weights")
    return CHECKS[entry.kind]


def check_entry(entry: Entry, *, timeout: float | None = DEFAULT_TIMEOUT_S) -> list[Finding]:
    """Every check of a catalog entry's kind (``check_encoder`` for an encoder, ...), with default options;
    each check fails after ``timeout`` seconds (None: no limit)."""
    if entry.kind not in _BY_KIND:
        raise ZsbenchError(f"zsbench.testing has no checks for {entry.kind} ({entry.name!r})")
    return _BY_KIND[entry.kind](entry, timeout=timeout)


@dataclass(frozen=True)
class Case:
    """One check of one component: a pytest case."""

    component: str
    check: str

    @property
    def id(self) -> str:
        return f"{self.component}-{self.check}"


def distributions(*, timeout: float | None = DEFAULT_TIMEOUT_S) -> list[str]:
    """The distributions whose plugins are loaded (all installed ones, unless ZSBENCH_LOAD_PLUGINS narrows them)."""
    plugins, _ = discover(timeout)
    return sorted({info.distribution for info in plugins.infos.values()})


def discover(timeout: float | None = DEFAULT_TIMEOUT_S) -> tuple[PluginSet, Catalog]:
    """The plugins and their catalog, as a run finds them, within ``timeout`` seconds: a plugin whose
    import or register hook never returns is an error here, not a hang."""
    timeout = time_limit(timeout)

    def load() -> tuple[PluginSet, Catalog]:
        plugins = get_plugins()
        return plugins, build_catalog(plugins)

    outcome = within(load, timeout, name="zsbench-check discovery")
    if not outcome.done:
        raise ZsbenchError(
            f"loading the installed plugins took over {timeout:g} s: a plugin's import or register "
            f"hook does not return; load only the distribution to check with {ENV_LOAD_PLUGINS}=DIST"
        )
    if outcome.error is not None:
        raise outcome.error
    loaded: tuple[PluginSet, Catalog] = outcome.value  # load()'s value (within() is untyped in its value)
    return loaded


class Suite:
    """The checks of one distribution's plugins and components. Plugins are discovered as a run discovers
    them (entry points, plus objects registered with ``zsbench.registered``); ``where`` picks the entries
    to check. Each component's checks run once, when one of its findings is first asked for; each check
    fails after ``timeout`` seconds (None: no limit)."""

    def __init__(
        self,
        distribution: str,
        where: Callable[[Entry], bool] | None = None,
        *,
        timeout: float | None = DEFAULT_TIMEOUT_S,
    ) -> None:
        distribution = distribution_name(distribution)
        self.timeout = time_limit(timeout)
        plugins, catalog = discover(self.timeout)
        self.distribution = distribution
        infos = [i for i in plugins.infos.values() if normalise(i.distribution) == normalise(distribution)]
        if not infos:
            raise ZsbenchError(_not_found(distribution))
        self.cases: list[Case] = []
        self._runs: dict[str, Callable[[], list[Finding]]] = {}
        self._done: dict[str, list[Finding]] = {}
        self._lazy: dict[str, Finding] | None = None
        points = {p.component for p in entry_points(distribution)}
        for info in sorted(infos, key=lambda i: i.key):
            component = f"plugin:{info.key}"
            checks = PLUGIN_CHECKS if component in points else PLUGIN_CHECKS[:3]
            self._add(component, checks, functools.partial(self._plugin, info, catalog, component))
        for kind in KINDS:
            for name in sorted(catalog.entries[kind]):
                entry = catalog.entries[kind][name]
                if normalise(entry.distribution) == normalise(distribution) and (where is None or where(entry)):
                    self._add(
                        component_name(entry),
                        checks_of(entry),
                        functools.partial(check_entry, entry, timeout=self.timeout),
                    )

    def _add(self, component: str, checks: tuple[str, ...], run: Callable[[], list[Finding]]) -> None:
        self._runs[component] = run
        self.cases += [Case(component, check) for check in checks]

    @property
    def components(self) -> list[str]:
        return list(self._runs)

    def findings(self, component: str) -> list[Finding]:
        """The findings of one component (its checks run on the first call)."""
        if component not in self._done:
            try:
                self._done[component] = self._runs[component]()
            except Exception as exc:  # a defect of the kit or an odd plugin: said, not raised mid-suite
                self._done[component] = [Finding("checks", component, FAILED, f"the checks raised {reason(exc)}")]
        return self._done[component]

    def finding(self, case: Case) -> Finding:
        found = self.findings(case.component)
        return next(
            (f for f in found if f.check == case.check),
            next((f for f in found if f.check == "checks"), None)
            or Finding(case.check, case.component, FAILED, "the check did not run"),
        )

    def run(
        self, progress: Callable[[str], None] | None = None, done: Callable[[str, list[Finding]], None] | None = None
    ) -> list[Finding]:
        """Every finding, component by component (``progress`` is told each component before its checks,
        ``done`` each component and its findings after them)."""
        out: list[Finding] = []
        for component in self.components:
            if progress is not None:
                progress(component)
            found = self.findings(component)
            if done is not None:
                done(component, found)
            out += found
        return out

    def _plugin(self, info: PluginInfo, catalog: Catalog, component: str) -> list[Finding]:
        found = plugin_findings(info, catalog, component)
        wanted = any(c.component == component and c.check == "lazy-imports" for c in self.cases)
        if wanted and info.error:  # it did not load (a hung or exiting import among them): not loaded again
            found.append(Finding("lazy-imports", component, SKIPPED, "not loaded (see loads)"))
        elif wanted:
            if self._lazy is None:  # every entry point of the distribution at once, in parallel interpreters
                self._lazy = {f.component: f for f in check_lazy_imports(self.distribution, self.timeout)}
            found.append(
                self._lazy.get(component)
                or Finding("lazy-imports", component, FAILED, "its entry point was not found again")
            )
        return found


def distribution_name(distribution: object) -> str:
    """``distribution`` checked: a non-empty name (an API argument: a wrong one is a TypeError or ValueError)."""
    if not isinstance(distribution, str):
        raise TypeError(f"distribution must be a distribution's name (a str), got {type(distribution).__name__}")
    if not distribution.strip():
        raise ValueError(
            f"distribution is empty ({distribution!r}); name an installed distribution, e.g. "
            "check_distribution('my-plugin')"
        )
    return distribution


def _not_found(distribution: str) -> str:
    narrowed = os.environ.get(ENV_LOAD_PLUGINS)
    if narrowed is not None and normalise(distribution) not in {normalise(d) for d in narrowed.split(",")}:
        return (
            f"no plugin of distribution {distribution!r} is loaded: {ENV_LOAD_PLUGINS}={narrowed} leaves it "
            f"out; add it there"
        )
    return (
        f"no plugin of distribution {distribution!r} is loaded; is it installed, with a `zsbench` entry "
        f"point (pip show {distribution})? Loaded: {', '.join(distributions()) or 'none'}"
    )


def check_distribution(distribution: str, *, timeout: float | None = DEFAULT_TIMEOUT_S) -> list[Finding]:
    """Every check of every plugin and component of ``distribution`` (``-`` and ``_`` alike): that each
    plugin loads, registers unique names and imports nothing heavy, and that each component conforms.
    A check still running after ``timeout`` seconds (None: no limit) fails ("timed out") and is abandoned."""
    return Suite(distribution, timeout=timeout).run()
