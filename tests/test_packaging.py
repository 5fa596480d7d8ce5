"""zsbench as released: the sdist and wheel are complete and valid, the wheel works on its own in a
fresh environment (the README's quickstart), the version has one value everywhere, and the release
workflow checks what it must before it publishes.

The wheel is built once per session (tests/wheels.py, a few seconds); the venv tests take about
15 s on 2 cores, most of it the quickstart's UMAP fit.
"""

from __future__ import annotations

import ast
import email
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.wheels import REPO, build_zsbench_dists, fresh_venv, install_wheel, source_files, user_env

WORKFLOW = REPO / ".github" / "workflows" / "release.yml"


def source_version() -> str:
    """The literal in harness/__init__.py, read as setuptools reads it (statically, no import)."""
    tree = ast.parse((REPO / "harness" / "__init__.py").read_text())
    values = [
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__version__" for t in node.targets)
    ]
    assert len(values) == 1 and isinstance(values[0], str), "__version__ must be one plain string literal"
    return values[0]


def wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(z.read(name))


def packaged_name(source: str) -> str | None:
    """Where a file of harness/ or plugins/ lands in the wheel (setuptools' package-dir mapping)."""
    if source.startswith("harness/"):
        return "zsbench/" + source.removeprefix("harness/")
    if source.startswith("plugins/"):
        return "zsbench/plugins/" + source.removeprefix("plugins/")
    return None


# --- the archives --------------------------------------------------------------------------------


def test_the_wheel_carries_every_file_of_the_packages_and_nothing_else():
    dists = build_zsbench_dists()
    with zipfile.ZipFile(dists.wheel) as z:
        names = set(z.namelist())
    expected = {packaged_name(f) for f in source_files()} - {None}
    data = {n for n in expected if not n.endswith(".py")}
    # what zsbench reads at run time through importlib.resources: if these were absent, the check
    # below would prove nothing about package-data
    assert {
        "zsbench/py.typed",
        "zsbench/core/protocols/standard-1.toml",
        "zsbench/core/schemas/record-2.schema.json",
        "zsbench/cli/template/pyproject.toml.tmpl",
    } <= data
    missing = sorted(expected - names)
    assert not missing, f"source files missing from the wheel (packages or package-data in pyproject.toml): {missing}"
    tops = {n.split("/")[0] for n in names}
    assert tops == {"zsbench", f"zsbench-{source_version()}.dist-info"}, tops
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".sqlite"))]


def test_package_data_takes_every_file_under_template_including_sub_folders(tmp_path):
    """zsbench new-plugin's templates may live in sub-folders, need not end in .tmpl and may be
    dotfiles or sit in dot-folders (a generated package's .github/workflows/); bytecode stays out."""
    src = tmp_path / "src"
    for name in source_files():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, src / name)
    extra = [
        "torch-encoder/pkg/weights.bin",
        "torch-encoder/tests/conftest.py",
        "numpy-encoder/README.md",
        ".gitignore.tmpl",
        "torch-encoder/.gitignore",
        "torch-encoder/.github/workflows/zsbench.yml",
    ]
    stray = "torch-encoder/tests/__pycache__/conftest.cpython-311.pyc"
    for name in [*extra, stray]:
        (src / "harness" / "cli" / "template" / name).parent.mkdir(parents=True, exist_ok=True)
        (src / "harness" / "cli" / "template" / name).write_text("x\n")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path / "dist"), str(src)],
        check=True,
        capture_output=True,
    )
    with zipfile.ZipFile(next((tmp_path / "dist").glob("*.whl"))) as z:
        names = set(z.namelist())
    assert {f"zsbench/cli/template/{name}" for name in extra} <= names
    assert f"zsbench/cli/template/{stray}" not in names


def test_the_sdist_holds_what_building_and_testing_need():
    dists = build_zsbench_dists()  # built with python -m build: the wheel above was built from this sdist
    root = f"zsbench-{source_version()}/"
    with tarfile.open(dists.sdist) as tar:
        names = {n.removeprefix(root) for n in tar.getnames()}
    assert {
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
        "CONTRIBUTING.md",
        "PKG-INFO",
        "tests/conftest.py",
        "tests/wheels.py",
        ".github/workflows/release.yml",
    } <= names
    package_files = {f for f in source_files() if packaged_name(f)}
    assert not sorted(package_files - names)
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".sqlite"))]


def test_twine_check_strict_passes_on_both_archives():
    dists = build_zsbench_dists()
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dists.sdist), str(dists.wheel)],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2 and "WARNING" not in done.stdout + done.stderr


