"""The package ``zsbench new-plugin`` writes, per kind: rendered templates, placeholder weights, a CI workflow.

The files are templates shipped with zsbench (``template/*.tmpl``, package data) whose ``{{key}}``
placeholders are filled from :func:`values`. The CI workflow has one source, ``template/workflow.yml.tmpl``:
every package gets it rendered for its encoder, and zsbench's ``examples/github-actions/zsbench-check.yml``
is :func:`workflow_text` for ``my-model`` (a test keeps the two equal).
"""

from __future__ import annotations

import hashlib
import re
import types
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path

from zsbench.plugin.errors import InvalidInputError, ZsbenchError

NAME_RULE = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
MAX_NAME = 40
ALLOWED = "lowercase letters, digits, and single '-' or '_' between them, starting with a letter"
# The gate's smoke suite, in the README's recipe and the workflow's alike. Small enough that making the
# baseline and checking it stay within a minute or two on a CI runner; see benchmarks/scaffold_to_gate.py.
BASELINE_SUITE = "--dataset digits --clusterer kmeans --clusterer agglomerative --seeds 6 --max-samples 500"
WORKFLOW = ".github/workflows/zsbench.yml"
EXAMPLE_ENCODER = "my-model"  # the encoder examples/github-actions/zsbench-check.yml is rendered for
PLACEHOLDER_SEED = 0
PLACEHOLDER_PIN = "0" * 64  # a well-formed pin, for rendering plugin.py before its weights exist
NEEDS_TORCH = (
    'pip install "zsbench[torch]" (torch and safetensors), or pick --kind numpy-encoder, which needs '
    "numpy and Pillow only"
)


class Kind(StrEnum):
    """What the package registers."""

    torch_encoder = "torch-encoder"
    numpy_encoder = "numpy-encoder"
    dataset = "dataset"
    clusterer = "clusterer"


@dataclass(frozen=True)
class KindSpec:
    """What one kind of package is made of."""

    summary: str  # what the package registers, for docstrings and pyproject's description
    plugin: tuple[str, ...]  # templates of plugin.py, concatenated
    tests: tuple[str, ...]  # templates of tests/test_plugin.py, concatenated
    readme: str  # the README's template; the CI section follows it
    api: str  # the plugin API its plugin.py requires
    dependencies: tuple[str, ...]  # besides zsbench
    extra: tuple[str, str, str] | None = None  # a component beside the encoder: (name suffix, kind, run option)
    weights: bool = False  # ships placeholder weights as package data


HISTOGRAMS = ("numpy>=1.24", "pillow>=9")
KINDS: dict[Kind, KindSpec] = {
    Kind.torch_encoder: KindSpec(
        "a torch encoder, its weights in the package",
        ("torch_encoder.py.tmpl",),
        ("test_conformance.py.tmpl", "test_torch_encoder.py.tmpl"),
        "readme_torch.md.tmpl",
        "1.2",
        ("torch>=2.2", "torchvision>=0.17", "safetensors>=0.4"),
        weights=True,
    ),
    Kind.numpy_encoder: KindSpec(
        "an encoder (colour histograms)",
        ("numpy_encoder.py.tmpl",),
        ("test_conformance.py.tmpl", "test_numpy_encoder.py.tmpl"),
        "readme_numpy.md.tmpl",
        "1.0",
        HISTOGRAMS,
    ),
    Kind.dataset: KindSpec(
        "an encoder and a dataset (synthetic shapes)",
        ("numpy_encoder.py.tmpl", "dataset.py.tmpl"),
        ("test_conformance.py.tmpl", "test_numpy_encoder.py.tmpl", "test_dataset.py.tmpl"),
        "readme_numpy.md.tmpl",
        "1.0",
        HISTOGRAMS,
        extra=("shapes", "datasets", "--dataset"),
    ),
    Kind.clusterer: KindSpec(
        "an encoder and a clusterer (a Gaussian mixture)",
        ("numpy_encoder.py.tmpl", "clusterer.py.tmpl"),
        ("test_conformance.py.tmpl", "test_numpy_encoder.py.tmpl", "test_clusterer.py.tmpl"),
        "readme_numpy.md.tmpl",
        "1.0",
        (*HISTOGRAMS, "scikit-learn>=1.3"),
        extra=("gmm", "clusterers", "--clusterer"),
    ),
}


