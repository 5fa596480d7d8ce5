"""The documented plugin contract is the enforced one: what a third party may rely on, and what it is told."""

from __future__ import annotations

import concurrent.futures
import types

import numpy as np
import pluggy
import pytest
from typer.testing import CliRunner

import zsbench
from zsbench.cli.app import app
from zsbench.core import manager
from zsbench.core.catalog import build_catalog
from zsbench.engine.session import open_executor
from zsbench.plugin import API_VERSION

from .test_plugins import fabricate_distribution


def cli(*args):
    result = CliRunner().invoke(app, list(args))
    result.flat = " ".join(result.output.split())  # rich wraps long lines in tables
    return result


def three_blobs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(c, 0.1, (15, 4)) for c in (0, 3, 6)])
    return x, np.repeat(["a", "b", "c"], 15)


def run_on(executor: str, **options):
    x, y = three_blobs()
    return zsbench.run_embeddings(
        x,
        y,
        encoder="mine",
        dataset="toy",
        clusterers=["kmeans"],
        reducer="none",
        seeds=1,
        store=False,
        cache=False,
        executor=executor,
        executor_options=options,
    )


def executor_plugin(name: str, factory):
    @zsbench.hookimpl
    def register_executors(register):
        register(name, factory, description="test executor")

    return types.SimpleNamespace(register_executors=register_executors)


class Minimal:
    """Exactly the contract: submit, as_completed, close(cancel=False). No name, in_process, describe."""

    def __init__(self):
        self.submitted, self.closed = 0, []

    def submit(self, fn, *args, resources=None):
        self.submitted += 1
        future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:  # noqa: BLE001 - delivered through the future
            future.set_exception(exc)
        return future

    def as_completed(self, futures):
        return concurrent.futures.as_completed(futures)

    def close(self, cancel=False):
        self.closed.append(cancel)


# -- executors --------------------------------------------------------------------------------------


def test_a_third_party_executor_with_only_the_contract_runs_a_grid():
    built = []

    def factory():  # no `workers`: ZSBENCH_WORKERS (set to 1 by conftest) must not be forced on it
        built.append(Minimal())
        return built[-1]

    with zsbench.registered(executor_plugin("minimal", factory), "minimal"):
        out = run_on("minimal")
    assert out.results[0].status == "ok" and out.results[0].ami == pytest.approx(1.0)
    (executor,) = built
    assert executor.submitted >= 2 and executor.closed == [False]  # reduce and cluster stages, closed once


def test_workers_from_the_environment_reach_only_a_factory_that_names_it(monkeypatch):
    seen = []

    def with_workers(workers=None):
        seen.append(workers)
        return Minimal()

    monkeypatch.setenv("ZSBENCH_WORKERS", "3")
    with zsbench.registered(executor_plugin("sized", with_workers), "sized"):
        with open_executor(build_catalog(), "sized", None):
            pass
        with open_executor(build_catalog(), "sized", {"workers": 2}):  # an explicit choice wins
            pass
        with open_executor(build_catalog(), "sized:workers=5", None):  # --executor NAME:key=value
            pass
        with pytest.raises(zsbench.ZsbenchError, match="executor 'sized' does not accept option"):
            with open_executor(build_catalog(), "sized:gpus=2", None):
                pass
    assert seen == [3, 2, 5]


def test_an_executor_whose_close_takes_no_argument_is_closed_on_an_error():
    class NoCancel(Minimal):
        def submit(self, fn, *args, resources=None):
            raise RuntimeError("cluster gone")

        def close(self):
            self.closed.append("bare")

    built = []
    with zsbench.registered(executor_plugin("nocancel", lambda: built.append(NoCancel()) or built[-1]), "nc"):
        with pytest.raises(zsbench.ZsbenchError, match="submit raised RuntimeError: cluster gone"):
            run_on("nocancel")
    assert built[0].closed == ["bare"]


