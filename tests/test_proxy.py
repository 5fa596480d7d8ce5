"""The label-free proxy: its correlation with AMI, and choosing a clusterer without labels (`zsbench proxy`)."""

from __future__ import annotations

import json
import math
import types

import numpy as np
import pytest
from typer.testing import CliRunner

import zsbench
from zsbench.analysis import proxy
from zsbench.analysis.proxy import choice as choosing
from zsbench.cli.app import app
from zsbench.core.result import Result
from zsbench.storage.store import ResultStore

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _result(
    encoder,
    dataset,
    clusterer,
    ami,
    sil,
    *,
    seed=0,
    reducer="umap",
    protocol="1",
    created_at="2024-01-01T00:00:00+00:00",
    status="ok",
):
    metrics = {"ami": ami, "silhouette_proxy": sil} if status == "ok" else {}
    return Result(
        encoder,
        dataset,
        reducer,
        clusterer,
        seed,
        status,
        None if status == "ok" else "boom",
        metrics,
        {},
        {},
        {},
        protocol,
        created_at,
        "run",
    )


# kmeans: 4 cells, AMI a monotone but not linear function of the silhouette; spectral: 2 cells only
CELLS = [
    ("enc-a", "d1", "kmeans", 0.10, 0.1),
    ("enc-a", "d2", "kmeans", 0.20, 0.2),
    ("enc-b", "d1", "kmeans", 0.40, 0.3),
    ("enc-b", "d2", "kmeans", 0.80, 0.4),
    ("enc-a", "d1", "spectral", 0.5, 0.5),
    ("enc-b", "d1", "spectral", 0.6, 0.7),
]


def _hand_made() -> list[Result]:
    return [_result(*cell) for cell in CELLS]


def test_correlations_per_clusterer_and_pooled():
    corrs = proxy.correlations(proxy.points(_hand_made()), ["spectral", "kmeans"])
    assert [c.clusterer for c in corrs] == ["spectral", "kmeans", proxy.POOLED]
    spectral, kmeans, pooled = corrs
    assert kmeans.n == 4 and kmeans.spearman == pytest.approx(1.0)
    sil, ami = [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.4, 0.8]
    assert kmeans.pearson == pytest.approx(np.corrcoef(sil, ami)[0, 1]) and kmeans.pearson < 0.99
    assert (spectral.n, spectral.spearman, spectral.pearson) == (2, None, None)
    assert proxy.note(spectral) == "correlation needs at least 3 encoder × dataset cells"
    assert pooled.n == 6 and pooled.spearman is not None and proxy.note(pooled) is None


def test_points_average_seeds_and_standard_keeps_the_protocols_latest_results():
    results = [
        _result("e", "d", "kmeans", 0.2, 0.4, seed=0),
        _result("e", "d", "kmeans", 0.4, 0.6, seed=1),
        # the same configuration again, later: replaces seed 1's first result
        _result("e", "d", "kmeans", 0.6, 0.8, seed=1, created_at="2024-02-01T00:00:00+00:00"),
        _result("e", "d", "kmeans", 0.9, 0.9, reducer="pca"),  # not the protocol's reducer
        _result("e", "d", "kmeans", 0.9, 0.9, protocol="2"),
        _result("e", "d", "hdbscan", 0.9, 0.9, status="failed"),
        _result("other", "d", "kmeans", 0.9, 0.9),
    ]
    kept = proxy.standard(results, encoders=["e"])
    (point,) = proxy.points(kept)
    assert (point.n_seeds, point.ami, point.silhouette) == (2, pytest.approx(0.4), pytest.approx(0.6))


# -- the report on the command line -----------------------------------------------------------------


@pytest.fixture
def cli():
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def stored(isolated_store):
    with ResultStore(isolated_store) as db:
        for r in _hand_made():
            db.add(r)
    return isolated_store


def _one_line_error(result, *fragments):
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    for fragment in fragments:
        assert fragment in lines[0]


def test_report_json_table_and_markdown(cli, stored):
    out = cli("proxy", "--format", "json")
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    by = {c["clusterer"]: c for c in doc["correlations"]}
    assert list(by) == ["kmeans", "spectral", "pooled"]  # protocol order, then pooled
    assert by["kmeans"]["n"] == 4 and math.isclose(by["kmeans"]["spearman"], 1.0)
    assert by["spectral"]["spearman"] is None and "at least 3" in by["spectral"]["note"]
    assert len(doc["points"]) == 6

    table = cli("proxy")
    assert table.exit_code == 0 and "pooled" in table.stdout and "n/a" in table.stdout
    assert "n/a: correlation needs at least 3 encoder × dataset cells (spectral)" in table.stdout
    md = cli("proxy", "-f", "markdown", "--encoder", "enc-a")
    assert "| kmeans | 2 | n/a | n/a |" in md.stdout and "| pooled | 3 |" in md.stdout