@dataclass(frozen=True)
class PluginNames:
    """The names one plugin NAME gives: distribution, module, entry point, components, weights file."""

    name: str  # the encoder's name, as users type it
    kind: Kind = Kind.torch_encoder

    @property
    def spec(self) -> KindSpec:
        return KINDS[self.kind]

    @property
    def dist(self) -> str:
        return f"zsbench-{self.name}"

    @property
    def entry(self) -> str:
        return self.name.replace("-", "_")

    @property
    def module(self) -> str:
        return f"zsbench_{self.entry}"

    @property
    def component(self) -> str | None:
        """The dataset's or clusterer's name, for the kinds that register one."""
        return f"{self.name}-{self.spec.extra[0]}" if self.spec.extra else None

    @property
    def weights_file(self) -> str:
        return f"{self.entry}.safetensors"

    def components(self) -> dict[str, str]:
        """Every component the package registers: name -> kind (plural, as the catalog says)."""
        extra = {self.component: self.spec.extra[1]} if self.spec.extra and self.component else {}
        return {self.name: "encoders", **extra}

    def try_it(self) -> str:
        """A quick `zsbench run` of the package's components: one seed."""
        if self.spec.extra and self.component:
            return f"zsbench run --encoder {self.name} {self.spec.extra[2]} {self.component} --seeds 1"
        return f"zsbench run --encoder {self.name} --clusterer kmeans --seeds 1"

    def baseline(self) -> str:
        """The recipe for the gate's baseline (the README's, and the workflow's step)."""
        return f"zsbench baseline --encoder {self.name} {BASELINE_SUITE} --output zsbench/baseline.json"


def plugin_names(name: str, kind: Kind = Kind.torch_encoder) -> PluginNames:
    """Check NAME and derive the package's names from it; a bad one is one line naming the rule."""
    if name in ("zsbench",) or name.startswith(("zsbench-", "zsbench_")):
        rest = name.partition("zsbench")[2].lstrip("-_") or "my-encoder"
        raise InvalidInputError(
            f"plugin name {name!r}: leave out the zsbench- prefix, which the package name "
            f"gets anyway (zsbench new-plugin {rest})"
        )
    if len(name) > MAX_NAME or not NAME_RULE.fullmatch(name):
        shown = name if len(name) <= MAX_NAME else name[:MAX_NAME] + "..."
        raise InvalidInputError(
            f"plugin name {shown!r} is not allowed: use {ALLOWED} (at most {MAX_NAME} characters), e.g. my-encoder"
        )
    return PluginNames(name, kind)


def values(names: PluginNames, weights_sha256: str = PLACEHOLDER_PIN) -> dict[str, str]:
    """Each placeholder's text for this package."""
    spec = names.spec
    package_data = (
        ""
        if not spec.weights
        else (
            "\n[tool.setuptools.package-data]\n"
            f"# The weights ship inside the wheel: without this line an installed {names.name} has no weights, and\n"
            "# `zsbench plugins --check` fails naming the file.\n"
            f'"{names.module}.weights" = ["*.safetensors"]\n'
        )
    )
    registers = f"the encoder `{names.name}`" + (
        f" and the {spec.extra[1][:-1]} `{names.component}`" if spec.extra else ""
    )
    return {
        "name": names.name,
        "module": names.module,
        "entry": names.entry,
        "kind": names.kind.value,
        "summary": spec.summary,
        "api": spec.api,
        "registers": registers,
        "try_it": names.try_it(),
        "suite": BASELINE_SUITE,
        "component": names.component or "",
        "weights_file": names.weights_file,
        "weights_sha256": weights_sha256,
        "package_data": package_data,
        "dependencies": "".join(f'\n    "{dep}",' for dep in spec.dependencies),
    }


def render(template: str, names: PluginNames, weights_sha256: str = PLACEHOLDER_PIN) -> str:
    """A template's text with its ``{{placeholders}}`` filled in (GitHub's ``${{ expr }}`` is left alone)."""
    text = (resources.files("zsbench.cli") / "template" / template).read_text(encoding="utf-8")
    for key, value in values(names, weights_sha256).items():
        text = text.replace("{{" + key + "}}", value)
    return text