def test_a_type_error_inside_close_is_not_swallowed():
    class BuggyClose(Minimal):
        def submit(self, fn, *args, resources=None):
            raise RuntimeError("cluster gone")

        def close(self, cancel=False):
            self.closed.append(cancel)
            raise TypeError("bug inside close")

    built = []
    with zsbench.registered(executor_plugin("buggy", lambda: built.append(BuggyClose()) or built[-1]), "bug"):
        with pytest.raises(zsbench.ZsbenchError, match="cluster gone") as raised:  # the first error is reported
            run_on("buggy")
    assert built[0].closed == [True]  # called once, with cancel=True, and not retried without it
    assert "close(cancel=True) raised TypeError: bug inside close" in raised.value.__notes__[0]  # kept, for --debug


# -- register ---------------------------------------------------------------------------------------


def test_a_misspelt_register_keyword_fails_that_plugin_and_plugins_names_it():
    @zsbench.hookimpl
    def register_encoders(register):
        register("typo-encoder", lambda: None, descripton="one line")

    @zsbench.hookimpl
    def register_clusterers(register):
        register("gpu-clusterer", lambda: None, gpu=True)  # gpu applies to encoders only

    plugin = types.SimpleNamespace(register_encoders=register_encoders, register_clusterers=register_clusterers)
    with zsbench.registered(plugin, "typo"):
        catalog = build_catalog()
        result = cli("plugins")
    assert "typo-encoder" not in catalog.names("encoders") and "raw-pixels" in catalog.names("encoders")
    assert catalog.hook_errors["__main__:typo"] == (
        "register_encoders raised TypeError: register() got an unexpected keyword argument 'descripton'; "
        "register_clusterers raised TypeError: register('gpu-clusterer', ..., gpu=...): gpu applies to "
        "encoders, not clusterers"
    )
    assert result.exit_code == 0
    assert "__main__:typo" in result.flat and "failed: register_encoders raised TypeError" in result.flat


def test_k_param_names_the_parameter_that_receives_the_number_of_classes():
    @zsbench.hookimpl
    def register_clusterers(register):
        from sklearn.mixture import GaussianMixture

        register("gmm", GaussianMixture, description="Gaussian mixture", k_param="n_components")

    x, y = three_blobs()
    with zsbench.registered(types.SimpleNamespace(register_clusterers=register_clusterers), "gmm"):
        out = zsbench.run_embeddings(
            x, y, encoder="mine", dataset="toy", clusterers=["gmm"], reducer="none", seeds=1, store=False, cache=False
        )
    (result,) = out.results
    assert result.status == "ok", result.error
    assert result.config["clusterer"]["params"]["n_components"] == 3  # k, not GaussianMixture's default 1
    assert result.ami == pytest.approx(1.0)


# -- --encoder NAME:key=value -----------------------------------------------------------------------


def test_encoder_options_on_the_command_line(isolated_store):
    from zsbench.storage.store import ResultStore

    result = cli(
        "run",
        "--encoder",
        "raw-pixels:size=4",
        "--max-samples",
        "300",
        "--seeds",
        "1",
        "--clusterer",
        "kmeans",
        "--reducer",
        "none",
    )
    assert result.exit_code == 0, result.output
    store = ResultStore(isolated_store)
    try:
        (stored,) = store.results()
    finally:
        store.close()
    assert stored.config["encoder"]["identity"]["size"] == 4 and stored.config["n_features"] == 4 * 4
    assert stored.config["encoder"]["options"] == {"size": 4}


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--encoder", "raw-pixels:colour=1"],
            "encoder 'raw-pixels' does not accept option(s) colour; it accepts: size",
        ),
        (["--encoder", "raw-pixels:weights=a.pt", "--weights", "b.pt"], "option(s) weights given twice"),
    ],
)
def test_encoder_option_mistakes_are_one_line_errors(args, message):
    result = cli("run", *args, "--seeds", "1", "--clusterer", "kmeans", "--reducer", "none")
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1


