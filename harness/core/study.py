"""The study protocol: each encoder's own tuned configuration per clusterer, declared as data.

``protocols/study-<version>.toml`` holds, for every zoo encoder the study (Lowe et al. 2024) used,
the reducer and clusterer of each of the standard protocol's six clusterers as component specs
(``NAME:key=value,...``), the raw-pixel image size, the study's per-dataset exceptions, and which
component implements a clusterer where the study ran a different implementation than the standard
protocol's (``[implementations]``: its HDBSCAN is scikit-learn's), and the family of each study encoder
(``[families]``: supervised, self-supervised, ...; read by :mod:`zsbench.analysis.supervision`). This module
reads and validates that file; the catalog resolves the specs like any user's.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from zsbench.core.names import parse_spec, shown
from zsbench.plugin.errors import ZsbenchError

TOP_KEYS = {"version", "clusterers", "exceptions", "encoders"}
OPTIONAL_KEYS = {"implementations", "families"}
ENCODER_KEYS = {"study_name", "image_size"}  # besides one key per clusterer
CONFIG_KEYS = {"reducer", "clusterer"}
EXCEPTION_KEYS = {"clusterer", "datasets", "options"}


@dataclass(frozen=True)
class Configuration:
    """One encoder's reducer and clusterer for one of the protocol's clusterers."""

    encoder: str
    clusterer: str  # the protocol's clusterer name (kmeans, spectral, ...)
    reducer_spec: str
    clusterer_spec: str


@dataclass(frozen=True)
class StudyEncoder:
    name: str  # zsbench's name
    study_name: str  # the model's name in the study
    image_size: int | None  # the raw-pixel image side; None for networks
    configurations: tuple[Configuration, ...]


@dataclass(frozen=True)
class DatasetException:
    """Options set over a clusterer's configuration on the named datasets."""

    clusterer: str
    datasets: tuple[str, ...]
    options: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class StudyProtocol:
    version: str
    source: str  # the file's name, for messages
    clusterers: tuple[str, ...]
    encoders: tuple[StudyEncoder, ...]
    exceptions: tuple[DatasetException, ...]
    implementations: tuple[tuple[str, str], ...] = ()  # (protocol clusterer, the component name its specs use)
    families: tuple[tuple[str, str], ...] = ()  # (zoo encoder name, its family: how it was trained)

    def slot(self, component: str) -> str:
        """The protocol clusterer a clusterer component's name stands for (``hdbscan-sklearn`` is the
        study's ``hdbscan``), so results group under the protocol's clusterer names."""
        return next((slot for slot, name in self.implementations if name == component), component)

    @property
    def name(self) -> str:
        return f"study-{self.version}"

    def encoder(self, name: str) -> StudyEncoder:
        for encoder in self.encoders:
            if encoder.name == name:
                return encoder
        covered = ", ".join(e.name for e in self.encoders)
        raise ZsbenchError(
            f"encoder {shown(name)!r} is not in protocol {self.name}, which covers only the study's "
            f"encoders: {covered}; run it under the standard protocol instead"
        )

    def configuration(self, encoder: str, clusterer: str, dataset: str | None = None) -> tuple[str, str]:
        """``(reducer_spec, clusterer_spec)`` of ``encoder`` for ``clusterer``, with the exceptions for
        ``dataset`` (its registered name) applied."""
        entry = self.encoder(encoder)
        found = next((c for c in entry.configurations if c.clusterer == clusterer), None)
        if found is None:
            raise ZsbenchError(
                f"clusterer {shown(clusterer)!r} is not in protocol {self.name}, which runs: "
                f"{', '.join(self.clusterers)}"
            )
        spec = found.clusterer_spec
        for rule in self.exceptions:
            if rule.clusterer == clusterer and dataset in rule.datasets:
                name, params = parse_spec(spec)
                spec = format_spec(name, {**params, **dict(rule.options)})
        return found.reducer_spec, spec


def format_spec(name: str, params: dict[str, Any]) -> str:
    """``parse_spec``'s inverse: a bare word stays bare when it reads back as itself."""

    def value(v: Any) -> str:
        if isinstance(v, str) and v.isidentifier() and v not in ("None", "True", "False"):
            return v
        return repr(v)

    return name + (":" + ",".join(f"{k}={value(v)}" for k, v in params.items()) if params else "")


def _problem(source: str, key: str, what: str) -> ZsbenchError:
    return ZsbenchError(f"{source}: {key}: {what}; fix the protocol file")


def _unknown(source: str, where: str, table: dict, allowed: set[str]) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise _problem(
            source, f"{where}.{extra[0]}" if where else extra[0], f"unknown key (allowed: {', '.join(sorted(allowed))})"
        )


def _spec(source: str, key: str, text: Any, expected_name: str | None = None) -> str:
    if not isinstance(text, str) or not text.strip():
        raise _problem(source, key, f"{shown(text)!r} is not a component spec (write NAME:key=value,...)")
    try:
        name, _ = parse_spec(text)
    except ZsbenchError as exc:
        raise _problem(source, key, str(exc)) from None
    if expected_name is not None and name != expected_name:
        raise _problem(source, key, f"the clusterer spec names {shown(name)!r}, not {expected_name!r}")
    return text


