"""Plugin discovery and the catalog: the contract third parties rely on."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

import zsbench
from zsbench.core import manager
from zsbench.core.catalog import build_catalog
from zsbench.plugin import hookspecs
from zsbench.plugin.errors import DuplicateComponentError, UnknownComponentError

from .helpers import throwaway_plugin


def fabricate_distribution(root, dist, version, entry_points, modules):
    """A distribution installed the way pip leaves one: a *.dist-info folder on sys.path."""
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"  # as pip names it
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[zsbench]\n{lines}\n")
    for name, source in modules.items():
        (root / f"{name}.py").write_text(textwrap.dedent(source))


@pytest.fixture
def site(tmp_path, monkeypatch, fresh_plugins):
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_builtins_load_through_entry_points_keyed_by_distribution():
    found = manager.discover()
    keys = {i.key for i in found.loaded}
    assert {"zsbench:raw_pixels", "zsbench:digits", "zsbench:reducers", "zsbench:clusterers"} <= keys
    assert not found.failed
    clusterers = build_catalog(found).names("clusterers")
    assert clusterers == sorted(
        [
            "kmeans",
            "spectral",
            "agglomerative",
            "agglomerative-no-k",
            "affinity-propagation",
            "hdbscan",
            "hdbscan-sklearn",
        ]
    )


def test_plugin_found_through_fabricated_dist_info(site, monkeypatch):
    fabricate_distribution(
        site,
        "zsb-extra",
        "1.2.3",
        {"extra": "zsb_extra_mod"},
        {
            "zsb_extra_mod": """
            import zsbench

            @zsbench.hookimpl
            def register_reducers(register):
                register("halve", lambda: None, description="test reducer")
        """
        },
    )
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", "zsbench,zsb-extra")
    found = manager.discover()
    info = found.infos["zsb-extra:extra"]
    assert (info.distribution, info.version, info.hooks, info.error) == (
        "zsb-extra",
        "1.2.3",
        ("register_reducers",),
        None,
    )
    entry = build_catalog(found).get("reducers", "halve")
    assert entry.plugin == "zsb-extra:extra" and entry.version == "1.2.3"


def test_load_plugins_env_narrows_to_named_distributions(site, monkeypatch):
    fabricate_distribution(site, "zsb-other", "0.1", {"other": "zsb_other_mod"}, {"zsb_other_mod": "import zsbench\n"})
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", "zsbench")
    assert "zsb-other:other" not in manager.discover().infos
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", "zsb_other")  # normalised like pip names
    assert set(manager.discover().infos) == {"zsb-other:other"}


def test_plugin_that_raises_on_import_is_listed_as_failed_and_the_rest_work(site, monkeypatch):
    fabricate_distribution(
        site,
        "zsb-broken",
        "0.1",
        {"broken": "zsb_broken_mod"},
        {"zsb_broken_mod": "raise ImportError('needs libfoo')\n"},
    )
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", "zsbench,zsb-broken")
    found = manager.discover()
    assert found.infos["zsb-broken:broken"].error == "ImportError: needs libfoo"
    assert "raw-pixels" in build_catalog(found).names("encoders")


def test_misspelled_hook_is_a_load_failure_with_a_suggestion(site, monkeypatch):
    fabricate_distribution(
        site,
        "zsb-typo",
        "0.1",
        {"typo": "zsb_typo_mod"},
        {
            "zsb_typo_mod": """
            import zsbench

            @zsbench.hookimpl
            def register_encoder(register):
                pass
        """
        },
    )
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", "zsb-typo")
    error = manager.discover().infos["zsb-typo:typo"].error
    assert "'register_encoder'" in error and "did you mean 'register_encoders'" in error


def test_same_entry_point_name_in_two_distributions_are_two_plugins(site, monkeypatch):
    # pluggy would silently drop the second plugin named "plugin"; keying by distribution keeps both
    for dist in ("zsb-a", "zsb-b"):
        mod = dist.replace("-", "_") + "_mod"
        fabricate_distribution(
            site,
            dist,
            "1.0",
            {"plugin": mod},
            {
                mod: f"""
            import zsbench

            @zsbench.hookimpl
            def register_reducers(register):
                register("{dist}-reducer", lambda: None)
        """
            },
        )
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", "zsb-a,zsb-b")
    catalog = build_catalog(manager.discover())
    assert catalog.names("reducers") == ["zsb-a-reducer", "zsb-b-reducer"]


def test_duplicate_component_name_is_an_error_naming_both_plugins():
    def claiming(name):
        @zsbench.hookimpl
        def register_encoders(register):
            register("twin", lambda: None)

        return types.SimpleNamespace(register_encoders=register_encoders)

    with zsbench.registered(claiming("a"), "dup-a"), zsbench.registered(claiming("b"), "dup-b"):
        catalog = build_catalog()
        with pytest.raises(DuplicateComponentError) as err:
            catalog.get("encoders", "twin")  # neither silently wins
        assert "twin" not in catalog.names("encoders")
        assert "digits" in catalog.names("datasets")  # the rest keeps working
        with pytest.raises(DuplicateComponentError):
            zsbench.run(encoder="twin", store=False)
    assert "both __main__:dup-a and __main__:dup-b" in str(err.value)


def test_a_built_in_name_stays_the_built_in_s():
    @zsbench.hookimpl
    def register_encoders(register):
        register("raw-pixels", lambda: None)

    with zsbench.registered(types.SimpleNamespace(register_encoders=register_encoders), "dup"):
        catalog = build_catalog()
    assert catalog.get("encoders", "raw-pixels").plugin == "zsbench:raw_pixels"
    assert catalog.refusal_messages() == [
        "plugin __main__:dup registers encoder 'raw-pixels', a built-in name; rename it"
    ]


def test_registering_a_broken_plugin_object_raises_with_the_reason():
    @zsbench.hookimpl
    def register_encoder(register):  # misspelled hook
        pass

    with pytest.raises(zsbench.ZsbenchError, match="did you mean 'register_encoders'"):
        with zsbench.registered(types.SimpleNamespace(register_encoder=register_encoder), "typo"):
            pass

    @zsbench.hookimpl
    def register_encoders(reg):  # the parameter must be named `register`
        pass

    with pytest.raises(zsbench.ZsbenchError, match=r"Argument\(s\) {'reg'} are declared in the hookimpl"):
        with zsbench.registered(types.SimpleNamespace(register_encoders=register_encoders), "arg"):
            pass


def test_register_hook_that_raises_is_recorded_and_the_rest_work():
    @zsbench.hookimpl
    def register_datasets(register):
        raise RuntimeError("cannot read config")

    with zsbench.registered(types.SimpleNamespace(register_datasets=register_datasets), "bad"):
        catalog = build_catalog()
    assert "cannot read config" in catalog.hook_errors["__main__:bad"]
    assert "digits" in catalog.names("datasets")


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownComponentError, match="did you mean kmeans"):
        build_catalog().get("clusterers", "kmean")


def test_throwaway_plugin_runs_end_to_end():
    with zsbench.registered(throwaway_plugin(), "throwaway"):
        out = zsbench.run(
            "mean-std", "blobs", clusterers=["kmeans", "agglomerative"], reducer="none", seeds=2, store=False
        )
    assert [(r.clusterer, r.seed, r.status) for r in out.results] == [
        ("kmeans", 0, "ok"),
        ("agglomerative", 0, "ok"),
        ("kmeans", 1, "ok"),
        ("agglomerative", 1, "ok"),
    ]
    # brightness separates the three classes perfectly
    assert all(r.ami == pytest.approx(1.0) for r in out.results)
    assert out.results[0].provenance["plugins"]["encoder"]["plugin"] == "__main__:throwaway"
    assert out.results[0].config["n_clusters_given"] == 3
    assert "mean-std" not in build_catalog().names("encoders")  # gone after the block


def test_every_hook_is_in_the_spec_module_and_takes_register():
    import inspect

    hooks = [n for n, f in vars(hookspecs).items() if hasattr(f, "zsbench_spec")]
    assert sorted(hooks) == [
        "register_clusterers",
        "register_datasets",
        "register_encoders",
        "register_executors",
        "register_reducers",
    ]
    for name in hooks:
        assert list(inspect.signature(getattr(hookspecs, name)).parameters) == ["register"]


@pytest.mark.parametrize("command", ["plugins", "list clusterers"])
def test_listing_imports_no_heavy_library(command):
    code = textwrap.dedent(f"""
        import sys
        from typer.testing import CliRunner
        from zsbench.cli.app import app
        result = CliRunner().invoke(app, {command.split()!r})
        assert result.exit_code == 0, result.output
        heavy = sorted(m for m in ("torch", "sklearn", "umap", "hdbscan", "numba") if m in sys.modules)
        print("HEAVY", heavy)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout


def test_embeddings_from_a_notebook_array():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 0.1, (20, 4)), rng.normal(5, 0.1, (20, 4))])
    out = zsbench.run_embeddings(
        x,
        np.repeat(["cat", "dog"], 20),
        encoder="mine",
        dataset="toy",
        clusterers=["kmeans"],
        reducer="none",
        seeds=1,
        store=False,
    )
    assert out.results[0].ami == pytest.approx(1.0)
    assert out.to_dataframe().loc[0, "ami"] == pytest.approx(1.0)
