"""Component names, register keywords and NAME:key=value options cannot be abused: a third party
cannot take a built-in's name or namespace, a name is plain ASCII, every register keyword is
checked (and ``group`` takes effect), options are given once with a value, echoes are short, and
plugin text printed to stdout goes to stderr."""

from __future__ import annotations

import time
import types

import numpy as np
import pytest
from typer.testing import CliRunner

import zsbench
from zsbench.cli.app import app
from zsbench.core.catalog import build_catalog
from zsbench.core.names import builtin_clash, name_problem, parse_spec
from zsbench.plugin.errors import ZsbenchError

from .helpers import Blobs, MeanStd
from .test_plugins import fabricate_distribution


def cli(*args):
    result = CliRunner().invoke(app, list(args))
    result.flat = " ".join(result.output.split())  # rich wraps long lines in tables
    return result


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def plugin(kind: str, *registrations):
    """A plugin object whose ``register_<kind>`` hook makes ``registrations`` ((args, kwargs) pairs)."""

    @zsbench.hookimpl
    def hook(register):
        for args, kwargs in registrations:
            register(*args, **kwargs)

    return types.SimpleNamespace(**{f"register_{kind}": hook})


def three_blobs(per: int = 15):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(c, 0.1, (per, 4)) for c in (0, 3, 6)])
    return x, np.repeat(["a", "b", "c"], per)


RUN = dict(encoder="mine", dataset="toy", reducer="none", seeds=1, store=False, cache=False)


# -- 1. built-in names and namespaces stay the built-ins' --------------------------------------------


@pytest.mark.parametrize(
    "name, builtin, why",
    [
        ("kmeans", "kmeans", "a built-in name"),
        ("KMeans", "kmeans", "a variant of the built-in name 'kmeans'"),
        ("timm", "timm/", "a variant of the built-in name 'timm/'"),
        ("timm:", "timm/", "a variant of the built-in name 'timm/'"),
        ("timm/resnet18", "timm/", "a member of the built-in family 'timm/'"),
        ("TIMM/x/", "timm/", "a member of the built-in family 'timm/'"),
        ("folder:/", "folder:", "a variant of the built-in name 'folder:'"),
        ("csv:/tmp", "csv:", "a member of the built-in family 'csv:'"),
        ("raw-pixels:", "raw-pixels", "a variant of the built-in name 'raw-pixels'"),
        ("kmeans/v2", "kmeans", "an extension of the built-in name 'kmeans'"),
        ("org/", "org/model", "a prefix of the built-in name 'org/model'"),
    ],
)
def test_a_name_inside_a_built_in_s_namespace_clashes(name, builtin, why):
    assert builtin_clash(name, [builtin, "other"]).startswith(why)


@pytest.mark.parametrize("name", ["kmeans2", "raw-pixels-v2", "mytimm/", "timmy", "org/model2", "csv-plus:"])
def test_names_beside_a_built_in_do_not_clash(name):
    assert builtin_clash(name, ["kmeans", "raw-pixels", "timm/", "org/model", "csv:"]) is None


def test_a_third_party_cannot_take_over_a_built_in_family_or_its_members():
    thief = types.SimpleNamespace(
        **vars(
            plugin(
                "encoders",
                *[
                    ((n, MeanStd), {})
                    for n in ("timm/resnet18", "raw-pixels:", "Raw-Pixels", "open_clip/ViT-B-32", "mine")
                ],
            )
        ),
        **vars(plugin("datasets", *[((n, Blobs), {}) for n in ("folder", "CSV:", "toy")])),
    )
    with zsbench.registered(thief, "thief"):
        catalog = build_catalog()
        messages = catalog.refusal_messages()
        listed = cli("list", "datasets")
        strict = cli("plugins", "--strict")
    assert catalog.get("encoders", "timm/resnet18").plugin == "zsbench:encoders"  # the built-in family's member
    assert catalog.get("encoders", "raw-pixels").plugin == "zsbench:raw_pixels"
    assert catalog.get("datasets", "csv:x.csv").plugin == "zsbench:datasets_files"
    assert catalog.get("encoders", "mine").plugin == catalog.get("datasets", "toy").plugin == "__main__:thief"
    assert "folder" not in catalog.names("datasets") and "Raw-Pixels" not in catalog.names("encoders")
    assert len(messages) == 6 and strict.exit_code == 1
    assert (
        "plugin __main__:thief registers encoder 'timm/resnet18', a member of the built-in family 'timm/'; rename it"
    ) in messages
    assert (
        "plugin __main__:thief registers encoder 'Raw-Pixels', a variant of the built-in name 'raw-pixels'"
        in " ".join(messages)
    )
    assert (
        "refused: plugin __main__:thief registers dataset 'folder', a variant of the built-in name 'folder:'"
        in listed.flat
    )


