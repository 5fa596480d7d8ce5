"""The lazy-imports check: loading a plugin and calling its register hooks imports no heavy library.

``zsbench plugins``, ``zsbench list`` and every run import every plugin, so torch and friends belong
inside factories. Each entry point is loaded in a fresh interpreter (its own ``python -c``), as
discovery loads it, and its hooks are called with a register that keeps nothing; the heavy modules
that appeared in ``sys.modules`` are the finding.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata

from zsbench.core.catalog import KINDS
from zsbench.plugin.hookspecs import PROJECT
from zsbench.testing.findings import DEFAULT_TIMEOUT_S, FAILED, PASSED, SKIPPED, Finding, one_line, time_limit

# Top-level packages no plugin may import at load time (each costs seconds, or hundreds of MB).
HEAVY_MODULES = (
    "torch",
    "torchvision",
    "timm",
    "open_clip",
    "sklearn",
    "umap",
    "numba",
    "hdbscan",
    "dask",
    "distributed",
    "tensorflow",
    "jax",
    "transformers",
)
STARTUP_S = 15.0  # a fresh interpreter importing zsbench: added to the check's time limit

_SCRIPT = """
import importlib.metadata as md, json, sys
group, dist, name, hooks, heavy = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(","), sys.argv[5]
norm = lambda s: s.strip().lower().replace("_", "-").replace(".", "-")
found = [ep for ep in md.entry_points(group=group)
         if ep.name == name and ep.dist is not None and norm(ep.dist.name) == norm(dist)]
before = {m.split(".")[0] for m in sys.modules}
error = None
try:
    plugin = found[0].load()
    for hook in hooks:
        function = getattr(plugin, hook, None)
        if callable(function):
            function(register=lambda *args, **kwargs: None)
except BaseException as exc:
    error = f"{type(exc).__name__}: {exc}"
now = {m.split(".")[0] for m in sys.modules}
print(json.dumps({"error": error, "heavy": sorted((now - before) & set(heavy.split(",")))}))
"""


def normalise(distribution: str) -> str:
    """A distribution's name as packaging compares them: case, ``-``, ``_`` and ``.`` alike."""
    return distribution.strip().lower().replace("_", "-").replace(".", "-")


@dataclass(frozen=True)
class EntryPoint:
    distribution: str  # as installed
    name: str

    @property
    def component(self) -> str:
        return f"plugin:{self.distribution}:{self.name}"


def entry_points(distribution: str) -> list[EntryPoint]:
    """The ``zsbench`` entry points of an installed distribution (first on sys.path wins, as in discovery)."""
    found: dict[str, EntryPoint] = {}
    for ep in metadata.entry_points(group=PROJECT):
        if ep.dist is not None and normalise(ep.dist.name) == normalise(distribution):
            found.setdefault(ep.name, EntryPoint(ep.dist.name, ep.name))
    return list(found.values())


def check_lazy_imports(distribution: str, timeout: float | None = DEFAULT_TIMEOUT_S) -> list[Finding]:
    """One ``lazy-imports`` finding per entry point of ``distribution`` (each loaded in its own
    interpreter, all at once; one still loading after ``timeout`` seconds plus its start-up fails)."""
    timeout = time_limit(timeout)
    limit = None if timeout is None else timeout + STARTUP_S
    points = entry_points(distribution)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # what this process sees
    hooks = ",".join(KINDS.values())
    running = [
        (
            point,
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _SCRIPT,
                    PROJECT,
                    point.distribution,
                    point.name,
                    hooks,
                    ",".join(HEAVY_MODULES),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            ),
        )
        for point in points
    ]
    return [_finding(point, process, limit) for point, process in running]


def _finding(point: EntryPoint, process: subprocess.Popen[str], limit: float | None) -> Finding:
    def found(status: str, message: str) -> Finding:
        return Finding("lazy-imports", point.component, status, one_line(message))

    try:
        out, err = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return found(FAILED, f"timed out after {limit:g} s: loading it and calling its hooks did not finish")
    try:
        result = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return found(
            FAILED,
            f"the interpreter loading it ended with code {process.returncode}: "
            f"{err.strip().splitlines()[-1] if err.strip() else 'no output'}",
        )
    if result["heavy"]:
        return found(
            FAILED,
            f"loading it and calling its register hooks imports {', '.join(result['heavy'])}; "
            "import them inside factories, so listing plugins stays fast",
        )
    if result["error"]:
        return found(SKIPPED, f"it does not load: {result['error']}")
    return found(PASSED, "loading it and calling its hooks imports no heavy library")
