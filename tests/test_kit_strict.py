"""The kit's ``weights`` check (each file declared at ``register(..., weights=)`` is there with its pin) and
strict mode (a skipped check counts as failed) in ``Finding.ok``, ``parametrize_checks`` and
``zsbench plugins --check --strict``."""

from __future__ import annotations

import hashlib
import os
import types

import pytest
from typer.testing import CliRunner

import zsbench
from zsbench.cli.app import app
from zsbench.plugin import WeightsFile
from zsbench.testing import ENCODER_CHECKS, Case, Finding, check_distribution, check_encoder, parametrize_checks

from .helpers import MeanStd

CONTENT = b"published weights"
GOOD = hashlib.sha256(CONTENT).hexdigest()
URL = "https://example.org/models/w.safetensors"
DIST = "zsb-weighed"


@pytest.fixture
def package(weights_package):
    return weights_package  # conftest's: a package holding w.safetensors, CONTENT


@pytest.fixture
def weights_folder(tmp_path, monkeypatch):
    folder = tmp_path / "weights"
    folder.mkdir()
    monkeypatch.setenv("ZSBENCH_WEIGHTS_DIR", str(folder))
    monkeypatch.delenv("ZSBENCH_OFFLINE", raising=False)  # the kit turns downloads off itself
    return folder


def encoder_with(*declared: WeightsFile, reads: bool = False):
    """A factory of the mean-std encoder; ``reads``: it opens its weights, as a real one does."""

    def mean_std():
        if reads:
            for weights in declared:
                weights.path("pinned")
        return MeanStd()

    return mean_std


def plugin(*declared: WeightsFile, reads: bool = False, other: tuple[WeightsFile, ...] = ()):
    """Encoders "pinned", declaring ``declared``, and "other", declaring ``other`` (none by default)."""

    @zsbench.hookimpl
    def register_encoders(register):
        register("pinned", encoder_with(*declared, reads=reads), weights=list(declared))
        register("other", encoder_with(), weights=other)

    return types.SimpleNamespace(register_encoders=register_encoders)


def weights_finding(*declared: WeightsFile, reads: bool = False) -> Finding:
    found = {f.check: f for f in check_encoder(encoder_with(*declared, reads=reads), "pinned", weights=declared)}
    return found["weights"]


# -- the weights check ---------------------------------------------------------------------------------


def test_a_packaged_file_with_its_pin_passes_after_create(package):
    name, _ = package
    findings = check_encoder(
        encoder_with(reads=True), "pinned", weights=WeightsFile("w.safetensors", GOOD, package=name)
    )
    assert [f.check for f in findings] == list(ENCODER_CHECKS)
    assert all(f.status == "passed" for f in findings), [str(f) for f in findings]
    assert f"w.safetensors in package {name} matches its pin {GOOD[:12]}" in findings[2].message


def test_a_wheel_built_without_its_packaged_weights_fails_naming_the_package_and_the_fix(package):
    name, folder = package
    (folder / "w.safetensors").unlink()
    declared = WeightsFile("w.safetensors", GOOD, package=name)
    found = {f.check: f for f in check_encoder(encoder_with(declared, reads=True), "pinned", weights=declared)}
    weights = found["weights"]
    assert weights.failed and not weights.ok(strict=False)  # failed, never skipped: a packaging bug
    assert f"w.safetensors is not in the installed package {name}" in weights.message
    assert f'[tool.setuptools.package-data] {name} = ["w.safetensors"]' in weights.message
    assert found["create"].skipped  # the factory's own WeightsError reads as "not on this machine"...


def test_a_packaged_file_of_another_sha256_fails(package):
    name, folder = package
    (folder / "w.safetensors").write_bytes(b"retrained")
    finding = weights_finding(WeightsFile("w.safetensors", GOOD, package=name))
    assert finding.failed and f"expected {GOOD[:16]}... (its pin)" in finding.message


def test_a_downloaded_file_absent_here_is_skipped_with_fetchs_message_and_nothing_is_downloaded(weights_folder):
    finding = weights_finding(WeightsFile("w.safetensors", GOOD, url=URL))
    assert finding.skipped and finding.ok() and not finding.ok(strict=True)
    assert "weights not found at" in finding.message and "downloads are off" in finding.message
    assert not (weights_folder / "w.safetensors").exists() and "ZSBENCH_OFFLINE" not in os.environ


def test_a_downloaded_file_present_here_is_checked_against_its_pin(weights_folder):
    (weights_folder / "w.safetensors").write_bytes(CONTENT)
    assert weights_finding(WeightsFile("w.safetensors", GOOD, url=URL)).status == "passed"
    wrong = weights_finding(WeightsFile("w.safetensors", "0" * 64, url=URL))
    assert wrong.failed and "expected 0000000000000000..." in wrong.message


def test_the_worst_of_several_files_decides_and_every_problem_is_said(package, weights_folder):
    name, _ = package
    skipped = WeightsFile("absent.bin", GOOD, url=URL)
    fine = WeightsFile("w.safetensors", GOOD, package=name)
    assert weights_finding(fine, skipped).skipped
    broken = weights_finding(fine, skipped, WeightsFile("gone.bin", GOOD, package=name))
    assert broken.failed and "gone.bin is not in the installed package" in broken.message