def test_the_metadata_declares_version_license_dependencies_and_plugins():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    meta = wheel_metadata(build_zsbench_dists().wheel)
    assert meta["Name"] == "zsbench" and meta["Version"] == source_version()
    assert meta["License-Expression"] == "MIT" and meta["Requires-Python"] == pyproject["requires-python"]
    assert meta["Description-Content-Type"] == "text/markdown" and "zsbench run" in meta.get_payload()
    required = {r for r in meta.get_all("Requires-Dist") if "extra ==" not in r}
    assert len(required) == len(pyproject["dependencies"])
    with zipfile.ZipFile(build_zsbench_dists().wheel) as z:
        entry_points = z.read(f"zsbench-{source_version()}.dist-info/entry_points.txt").decode()
    # the built-in plugins load through their entry points: one lost here is a plugin gone
    for name, target in pyproject["entry-points"]["zsbench"].items():
        assert f"{name} = {target}" in entry_points
    assert "zsbench = zsbench.cli:main" in entry_points


# --- the wheel in a fresh environment ------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory):
    """A venv holding only the built wheel (dependencies from the outer site-packages), a working
    folder outside the repository, and the environment to run it in."""
    root = tmp_path_factory.mktemp("wheel-venv")
    python = fresh_venv(root / "venv")
    install_wheel(python, build_zsbench_dists().wheel)
    work = root / "work"
    work.mkdir()
    env = user_env(work)
    env.pop("ZSBENCH_WORKERS", None)  # tests/conftest.py runs stages in-process; a user gets the pool
    return python, work, env


def _run(venv, *args: str) -> subprocess.CompletedProcess:
    python, work, env = venv
    return subprocess.run(
        [str(python.parent / args[0]), *args[1:]], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_venv_imports_the_wheel_not_this_source_tree(wheel_venv):
    python, _, _ = wheel_venv
    done = _run(
        wheel_venv,
        "python",
        "-c",
        "import sys, zsbench.plugins, zsbench.cli.app; "
        "print(*(sys.modules[m].__file__ for m in ('zsbench', 'zsbench.plugins', 'zsbench.cli.app')))",
    )
    where = done.stdout.split()
    assert len(where) == 3, done.stderr
    for path in map(Path, where):
        assert path.is_relative_to(python.parent.parent) and not path.is_relative_to(REPO), where


def test_zsbench_version_prints_the_one_version(wheel_venv):
    shown = _run(wheel_venv, "zsbench", "--version")
    assert shown.returncode == 0, shown.stderr
    facts = _run(
        wheel_venv,
        "python",
        "-c",
        "import zsbench, importlib.metadata as m; print(zsbench.__version__); print(m.version('zsbench'))",
    ).stdout.split()
    assert shown.stdout.strip() == f"zsbench {facts[1]}"
    assert facts == [source_version(), source_version()]
    assert build_zsbench_dists().wheel.name == f"zsbench-{source_version()}-py3-none-any.whl"


@pytest.mark.long
def test_the_quickstart_runs_from_the_wheel(wheel_venv):
    """The README's `zsbench run && zsbench leaderboard`, with one seed and K-Means to stay quick
    (the full job, six clusterers and three seeds, is run from the wheel by hand before a release:
    CONTRIBUTING.md, "Releasing zsbench")."""
    plugins = _run(wheel_venv, "zsbench", "plugins", "--strict")
    assert plugins.returncode == 0, plugins.stdout + plugins.stderr
    ran = _run(wheel_venv, "zsbench", "run", "--seeds", "1", "--clusterer", "kmeans")
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-3000:]
    board = _run(wheel_venv, "zsbench", "leaderboard")
    assert board.returncode == 0 and "raw-pixels" in board.stdout, board.stdout + board.stderr
    rows = json.loads(_run(wheel_venv, "zsbench", "leaderboard", "--format", "json").stdout)["rows"]
    assert [row["encoder"] for row in rows] == ["raw-pixels"]
    cell = next(c for c in rows[0]["cells"] if c["clusterer"] == "kmeans" and c["dataset"] == "digits")
    assert cell["ami"]["n_seeds"] == 1 and 80 < cell["ami"]["mean"] <= 100  # 88.7 measured


def test_files_read_at_run_time_come_from_the_wheel(wheel_venv, tmp_path):
    protocols = _run(wheel_venv, "zsbench", "list", "protocols")  # protocols/*.toml
    assert protocols.returncode == 0 and "standard" in protocols.stdout and "study" in protocols.stdout, (
        protocols.stdout + protocols.stderr
    )
    made = _run(wheel_venv, "zsbench", "new-plugin", "wheel-demo", "--dir", str(tmp_path))  # template/
    assert made.returncode == 0, made.stdout + made.stderr
    package = tmp_path / "zsbench-wheel-demo"
    assert tomllib.loads((package / "pyproject.toml").read_text())["project"]["name"] == "zsbench-wheel-demo"


