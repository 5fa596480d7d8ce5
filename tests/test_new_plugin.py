"""``zsbench new-plugin``: the package it writes installs, loads and passes its own tests; bad names and
occupied folders are refused without writing anything."""

from __future__ import annotations

import ast
import hashlib
import importlib
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import zsbench
from zsbench.cli.app import app
from zsbench.core import manager
from zsbench.core.catalog import build_catalog

ROOT = Path(__file__).resolve().parents[1]


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
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    return importlib.import_module(f"{module}.plugin")


KIND_HOOKS = {
    "torch-encoder": {"register_encoders"},
    "numpy-encoder": {"register_encoders"},
    "dataset": {"register_encoders", "register_datasets"},
    "clusterer": {"register_encoders", "register_clusterers"},
}


@pytest.mark.parametrize("kind", list(KIND_HOOKS))
def test_each_kind_imports_only_the_plugin_surface_passes_the_strict_kit_and_its_own_tests(
    tmp_path, monkeypatch, fresh_plugins, kind
):
    from zsbench.testing import check_entry

    result = new_plugin("my-enc", "--dir", tmp_path, "--kind", kind)
    assert result.exit_code == 0, result.output
    root = tmp_path / "zsbench-my-enc"
    assert 'pip install -e ".[test]"' in result.stdout
    assert "zsbench plugins --check --strict zsbench-my-enc" in result.stdout
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    weights = (
        ["src/zsbench_my_enc/weights/__init__.py", "src/zsbench_my_enc/weights/my_enc.safetensors"]
        if kind == "torch-encoder"
        else []
    )
    assert files == sorted(
        [
            ".github/workflows/zsbench.yml",
            ".gitignore",
            "README.md",
            "pyproject.toml",
            "src/zsbench_my_enc/__init__.py",
            "src/zsbench_my_enc/plugin.py",
            "tests/test_plugin.py",
            *weights,
        ]
    )
    for path in root.rglob("*"):
        if path.is_file() and path.suffix != ".safetensors":
            left = re.findall(r"{{\w+}}", path.read_text())  # GitHub's ${{ expr }} has spaces: not ours
            assert not left, f"{path.name}: placeholders left: {left}"
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "zsbench-my-enc"
    assert pyproject["project"]["entry-points"]["zsbench"] == {"my_enc": "zsbench_my_enc.plugin"}
    assert pyproject["project"]["dependencies"][0] == "zsbench>=0.1,<1"
    assert pyproject["project"]["optional-dependencies"]["test"] == ["pytest>=7"]

    plugin_source = (root / "src" / "zsbench_my_enc" / "plugin.py").read_text()
    imported = {
        node.module
        for node in ast.walk(ast.parse(plugin_source))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("zsbench")
    }
    assert imported == {"zsbench.plugin"}
    assert re.search(r'^require_api\("1\.[0-9]+"\)$', plugin_source, re.M)

    module = load_generated(root, "zsbench_my_enc", monkeypatch)
    assert not {"numpy", "PIL", "torch", "nn"} & set(vars(module))  # heavy imports stay in the factories
    with zsbench.registered(module, name="my_enc", distribution="zsbench-my-enc") as key:
        catalog = build_catalog()
        assert set(manager.get_plugins().infos[key].hooks) == KIND_HOOKS[kind]
        entries = [
            entry for kind_entries in catalog.entries.values() for entry in kind_entries.values() if entry.plugin == key
        ]
        assert sorted(e.name for e in entries) == sorted(
            {"dataset": ["my-enc", "my-enc-shapes"], "clusterer": ["my-enc", "my-enc-gmm"]}.get(kind, ["my-enc"])
        )
        # the strict kit on every component, in this process: a skipped check fails too
        findings = [f for entry in entries for f in check_entry(entry)]
        assert findings and all(f.ok(strict=True) for f in findings), [str(f) for f in findings if not f.passed]
        assert ("weights" in {f.check for f in findings}) == (kind == "torch-encoder")
        # the package's own behaviour tests (the conformance test needs the installed distribution)
        monkeypatch.syspath_prepend(str(root / "tests"))
        monkeypatch.delitem(sys.modules, "test_plugin", raising=False)
        own = importlib.import_module("test_plugin")
        behaviour = [f for name, f in vars(own).items() if name.startswith("test_") and name != "test_conformance"]
        assert len(behaviour) >= (3 if kind == "torch-encoder" else 1)
        for test in behaviour:
            test()
        if kind == "dataset":
            assert catalog.get("datasets", "my-enc-shapes").meta["group"] == "far-OOD"
        if kind == "clusterer":
            entry = catalog.get("clusterers", "my-enc-gmm")
            assert entry.meta["k_param"] == "n_components" and entry.meta["memory_bytes"](100, 10) > 0


