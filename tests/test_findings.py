"""`zsbench findings`: the paper's three findings, each one command over a store or registry records."""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

from tests.helpers import one_line_error
from tests.test_knn_run import knn_row
from tests.test_trust import result
from zsbench.analysis import proxy
from zsbench.analysis.findings import compare
from zsbench.cli.app import app
from zsbench.storage.store import ResultStore

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HOSTILE = "<img src=x onerror=alert(1)>|x"

# AMI per encoder on (in-domain dataset, far-OOD 1, far-OOD 2): the paper's pattern, by construction
SCORES = {
    "resnet50-supervised": (0.78, 0.40, 0.42),
    "vitb16-supervised": (0.82, 0.44, 0.46),
    "resnet50-dino": (0.60, 0.50, 0.52),
    "vitb16-dino": (0.64, 0.56, 0.58),
    "vitb16-mae-cls": (0.50, 0.50, 0.50),
    "vitb16-mae-ft": (0.86, 0.38, 0.40),
    HOSTILE: (0.70, 0.70, 0.70),
}
DATASETS = (("imnet", "in-domain"), ("far-a", "far-OOD"), ("far-b", "far-OOD"))


def _rows():
    return [
        result(enc, ds, clu, seed, ami=amis[i], group=group)
        for enc, amis in SCORES.items()
        for i, (ds, group) in enumerate(DATASETS)
        for clu in ("kmeans", "agglomerative")
        for seed in (0, 1)
    ]


@pytest.fixture
def stored(isolated_store):
    with ResultStore(isolated_store) as db:
        for r in _rows():
            db.add(r)
    return isolated_store


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_supervision_levels_and_backbone_paired_differences_by_group():
    s = compare(_rows())
    by = {g.name: g for g in s.groups}
    assert list(by) == ["in-domain", "far-OOD"]  # the study's group order
    inside, far = by["in-domain"], by["far-OOD"]
    assert inside.levels["supervised"].mean == pytest.approx(80.0) and inside.levels["supervised"].n == 2
    assert inside.levels["self-supervised"].mean == pytest.approx(58.0) and inside.levels["self-supervised"].n == 3
    # paired with the supervised encoder of the same backbone: dino-R50 -18, dino-ViT -18, MAE -32
    ssl = inside.differences["self-supervised"]
    assert (ssl.mean, ssl.n) == (pytest.approx(-68 / 3), 3) and ssl.low < ssl.mean < ssl.high
    assert far.differences["self-supervised"].mean == pytest.approx(9.0) and far.differences["self-supervised"].n == 6
    # fine-tuned follows supervision: better in-domain, worse far out
    assert inside.differences["fine-tuned"].mean == pytest.approx(4.0) and inside.differences["fine-tuned"].low is None
    assert far.differences["fine-tuned"].mean == pytest.approx(-6.0)
    assert s.unclassified == [HOSTILE] and HOSTILE not in s.families


def test_supervision_family_option_classifies_an_unknown_encoder(stored):
    out = cli("findings", "supervision", "-f", "json", "--family", f"{HOSTILE}=self-supervised")
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["format"] == "zsbench-finding/supervision/1" and doc["unclassified"] == []
    inside = next(g for g in doc["groups"] if g["group"] == "in-domain")
    assert inside["levels"]["self-supervised"]["n"] == 4
    # the new encoder has no backbone with a supervised anchor: its level counts, its difference cannot
    assert inside["differences_from_supervised"]["self-supervised"]["n"] == 3


def test_supervision_table_markdown_html_and_figure(stored, tmp_path):
    table = cli("findings", "supervision")
    assert table.exit_code == 0, table.output
    assert "self-supervised − supervised" in table.stdout and "in-domain" in table.stdout
    assert f"left out, family unknown: {HOSTILE}" in table.stdout  # printed literally, never as markup
    md = cli("findings", "supervision", "-f", "markdown")
    assert "| in-domain | 1 |" in md.stdout and HOSTILE not in md.stdout and "&lt;img" in md.stdout
    page, png = tmp_path / "a.html", tmp_path / "a.png"
    out = cli("findings", "supervision", "-f", "html", "-o", page, "--figure", png)
    assert out.exit_code == 0, out.output
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and "<img src=x" not in text and "&lt;img src=x" in text
    assert 'src="data:image/png;base64,' in text and "http" not in text.replace("http-equiv", "")
    assert png.read_bytes().startswith(PNG_MAGIC)
    again = tmp_path / "b.html"
    assert cli("findings", "supervision", "-f", "html", "-o", again).exit_code == 0
    assert again.read_text() == text  # deterministic: same data, same bytes


def test_finding_errors_are_one_line(stored, tmp_path):
    one_line_error(cli("findings", "supervision", "--family", "oops"), "--family 'oops'", "ENCODER=FAMILY")
    one_line_error(cli("findings", "supervision", "-o", tmp_path / "none" / "x.html"), "--output", "does not exist")
    one_line_error(cli("findings", "supervision", "--encoder", "nobody"), "no encoder with a known family")
    one_line_error(cli("findings", "knn"), "run `zsbench run --knn` first")
    one_line_error(cli("findings", "knn", "--k", "7"), "--k 7")
    one_line_error(cli("findings", "silhouette", "--protocol", "study"), "no scored protocol study-1 results")


def test_silhouette_finding_is_the_proxy_report(stored, tmp_path):
    ours, theirs = cli("findings", "silhouette", "-f", "json"), cli("proxy", "-f", "json")
    assert ours.exit_code == theirs.exit_code == 0, ours.output + theirs.output
    assert json.loads(ours.stdout)["correlations"] == json.loads(theirs.stdout)["correlations"]
    page = cli("findings", "silhouette", "-f", "html")
    assert page.exit_code == 0 and "Spearman ρ" in page.stdout and "data:image/png;base64," in page.stdout


