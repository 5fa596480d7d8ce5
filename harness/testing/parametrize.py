"""The conformance checks as pytest cases: :func:`parametrize_checks`, one test per component and check."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from zsbench.core.catalog import Entry
from zsbench.testing.findings import DEFAULT_TIMEOUT_S
from zsbench.testing.suite import Suite


def parametrize_checks(
    distribution: str,
    *,
    where: Callable[[Entry], bool] | None = None,
    argname: str = "finding",
    timeout: float | None = DEFAULT_TIMEOUT_S,
    strict: bool = False,
) -> Callable[[Callable[..., Any]], Any]:
    """A pytest decorator: one test per (component, check) of ``distribution``, given the :class:`Finding`.

    ::

        from zsbench.testing import parametrize_checks

        @parametrize_checks("my-dist")
        def test_conformance(finding):
            assert finding.passed, finding.message

    Ids read ``clusterer:my-kmeans-deterministic``. A skipped finding (weights or data not on this
    machine) skips its test with the reason; with ``strict=True`` it fails the test instead (the test body
    is not run), for a CI machine that must have everything. ``where`` picks the entries to check
    (``where=lambda e: e.name != "huge-model"``). Checks run when the tests do, each component's once;
    each fails after ``timeout`` seconds (None: no limit).
    """
    import pytest

    suite = Suite(distribution, where, timeout=timeout)

    def decorate(test: Callable[..., Any]) -> Any:
        @functools.wraps(test)
        def run(*args: Any, **kwargs: Any) -> Any:
            finding = suite.finding(kwargs[argname])
            if finding.skipped:
                if strict:
                    pytest.fail(
                        f"strict: {finding.component} {finding.check} was skipped: {finding.message}", pytrace=False
                    )
                pytest.skip(f"{finding.component} {finding.check}: {finding.message}")
            kwargs[argname] = finding
            return test(*args, **kwargs)

        return pytest.mark.parametrize(argname, suite.cases, ids=[case.id for case in suite.cases])(run)

    return decorate