# -- zsbench plugins: slow imports, built-in names, clashes, deprecations, API version ------------


@pytest.fixture
def site(tmp_path, monkeypatch, fresh_plugins):
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_a_slow_import_is_named_with_its_time_and_the_fix(site, monkeypatch):
    fabricate_distribution(
        site,
        "zsb-slow",
        "0.1",
        {"slow": "zsb_slow_mod"},
        {
            "zsb_slow_mod": """
        import time

        import zsbench

        time.sleep(0.6)  # a heavy import at module level

        @zsbench.hookimpl
        def register_reducers(register):
            register("slow-reducer", lambda: None)
    """
        },
    )
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", "zsb-slow")
    result = cli("plugins")
    info = manager.get_plugins().infos["zsb-slow:slow"]
    assert info.ok and info.import_seconds >= 0.6
    assert result.exit_code == 0
    assert f"plugin zsb-slow:slow took {info.import_seconds:.1f} s to import" in result.flat
    assert "move heavy imports" in result.flat and "into the factories" in result.flat


def test_a_plugin_cannot_take_a_built_in_name(site, monkeypatch):
    fabricate_distribution(
        site,
        "zsb-thief",
        "0.1",
        {"thief": "zsb_thief_mod"},
        {
            "zsb_thief_mod": """
        import zsbench

        @zsbench.hookimpl
        def register_clusterers(register):
            register("kmeans", lambda: None)
            register("thief-clusterer", lambda: None)
    """
        },
    )
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", "zsbench,zsb-thief")
    catalog = build_catalog()
    assert catalog.get("clusterers", "kmeans").plugin == "zsbench:clusterers"  # the built-in keeps working
    assert catalog.get("clusterers", "thief-clusterer").plugin == "zsb-thief:thief"  # the rest is kept
    message = "plugin zsb-thief:thief registers clusterer 'kmeans', a built-in name; rename it"
    for args, code in ((["plugins"], 0), (["plugins", "--strict"], 1), (["list", "clusterers"], 0)):
        result = cli(*args)
        assert result.exit_code == code and message in result.flat


def test_two_plugins_claiming_one_name_are_both_refused_and_named():
    def claiming(name):
        @zsbench.hookimpl
        def register_encoders(register):
            register("twin", lambda: None, description=name)

        return types.SimpleNamespace(register_encoders=register_encoders)

    with zsbench.registered(claiming("a"), "a"), zsbench.registered(claiming("b"), "b"):
        assert "twin" not in build_catalog().names("encoders")
        plain, strict = cli("plugins"), cli("plugins", "--strict")
    assert plain.exit_code == 0 and strict.exit_code == 1
    assert "encoder 'twin' is registered by both __main__:a and __main__:b" in plain.flat


def test_a_deprecated_hook_warns_through_pluggy_and_plugins_shows_it(fresh_plugins):
    hookspec = pluggy.HookspecMarker("zsbench")
    old = types.ModuleType("old_hookspecs")  # throw-away specs: no real hook is deprecated

    @hookspec(warn_on_impl=DeprecationWarning("register_models is deprecated; implement register_encoders"))
    def register_models(register):
        """An old hook."""

    @hookspec(warn_on_impl_args={"legacy": DeprecationWarning("the legacy argument is deprecated")})
    def register_things(register, legacy):
        """A hook with an old argument."""

    old.register_models, old.register_things = register_models, register_things
    manager.get_plugins().pm.add_hookspecs(old)

    @zsbench.hookimpl
    def register_models(register):  # noqa: F811 - the plugin's implementation
        pass

    @zsbench.hookimpl
    def register_things(register, legacy):  # noqa: F811
        pass

    plugin = types.SimpleNamespace(register_models=register_models, register_things=register_things)
    with zsbench.registered(plugin, "legacy"):
        info = manager.get_plugins().infos["__main__:legacy"]
        result = cli("plugins")
    assert info.ok and sorted(info.warnings) == [
        "DeprecationWarning: register_models is deprecated; implement register_encoders",
        "DeprecationWarning: the legacy argument is deprecated",
    ]
    assert "note: plugin __main__:legacy: DeprecationWarning: register_models is deprecated" in result.flat
    assert result.exit_code == 0