# --- the release workflow ------------------------------------------------------------------------


def _workflow() -> dict:
    import yaml

    return yaml.safe_load(WORKFLOW.read_text())


def _step(job: dict, needle: str) -> dict:
    found = [s for s in job["steps"] if needle in s.get("run", "") or needle in s.get("uses", "")]
    assert len(found) == 1, f"one step of {WORKFLOW.name} should contain {needle!r}"
    return found[0]


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    assert "${{" not in script, "expand the workflow's expressions first"
    return subprocess.run(
        ["bash", "-e", "-c", script], cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True
    )


def test_release_runs_on_version_tags_and_builds_checks_and_tests_the_dists():
    workflow = _workflow()
    trigger = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert trigger["push"]["tags"] == ["v*"] and "branches" not in trigger["push"]
    build = workflow["jobs"]["build"]
    assert "python -m build" in _step(build, "python -m build")["run"]
    assert "dist/*" in _step(build, "twine check --strict")["run"]
    smoke = _step(build, 'zsbench" run')["run"]
    for command in ("--version", "plugins --strict", "run --seeds 1 --clusterer kmeans", "leaderboard"):
        assert f'zsbench" {command}' in smoke
    assert 'cd "$RUNNER_TEMP"' in smoke  # away from the checkout, which must not be importable
    assert _step(build, "actions/upload-artifact").get("with", {}).get("path") == "dist/"


def test_the_tag_check_fails_unless_the_tag_is_the_version_with_a_changelog_entry(tmp_path):
    step = _step(_workflow()["jobs"]["build"], "$TAG")
    assert step["env"]["TAG"] == "${{ github.ref_name }}"
    version = source_version()
    build_zsbench_dists(tmp_path / "dist")
    shutil.copy2(REPO / "CHANGELOG.md", tmp_path)
    assert _bash(step["run"], tmp_path, {"TAG": f"v{version}"}).returncode == 0
    for wrong in (version, f"v{version}.post1", "v0.0.0"):
        failed = _bash(step["run"], tmp_path, {"TAG": wrong})
        assert failed.returncode == 1 and f"package version {version}" in failed.stdout, (wrong, failed.stdout)
    (tmp_path / "CHANGELOG.md").write_text("# Changelog\n\n## [Unreleased]\n")
    failed = _bash(step["run"], tmp_path, {"TAG": f"v{version}"})
    assert failed.returncode == 1 and "CHANGELOG.md" in failed.stdout


def test_publishing_uses_trusted_publishing_on_the_built_files():
    jobs = _workflow()["jobs"]
    pypi = jobs["pypi"]
    assert pypi["needs"] == "build" and pypi["environment"]["name"] == "pypi"
    assert pypi["permissions"] == {"id-token": "write"}
    _step(pypi, "pypa/gh-action-pypi-publish@release/v1")
    assert _step(pypi, "actions/download-artifact")["with"]["name"] == "dist"
    assert not any("build" in s.get("run", "") for s in pypi["steps"])  # publishes what was tested
    assert "password" not in json.dumps(pypi)  # no stored API token
    # the OIDC token is granted to the publishing job only
    holders = [name for name, job in jobs.items() if job.get("permissions", {}).get("id-token") == "write"]
    assert holders == ["pypi"] and "id-token" not in _workflow().get("permissions", {})


def test_the_github_release_attaches_the_dists_without_waiting_for_pypi(tmp_path):
    job = _workflow()["jobs"]["github-release"]
    assert job["needs"] == "build" and job["permissions"] == {"contents": "write"}
    step = _step(job, "gh release create")
    version = source_version()
    dists = build_zsbench_dists(tmp_path / "dist")
    shutil.copy2(REPO / "CHANGELOG.md", tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text('#!/bin/sh\nprintf "%s\\n" "$@" > gh-args.txt\n')
    (bin_dir / "gh").chmod(0o755)
    script = step["run"].replace("${{ github.repository }}", "owner/repo")
    done = _bash(script, tmp_path, {"TAG": f"v{version}", "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert done.returncode == 0, done.stderr
    args = (tmp_path / "gh-args.txt").read_text().splitlines()
    assert args[:3] == ["release", "create", f"v{version}"]
    assert {f"dist/{dists.sdist.name}", f"dist/{dists.wheel.name}"} <= set(args)
    notes = (tmp_path / args[args.index("--notes-file") + 1]).read_text()
    changelog = (REPO / "CHANGELOG.md").read_text()
    section = changelog.split(f"\n## [{version}]", 1)[1].split("\n", 1)[1].split("\n## [", 1)[0]
    assert notes.strip() and notes.strip() == section.strip()