def test_the_torch_encoder_ships_small_seeded_placeholder_weights_pinned_in_plugin_py(tmp_path, monkeypatch):
    from safetensors import safe_open

    roots = []
    for folder in ("a", "b"):
        assert new_plugin("tiny-net", "--dir", tmp_path / folder).exit_code == 0  # torch-encoder: the default
        roots.append(tmp_path / folder / "zsbench-tiny-net")
    files = [root / "src" / "zsbench_tiny_net" / "weights" / "tiny_net.safetensors" for root in roots]
    data = files[0].read_bytes()
    assert data == files[1].read_bytes()  # seeded: the same bytes every time
    assert 1_000 < len(data) < 64_000
    sha = hashlib.sha256(data).hexdigest()
    plugin_source = (roots[0] / "src" / "zsbench_tiny_net" / "plugin.py").read_text()
    assert f'sha256="{sha}"' in plugin_source and 'package="zsbench_tiny_net.weights"' in plugin_source
    assert "register(NAME, encoder, weights=WEIGHTS" in plugin_source
    with safe_open(str(files[0]), "pt") as weights:
        assert "seeded random initialisation" in weights.metadata()["zsbench"]
        assert {"conv1.weight", "bn4.running_var"} <= set(weights.keys())
    label = "placeholder weights: a seeded random initialisation of this network; replace with yours"
    readme = (roots[0] / "README.md").read_text()
    assert label in " ".join(readme.split()) and "update the pin" in " ".join(readme.split()).lower()
    module = load_generated(roots[0], "zsbench_tiny_net", monkeypatch)
    assert module.PLACEHOLDER == label and module.WEIGHTS.sha256 == sha
    assert label in module.encoder().identity["weights"]
    pyproject = tomllib.loads((roots[0] / "pyproject.toml").read_text())
    assert pyproject["tool"]["setuptools"]["package-data"] == {"zsbench_tiny_net.weights": ["*.safetensors"]}
    assert pyproject["tool"]["setuptools"]["include-package-data"] is False  # the wheel carries what is declared
    assert any(dep.startswith("torch>") for dep in pyproject["project"]["dependencies"])
    assert not any("==" in dep for dep in pyproject["project"]["dependencies"])


def test_without_torch_the_torch_encoder_is_one_line_saying_what_to_install_and_nothing_is_written(
    tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "torch", None)  # "import torch" raises ImportError
    result = new_plugin("no-torch", "--dir", tmp_path)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and 'pip install "zsbench[torch]"' in lines[0] and "--kind numpy-encoder" in lines[0]
    assert list(tmp_path.iterdir()) == []
    assert new_plugin("no-torch", "--dir", tmp_path, "--kind", "numpy-encoder").exit_code == 0