def test_require_api_fails_only_the_plugin_that_needs_a_newer_api(site, monkeypatch):
    for dist, version in (("zsb-future", "9.0"), ("zsb-current", "1.0")):
        mod = dist.replace("-", "_") + "_mod"
        fabricate_distribution(
            site,
            dist,
            "0.1",
            {"p": mod},
            {
                mod: f"""
            import zsbench
            from zsbench.plugin import require_api

            require_api("{version}")

            @zsbench.hookimpl
            def register_reducers(register):
                register("{dist}-reducer", lambda: None)
        """
            },
        )
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", "zsbench,zsb-future,zsb-current")
    found = manager.get_plugins()
    assert found.infos["zsb-future:p"].error == (
        f"PluginAPIError: this plugin needs zsbench plugin API 9.0, and the installed zsbench offers {API_VERSION}; "
        "install a zsbench whose plugin API is 9.x with x >= 0"
    )
    assert found.infos["zsb-current:p"].ok
    assert {"zsb-current-reducer", "pca"} <= set(build_catalog().names("reducers"))
    result = cli("plugins")
    assert result.exit_code == 0 and "zsb-future:p" in result.flat
    assert "failed: PluginAPIError: this plugin needs zsbench plugin API 9.0" in result.flat


# -- weights pinning --------------------------------------------------------------------------------


def test_fetch_pins_by_sha256_and_keeps_the_old_keyword_with_a_warning(tmp_path, monkeypatch):
    import hashlib

    from zsbench.plugin import WeightsError, fetch

    monkeypatch.setenv("ZSBENCH_WEIGHTS_DIR", str(tmp_path))
    (tmp_path / "w.pth").write_bytes(b"published bytes")
    good = hashlib.sha256(b"published bytes").hexdigest()
    assert fetch("m", "https://example.org/w.pth", sha256=good) == tmp_path / "w.pth"
    with pytest.warns(DeprecationWarning, match="pass sha256="):
        assert fetch("m", "https://example.org/w.pth", sha256_hex=good) == tmp_path / "w.pth"
    with pytest.raises(WeightsError, match="delete it so zsbench downloads it again"):
        fetch("m", "https://example.org/w.pth", sha256="0" * 64)
    assert (tmp_path / "w.pth").exists()  # the user's file is left alone


def test_a_download_that_does_not_match_its_pin_is_deleted(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    from zsbench.plugin import WeightsError, fetch

    monkeypatch.setenv("ZSBENCH_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setattr(
        torch.hub,
        "download_url_to_file",
        lambda url, dst, hash_prefix=None, progress=True: open(dst, "wb").write(b"changed"),
    )
    with pytest.raises(WeightsError, match="the published file changed or the pin is wrong"):
        fetch("m", "https://example.org/w.pth", sha256="0" * 64)
    assert not (tmp_path / "w.pth").exists()


def test_the_plugin_surface_is_typed_and_every_public_name_resolves():
    import importlib.resources
    import subprocess
    import sys

    import zsbench.plugin

    assert importlib.resources.files("zsbench").joinpath("py.typed").is_file()  # PEP 561, covers zsbench.plugin
    missing = [name for name in zsbench.plugin.__all__ if not hasattr(zsbench.plugin, name)]
    assert missing == []
    # the surface itself is light: a plugin importing hookimpl pays for neither numpy nor torch
    code = (
        "import sys, zsbench.plugin; from zsbench.plugin import hookimpl, Register, Encoder, require_api; "
        "print(sorted(m for m in ('numpy', 'torch', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
