"""The conformance kit: does a plugin's component do what the zsbench core relies on?

In the spirit of scikit-learn's ``check_estimator``. Each check gives a :class:`Finding` (passed,
failed or skipped, with a one-line message); a plugin's own test suite runs them in five lines::

    from zsbench.testing import parametrize_checks

    @parametrize_checks("my-dist")            # the plugin's distribution name
    def test_conformance(finding):
        assert finding.passed, finding.message

or on one component: ``check_clusterer(MyClusterer, "my-clusterer")``, ``check_encoder(entry)``,
``check_entry(entry)``. ``zsbench plugins --check [DIST]`` prints the same findings as a table.
Strict (``parametrize_checks(dist, strict=True)``, ``zsbench plugins --check --strict``,
``finding.ok(strict=True)``) counts a skipped check as failed: for a machine that must have everything.

What is checked: every plugin loads, its register hooks run, its names are unique (not even differing
from another's by case or whitespace only) and easy to type, and it imports no heavy library (torch,
scikit-learn, ...) until a component is built; every factory refuses options it does not declare;
encoders' declared weights files (``register(..., weights=)``) are there with their sha256 pins (a
packaged one absent fails, a downloaded one absent is skipped), their identities are plain JSON without
local paths and their embeddings one finite float row per image, the same twice; datasets' labels are
read without decoding images, ids are unique strings, images are PIL images, info is plain JSON;
reducers and clusterers, built as a run builds them, give the same output twice for a seed, honour k (a
declared ``k_param`` is one of their parameters), accept read-only memory maps and leave their input
alone, and a declared ``memory_bytes(n, d)`` is a finite, non-negative number of bytes growing with n;
building and using a component prints nothing to stdout; executors run tasks, return their errors, and
stop at once on ``close(cancel=True)``. Components whose weights, data or optional dependencies are not
on this machine are skipped, with the reason. Each check fails after a time limit (``timeout``, 60 s by
default; None: no limit) and the rest of that component's checks are skipped: a plugin that hangs cannot
hang the kit.

Importing this module imports neither pytest nor torch.
"""

from __future__ import annotations

from zsbench.testing.datasets import DATASET_CHECKS, check_dataset
from zsbench.testing.encoders import ENCODER_CHECKS, check_encoder
from zsbench.testing.estimators import CLUSTERER_CHECKS, REDUCER_CHECKS, check_clusterer, check_reducer
from zsbench.testing.executors import EXECUTOR_CHECKS, check_executor
from zsbench.testing.findings import DEFAULT_TIMEOUT_S, FAILED, PASSED, SKIPPED, Finding
from zsbench.testing.imports import HEAVY_MODULES, check_lazy_imports
from zsbench.testing.parametrize import parametrize_checks
from zsbench.testing.plugins import PLUGIN_CHECKS
from zsbench.testing.suite import (
    CHECKS,
    Case,
    Suite,
    check_distribution,
    check_entry,
    distributions,
)

__all__ = [
    "CHECKS",
    "CLUSTERER_CHECKS",
    "Case",
    "DATASET_CHECKS",
    "DEFAULT_TIMEOUT_S",
    "ENCODER_CHECKS",
    "EXECUTOR_CHECKS",
    "FAILED",
    "Finding",
    "HEAVY_MODULES",
    "PASSED",
    "PLUGIN_CHECKS",
    "REDUCER_CHECKS",
    "SKIPPED",
    "Suite",
    "check_clusterer",
    "check_dataset",
    "check_distribution",
    "check_encoder",
    "check_entry",
    "check_executor",
    "check_lazy_imports",
    "check_reducer",
    "distributions",
    "parametrize_checks",
]