@pytest.mark.parametrize("name", ["folder:/", "csv:/tmp", "my:set/"])
def test_a_family_member_cannot_be_registered_at_all(name):
    with zsbench.registered(plugin("datasets", ((name, Blobs), {})), "member"):
        catalog = build_catalog()
    assert "':' only ends a family name" in catalog.hook_errors["__main__:member"]
    assert catalog.get("datasets", "folder:/x").plugin == "zsbench:datasets_files"


def test_two_third_parties_differing_in_case_are_one_name_and_neither_wins():
    with (
        zsbench.registered(plugin("encoders", (("Twin", MeanStd), {})), "a"),
        zsbench.registered(plugin("encoders", (("twin", MeanStd), {})), "b"),
    ):
        catalog = build_catalog()
    assert "Twin" not in catalog.names("encoders") and "twin" not in catalog.names("encoders")
    with pytest.raises(zsbench.ZsbenchError, match="registered by both __main__:a and __main__:b"):
        catalog.get("encoders", "twin")


# -- 2. the grammar of a registered name ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name, rule",
    [
        (" kmeans", "printable ASCII without spaces; it contains ' ' (U+0020 SPACE)"),
        ("local\t", "U+0009 a control character"),
        ("raw-pixels ", "U+0020 SPACE"),
        ("raw\u2010pixels", "U+2010 HYPHEN"),
        ("k\u0456means", "U+0456 CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I"),
        ("k\u200bmeans", "U+200B ZERO WIDTH SPACE"),
        ("my encoder", "U+0020 SPACE"),
        ("a,b", "it contains ','"),
        ("a=b", "it contains '='"),
        ('a"b', "it contains '\"'"),
        ("line\nbreak", "U+000A"),
        ("a:b", "':' only ends a family name"),
        ("-dash", "starts with a letter or digit"),
        ("", "not empty"),
        ("x" * 101, "at most 100 characters"),
    ],
)
def test_bad_names_break_a_named_rule(name, rule):
    assert rule in name_problem(name)


def test_every_built_in_name_follows_the_grammar():
    catalog = build_catalog()
    assert catalog.hook_errors == {}
    names = [n for kind in catalog.entries.values() for n in kind]
    assert len(names) > 50 and "fgvc-aircraft" in names and "open_clip/" in names
    assert [n for n in names if name_problem(n)] == []


def test_a_bad_name_fails_that_registration_in_one_line_and_plugins_names_it():
    with zsbench.registered(plugin("clusterers", (("k\u0456means\n", MeanStd), {})), "spoof"):
        catalog = build_catalog()
        shown = cli("plugins")
    error = catalog.hook_errors["__main__:spoof"]
    assert error == (
        "register_clusterers raised ValueError: register('kіmeans\\n', ...): bad name: a name is "
        "printable ASCII without spaces; it contains 'і' (U+0456 CYRILLIC SMALL LETTER "
        "BYELORUSSIAN-UKRAINIAN I)"
    )
    assert (
        shown.exit_code == 0 and "__main__:spoof" in shown.flat and "failed: register_clusterers raised" in shown.flat
    )


