"""zsbench as a user gets it: its sdist and wheel, built once per test session, and fresh
environments to install them into, apart from this source tree.

Any test may import these helpers (``from tests.wheels import build_zsbench_wheel, fresh_venv``):

- ``build_zsbench_dists(dest_dir=None) -> Dists`` and ``build_zsbench_wheel(dest_dir=None) -> Path``
  build with ``python -m build --no-isolation`` (an sdist, then the wheel from that sdist, as a
  release does) the first time either is called in a process, a few seconds on 2 cores; later
  calls reuse those files, copied into ``dest_dir`` when one is given.
- ``fresh_venv(path) -> Path`` makes a virtual environment and returns its python (well under a
  second). zsbench's dependencies, and pip, come from this interpreter's site-packages, so nothing
  is downloaded; a zsbench installed into the venv shadows this tree's (editable) one.
- ``pip_install(python, *args)`` runs the venv's pip with no index; ``install_wheel(python, wheel)``
  installs a built zsbench wheel into the venv (about a second).
- ``user_env(root) -> dict`` is an environment for running the venv's commands: results store and
  artifact cache under ``root``, built-in plugins only, no model hub, no PYTHONPATH.
"""

from __future__ import annotations

import atexit
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]

# What never goes into a build when the tree is not a git checkout (mirrors .gitignore).
_IGNORED = shutil.ignore_patterns(
    ".git", "__pycache__", "*.egg-info", "build", "dist", ".pytest_cache", ".ruff_cache", "*.sqlite", ".venv", "venv"
)


class Dists(NamedTuple):
    sdist: Path
    wheel: Path
    build_seconds: float  # how long the one build of this process took


_built: Dists | None = None


def source_files(root: Path = REPO) -> list[str]:
    """The files a release builds from, relative to ``root``: what git tracks plus untracked files
    it does not ignore (so work in progress counts, and build output never does)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):  # an unpacked sdist, or no git
        return sorted(str(p.relative_to(root)) for p in _walk(root))
    return sorted(name for name in out.split("\0") if name and (root / name).is_file())


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        skip = set(_IGNORED(dirpath, dirnames + filenames))
        dirnames[:] = [d for d in dirnames if d not in skip]
        found += [Path(dirpath) / f for f in filenames if f not in skip]
    return found


def build_zsbench_dists(dest_dir: Path | None = None) -> Dists:
    """zsbench's sdist and wheel, built once per process from a copy of the source tree.

    A copy, because building in place reads and writes ``zsbench.egg-info/`` and ``build/`` in the
    working tree: a stale ``SOURCES.txt`` or ``build/lib`` there could carry files that no longer
    exist into the archives. ``--no-isolation`` builds with this interpreter's setuptools, so no
    network is needed.
    """
    global _built
    if _built is None:
        start = time.perf_counter()
        work = Path(tempfile.mkdtemp(prefix="zsbench-dists-"))
        atexit.register(shutil.rmtree, work, True)
        src = work / "src"
        for name in source_files():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
        out = work / "dist"
        built = subprocess.run(
            [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
            capture_output=True,
            text=True,
        )
        if built.returncode != 0:
            raise RuntimeError(f"python -m build failed:\n{built.stdout[-4000:]}\n{built.stderr[-4000:]}")
        sdists, wheels = sorted(out.glob("zsbench-*.tar.gz")), sorted(out.glob("zsbench-*.whl"))
        assert len(sdists) == len(wheels) == 1, sorted(p.name for p in out.iterdir())
        _built = Dists(sdists[0], wheels[0], time.perf_counter() - start)
    if dest_dir is None:
        return _built
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    return Dists(
        Path(shutil.copy2(_built.sdist, dest_dir)), Path(shutil.copy2(_built.wheel, dest_dir)), _built.build_seconds
    )


def build_zsbench_wheel(dest_dir: Path | None = None) -> Path:
    """The path of zsbench's wheel (built at most once per process; see build_zsbench_dists)."""
    return build_zsbench_dists(dest_dir).wheel


def fresh_venv(path: Path) -> Path:
    """A new virtual environment at ``path``; returns its python executable.

    The venv is made without system site-packages and then given this interpreter's site-packages
    through a ``.pth`` file, which ``site`` processes after putting the venv's own site-packages on
    ``sys.path``: the venv's packages come first, the outer ones after. That works whether this
    interpreter is a venv or not (``--system-site-packages`` would reach only the base Python's),
    and a zsbench installed into the venv wins over an editable one outside: setuptools' editable
    finder is appended to ``sys.meta_path`` and so is asked only after the path finder.
    """
    path = Path(path)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    outer = [*site.getsitepackages(), sysconfig.get_path("purelib")]
    if site.ENABLE_USER_SITE:
        outer.append(site.getusersitepackages())
    outer = [p for i, p in enumerate(outer) if os.path.isdir(p) and p not in outer[:i]]
    Path(purelib, "_zsbench_outer_site.pth").write_text(
        "import site; " + "; ".join(f"site.addsitedir({p!r})" for p in outer) + "\n"
    )
    return python


def pip_install(python: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m pip install --no-index *args`` (pip comes from the outer site-packages); raises
    with pip's output when it fails."""
    env = {**(env or os.environ), "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-index", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"pip install {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def install_wheel(python: Path, wheel: Path) -> None:
    """Install a zsbench wheel into the venv of ``python``, its dependencies taken as found.

    ``--ignore-installed``: pip must neither uninstall nor even consider the zsbench visible
    through the outer site-packages (this tree's editable install); the wheel goes into the venv.
    """
    pip_install(python, "--no-deps", "--ignore-installed", str(wheel))


def user_env(root: Path) -> dict[str, str]:
    """An environment for the venv's commands: store and cache under ``root``, only the built-in
    plugins, no model hub, and nothing that would put this source tree on ``sys.path``."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(
        ZSBENCH_STORE=str(Path(root) / "results.sqlite"),
        ZSBENCH_CACHE=str(Path(root) / "cache"),
        ZSBENCH_LOAD_PLUGINS="zsbench",
        HF_HUB_OFFLINE="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env