def test_the_workflow_has_one_source_installs_zsbench_first_checks_the_wheel_and_gates(tmp_path):
    import yaml

    from zsbench.cli.scaffold import BASELINE_SUITE, workflow_text

    example = ROOT / "examples" / "github-actions" / "zsbench-check.yml"
    # one source: edit template/workflow.yml.tmpl, then write workflow_text() to the example
    assert example.read_text() == workflow_text("my-model"), f"{example.name} is not the template's rendering"
    assert new_plugin("gated", "--dir", tmp_path, "--kind", "numpy-encoder").exit_code == 0
    root = tmp_path / "zsbench-gated"
    text = (root / ".github" / "workflows" / "zsbench.yml").read_text()
    assert text == workflow_text("gated")
    workflow = yaml.safe_load(text)
    env = workflow["env"]
    assert env["ZSBENCH_REQUIREMENT"] == "${{ vars.ZSBENCH_REQUIREMENT || 'zsbench[torch]>=0.1,<1' }}"
    assert workflow[True]["workflow_dispatch"]["inputs"]["make_baseline"]["type"] == "boolean"  # yaml: on -> True
    steps = workflow["jobs"]["zsbench"]["steps"]
    cached = next(s for s in steps if s.get("uses", "").startswith("actions/cache"))["with"]["path"].split()
    assert {"~/.cache/zsbench", "~/.cache/torch/hub/checkpoints"} <= set(cached)
    assert env["NUMBA_CACHE_DIR"] == "${{ github.workspace }}/.numba-cache" and ".numba-cache" in cached
    runs = {s.get("id") or s.get("name"): s.get("run", "") for s in steps}
    install = runs["Install zsbench, then this package"].splitlines()
    assert install == ['pip install "$ZSBENCH_REQUIREMENT"', 'pip install ".[test]"']
    order = [s["id"] for s in steps if "id" in s]
    assert order == ["tests", "kit", "wheel", "baseline", "verify", "check"]
    assert runs["tests"].strip() == "python -m pytest"
    assert runs["kit"].strip() == "zsbench plugins --check --strict zsbench-gated"
    wheel = runs["wheel"].splitlines()
    assert wheel.index("pip install --force-reinstall --no-deps dist/*.whl") < wheel.index(
        "zsbench plugins --check --strict zsbench-gated"
    )
    recipe = f"zsbench baseline --encoder gated {BASELINE_SUITE} --output zsbench/baseline.json"
    assert runs["baseline"].strip() == recipe and recipe in (root / "README.md").read_text()
    baseline_step = next(s for s in steps if s.get("id") == "baseline")
    assert "inputs.make_baseline" in baseline_step["if"]
    upload = next(s for s in steps if s.get("name") == "Upload the baseline to commit")
    assert upload["with"]["path"].split() == ["zsbench/baseline.json", "zsbench/baseline.labels.npz"]
    assert "zsbench verify zsbench/baseline.json" in runs["verify"]
    check = " ".join(runs["check"].replace("\\\n", " ").split())
    assert check.startswith("zsbench check --baseline zsbench/baseline.json --encoder gated ")
    assert "--markdown zsbench-summary.md" in check and "--junit zsbench-junit.xml" in check
    for step in ("baseline", "verify", "check"):  # the test in test_scaffold_release.py runs these as written
        assert "${{" not in runs[step]


@pytest.mark.long
def test_slow_the_generated_package_installs_editable_in_a_venv_loads_and_passes_its_own_tests(tmp_path):
    """The slow one (about 10 s on 2 cores): a real venv, the README's editable install (the torch encoder's
    weights then come from src/), the package's own pytest. tests/test_scaffold_release.py does the wheel."""
    start = time.perf_counter()
    assert new_plugin("kit-demo", "--dir", tmp_path).exit_code == 0  # the default kind: torch-encoder
    root = tmp_path / "zsbench-kit-demo"
    venv = tmp_path / "venv"
    # zsbench and its dependencies come from this interpreter's site-packages; the base pip installs
    # into the venv (no ensurepip, no network)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site_dir = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # when this interpreter is itself a venv, --system-site-packages skips it: add its sites explicitly
    import site

    parents = [p for p in site.getsitepackages() if os.path.isdir(p)]
    with open(os.path.join(site_dir, "_zsbench_parent.pth"), "w") as pth:
        pth.write("import site; " + "; ".join(f"site.addsitedir({p!r})" for p in parents) + "\n")
    env = {**os.environ, "ZSBENCH_LOAD_PLUGINS": "zsbench,zsbench-kit-demo", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-e", str(root)],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )

    own = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, env=env, capture_output=True, text=True
    )
    assert own.returncode == 0, own.stdout[-3000:] + own.stderr[-2000:]
    assert " passed" in own.stdout and "failed" not in own.stdout and "skipped" not in own.stdout

    listed = subprocess.run(
        [str(python), "-c", "import sys; from zsbench.cli import main; sys.argv[0] = 'zsbench'; main()", "plugins"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "zsbench-kit-demo:kit_demo" in line)
    assert "register_encoders" in row and "ok" in row.split("│")[-2]
    print(f"venv test: {time.perf_counter() - start:.1f} s")


def test_every_zsbench_command_in_contributing_is_a_real_command_with_real_options():
    import typer.main

    text = (ROOT / "CONTRIBUTING.md").read_text()
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