# -- 3. register keywords ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, kwargs, error",
    [
        ("encoders", {"gpu": "yes"}, "TypeError: register('x', ..., gpu='yes'): gpu takes True or False"),
        ("encoders", {"gpu": 1}, "gpu=1): gpu takes True or False"),
        ("clusterers", {"memory_bytes": lambda n, d: 1 / 0}, "memory_bytes(100, 10) raised ZeroDivisionError"),
        ("clusterers", {"memory_bytes": lambda n: n}, "memory_bytes(100, 10) raised TypeError"),
        ("reducers", {"memory_bytes": lambda n, d: "lots"}, "returned 'lots', not a number of bytes"),
        ("clusterers", {"memory_bytes": lambda n, d: float("nan")}, "returned nan, not a number of bytes"),
        ("clusterers", {"memory_bytes": lambda n, d: float("inf")}, "returned inf"),
        ("clusterers", {"memory_bytes": lambda n, d: -1}, "returned -1"),
        ("clusterers", {"memory_bytes": lambda n, d: True}, "returned True"),
        ("clusterers", {"k_param": "n clusters"}, "takes a parameter name"),
        (
            "datasets",
            {"group": "outer-space"},
            "ValueError: register('x', ..., group='outer-space'): group is one of "
            "in-domain, domain-shift, near-OOD, fine-grained, far-OOD, validation",
        ),
        ("datasets", {"group": 3}, "group=3): group is one of"),
    ],
)
def test_register_keywords_of_the_wrong_type_or_value_fail_the_hook(kind, kwargs, error):
    with zsbench.registered(plugin(kind, (("x", MeanStd), kwargs)), "kw"):
        catalog = build_catalog()
    assert error in catalog.hook_errors["__main__:kw"]
    assert "x" not in catalog.names(kind)


@pytest.mark.parametrize(
    "given, canonical",
    [("near ood", "near-OOD"), ("Fine_Grained", "fine-grained"), (" FAR-ood ", "far-OOD"), ("In-Domain", "in-domain")],
)
def test_a_group_is_stored_in_the_study_s_spelling(given, canonical):
    with zsbench.registered(plugin("datasets", (("toy-set", Blobs), {"group": given})), "grp"):
        assert build_catalog().get("datasets", "toy-set").meta["group"] == canonical


def test_a_registered_group_reaches_the_record_and_the_leaderboard():
    class Grouped(Blobs):
        def __init__(self):
            super().__init__()
            self.info = {**self.info, "group": "near-OOD"}  # the dataset's own word wins

    registrations = [
        (("plain-blobs", Blobs), {"group": "fine grained"}),
        (("grouped-blobs", Grouped), {"group": "far-OOD"}),
    ]
    both = types.SimpleNamespace(
        **vars(plugin("datasets", *registrations)), **vars(plugin("encoders", (("mean-std", MeanStd), {})))
    )
    with zsbench.registered(both, "grouped"):
        out = zsbench.run(
            "mean-std",
            ["plain-blobs", "grouped-blobs"],
            clusterers=["kmeans"],
            reducer="none",
            seeds=1,
            store=False,
            cache=False,
        )
    assert {r.dataset: r.config["dataset"]["info"]["group"] for r in out.results} == {
        "plain-blobs": "fine-grained",
        "grouped-blobs": "near-OOD",
    }
    board = out.leaderboard()
    assert board.groups == ["near-OOD", "fine-grained"]  # not "other"
    assert {d.name: d.group for d in board.datasets} == {"plain-blobs": "fine-grained", "grouped-blobs": "near-OOD"}


def test_the_register_groups_are_the_leaderboard_s():
    from zsbench.analysis.board import GROUPS as BOARD
    from zsbench.plugin.protocols import GROUPS, REGISTER_GROUPS

    assert GROUPS == BOARD and REGISTER_GROUPS[: len(GROUPS)] == GROUPS


def test_a_declared_k_param_the_estimator_lacks_is_one_line_naming_the_plugin():
    from sklearn.cluster import KMeans

    with zsbench.registered(plugin("clusterers", (("kp", KMeans), {"k_param": "n_components"})), "kp"):
        with pytest.raises(ZsbenchError) as raised:
            zsbench.run_embeddings(*three_blobs(), clusterers=["kp"], **RUN)
    assert str(raised.value).startswith(
        "clusterer 'kp' (plugin __main__:kp) declares k_param='n_components' but its estimator has no "
        "parameter 'n_components' (it has: algorithm, copy_x, init,"
    )


