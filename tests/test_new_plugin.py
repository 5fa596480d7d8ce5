"""``zsbench new-plugin``: the package it writes installs, loads and passes its own tests; bad names and
occupied folders are refused without writing anything."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

import zsbench
from zsbench.cli.app import app
from zsbench.core import manager
from zsbench.core.catalog import build_catalog


def new_plugin(*args):
    return CliRunner().invoke(app, ["new-plugin", *map(str, args)])


@pytest.mark.parametrize("name", ["Bad Name", "my.enc", "9lives", "x-", "a--b", "x" * 41, "zsbench-foo", "ünï"])
def test_an_invalid_name_is_one_line_naming_it_and_nothing_is_written(tmp_path, name):
    result = new_plugin(name, "--dir", tmp_path)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name[:40] in lines[0]
    assert "lowercase letters" in lines[0] or "zsbench- prefix" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_an_occupied_folder_is_never_overwritten_and_an_empty_one_is_used(tmp_path):
    (tmp_path / "zsbench-mine").mkdir()
    (tmp_path / "zsbench-mine" / "plugin.py").write_text("my work")
    result = new_plugin("mine", "--dir", tmp_path)
    assert result.exit_code == 1 and "--dir" in result.stderr and "not an empty folder" in result.stderr
    assert [p.name for p in (tmp_path / "zsbench-mine").iterdir()] == ["plugin.py"]
    assert (tmp_path / "zsbench-mine" / "plugin.py").read_text() == "my work"

    (tmp_path / "zsbench-other").mkdir()
    assert new_plugin("other", "--dir", tmp_path).exit_code == 0
    assert (tmp_path / "zsbench-other" / "pyproject.toml").is_file()


@pytest.mark.parametrize("name", ["digits", "raw-pixels", "kmeans"])
def test_a_name_a_builtin_uses_is_refused(tmp_path, name):
    result = new_plugin(name, "--dir", tmp_path)
    assert result.exit_code == 1 and "built-in" in result.stderr and name in result.stderr
    assert list(tmp_path.iterdir()) == []


def load_generated(root, module, monkeypatch):
    """Import a generated package's plugin module from its source folder (no install)."""
    monkeypatch.syspath_prepend(str(root / "src"))
    monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.delitem(sys.modules, f"{module}.plugin", raising=False)
    return importlib.import_module(f"{module}.plugin")


@pytest.mark.parametrize("kind, hooks", [("dataset", {"register_encoders", "register_datasets"}),
                                         ("clusterer", {"register_encoders", "register_clusterers"})])
def test_the_generated_plugin_imports_only_the_plugin_surface_and_its_components_work(
        tmp_path, monkeypatch, fresh_plugins, kind, hooks):
    result = new_plugin("my-enc", "--dir", tmp_path, "--kind", kind)
    assert result.exit_code == 0, result.output
    root = tmp_path / "zsbench-my-enc"
    assert "pip install -e ." in result.stdout and "zsbench plugins --check zsbench-my-enc" in result.stdout
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == ["README.md", "pyproject.toml", "src/zsbench_my_enc/__init__.py",
                     "src/zsbench_my_enc/plugin.py", "tests/test_plugin.py"]
    for path in root.rglob("*"):
        assert path.is_dir() or "{{" not in path.read_text(), f"{path.name}: a placeholder was left"
    pyproject = (root / "pyproject.toml").read_text()
    assert 'name = "zsbench-my-enc"' in pyproject and 'my_enc = "zsbench_my_enc.plugin"' in pyproject
    assert '"zsbench>=0.1,<1"' in pyproject

    plugin_source = (root / "src" / "zsbench_my_enc" / "plugin.py").read_text()
    imported = {node.module for node in ast.walk(ast.parse(plugin_source))
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("zsbench")}
    assert imported == {"zsbench.plugin"}
    ast.parse((root / "tests" / "test_plugin.py").read_text())

    module = load_generated(root, "zsbench_my_enc", monkeypatch)
    assert "numpy" not in vars(module) and "PIL" not in vars(module)  # heavy imports stay in the factories
    with zsbench.registered(module, name="my_enc", distribution="zsbench-my-enc") as key:
        catalog = build_catalog()
        assert set(manager.get_plugins().infos[key].hooks) == hooks
        encoder = catalog.get("encoders", "my-enc").create(bins=4)
        if kind == "dataset":
            entry = catalog.get("datasets", "my-enc-shapes")
            assert entry.meta["group"] == "far-OOD"
            dataset = entry.create()
            batches = list(encoder.embed(dataset))
            assert sum(len(b) for b in batches) == len(dataset) == 120 and batches[0].shape[1] == 2 * 2 * 3 * 4
        else:
            entry = catalog.get("clusterers", "my-enc-gmm")
            assert entry.meta["k_param"] == "n_components" and entry.meta["memory_bytes"](100, 10) > 0
            assert "n_components" in entry.create().get_params()


