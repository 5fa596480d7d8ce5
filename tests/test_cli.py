"""The command line, through typer's CliRunner, as a user meets it."""

from __future__ import annotations

import csv
import io
import json
import types

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.helpers import one_line_error
from zsbench.cli.app import app


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(app, list(args))

    return invoke


@pytest.fixture
def npz(tmp_path):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(c, 0.2, (15, 5)) for c in (0, 3, 6)])
    path = tmp_path / "my-model.npz"
    np.savez(path, embeddings=x, labels=np.repeat([7, 8, 9], 15))
    return path


def test_plugins_lists_distribution_version_and_hooks(cli):
    result = cli("plugins")
    assert result.exit_code == 0
    for text in ("zsbench:raw_pixels", "register_encoders", "register_clusterers", "ok"):
        assert text in result.output


def test_plugins_shows_a_broken_plugin_and_list_still_works(cli, tmp_path, monkeypatch, fresh_plugins):
    from .test_plugins import fabricate_distribution

    fabricate_distribution(
        tmp_path,
        "zsb-broken",
        "0.1",
        {"broken": "zsb_cli_broken"},
        {"zsb_cli_broken": "raise ImportError('needs libfoo')\n"},
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", "zsbench,zsb-broken")
    result = cli("plugins")
    assert result.exit_code == 0
    assert "zsb-broken:broken" in result.output and "failed: ImportError: needs libfoo" in result.output
    listed = cli("list", "encoders")
    assert listed.exit_code == 0 and "raw-pixels" in listed.output


def test_plugins_strict_exits_1_when_a_plugin_failed_to_load(cli, tmp_path, monkeypatch, fresh_plugins):
    from zsbench.core import manager

    from .test_plugins import fabricate_distribution

    assert cli("plugins", "--strict").exit_code == 0  # the built-ins all load
    manager.reset()
    fabricate_distribution(
        tmp_path,
        "zsb-broken",
        "0.1",
        {"broken": "zsb_cli_broken"},
        {"zsb_cli_broken": "raise ImportError('needs libfoo')\n"},
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", "zsbench,zsb-broken")
    strict = cli("plugins", "--strict")
    assert strict.exit_code == 1 and "failed: ImportError: needs libfoo" in strict.output  # the table first
    assert cli("plugins").exit_code == 0


def test_plugins_strict_exits_1_on_a_failing_register_hook(cli):
    import types

    import zsbench

    @zsbench.hookimpl
    def register_datasets(register):
        raise RuntimeError("pip install pkg[extra] [/] :smile:")

    with zsbench.registered(types.SimpleNamespace(register_datasets=register_datasets), "badhook"):
        strict = cli("plugins", "--strict")
        plain = cli("plugins")
    assert strict.exit_code == 1 and plain.exit_code == 0
    for result in (strict, plain):
        assert "__main__:badhook" in result.output
        assert "pip install pkg[extra] [/] :smile:" in result.output  # printed literally, not as markup


@pytest.mark.parametrize(
    "kind, name", [("encoders", "raw-pixels"), ("datasets", "digits"), ("reducers", "umap"), ("clusterers", "hdbscan")]
)
def test_list_names_each_component_with_its_plugin(cli, kind, name):
    result = cli("list", kind)
    assert result.exit_code == 0 and name in result.output and "zsbench:" in result.output


def test_run_embeddings_then_leaderboard_in_every_format(cli, npz):
    result = cli(
        "run",
        "--embeddings",
        str(npz),
        "--reducer",
        "none",
        "--clusterer",
        "kmeans",
        "--clusterer",
        "agglomerative",
        "--seeds",
        "2",
    )
    assert result.exit_code == 0, result.output
    assert "my-model (" in result.output and ") on my-model" in result.output and "100.0" in result.output

    md = cli("leaderboard", "--format", "markdown")
    assert md.exit_code == 0
    assert "| rank | encoder | identity | reducer | mean | kmeans | agglomerative |" in md.output
    board = json.loads(cli("leaderboard", "-f", "json").output)
    sha = board["rows"][0]["identity_sha256"]
    assert f"| 1 | my-model | {sha[:12]} | none | 100.0 ± 0.0 | 100.0 ± 0.0 | 100.0 ± 0.0 |" in md.output

    rows = list(csv.DictReader(io.StringIO(cli("leaderboard", "-f", "csv").output)))
    overall = [(r["view"], r["ami_mean"], r["n_seeds"], r["rank_low"]) for r in rows if r["level"] == "overall"]
    assert overall == [
        ("mean", "100.0000", "2", "1"),
        ("kmeans", "100.0000", "2", "1"),
        ("agglomerative", "100.0000", "2", "1"),
    ]

    board = json.loads(cli("leaderboard", "-f", "json").output)
    assert board["rows"][0]["encoder"] == "my-model"
    assert board["rows"][0]["views"]["mean"]["datasets"] == {
        "my-model": {"mean": 100.0, "low": 100.0, "high": 100.0, "n_seeds": 2}
    }
    assert cli("leaderboard").exit_code == 0


def test_run_embeddings_with_name_and_explicit_store(cli, npz, tmp_path):
    store = tmp_path / "elsewhere.sqlite"
    result = cli(
        "run",
        "--embeddings",
        str(npz),
        "--name",
        "resnet-ours",
        "--reducer",
        "none",
        "--clusterer",
        "kmeans",
        "--seeds",
        "1",
        "--store",
        str(store),
    )
    assert result.exit_code == 0, result.output
    assert "resnet-ours" in cli("leaderboard", "--store", str(store), "-f", "csv").output
    assert "resnet-ours" not in cli("leaderboard", "-f", "csv").output  # the default store


def test_unknown_names_get_one_line_with_the_closest(cli):
    one_line_error(cli("run", "--encoder", "raw-pixel"), "unknown encoder 'raw-pixel'", "did you mean raw-pixels?")
    one_line_error(cli("run", "--clusterer", "hdbscn"), "did you mean hdbscan")
    one_line_error(cli("run", "--dataset", "cifar"), "unknown dataset 'cifar'")


def test_bad_embeddings_files_get_one_line_errors(cli, tmp_path):
    nan = tmp_path / "nan.npz"
    np.savez(nan, embeddings=np.array([[np.nan, 1.0], [1, 1], [2, 2]]), labels=[0, 1, 1])
    one_line_error(cli("run", "--embeddings", str(nan)), "nan.npz", "NaN or Inf")

    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, feats=np.zeros((3, 2)), labels=[0, 1, 1])
    one_line_error(cli("run", "--embeddings", str(wrong)), "missing array(s) embeddings")

    text = tmp_path / "notes.npz"
    text.write_text("not an archive")
    one_line_error(cli("run", "--embeddings", str(text)), "not an .npz archive")

    one_line_error(cli("run", "--embeddings", str(tmp_path / "absent.npz")), "no such file")


def test_failed_clusterer_is_reported_but_run_succeeds(cli, npz):
    result = cli(
        "run",
        "--embeddings",
        str(npz),
        "--reducer",
        "none",
        "--seeds",
        "1",
        "--clusterer",
        "kmeans",
        "--clusterer",
        "spectral:n_neighbors=60",
    )  # fails at fit: 45 samples
    assert result.exit_code == 0, result.output
    assert "failed spectral:n_neighbors=60 seed 0: clusterer spectral:n_neighbors=60 failed:" in result.output
    assert "1 results in" in result.output and "1 failed" in result.output


def test_usage_mistakes_exit_2(cli):
    assert cli("list", "widgets").exit_code == 2
    assert cli("run", "--seeds", "0").exit_code == 2
    assert cli("leaderboard", "--format", "xml").exit_code == 2


def test_conflicting_options_are_user_errors(cli, npz):
    one_line_error(cli("run", "--embeddings", str(npz), "--encoder", "raw-pixels"), "either --encoder or --embeddings")


def test_leaderboard_on_an_empty_store_says_what_to_do(cli):
    result = cli("leaderboard")
    assert result.exit_code == 0 and "run `zsbench run` first" in result.output


def test_a_name_clash_is_shown_by_plugins_and_list(cli, tmp_path, monkeypatch, fresh_plugins):
    from .test_plugins import fabricate_distribution

    fabricate_distribution(
        tmp_path,
        "zsb-clash",
        "0.1",
        {"clash": "zsb_cli_clash"},
        {
            "zsb_cli_clash": """
            import zsbench

            @zsbench.hookimpl
            def register_datasets(register):
                register("digits", lambda: None)
        """
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", "zsbench,zsb-clash")
    for args in (["plugins"], ["list", "datasets"]):  # a built-in's name stays the built-in's
        result = cli(*args)
        assert result.exit_code == 0
        assert "plugin zsb-clash:clash registers dataset 'digits', a built-in name; rename it" in (
            result.output.replace("\n", " ")
        )


def test_interrupted_run_keeps_what_it_finished(cli, isolated_store, ctrl_c):
    from sklearn.cluster import KMeans

    import zsbench

    from .helpers import throwaway_plugin

    @zsbench.hookimpl
    def register_clusterers(register):  # runs here, like "interrupting": in plan order, before the pool's
        register("steady", lambda: KMeans(n_clusters=2, n_init=1), description="finishes")

    steady = types.SimpleNamespace(register_clusterers=register_clusterers)
    with zsbench.registered(throwaway_plugin(), "throwaway"), zsbench.registered(steady, "steady"):
        result = cli(
            "run",
            "--encoder",
            "mean-std",
            "--dataset",
            "blobs",
            "--reducer",
            "none",
            "--seeds",
            "1",
            "--clusterer",
            "steady",
            "--clusterer",
            "interrupting",
            "--clusterer",
            "agglomerative",
        )
    assert result.exit_code == 130 and "interrupted" in result.output
    stored = zsbench.ResultStore(isolated_store).results()
    assert [(r.clusterer, r.status) for r in stored] == [("steady", "ok")]


def test_version(cli):
    import zsbench

    result = cli("--version")
    assert result.exit_code == 0 and result.output.strip() == f"zsbench {zsbench.__version__}"


def test_cache_commands_are_part_of_zsbench(cli, npz, tmp_path, monkeypatch):
    monkeypatch.setenv("ZSBENCH_CACHE", str(tmp_path / "cache"))
    assert (
        cli("run", "--embeddings", str(npz), "--reducer", "none", "--clusterer", "kmeans", "--seeds", "1").exit_code
        == 0
    )
    du = cli("cache", "du")
    assert du.exit_code == 0 and "labels" in du.output and "reduce" in du.output
    assert cli("cache", "verify").exit_code == 0
    assert "local" in cli("list", "executors").output and "dask" in cli("list", "executors").output


def test_a_missing_folder_with_brackets_is_named_literally(cli):
    one_line_error(
        cli(
            "run", "--dataset", "folder:/x/nonexist[abc]", "--seeds", "1", "--reducer", "none", "--clusterer", "kmeans"
        ),
        "/x/nonexist[abc]",
    )


def test_user_errors_print_the_message_verbatim_on_one_line():
    import typer

    from zsbench.cli.common import user_errors
    from zsbench.plugin.errors import ZsbenchError

    message = "cannot load enc[/bad]: run `pip install pkg[extra]` first; [/] [red]x[/] :smile: stays"
    tiny = typer.Typer()

    @tiny.command()
    def fail() -> None:
        with user_errors():
            raise ZsbenchError(message)

    result = CliRunner().invoke(tiny, [])
    assert result.exit_code == 1
    assert result.output.splitlines() == [f"error: {message}"]


def test_names_with_brackets_are_shown_literally_by_run_and_leaderboard(cli, tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "F.npz"
    np.savez(
        path,
        embeddings=np.concatenate([rng.normal(c, 0.2, (20, 5)) for c in (0, 3, 6)]),
        labels=np.repeat([0, 1, 2], 20),
    )
    result = cli(
        "run",
        "--embeddings",
        str(path),
        "--name",
        "enc[/bad]",
        "--clusterer",
        "kmeans",
        "--seeds",
        "1",
        "--reducer",
        "none",
    )
    assert result.exit_code == 0, result.output
    assert "enc[/bad] (" in result.output  # the summary table's title
    board = cli("leaderboard")
    assert board.exit_code == 0, board.output
    assert "enc[/bad]" in board.output