def workflow_text(name: str = EXAMPLE_ENCODER) -> str:
    """The CI workflow for encoder ``name``: what new-plugin writes to .github/workflows/zsbench.yml."""
    return render("workflow.yml.tmpl", PluginNames(name))


def package_files(names: PluginNames, weights_sha256: str = PLACEHOLDER_PIN) -> dict[str, str]:
    """Relative path -> text of every text file of the package."""
    spec = names.spec
    return {
        "pyproject.toml": render("pyproject.toml.tmpl", names),
        "README.md": render(spec.readme, names) + render("readme_ci.md.tmpl", names),
        ".gitignore": render("gitignore.tmpl", names),
        WORKFLOW: render("workflow.yml.tmpl", names),
        f"src/{names.module}/__init__.py": render("init.py.tmpl", names),
        f"src/{names.module}/plugin.py": "".join(render(t, names, weights_sha256) for t in spec.plugin),
        "tests/test_plugin.py": "".join(render(t, names) for t in spec.tests),
    } | ({f"src/{names.module}/weights/__init__.py": render("weights_init.py.tmpl", names)} if spec.weights else {})


def placeholder_weights(names: PluginNames) -> bytes:
    """A seeded random initialisation of the generated network, as a .safetensors file's bytes.

    The network is the generated plugin's own ``build_network()`` (its rendered source, run here), so
    the file fits it by construction; the same torch gives the same bytes.
    """
    try:
        import torch
        from safetensors.torch import save
    except ImportError as exc:
        raise ZsbenchError(
            f"--kind {names.kind.value} writes placeholder weights with torch and safetensors, and "
            f"{exc.name or 'one of them'} is not installed: {NEEDS_TORCH}"
        ) from None
    source = "".join(render(t, names) for t in names.spec.plugin)
    plugin = types.ModuleType(f"{names.module}.plugin")
    exec(compile(source, f"<zsbench new-plugin: {names.module}/plugin.py>", "exec"), plugin.__dict__)
    with torch.random.fork_rng(devices=[]):  # the caller's random state is left as it was
        torch.manual_seed(PLACEHOLDER_SEED)
        net = plugin.build_network()
    state = {key: tensor.detach().contiguous() for key, tensor in net.state_dict().items()}
    return save(
        state,
        metadata={
            "zsbench": f"placeholder weights of {names.dist}: a seeded random initialisation of this network "
            f"(torch.manual_seed({PLACEHOLDER_SEED}), build_network()); replace with yours"
        },
    )


def check_target(target: Path) -> None:
    """Never overwrite: the target must be absent or an empty folder."""
    try:
        if target.is_dir() and not any(target.iterdir()):
            return
    except OSError as exc:
        raise ZsbenchError(f"cannot read {target}: {exc.strerror or exc}; pass another --dir") from None
    if target.exists() or target.is_symlink():
        raise ZsbenchError(
            f"{target} already exists and is not an empty folder; nothing was written. Pass "
            "another --dir, or pick another name"
        )


def write_package(name: str, parent: Path, kind: Kind = Kind.torch_encoder) -> tuple[Path, list[str]]:
    """Write the package for plugin ``name`` to ``parent/zsbench-NAME``; (its folder, the files written).

    Everything is made before anything is written: a missing torch or an occupied folder writes nothing.
    """
    names = plugin_names(name, kind)
    target = parent / names.dist
    check_target(target)
    blobs: dict[str, bytes] = {}
    pin = PLACEHOLDER_PIN
    if names.spec.weights:
        data = placeholder_weights(names)
        pin = hashlib.sha256(data).hexdigest()
        blobs[f"src/{names.module}/weights/{names.weights_file}"] = data
    files = {rel: text.encode("utf-8") for rel, text in package_files(names, pin).items()} | blobs
    try:
        for rel, data in files.items():
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    except OSError as exc:
        raise ZsbenchError(f"cannot write {target}: {exc.strerror or exc}; pass another --dir") from None
    return target, list(files)