@pytest.mark.parametrize(
    "spec, taken",
    [
        ("gmm:n_components=3", "n_components is"),
        ("gmm:n_clusters=3", "n_clusters is"),
        ("gmm:n_components=2,n_clusters=3,random_state=1", "random_state and n_components and n_clusters are"),
    ],
)
def test_the_protocol_sets_k_under_the_declared_name_and_n_clusters(spec, taken):
    from sklearn.mixture import GaussianMixture

    with zsbench.registered(plugin("clusterers", (("gmm", GaussianMixture), {"k_param": "n_components"})), "g"):
        with pytest.raises(ZsbenchError, match=f"{taken} set by the protocol"):
            zsbench.run_embeddings(*three_blobs(), clusterers=[spec], **RUN)


def test_memory_bytes_failing_at_run_time_fails_that_clusterer_naming_the_plugin():
    from sklearn.cluster import KMeans

    def need(n, d):
        return 1 if n <= 100 else 1 / 0  # passes the probe at register, fails on the real data

    with zsbench.registered(plugin("clusterers", (("fragile", KMeans), {"memory_bytes": need})), "mem"):
        out = zsbench.run_embeddings(*three_blobs(per=40), clusterers=["fragile", "kmeans"], **RUN)
    fragile, kmeans = out.results
    assert kmeans.ok and not fragile.ok
    assert fragile.error == (
        "clusterer fragile (plugin __main__:mem): memory_bytes(120, 4) raised "
        "ZeroDivisionError: division by zero; fix its register(..., memory_bytes=...)"
    )


# -- 4. options ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, message",
    [
        ("raw-pixels:size=16,size=8", "option size given twice in 'raw-pixels:size=16,size=8'; give it once"),
        ("kmeans:max_iter=10, max_iter=20", "option max_iter given twice"),
        ("raw-pixels:size=", "option size of raw-pixels has no value; write size=VALUE or drop it"),
        ("kmeans:n init=3", "option 'n init' of 'kmeans' is not a parameter name"),
    ],
)
def test_option_mistakes_in_a_spec(spec, message):
    with pytest.raises(ZsbenchError) as raised:
        parse_spec(spec)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "flag, spec",
    [
        ("--encoder", "raw-pixels:size=16,size=8"),
        ("--clusterer", "kmeans:max_iter=10,max_iter=20"),
        ("--executor", "local:workers=2,workers=3"),
    ],
)
def test_an_option_given_twice_on_the_command_line_is_one_line(flag, spec):
    args = {"--encoder": "raw-pixels", "--clusterer": "kmeans", "--executor": "local", flag: spec}
    line = one_line_error(
        cli(
            "run",
            "--dataset",
            "digits",
            "--reducer",
            "none",
            "--seeds",
            "1",
            *[a for pair in args.items() for a in pair],
        )
    )
    assert "given twice" in line


@pytest.mark.parametrize("key", ["k" * 50_000, "-" * 50_000, "\u0456" * 50_000])
@pytest.mark.parametrize("flag", ["--encoder", "--clusterer"])
def test_a_huge_option_key_is_not_echoed(key, flag):
    name = {"--encoder": "raw-pixels", "--clusterer": "kmeans"}[flag]
    line = one_line_error(
        cli("run", "--dataset", "digits", "--reducer", "none", "--seeds", "1", flag, f"{name}:{key}=1")
    )
    assert len(line) < 300 and "50,000 characters" in line


def test_weights_in_the_name_are_said_as_an_option_not_as_the_flag(tmp_path):
    line = one_line_error(
        cli(
            "run",
            "--encoder",
            f"raw-pixels:weights={tmp_path / 'x.pt'}",
            "--dataset",
            "digits",
            "--reducer",
            "none",
            "--seeds",
            "1",
        )
    )
    assert line == (
        f"error: option weights={tmp_path / 'x.pt'} of raw-pixels: no such file or folder; "
        "pass the path of the weights file"
    )