def _table(source: str, key: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise _problem(source, key, f"expected a table, found {type(value).__name__}")
    return value


def _implementations(source: str, table: Any, clusterers: tuple[str, ...]) -> dict[str, str]:
    table = _table(source, "implementations", table)
    for slot, name in table.items():
        if slot not in clusterers:
            raise _problem(source, f"implementations.{shown(slot, 40)}", f"not one of: {', '.join(clusterers)}")
        if not isinstance(name, str) or not name or ":" in name:
            raise _problem(source, f"implementations.{slot}", f"{shown(name)!r} is not a clusterer name")
    return table


def _families(source: str, table: Any) -> dict[str, str]:
    table = _table(source, "families", table)
    for name, family in table.items():
        if not isinstance(family, str) or not family.strip() or "=" in family:
            raise _problem(source, f"families.{shown(name, 40)}", f"{shown(family)!r} is not a family name")
    return table


def _encoder(
    source: str, name: str, table: dict, clusterers: tuple[str, ...], implementations: dict[str, str]
) -> StudyEncoder:
    where = f"encoders.{name}"
    _unknown(source, where, table, ENCODER_KEYS | set(clusterers))
    study_name = table.get("study_name")
    if not isinstance(study_name, str) or not study_name:
        raise _problem(source, f"{where}.study_name", "missing (the model's name in the study)")
    size = table.get("image_size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise _problem(source, f"{where}.image_size", f"{size!r} is not a whole number of pixels")
    configurations = []
    for clusterer in clusterers:
        key = f"{where}.{clusterer}"
        if clusterer not in table:
            raise _problem(source, key, f"missing (every encoder has all of: {', '.join(clusterers)})")
        config = _table(source, key, table[clusterer])
        _unknown(source, key, config, CONFIG_KEYS)
        missing = sorted(CONFIG_KEYS - set(config))
        if missing:
            raise _problem(source, f"{key}.{missing[0]}", "missing")
        configurations.append(
            Configuration(
                name,
                clusterer,
                _spec(source, f"{key}.reducer", config["reducer"]),
                _spec(source, f"{key}.clusterer", config["clusterer"], implementations.get(clusterer, clusterer)),
            )
        )
    return StudyEncoder(name, study_name, size, tuple(configurations))


def _exception(source: str, i: int, table: Any, clusterers: tuple[str, ...]) -> DatasetException:
    key = f"exceptions[{i}]"
    table = _table(source, key, table)
    _unknown(source, key, table, EXCEPTION_KEYS)
    if table.get("clusterer") not in clusterers:
        raise _problem(
            source, f"{key}.clusterer", f"{shown(table.get('clusterer'))!r} is not one of: {', '.join(clusterers)}"
        )
    datasets = table.get("datasets")
    if not isinstance(datasets, list) or not datasets or not all(isinstance(d, str) and d for d in datasets):
        raise _problem(source, f"{key}.datasets", "expected a list of dataset names")
    options = _table(source, f"{key}.options", table.get("options"))
    for option in options:
        if not option.isidentifier():
            raise _problem(source, f"{key}.options.{shown(option, 40)}", "not a parameter name")
    return DatasetException(table["clusterer"], tuple(datasets), tuple(options.items()))


def parse_study(text: str, source: str) -> StudyProtocol:
    """Validate a study protocol file's text; any problem is one line naming ``source`` and the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ZsbenchError(f"{source}: not valid TOML ({exc}); fix the protocol file") from None
    _unknown(source, "", data, TOP_KEYS | OPTIONAL_KEYS)
    missing = sorted(TOP_KEYS - set(data))
    if missing:
        raise _problem(source, missing[0], "missing")
    if not isinstance(data["version"], str):
        raise _problem(source, "version", "expected a string")
    clusterers = data["clusterers"]
    if (
        not isinstance(clusterers, list)
        or not clusterers
        or not all(isinstance(c, str) for c in clusterers)
        or len(set(clusterers)) != len(clusterers)
    ):
        raise _problem(source, "clusterers", "expected a list of distinct clusterer names")
    clusterers = tuple(clusterers)
    if not isinstance(data["exceptions"], list):
        raise _problem(source, "exceptions", "expected an array of tables ([[exceptions]])")
    exceptions = tuple(_exception(source, i, t, clusterers) for i, t in enumerate(data["exceptions"]))
    implementations = _implementations(source, data.get("implementations", {}), clusterers)
    families = _families(source, data.get("families", {}))
    encoders = _table(source, "encoders", data["encoders"])
    if not encoders:
        raise _problem(source, "encoders", "no encoder is declared")
    return StudyProtocol(
        data["version"],
        source,
        clusterers,
        tuple(
            _encoder(source, name, _table(source, f"encoders.{name}", t), clusterers, implementations)
            for name, t in encoders.items()
        ),
        exceptions,
        tuple(implementations.items()),
        tuple(families.items()),
    )


def read_study(path: str | Path) -> StudyProtocol:
    """A study protocol file at ``path`` (a copy under test, say)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ZsbenchError(f"{path}: cannot read the protocol file ({type(exc).__name__})") from None
    return parse_study(text, path.name)


@functools.cache
def load_study(version: str = "1") -> StudyProtocol:
    """The built-in study protocol of ``version``."""
    name = f"study-{version}.toml"
    try:
        text = resources.files("zsbench.core").joinpath(f"protocols/{name}").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ZsbenchError(f"unknown study protocol version {shown(version)!r}; this zsbench knows version 1") from None
    study = parse_study(text, name)
    if study.version != version:
        raise _problem(name, "version", f"says {study.version!r}, the file name {version!r}")
    return study


def configuration(encoder: str, clusterer: str, dataset: str | None = None) -> tuple[str, str]:
    """``(reducer_spec, clusterer_spec)`` of ``encoder`` for ``clusterer`` under study-1, the
    exceptions for ``dataset`` applied."""
    return load_study("1").configuration(encoder, clusterer, dataset)
