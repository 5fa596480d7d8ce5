"""The study protocol file (study-1.toml): the paper's tuned configuration per encoder and clusterer,
loaded, validated, resolvable through the catalog, and with the study's values."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from zsbench.core.catalog import build_catalog
from zsbench.core.protocol import Component
from zsbench.core.study import configuration, load_study, read_study
from zsbench.plugin.errors import ZsbenchError
from zsbench.plugins._estimators import ScaledAgglomerative, dimension_divisor
from zsbench.plugins.zoo import ZOO

SIX = ("kmeans", "spectral", "agglomerative", "agglomerative-no-k", "affinity-propagation", "hdbscan")
# the study's models (analysis/param_setup.py:40-42) whose weights are public
STUDY_MODELS = {
    "none",
    "random_resnet50",
    "resnet50",
    "mocov3_resnet50",
    "dino_resnet50",
    "vicreg_resnet50",
    "clip_RN50",
    "random_vitb16",
    "vitb16",
    "mocov3_vit_base",
    "dino_vitb16",
    "timm_vit_base_patch16_224.mae",
    "mae_pretrain_vit_base_global",
    "clip_vitb16",
    "mae_finetuned_vit_base_global",
}


def test_the_file_loads_and_every_study_encoder_has_all_six_clusterers():
    study = load_study("1")
    assert study.name == "study-1" and study.clusterers == SIX
    expected = {"raw-pixels": "none", "vitb16-mae-ft": "mae_finetuned_vit_base_global"} | {
        name: spec["study_name"] for name, spec in ZOO.items() if spec.get("study_name") in STUDY_MODELS
    }
    assert {e.name: e.study_name for e in study.encoders} == expected
    assert "vitb14-dinov2" not in expected  # in the zoo, not in the study
    for encoder in study.encoders:
        assert tuple(c.clusterer for c in encoder.configurations) == SIX
        assert encoder.image_size == (32 if encoder.name == "raw-pixels" else None)


# REPORT.md section 1.2 (BEST_PARAMS v5), written out as zsbench specs
@pytest.mark.parametrize(
    ("encoder", "clusterer", "reducer", "spec"),
    [
        ("resnet50-supervised", "affinity-propagation", "umap", "affinity-propagation:damping=0.9"),
        ("resnet50-supervised", "spectral", "none", "spectral:n_neighbors=20"),
        ("raw-pixels", "kmeans", "pca:n_components=0.9", "kmeans"),
        ("raw-pixels", "agglomerative", "pca:n_components=200", "agglomerative:linkage=average,metric=cosine"),
        (
            "raw-pixels",
            "agglomerative-no-k",
            "pca:n_components=200",
            "agglomerative-no-k:distance_threshold=0.71,linkage=average,metric=cosine",
        ),
        ("raw-pixels", "affinity-propagation", "pca:n_components=0.8", "affinity-propagation:damping=0.85"),
        ("vitb16-supervised", "hdbscan", "umap", "hdbscan-sklearn:metric=chebyshev,min_cluster_size=5"),
        ("vitb16-mae-cls", "spectral", "zscore", "spectral:n_neighbors=10"),
        ("vitb16-mae-cls", "affinity-propagation", "pca:n_components=200", "affinity-propagation:damping=0.6"),
        ("vitb16-mae-cls", "hdbscan", "pca:n_components=0.95", "hdbscan-sklearn:metric=euclidean,min_cluster_size=5"),
        ("vitb16-mae-avg", "spectral", "zscore", "spectral:n_neighbors=30"),
        (
            "vitb16-dino",
            "agglomerative-no-k",
            "umap",
            "agglomerative-no-k:distance_threshold=0.2,linkage=average,metric=euclidean",
        ),
        (
            "resnet50-random",
            "agglomerative-no-k",
            "pca:n_components=200",
            "agglomerative-no-k:distance_threshold=10.0,linkage=average,metric=chebyshev",
        ),
        (
            "resnet50-mocov3",
            "agglomerative-no-k",
            "umap",
            "agglomerative-no-k:distance_threshold=10.0,linkage=ward,metric=euclidean",
        ),
        ("vitb16-random", "kmeans", "pca:n_components=100", "kmeans"),
        ("resnet50-dino", "hdbscan", "umap", "hdbscan-sklearn:metric=manhattan,min_cluster_size=5"),
        ("resnet50-clip", "spectral", "pca:n_components=0.9", "spectral:n_neighbors=30"),
        ("vitb16-clip", "agglomerative", "umap", "agglomerative:linkage=average,metric=chebyshev"),
        ("vitb16-mocov3", "affinity-propagation", "umap", "affinity-propagation:damping=0.75"),
        ("vitb16-mae-ft", "spectral", "pca:n_components=0.75", "spectral:n_neighbors=50"),
    ],
)
def test_configurations_are_the_studys(encoder, clusterer, reducer, spec):
    assert configuration(encoder, clusterer) == (reducer, spec)


def test_the_min_samples_exception_applies_to_hdbscan_on_its_datasets_only():
    assert configuration("resnet50-supervised", "hdbscan", "celeba") == (
        "umap",
        "hdbscan-sklearn:metric=euclidean,min_cluster_size=2",
    )
    assert configuration("resnet50-dino", "hdbscan", "utkface")[1] == (
        "hdbscan-sklearn:metric=manhattan,min_cluster_size=2"
    )
    assert configuration("resnet50-supervised", "hdbscan", "digits")[1].endswith("min_cluster_size=5")
    for clusterer in SIX[:-1]:
        assert configuration("resnet50-supervised", clusterer, "celeba") == configuration(
            "resnet50-supervised", clusterer
        )


def test_the_studys_hdbscan_is_scikit_learns_and_its_results_group_under_hdbscan():
    study = load_study("1")
    assert {
        c.clusterer_spec.split(":")[0] for e in study.encoders for c in e.configurations if c.clusterer == "hdbscan"
    } == {"hdbscan-sklearn"}
    assert study.slot("hdbscan-sklearn") == "hdbscan" and study.slot("kmeans") == "kmeans"


def test_an_encoder_outside_the_study_is_one_line_naming_the_protocol_and_its_encoders():
    with pytest.raises(ZsbenchError) as info:
        configuration("vitb14-dinov2", "kmeans")
    message = str(info.value)
    assert "\n" not in message and "study-1" in message and "'vitb14-dinov2'" in message
    assert all(e.name in message for e in load_study("1").encoders)
    with pytest.raises(ZsbenchError, match="clusterer 'optics' is not in protocol study-1"):
        configuration("raw-pixels", "optics")


def test_every_spec_resolves_against_the_catalog_and_its_clusterer_fits():
    catalog = build_catalog()
    study = load_study("1")
    reducers = {c.reducer_spec for e in study.encoders for c in e.configurations}
    clusterers = {c.clusterer_spec for e in study.encoders for c in e.configurations}
    clusterers |= {configuration(e.name, "hdbscan", "celeba")[1] for e in study.encoders}
    assert reducers == {"umap", "none", "zscore"} | {r for r in reducers if r.startswith("pca:")}
    for spec in sorted(reducers):
        Component.resolve(catalog, "reducers", spec)
    # some estimators (hdbscan's) check their parameters only at fit: fit each once on small data
    rng = np.random.default_rng(0)
    x = np.concatenate([c + rng.normal(0, 0.6, (25, 4)) for c in rng.normal(0, 1.5, (3, 4))])
    for spec in sorted(clusterers):
        labels = Component.resolve(catalog, "clusterers", spec).build(seed=0, n_clusters=3).fit_predict(x)
        assert len(labels) == len(x), spec


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (
            lambda t: t.replace(
                'spectral             = { reducer = "none", clusterer = "spectral:n_neighbors=20" }\n', "", 1
            ),
            "encoders.resnet50-supervised.spectral",
        ),
        (
            lambda t: t.replace('study_name = "none"', 'study_name = "none"\nimage_sise = 32', 1),
            "encoders.raw-pixels.image_sise",
        ),
        (
            lambda t: t.replace('clusterer = "kmeans" }', 'clusterer = "kmeans:n_init" }', 1),
            "encoders.raw-pixels.kmeans.clusterer",
        ),
        (
            lambda t: t.replace('clusterer = "kmeans" }', 'clusterer = "spectral" }', 1),
            "encoders.raw-pixels.kmeans.clusterer",
        ),
        (lambda t: t.replace("options = {", "option = {", 1), "exceptions[0].option"),
        (lambda t: t.replace('"hdbscan-sklearn:', '"hdbscan:', 1), "encoders.raw-pixels.hdbscan.clusterer"),
        (lambda t: t.replace("{ hdbscan = ", "{ optics = ", 1), "implementations.optics"),
        (lambda t: t.replace('version = "1"', 'version = "1"\nseed = 1', 1), "seed"),
        (lambda t: t.replace("[encoders.raw-pixels]", "[encoders.raw-pixels", 1), "not valid TOML"),
        # the study encoders' families (protocol data, read by the supervision finding)
        (lambda t: t.replace('vitb16-mae-ft = "fine-tuned"', "vitb16-mae-ft = 3", 1), "families.vitb16-mae-ft"),
        (lambda t: t.replace('vitb16-mae-ft = "fine-tuned"', 'vitb16-mae-ft = ""', 1), "families.vitb16-mae-ft"),
        (lambda t: t.replace("[families]", "[families.nested]", 1), "families.nested"),
    ],
)
def test_a_malformed_file_is_one_line_naming_the_file_and_the_key(tmp_path, edit, key):
    text = resources.files("zsbench.core").joinpath("protocols/study-1.toml").read_text()
    broken = edit(text)
    assert broken != text
    path = tmp_path / "study-9.toml"
    path.write_text(broken)
    with pytest.raises(ZsbenchError) as info:
        read_study(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith("study-9.toml: ") and key in message


def test_agglomerative_without_k_divides_by_how_its_metric_grows_with_dimensions():
    assert dimension_divisor("euclidean", 4) == 2.0
    assert dimension_divisor("manhattan", 4) == dimension_divisor("l1", 4) == 4.0
    assert dimension_divisor("chebyshev", 4) == dimension_divisor("cosine", 4) == 1.0
    # centred and divided by the mean per-dim std (sqrt 2 here), the pairwise distances are:
    #   l1 / d = 2:     p0-p1 0.707, p0-p2 1.414, p1-p2 2.121
    #   chebyshev:      p0-p1 1.414, p0-p2 2.828, p1-p2 2.828
    #   euclidean / sqrt(d): p0-p1 1.0
    x = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0]])

    def n_clusters(metric, threshold):
        model = ScaledAgglomerative(distance_threshold=threshold, linkage="average", metric=metric)
        return len(set(model.fit_predict(x)))

    assert (n_clusters("manhattan", 0.72), n_clusters("manhattan", 0.70)) == (2, 3)
    assert (n_clusters("chebyshev", 1.42), n_clusters("chebyshev", 1.40)) == (2, 3)
    assert (n_clusters("euclidean", 1.01), n_clusters("euclidean", 0.99)) == (2, 3)
