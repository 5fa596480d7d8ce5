"""A generated torch encoder, released as its own CI releases it: built into a wheel, installed with zsbench's
wheel in a fresh venv without network, and taken through the steps of its .github/workflows/zsbench.yml,
whose run: scripts are executed as written (so the recipe cannot drift from the code). A wheel built
without its weights must fail the strict kit, naming them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from zsbench.cli.app import app

from .wheels import build_zsbench_wheel, fresh_venv, install_wheel, pip_install, user_env

NAME, DIST, MODULE = "release-demo", "zsbench-release-demo", "zsbench_release_demo"
WEIGHTS = f"{MODULE}/weights/release_demo.safetensors"
STEP_TIMEOUT_S = 300  # a step that hangs fails the test instead of the suite
# The workflow calls `pip`; the venv's pip comes from the outer site-packages and has no script of its own,
# so the venv gets one (else `pip` would be this environment's, installing outside the venv).
PIP_SCRIPT = """#!{python}
import sys
from pip._internal.cli.main import main
sys.exit(main())
"""


def workflow_steps(root: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The workflow's env and its steps' run: scripts by step id, as the generated file has them."""
    workflow = yaml.safe_load((root / ".github" / "workflows" / "zsbench.yml").read_text())
    steps = {step["id"]: step["run"] for step in workflow["jobs"]["zsbench"]["steps"] if "id" in step}
    return {k: str(v) for k, v in workflow["env"].items()}, steps


def run_step(name: str, script: str, root: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """One run: script as GitHub runs it under `shell: bash` (bash --noprofile --norc -eo pipefail)."""
    assert "${{" not in script, f"step {name} uses a GitHub expression; the test cannot run it as written"
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT_S,
    )


def shown(done: subprocess.CompletedProcess) -> str:
    return f"exit {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-3000:]}"


def workflow_venv(tmp_path: Path, workflow_env: dict[str, str], *dists: str) -> tuple[Path, dict[str, str]]:
    """A fresh venv with zsbench's wheel, and the environment the workflow's steps run in there: the
    workflow's own env, with the two values GitHub computes replaced (zsbench from its local wheel, and
    numba's cache where this machine already keeps it: the venv uses this environment's umap, so its
    kernels are not compiled again from cold for this test), no network, and only ``dists`` loaded."""
    zsbench_wheel = build_zsbench_wheel(tmp_path / "wheels")
    python = fresh_venv(tmp_path / "venv")
    bin_dir, venv = python.parent, python.parent.parent
    (bin_dir / "pip").write_text(PIP_SCRIPT.format(python=python))
    (bin_dir / "pip").chmod(0o755)
    computed = {key for key, value in workflow_env.items() if "${{" in value}
    assert computed == {"ZSBENCH_REQUIREMENT", "NUMBA_CACHE_DIR"}, computed
    env = {key: value for key, value in {**user_env(tmp_path), **workflow_env}.items() if key not in computed}
    env.pop("PYTEST_ADDOPTS", None)
    if os.environ.get("NUMBA_CACHE_DIR"):
        env["NUMBA_CACHE_DIR"] = os.environ["NUMBA_CACHE_DIR"]
    env.update(
        {
            "ZSBENCH_REQUIREMENT": f"zsbench[torch] @ {zsbench_wheel.as_uri()}",
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "VIRTUAL_ENV": str(venv),
            "ZSBENCH_LOAD_PLUGINS": ",".join(("zsbench", *dists)),
            "HF_HUB_OFFLINE": "1",
            "ZSBENCH_OFFLINE": "1",
            "ZSBENCH_STORE": str(tmp_path / "store" / "results.sqlite"),
            "ZSBENCH_CACHE": str(tmp_path / "cache"),
            # no network: pip builds with this environment's setuptools (PIP_NO_BUILD_ISOLATION=0 is pip's
            # spelling of --no-build-isolation) and installs from files only
            "PIP_NO_INDEX": "1",
            "PIP_NO_BUILD_ISOLATION": "0",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
    )
    install_wheel(python, zsbench_wheel)
    return python, env


def build_and_install(python: Path, root: Path, dist: Path, env: dict[str, str]) -> Path:
    """The package at ``root`` built into a wheel in ``dist`` and installed in the venv; the wheel's path."""
    built = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            str(root),
            "-w",
            str(dist),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT_S,
    )
    assert built.returncode == 0, shown(built)
    (wheel,) = dist.glob("*.whl")
    pip_install(python, str(wheel), env=env)  # its dependencies checked: zsbench's wheel, torch and the rest here
    return wheel