def test_report_reads_registry_records_without_the_store(cli, stored):
    from pathlib import Path

    out = cli("proxy", "--registry", Path(__file__).parent.parent / "registry", "-f", "json")
    assert out.exit_code == 0, out.output
    points = json.loads(out.stdout)["points"]
    assert points and not {p["encoder"] for p in points} & {"enc-a", "enc-b"}  # the store is left out


def test_report_png_is_a_png(cli, stored, tmp_path):
    path = tmp_path / "proxy.png"
    out = cli("proxy", "--png", path)
    assert out.exit_code == 0, out.output
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_report_errors_are_one_line(cli, tmp_path):
    _one_line_error(cli("proxy"), "no scored protocol 1 results", "run `zsbench run`", "--registry")
    _one_line_error(cli("proxy", "--k-min", "3"), "--k-min applies only with --choose")
    _one_line_error(cli("proxy", "--choose", "--encoder", "raw-pixels"), "exactly one --encoder and one --dataset")
    _one_line_error(cli("proxy", "--png", tmp_path / "absent" / "p.png"), "the folder", "does not exist")


# -- choosing a clusterer without labels ------------------------------------------------------------

K_RANGE = ("--k-min", "8", "--k-max", "12")
N = 300


@pytest.fixture(scope="module")
def digits300(tmp_path_factory):
    """`zsbench run` (kmeans, seed 0) then a choice on the same 300 digits and cache: UMAP fitted once."""
    cache = tmp_path_factory.mktemp("proxy") / "cache"
    run = zsbench.run("raw-pixels", "digits", clusterers=["kmeans"], seeds=[0], max_samples=N, store=False, cache=cache)
    choice = choosing.choose("raw-pixels", "digits", k_min=8, k_max=12, max_samples=N, cache=cache)
    return types.SimpleNamespace(cache=cache, run=run.results[0], choice=choice)


def test_choice_is_the_highest_silhouette_and_shares_the_runs_stages(digits300):
    choice, run = digits300.choice, digits300.run
    # 3 clusterers with k (8..12) and 3 that find k themselves
    assert len(choice.candidates) == 3 * 5 + 3 and choice.n_samples == N
    assert choice.chosen.silhouette == max(c.silhouette for c in choice.candidates if c.silhouette is not None)
    assert choice.checked and all(c.ami is not None for c in choice.candidates if c.error is None)
    assert choice.best.ami == max(c.ami for c in choice.candidates if c.ami is not None)
    # the same UMAP space and kmeans labels as `zsbench run` (k = 10 classes): same keys, same numbers
    kmeans10 = next(c for c in choice.candidates if c.clusterer == "kmeans" and c.n_clusters == 10)
    assert kmeans10.labels_key == run.config["artifacts"]["labels"]
    assert kmeans10.silhouette == pytest.approx(run.metrics["silhouette_proxy"], abs=1e-12)
    assert kmeans10.ami == pytest.approx(run.metrics["ami"], abs=1e-12)


def test_a_run_reuses_the_embedding_and_stages_of_a_choice(tmp_path):
    """The other way round: a choice first, then `zsbench run` on the same images finds its stages cached."""
    cache = tmp_path / "cache"
    choosing.choose("raw-pixels", "digits", k_min=10, k_max=10, max_samples=N, cache=cache)
    run = zsbench.run("raw-pixels", "digits", clusterers=["kmeans"], seeds=[0], max_samples=N, store=False, cache=cache)
    assert run.results[0].config["embedding_reused"] is True
    assert run.computed == {"reduce": 0, "labels": 0} and run.reused["labels"] == 1