def test_slow_the_generated_package_installs_in_a_venv_loads_and_passes_its_own_tests(tmp_path):
    """The slow one (about 10 s on 2 cores): a real venv, a real pip install, the package's own pytest."""
    start = time.perf_counter()
    assert new_plugin("kit-demo", "--dir", tmp_path).exit_code == 0
    root = tmp_path / "zsbench-kit-demo"
    venv = tmp_path / "venv"
    # zsbench and its dependencies come from this interpreter's site-packages; the base pip installs
    # into the venv (no ensurepip, no network)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site_dir = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                              check=True, capture_output=True, text=True).stdout.strip()
    # when this interpreter is itself a venv, --system-site-packages skips it: add its sites explicitly
    import site

    parents = [p for p in site.getsitepackages() if os.path.isdir(p)]
    with open(os.path.join(site_dir, "_zsbench_parent.pth"), "w") as pth:
        pth.write("import site; " + "; ".join(f"site.addsitedir({p!r})" for p in parents) + "\n")
    env = {**os.environ, "ZSBENCH_LOAD_PLUGINS": "zsbench,zsbench-kit-demo", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "-e", str(root)], check=True, env=env, capture_output=True, text=True)

    own = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, env=env,
                         capture_output=True, text=True)
    assert own.returncode == 0, own.stdout[-3000:] + own.stderr[-2000:]
    assert " passed" in own.stdout and "failed" not in own.stdout

    listed = subprocess.run([str(python), "-c", "import sys; from zsbench.cli import main; sys.argv[0] = 'zsbench'; "
                             "main()", "plugins"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "zsbench-kit-demo:kit_demo" in line)
    assert "register_datasets, register_encoders" in row and "ok" in row.split("│")[-2]
    print(f"venv test: {time.perf_counter() - start:.1f} s")


def test_every_zsbench_command_in_contributing_is_a_real_command_with_real_options():
    import re
    from pathlib import Path

    import typer.main

    text = (Path(__file__).resolve().parents[1] / "CONTRIBUTING.md").read_text()
    blocks = "\n".join(re.findall(r"```bash\n(.*?)```", text, re.S))
    group = typer.main.get_command(app)
    used = set()
    for line in re.findall(r"^(?:.*&& )?(zsbench [a-z-]+[^\n#&|]*)", blocks, re.M):
        words = line.split()
        used.add(words[1])
        assert words[1] in group.commands, f"CONTRIBUTING: `zsbench {words[1]}` is not a command"
        command = group.commands[words[1]]
        known = {opt for param in command.params for opt in param.opts + param.secondary_opts}
        unknown = [w for w in words[2:] if w.startswith("--") and w.split("=")[0] not in known]
        assert not unknown, f"CONTRIBUTING: `zsbench {words[1]}` has no option {', '.join(unknown)}"
    assert {"new-plugin", "plugins", "run", "submit"} <= used