# -- 5. raw-pixels' size ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["16", True, 0, -3, 2.5, None])
def test_raw_pixels_refuses_a_size_that_is_not_a_positive_whole_number(size):
    entry = build_catalog().get("encoders", "raw-pixels")
    with pytest.raises(ZsbenchError) as raised:
        entry.create(size=size)
    assert str(raised.value) == (
        f"raw-pixels: option size={size!r} must be a whole number of pixels, at least 1 "
        "(e.g. size=16; the default is 32)"
    )


def test_raw_pixels_size_from_the_command_line_is_one_line():
    line = one_line_error(
        cli(
            "run",
            "--encoder",
            "raw-pixels:size='16'",
            "--dataset",
            "digits",
            "--reducer",
            "none",
            "--seeds",
            "1",
            "--clusterer",
            "kmeans",
        )
    )
    assert "option size='16' must be a whole number of pixels" in line


def test_raw_pixels_accepts_a_numpy_integer():
    assert build_catalog().get("encoders", "raw-pixels").create(size=np.int64(8)).size == 8


# -- 6. a slow register hook is named ------------------------------------------------------------------


def test_a_slow_register_hook_is_named_with_its_time():
    @zsbench.hookimpl
    def register_reducers(register):
        time.sleep(0.6)  # e.g. scanning a folder of weights at register
        register("slow-hook", lambda: None)

    with zsbench.registered(types.SimpleNamespace(register_reducers=register_reducers), "slowhook"):
        assert build_catalog().hook_seconds["__main__:slowhook"] >= 0.6
        result = cli("plugins")
    assert result.exit_code == 0
    assert "plugin __main__:slowhook took 0.0 s to import and 0.6 s in its register hooks" in result.flat
    assert "into the factories" in result.flat
    assert "plugin zsbench:clusterers took" not in result.flat  # the quick ones are not named


# -- 7. plugin text printed to stdout goes to stderr ------------------------------------------------

NOISY = """
    import numpy as np

    import zsbench

    print("NOISY-IMPORT")


    class Noisy:
        identity = {"name": "noisy"}

        def embed(self, dataset):
            print("NOISY-EMBED")
            yield np.array([[float(np.asarray(dataset[i]).mean()), float(i % 3)] for i in range(len(dataset))])


    def noisy():
        print("NOISY-FACTORY")
        return Noisy()


    @zsbench.hookimpl
    def register_encoders(register):
        print("NOISY-HOOK")
        register("noisy", noisy)
"""


@pytest.fixture
def noisy(tmp_path, monkeypatch, fresh_plugins):
    monkeypatch.syspath_prepend(str(tmp_path))
    fabricate_distribution(tmp_path, "zsb-noisy", "0.1", {"noisy": "zsb_noisy_mod"}, {"zsb_noisy_mod": NOISY})
    monkeypatch.setenv("ZSBENCH_LOAD_PLUGINS", "zsbench,zsb-noisy")


def test_plugin_prints_do_not_reach_stdout(noisy):
    import sys

    listed = cli("list", "encoders")
    assert listed.exit_code == 0 and "noisy" in listed.stdout
    assert "NOISY" not in listed.stdout and "NOISY-IMPORT" in listed.stderr and "NOISY-HOOK" in listed.stderr
    run = cli(
        "run",
        "--encoder",
        "noisy",
        "--dataset",
        "digits",
        "--max-samples",
        "60",
        "--seeds",
        "1",
        "--clusterer",
        "kmeans",
        "--reducer",
        "none",
    )
    assert run.exit_code == 0, run.output
    assert "NOISY" not in run.stdout and "kmeans" in run.stdout
    assert "NOISY-FACTORY" in run.stderr and "NOISY-EMBED" in run.stderr
    assert type(sys.stdout).__name__ != "_PluginStdout"  # put back once plugin code is done
