"""Issue 21, part 2: names that deceive. An encoder name is NFC; one holding an invisible, control or
bidi character is refused at run, submit and validate, naming the character as an escape; a name
whose TR39 confusable skeleton is another record's under another identity is refused, naming both.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from typer.testing import CliRunner

from zsbench.analysis import records
from zsbench.analysis.board.sources import gather
from zsbench.analysis.records import registry
from zsbench.analysis.records.submission import make_record
from zsbench.analysis.records.validation import validate
from zsbench.cli.app import app
from zsbench.core.unicode_names import UnreadableNameError, checked_name, skeleton, unreadable
from zsbench.storage.store import ResultStore

from .test_board_refusals import base_record, good_records, put, variant

NFD = unicodedata.normalize("NFD", "caf\u00e9")  # e + U+0301 COMBINING ACUTE ACCENT


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def base(smoke):
    return base_record(smoke)


@pytest.mark.parametrize(
    "char, words",
    [
        ("\u200b", "U+200B ZERO WIDTH SPACE"),
        ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\u2066", "U+2066 LEFT-TO-RIGHT ISOLATE"),
        ("\x07", "U+0007 (a control character)"),
        ("\u00a0", "U+00A0 NO-BREAK SPACE"),
        ("\ufe0f", "U+FE0F VARIATION SELECTOR-16"),
        ("\u3164", "U+3164 HANGUL FILLER"),
        ("\u2028", "U+2028 LINE SEPARATOR"),
    ],
)
def test_invisible_and_reordering_characters_are_refused_by_name(char, words):
    name = f"my{char}model"
    assert words in unreadable(name)
    with pytest.raises(UnreadableNameError) as caught:
        checked_name(name, "--name")
    message = str(caught.value)
    assert words in message and message.isprintable() and char not in message  # shown as an escape


def test_names_are_nfc_and_plain_names_pass():
    assert checked_name(NFD, "--name") == "caf\u00e9" and NFD != "caf\u00e9"
    assert "not in Unicode NFC form" in unreadable(NFD)
    for name in ("raw-pixels", "timm/vit_base_patch16_224.augreg", "my model", "caf\u00e9", "\u30e2\u30c7\u30eb"):
        assert unreadable(name) is None, name
    assert "at the end" in unreadable("model ")


def test_confusable_skeletons_follow_tr39():
    assert skeleton("r\u0430w-pixels") == skeleton("raw-pixels")  # Cyrillic а
    assert skeleton("\u0440\u0430w") == skeleton("paw")  # Cyrillic р
    assert skeleton(NFD) == skeleton("caf\u00e9")
    assert skeleton("vit-l16") == skeleton("vit-I16")  # capital I reads as l
    assert skeleton("raw-pixels") != skeleton("raw-pixel") and skeleton("alpha") != skeleton("beta")


def test_run_refuses_an_unreadable_name_and_stores_nfc(tmp_path):
    rng = np.random.default_rng(5)
    npz = tmp_path / "f.npz"
    np.savez(
        npz,
        embeddings=np.concatenate([rng.normal(c, 0.3, (15, 4)) for c in (0, 3, 6)]),
        labels=np.repeat([0, 1, 2], 15),
    )
    args = ("run", "--embeddings", npz, "--clusterer", "kmeans", "--seeds", "1", "--reducer", "none")
    out = cli(*args, "--name", "al\u202epha")
    assert out.exit_code == 1 and out.stderr.count("\n") == 1, out.output
    assert "'al\\u202epha' holds U+202E RIGHT-TO-LEFT OVERRIDE" in out.stderr
    out = cli(*args, "--name", NFD)
    assert out.exit_code == 0, out.output
    assert [r.encoder for r in ResultStore().results()] == ["caf\u00e9"]


def test_submit_normalises_and_refuses_names(smoke, tmp_path):
    with ResultStore(smoke / "results.sqlite") as db:
        results = [r for r in db.results() if r.seed < 3]
    with pytest.raises(UnreadableNameError, match="U\\+200B ZERO WIDTH SPACE"):
        make_record(results, "raw-pixels\u200b", with_labels=False, partial=True)
    out = cli(
        "submit",
        "--encoder",
        "raw\u2066-pixels",
        "--store",
        smoke / "results.sqlite",
        "--no-labels",
        "--partial",
        "--registry",
        tmp_path / "reg",
    )
    assert out.exit_code == 1 and "U+2066 LEFT-TO-RIGHT ISOLATE" in out.stderr and not (tmp_path / "reg").exists()


def test_validate_refuses_a_name_not_in_nfc_and_look_alikes_naming_both(base, tmp_path):
    folder = good_records(base, tmp_path / "registry")
    nfd = put(folder, "cafe", variant(base, NFD))
    assert validate(nfd) == [
        f"{nfd}: encoder.name: 'cafe\\u0301' is not in Unicode NFC form (as NFC: 'caf\\xe9'); "
        "write it composed, so one name is one string"
    ]
    nfd.unlink()
    fake = put(folder, "fake", variant(base, "\u0430lpha", 30.0))  # Cyrillic а, an identity of its own
    assert validate(fake) == []  # alone it is a valid record: the look-alike shows only beside alpha
    refused = dict(gather([folder], store=False).refused)
    assert sorted(refused) == [str(folder / "alpha.json"), str(fake)]
    assert refused[str(fake)].startswith("encoder name '\\u0430lpha' reads as 'alpha' (")
    assert str(folder / "alpha.json") in refused[str(fake)] and str(fake) in refused[str(folder / "alpha.json")]
    out = cli("validate", folder)
    assert out.exit_code == 1 and {line.split(": ", 1)[0] for line in out.stdout.splitlines()} == set(refused)


def test_submit_into_a_registry_refuses_a_look_alike_of_a_record_there(smoke, base, tmp_path):
    folder = tmp_path / "registry" / "standard-1"
    put(folder, "look-alike", variant(base, "r\u0430w-pixels", 3.0))
    with ResultStore(smoke / "results.sqlite") as db:
        results = [r for r in db.results() if r.seed < 3]
    submission = make_record(results, "raw-pixels", with_labels=False, partial=True)
    with pytest.raises(records.RecordError, match="encoder name 'raw-pixels' reads as 'r\\\\u0430w-pixels'"):
        registry.write(submission, registry.record_path(folder.parent, "1", "raw-pixels"), registry=folder)


def test_a_family_members_name_is_refused_when_it_holds_a_hidden_character():
    """`--encoder timm/<model>` names a row too: a bidi override in the member's part is refused, not run."""
    out = CliRunner().invoke(app, ["run", "--encoder", "timm/resnet18\u202e", "--seeds", "1"])
    assert out.exit_code == 1 and "U+202E RIGHT-TO-LEFT OVERRIDE" in out.output and "Traceback" not in out.output
