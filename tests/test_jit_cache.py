"""umap's numba kernels are cached on disk (compiled once per machine, not in every process), and
nothing outside the import of such a library is changed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numba
import pytest

from zsbench.plugin import cached_jit


def test_kernels_defined_inside_the_block_are_cached_and_the_rest_are_not(tmp_path, monkeypatch):
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "numba"))
    (tmp_path / "kernels_mod.py").write_text(
        textwrap.dedent("""
        import numba

        @numba.njit
        def bare(x):
            return x + 1

        @numba.njit(fastmath=True)
        def with_options(x):
            return x * 2

        @numba.njit(cache=False)
        def opted_out(x):
            return x - 1
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    original = numba.njit
    with cached_jit():
        import kernels_mod
    assert numba.njit is original  # restored: a user's own numba code is not affected
    assert (kernels_mod.bare(1), kernels_mod.with_options(2), kernels_mod.opted_out(3)) == (2, 4, 2)
    cached = sorted(p.name.split(".")[1].rsplit("-", 1)[0] for p in (tmp_path / "numba").rglob("*.nbi"))
    assert cached == ["bare", "with_options"]  # an explicit cache=False is kept

    @numba.njit
    def outside(x):
        return x

    assert type(outside._cache).__name__ == "NullCache"


def test_the_umap_reducer_imports_umap_with_its_kernels_cached():
    code = textwrap.dedent("""
        import sys
        from zsbench.core.catalog import build_catalog
        assert "umap" not in sys.modules
        build_catalog().get("reducers", "umap").create()
        import umap.layouts, umap.umap_
        print(type(umap.umap_.fast_knn_indices._cache).__name__, type(umap.layouts.clip._cache).__name__)
    """)
    # numba's own cache folder: pynndescent's eagerly compiled kernels load from it instead of compiling
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["FunctionCache", "FunctionCache"]


def test_without_numba_the_block_does_nothing(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # "import numba" raises ImportError
    with cached_jit():
        pass
    with pytest.raises(ImportError):
        import numba as _  # noqa: F401


def test_a_stage_does_not_report_kernels_numbas_cache_cannot_hold():
    import warnings

    from zsbench.engine.stages import _recording

    with _recording("reduce") as messages:
        warnings.warn(
            '\x1b[1mCannot cache compiled function "nn_descent" as it uses dynamic globals',
            numba.NumbaWarning,
            stacklevel=1,
        )
        warnings.warn("Graph is not fully connected", UserWarning, stacklevel=1)
    assert messages == ["reduce: UserWarning: Graph is not fully connected"]