def test_knn_finding_table_html_and_figure(isolated_store, tmp_path):
    encoders = {
        "resnet50-a": (0.2, 0.9),
        "resnet50-b": (0.3, 0.7),
        "resnet50-c": (0.4, 0.8),
        "vitb16-a": (0.5, 0.5),
        "vitb16-b": (0.6, 0.6),
        "vitb16-c": (0.7, 0.65),
    }
    with ResultStore(isolated_store) as db:
        for e, (a, acc) in encoders.items():
            for s in (0, 1):
                db.add(result(e, "digits", "kmeans", s, ami=a))
            for k in (10, 20, 100, 200):
                db.add(knn_row(e, "digits", k, acc))
    md = cli("findings", "knn", "-f", "markdown")
    assert "| kmeans | all | 6 | -0.714 | -0.714 | -0.714 | -0.714 |" in md.stdout, md.output
    png = tmp_path / "knn.png"
    out = cli("findings", "knn", "-f", "html", "--figure", png, "--k", "100")
    assert out.exit_code == 0 and "data:image/png;base64," in out.stdout, out.output
    assert png.read_bytes().startswith(PNG_MAGIC)


def test_proxy_reads_study_results_under_the_protocols_clusterer_names():
    rows = []
    for enc, ami in (("a", 0.2), ("b", 0.5), ("c", 0.7)):
        r = result(enc, "digits", "agglomerative:metric=cosine,linkage=average", ami=ami)
        rows.append(
            dataclasses.replace(
                r,
                reducer="pca:n_components=0.9",
                protocol_version="study-1",
                metrics={**r.metrics, "silhouette_proxy": ami / 2},
            )
        )
        h = result(enc, "digits", "hdbscan-sklearn:metric=euclidean", ami=ami)
        rows.append(dataclasses.replace(h, protocol_version="study-1"))
    pts = proxy.points(proxy.standard(rows, protocol="study"))
    assert sorted({p.clusterer for p in pts}) == ["agglomerative", "hdbscan"] and len(pts) == 6
    assert proxy.standard(rows) == []  # never mixed into the standard protocol


def test_finding_paths_are_checked_before_any_work(stored, tmp_path):
    (tmp_path / "dir.png").mkdir()
    same = tmp_path / "same.png"
    one_line_error(cli("findings", "supervision", "-f", "html", "-o", same, "--figure", same), "same file")
    assert not same.exists()  # neither written: the figure is not lost under the page
    one_line_error(cli("findings", "supervision", "--figure", tmp_path / "fig.svg"), "--figure", ".png name")
    one_line_error(cli("findings", "supervision", "--figure", tmp_path / "dir.png"), "--figure", "is a folder")
    one_line_error(cli("findings", "knn", "-o", tmp_path / "dir.png"), "--output", "is a folder")
    one_line_error(cli("proxy", "--png", tmp_path / "p.txt"), "--png", ".png name")


def test_family_option_names_real_encoders_once(stored):
    one_line_error(
        cli("findings", "supervision", "--family", "resnet50-dnio=self-supervised"),
        "--family resnet50-dnio",
        "no such encoder",
    )
    one_line_error(
        cli(
            "findings", "supervision", "--family", "vitb16-dino=supervised", "--family", "vitb16-dino = self-supervised"
        ),
        "'vitb16-dino' given twice",
    )
    same = cli(
        "findings",
        "supervision",
        "-f",
        "json",
        "--family",
        "vitb16-dino=fine-tuned",
        "--family",
        "vitb16-dino=fine-tuned",
    )
    assert same.exit_code == 0 and json.loads(same.stdout)["families"]["vitb16-dino"] == "fine-tuned", same.output


def test_encoders_of_no_known_backbone_are_never_paired():
    rows = [
        result(enc, ds, "kmeans", s, ami=a, group=g)
        for enc, amis in (("foo-sup", (0.7, 0.4)), ("bar", (0.5, 0.5)))
        for (ds, g), a in zip(DATASETS[:2], amis, strict=True)
        for s in (0, 1)
    ]
    s = compare(rows, families={"foo-sup": "supervised", "bar": "self-supervised"})
    assert all(g.levels and not g.differences for g in s.groups)  # "other" is no architecture to pair within
    assert any("no known backbone" in n and "bar, foo-sup" in n for n in s.notes)


def test_names_in_figures_and_markdown_are_literal(isolated_store, tmp_path):
    odd = "a$\\frac$b\nc"  # mathtext that does not parse, and a line break
    with ResultStore(isolated_store) as db:
        for r in _rows():
            db.add(r)
        for r in _rows()[:12]:
            db.add(dataclasses.replace(r, encoder=odd))
    fig = tmp_path / "f.png"
    out = cli(
        "findings",
        "supervision",
        "-f",
        "markdown",
        "--family",
        f"{odd}=self-supervised",
        "--family",
        f"vitb16-dino={odd}",
        "--figure",
        fig,
    )  # a family name is drawn in the figure's legend
    assert out.exit_code == 0, out.output
    assert fig.read_bytes().startswith(PNG_MAGIC)
    shown = "a$\\\\frac$b c"  # the backslash escaped, so Markdown shows it as written
    assert f"| {shown} AMI×100 |" in out.stdout and f"- {shown}: vitb16-dino" in out.stdout


def test_markdown_shows_names_as_written():
    from zsbench.report.text import md

    # emphasis, code, links, strikethrough and table pipes are escaped; a user's backslash cannot cancel ours
    assert md("my_model_*v2* [x](y) `c` ~~s~~ a|b \\*") == r"my\_model\_\*v2\* \[x\](y) \`c\` \~\~s\~\~ a\|b \\\*"