def test_an_encoder_declaring_nothing_gets_no_weights_finding():
    assert "weights" not in [f.check for f in check_encoder(encoder_with(), "plain")]


# -- strict --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, ok, strict_ok", [("passed", True, True), ("skipped", True, False), ("failed", False, False)]
)
def test_strict_counts_a_skipped_finding_as_failed(status, ok, strict_ok):
    finding = Finding("weights", "encoder:x", status, "...")
    assert (finding.ok(), finding.ok(strict=False), finding.ok(strict=True)) == (ok, ok, strict_ok)


def test_the_suite_has_a_weights_case_only_for_an_encoder_that_declares_weights(weights_folder):
    with zsbench.registered(plugin(WeightsFile("w.safetensors", GOOD, url=URL)), name="p", distribution=DIST):
        findings = check_distribution(DIST)
    checks = {(f.component, f.check): f.status for f in findings}
    assert checks[("encoder:pinned", "weights")] == "skipped"
    assert ("encoder:other", "weights") not in checks and ("encoder:other", "embed") in checks
    assert not [k for k, status in checks.items() if status == "failed"]


def test_parametrize_checks_strict_fails_a_skipped_check_and_runs_a_passed_one(weights_folder):
    seen = []

    def test(finding):
        seen.append(finding.check)

    with zsbench.registered(plugin(WeightsFile("w.safetensors", GOOD, url=URL)), name="p", distribution=DIST):
        lenient, strict = parametrize_checks(DIST)(test), parametrize_checks(DIST, strict=True)(test)
        cases = strict.pytestmark[0].args[1]
        assert Case("encoder:pinned", "weights") in cases and Case("encoder:other", "weights") not in cases
        # BaseException: a skip where a failure is due (or the reverse) must fail this test, not skip it
        with pytest.raises(BaseException, match="downloads are off") as skipped:
            lenient(finding=Case("encoder:pinned", "weights"))
        with pytest.raises(BaseException, match="strict: encoder:pinned weights was skipped: .*downloads") as failed:
            strict(finding=Case("encoder:pinned", "weights"))
        assert (skipped.type, failed.type) == (pytest.skip.Exception, pytest.fail.Exception)
        strict(finding=Case("encoder:pinned", "embed"))
    assert seen == ["embed"]


def test_check_strict_exits_1_on_a_skipped_check_and_names_it(weights_folder, package):
    name, _ = package
    with zsbench.registered(plugin(WeightsFile("w.safetensors", GOOD, url=URL)), name="p", distribution=DIST):
        lenient = CliRunner().invoke(app, ["plugins", "--check", DIST])
        strict = CliRunner().invoke(app, ["plugins", "--check", "--strict", DIST])
    assert lenient.exit_code == 0 and "all passed" in lenient.output, lenient.output
    assert strict.exit_code == 1, strict.output
    flat = " ".join(strict.output.split())
    assert (
        "strict: 1 skipped check counts as a failure (16 checks of 3 components: 15 passed, 0 failed, 1 skipped): "
        "encoder:pinned weights"
    ) in flat
    assert "failed encoder:pinned: 6 passed, 1 skipped (weights; strict: failed)" in flat  # said when its checks end
    (weights_folder / "w.safetensors").write_bytes(CONTENT)  # every check can run now: strict passes
    with zsbench.registered(plugin(WeightsFile("w.safetensors", GOOD, url=URL)), name="p", distribution=DIST):
        strict = CliRunner().invoke(app, ["plugins", "--check", "--strict", DIST])
    assert strict.exit_code == 0 and "all passed" in strict.output and "strict:" not in strict.output
    gone = WeightsFile("gone.bin", GOOD, package=name)  # a packaged file absent fails, strict or not
    absent = (WeightsFile("v.bin", GOOD, url=URL), WeightsFile("u.bin", GOOD, url=URL))
    with zsbench.registered(plugin(gone, absent[0], other=absent), name="p", distribution=DIST):
        lenient = CliRunner().invoke(app, ["plugins", "--check", DIST])
        strict = CliRunner().invoke(app, ["plugins", "--check", "--strict", DIST])
    assert lenient.exit_code == 1 and "strict:" not in lenient.output
    assert "1 failed (17 checks of 3 components: 15 passed, 1 failed, 1 skipped)" in " ".join(lenient.output.split())
    assert strict.exit_code == 1
    assert (
        "1 failed (17 checks of 3 components: 15 passed, 1 failed, 1 skipped); strict: 1 skipped check counts "
        "as a failure too: encoder:other weights"
    ) in " ".join(strict.output.split())


def test_strict_without_check_still_only_judges_loading():
    with zsbench.registered(plugin(WeightsFile("w.safetensors", GOOD, url=URL)), name="p", distribution=DIST):
        result = CliRunner().invoke(app, ["plugins", "--strict"])
    assert result.exit_code == 0, result.output
    assert "zsbench plugins" in result.output and "checks of" not in result.output