def test_choose_on_the_command_line(cli, digits300, tmp_path):
    args = (
        "proxy",
        "--choose",
        "--encoder",
        "raw-pixels",
        "--dataset",
        "digits",
        "--max-samples",
        N,
        *K_RANGE,
        "--cache",
        digits300.cache,
    )
    out = cli(*args, "--format", "json")
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    best_sil = max(c["silhouette"] for c in doc["candidates"] if c["silhouette"] is not None)
    assert doc["choice"]["silhouette"] == best_sil == doc["candidates"][0]["silhouette"]
    assert doc["check"]["chosen_ami"] == doc["choice"]["ami"]
    assert doc["check"]["best_ami"] == max(c["ami"] for c in doc["candidates"] if c["ami"] is not None)

    png = tmp_path / "choice.png"
    table = cli(*args, "--png", png)
    assert table.exit_code == 0, table.output
    chosen = digits300.choice.chosen
    assert "AMI ×100 (check)" in table.stdout and f"choice: {chosen.describe()}" in table.stdout
    assert "check with the labels (not used to choose): the proxy's choice scores AMI ×100" in table.stdout
    assert png.read_bytes()[:8] == PNG_MAGIC


def _digits_subset(labels_for):
    """A dataset plugin: the 300 digits that `--max-samples 300` picks, with labels from ``labels_for``."""
    from sklearn.datasets import load_digits

    from zsbench.plugin.datasets import ArrayImages, stratified_indices

    bunch = load_digits()
    keep = stratified_indices(bunch.target.astype(str), N, 0)
    pixels = np.round(bunch.images[keep] * (255.0 / 16.0)).astype(np.uint8)

    @zsbench.hookimpl
    def register_datasets(register):
        register(
            "digits-relabelled",
            lambda: ArrayImages(
                pixels, labels_for(bunch.target[keep]), [f"digits/{i}" for i in keep], {"split": "test"}
            ),
        )

    return types.SimpleNamespace(register_datasets=register_datasets)


def _same_choice(a, b):
    assert [(c.clusterer, c.n_clusters, c.found) for c in a.candidates] == [
        (c.clusterer, c.n_clusters, c.found) for c in b.candidates
    ]
    assert [c.silhouette for c in a.candidates] == pytest.approx([c.silhouette for c in b.candidates], abs=1e-12)


def test_labels_are_not_used_to_choose(cli, digits300):
    """The same images with no labels, then with half of them: the same candidates, scores and choice."""
    with zsbench.registered(_digits_subset(lambda y: np.full(len(y), "", dtype=object)), "nolabels"):
        bare = choosing.choose("raw-pixels", "digits-relabelled", k_min=8, k_max=12, cache=digits300.cache)
        out = cli(
            "proxy",
            "--choose",
            "--encoder",
            "raw-pixels",
            "--dataset",
            "digits-relabelled",
            *K_RANGE,
            "--cache",
            digits300.cache,
        )
    _same_choice(bare, digits300.choice)
    assert (bare.n_labelled, bare.checked, bare.best) == (0, False, None)
    assert all(c.ami is None for c in bare.candidates)
    assert out.exit_code == 0, out.output
    assert "AMI ×100 (check)" not in out.stdout and "no labels: no AMI check" in out.stdout
    assert f"choice: {digits300.choice.chosen.describe()}" in out.stdout

    half = lambda y: np.where(np.arange(len(y)) % 2 == 0, y.astype(str), "")  # noqa: E731
    with zsbench.registered(_digits_subset(half), "halflabels"):
        partial = choosing.choose("raw-pixels", "digits-relabelled", k_min=8, k_max=12, cache=digits300.cache)
    _same_choice(partial, digits300.choice)
    assert partial.checked and partial.n_labelled == N // 2 and partial.chosen.ami is not None


def test_too_few_images_is_a_clear_error(cli):
    from zsbench.plugin.datasets import ArrayImages

    @zsbench.hookimpl
    def register_datasets(register):
        register(
            "tiny", lambda: ArrayImages(np.zeros((40, 8, 8), np.uint8), [""] * 40, [str(i) for i in range(40)], {})
        )

    with zsbench.registered(types.SimpleNamespace(register_datasets=register_datasets), "tiny"):
        out = cli("proxy", "--choose", "--encoder", "raw-pixels", "--dataset", "tiny")
    _one_line_error(out, "dataset tiny: 40 images; choosing a clusterer needs at least 52", "--k-max")
    _one_line_error(
        cli("proxy", "--choose", "--encoder", "raw-pixels", "--dataset", "digits", "--k-min", "9", "--k-max", "8"),
        "need 2 <= k-min <= k-max",
    )
    _one_line_error(
        cli("proxy", "--choose", "--encoder", "raw-pixels", "--dataset", "digits", "--store", "x.db"),
        "--registry and --store do not apply with --choose",
    )