@pytest.mark.long
def test_a_generated_torch_encoder_passes_its_own_ci_from_its_wheel_and_a_wheel_without_weights_fails(tmp_path):
    start, timings = time.perf_counter(), {}

    def lap(label: str) -> None:
        timings[label] = time.perf_counter() - start - sum(timings.values())

    result = CliRunner().invoke(app, ["new-plugin", NAME, "--dir", str(tmp_path / "src")])  # torch-encoder
    assert result.exit_code == 0, result.output
    root = tmp_path / "src" / DIST
    # the same package without its package-data lines, copied before anything was built in it (a stale
    # build/ folder would carry the weights into the wheel)
    bare = tmp_path / "bare" / DIST
    shutil.copytree(root, bare)
    pyproject = (bare / "pyproject.toml").read_text()
    stripped = re.sub(r"\n\[tool\.setuptools\.package-data\]\n(?:#.*\n)*.*\n", "\n", pyproject)
    assert "[tool.setuptools.package-data]" in pyproject
    assert "[tool.setuptools.package-data]" not in stripped and "*.safetensors" not in stripped
    (bare / "pyproject.toml").write_text(stripped)
    workflow_env, steps = workflow_steps(root)

    python, env = workflow_venv(tmp_path, workflow_env, DIST)
    bin_dir, venv = python.parent, python.parent.parent
    lap("zsbench wheel and venv")
    wheel = build_and_install(python, root, tmp_path / "dist", env)
    assert WEIGHTS in zipfile.ZipFile(wheel).namelist()
    where = subprocess.run(
        [str(python), "-c", "import zsbench, zsbench_release_demo as m; print(zsbench.__file__); print(m.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert where.returncode == 0 and all(line.startswith(str(venv)) for line in where.stdout.split()), shown(where)
    for command in ("python", "pip", "zsbench"):  # the steps' bare commands must be the venv's, never this one's
        found = shutil.which(command, path=env["PATH"])
        assert found and Path(found).parent == bin_dir, f"{command} resolves to {found}, not the venv's"
    lap("package wheel and install")

    for step in ("tests", "kit", "baseline", "verify", "check"):
        done = run_step(step, steps[step], root, env)
        assert done.returncode == 0, f"workflow step {step}: {shown(done)}"
        lap(step)
        if step == "tests":  # pytest's last line: "N passed in ...", nothing failed, skipped or in error
            verdict = done.stdout.strip().splitlines()[-1]
            assert " passed" in verdict and not re.search(r"failed|skipped|error|xfail", verdict), done.stdout
        if step == "kit":
            assert "weights" in done.stdout and "0 failed, 0 skipped" in done.stdout, done.stdout
    assert (root / "zsbench" / "baseline.json").is_file() and (root / "zsbench" / "baseline.labels.npz").is_file()
    summary = (root / "zsbench-summary.md").read_text()
    junit = (root / "zsbench-junit.xml").read_text()
    assert NAME in summary and 'failures="0"' in junit and "<testcase" in junit

    # The failure that matters: the workflow's wheel step, on the package without its package data, builds
    # a wheel that lacks the weights; the strict kit on that installed wheel fails, naming them.
    failed = run_step("wheel", steps["wheel"], bare, env)
    lap("wheel without weights")
    (bare_wheel,) = (bare / "dist").glob("*.whl")
    assert WEIGHTS not in zipfile.ZipFile(bare_wheel).namelist()
    assert failed.returncode == 1, f"a wheel without its weights passed the kit: {shown(failed)}"
    out = " ".join((failed.stdout + failed.stderr).split())
    assert re.search(r"weights\s*│\s*failed", failed.stdout), failed.stdout
    assert "release_demo.safetensors" in out and "package data" in out, out
    print(
        "scaffold release:",
        ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()),
        f"total {time.perf_counter() - start:.1f} s",
        file=sys.stderr,
    )


@pytest.mark.long
def test_every_other_kind_installs_from_its_wheel_and_passes_its_own_ci(tmp_path):
    """The numpy encoder, dataset and clusterer kinds: each package's wheel installed beside zsbench's in one
    fresh venv, its workflow's tests and strict kit run as written; the numpy encoder's baseline recipe and
    check too (the dataset and clusterer kinds register the same encoder)."""
    from zsbench.cli.scaffold import Kind

    packages = {}
    for kind in (Kind.numpy_encoder, Kind.dataset, Kind.clusterer):
        name = f"kind-{kind.value}"
        result = CliRunner().invoke(app, ["new-plugin", name, "--dir", str(tmp_path / "src"), "--kind", kind.value])
        assert result.exit_code == 0, result.output
        packages[kind] = tmp_path / "src" / f"zsbench-{name}"
    workflow_env, _ = workflow_steps(packages[Kind.numpy_encoder])
    python, env = workflow_venv(tmp_path, workflow_env, *(root.name for root in packages.values()))
    for kind, root in packages.items():
        wheel = build_and_install(python, root, tmp_path / "dist" / kind.value, env)
        assert wheel.name.startswith(root.name.replace("-", "_"))
    for kind, root in packages.items():
        _, steps = workflow_steps(root)
        wanted = ("tests", "kit", "baseline", "verify", "check") if kind is Kind.numpy_encoder else ("tests", "kit")
        for step in wanted:
            done = run_step(step, steps[step], root, env)
            assert done.returncode == 0, f"{kind.value}: workflow step {step}: {shown(done)}"
            if step == "kit":
                assert "0 failed, 0 skipped" in done.stdout, done.stdout
    assert 'failures="0"' in (packages[Kind.numpy_encoder] / "zsbench-junit.xml").read_text()
