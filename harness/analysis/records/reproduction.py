"""Reproducing a registry record: re-run a declared share of its cells with the installed encoder.

`zsbench verify` re-scores a record from its labels archive, so it catches scores that do not follow
their labels but not labels that were made up: the true labels submitted as predictions, with
scores to match, verify perfectly. Only running the encoder again can tell, so `zsbench verify
--reproduce` (:mod:`zsbench.cli.verify`) does, in three steps:

1. :func:`prepare`, before any work: the record's encoder is built from the installed plugin
   distribution the record names, and its identity sha256 must be the record's (the same weights,
   preprocessing and options); then which cells to re-run (:func:`plan`).
2. :func:`check_samples`: each dataset's sample set made again (full partition or the record's
   subsample) must have the record's fingerprint.
3. The CLI runs the cells through ``zsbench.run``; :func:`compare` sets each re-run AMI beside the
   recorded one. They agree within a tolerance: the same seed on the same machine gives the same
   AMI, another machine a slightly different UMAP (see ``TOLERANCES``).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.analysis.gate.comparable import require_comparable
from zsbench.analysis.records import RecordError
from zsbench.core.catalog import Catalog, build_catalog
from zsbench.core.identity import describe, differences, keyed_options, short
from zsbench.core.names import shown
from zsbench.core.progress import Progress
from zsbench.core.result import Result
from zsbench.engine.embed import check_weights

# AMI x100 points a re-run cell may differ from its record, per clusterer: max(FLOOR, 4 x the RMS change
# that benchmarks/reproduce_tolerance.py measured between environments (float32 rounding of the embedding,
# another CPU's numba and BLAS code; other thread counts changed nothing); see registry/README.md.
TOLERANCES = {
    "affinity-propagation": 5.5,
    "agglomerative": 8.5,
    "agglomerative-no-k": 7.0,
    "hdbscan": 8.0,
    "kmeans": 6.8,
    "spectral": 15.0,
}
TOLERANCE = max(TOLERANCES.values())  # a clusterer that was not measured: the noisiest one's
FLOOR = 1.0
FILE_OPTION = ({"file", "sha256"}, {"dir", "sha256"}, {"path"})  # how a record keeps an option that named a file


@dataclass(frozen=True)
class Job:
    """One ``zsbench.run`` of a reproduction: a dataset's sample set, some clusterers, some seeds."""

    dataset: str
    clusterers: tuple[str, ...]
    seeds: tuple[int, ...]
    max_samples: int | None
    subsample_seed: int
    skip_bad: bool


@dataclass(frozen=True)
class Plan:
    """What a reproduction runs: the encoder (name and the options it is built with) and its jobs."""

    encoder: str
    options: dict[str, Any]
    jobs: list[Job]
    cells: list[tuple[str, str, int]]  # (dataset, clusterer, seed): the cells compared
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Cell:
    dataset: str
    clusterer: str
    seed: int
    recorded: float  # AMI x100
    reproduced: float | None  # None: the re-run failed (``error``)
    tolerance: float  # AMI x100 points
    error: str | None = None

    @property
    def difference(self) -> float | None:
        return None if self.reproduced is None else self.reproduced - self.recorded

    @property
    def agrees(self) -> bool:
        return self.difference is not None and abs(self.difference) <= self.tolerance


@dataclass(frozen=True)
class Reproduction:
    """The compared cells, and their mean difference: cells that each pass may still all lean one way
    (every score raised a little), which their mean shows. Cells of one dataset and seed share a UMAP
    fit, so the mean's noise falls with the number of fits, ``fits``: its tolerance is the cells' mean
    tolerance over sqrt(fits) (not below FLOOR)."""

    cells: list[Cell]
    fits: int  # distinct (dataset, seed) re-run

    @property
    def disagreements(self) -> list[Cell]:
        return [c for c in self.cells if not c.agrees]

    @property
    def mean_difference(self) -> float | None:
        diffs = [c.difference for c in self.cells if c.difference is not None]
        return sum(diffs) / len(diffs) if diffs else None

    @property
    def mean_tolerance(self) -> float:
        if not self.cells:
            return FLOOR
        return max(FLOOR, sum(c.tolerance for c in self.cells) / len(self.cells) / max(1, self.fits) ** 0.5)

    @property
    def mean_agrees(self) -> bool:
        return self.mean_difference is not None and abs(self.mean_difference) <= self.mean_tolerance

    @property
    def ok(self) -> bool:
        return bool(self.cells) and not self.disagreements and self.mean_agrees


def prepare(
    record: Mapping[str, Any],
    path: str | Path,
    *,
    seeds: int | None = 1,
    choose: int | None = None,
    weights: str | None = None,
    catalog: Catalog | None = None,
) -> Plan:
    """The encoder to run and the cells to re-run, or RecordError in one line: the record's plugin is not
    installed, or the encoder it builds here has another identity. ``seeds`` per cell (None: all)."""
    catalog = catalog or build_catalog()
    name, options, notes = installed_encoder(record, path, weights, catalog)
    jobs, cells = plan(record, seeds=seeds, choose=choose)
    if not cells:
        raise RecordError(f"{path}: has no successful result to reproduce")
    failed = sum(1 for e in record["results"] if e["status"] != "ok")
    if failed:
        notes.append(f"{failed} result(s) failed in the record and are not re-run")
    return Plan(name, options, jobs, cells, notes)


def installed_encoder(
    record: Mapping[str, Any], path: str | Path, weights: str | None, catalog: Catalog
) -> tuple[str, dict[str, Any], list[str]]:
    """The record's encoder built from the installed plugin: (name, options to build it with, notes).

    Options the record keeps by file content (``{"file", "sha256"}``) cannot be rebuilt from it: the
    ``weights`` option is ``weights`` when given, other such options are left to the plugin's default,
    and the identity check says when that is not the same file."""
    encoder = record["encoder"]
    name, plugin = encoder["name"], encoder["plugin"]
    dist, version = plugin["distribution"], plugin["version"]
    try:
        installed = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        raise RecordError(
            f"{path}: encoder {shown(name)} comes from plugin distribution {shown(dist)} {shown(version)}"
            f", which is not installed here; install it (pip install '{shown(dist)}=={shown(version)}')"
            " to reproduce the record"
        ) from None
    entry = catalog.get("encoders", name)
    if entry.distribution != dist:
        raise RecordError(
            f"{path}: encoder {shown(name)} is {entry.distribution}'s here but {shown(dist)}'s in the "
            f"record; install {shown(dist)} {shown(version)} and uninstall the other to reproduce it"
        )
    options: dict[str, Any] = {}
    for key, value in (encoder.get("options") or {}).items():
        if not (isinstance(value, Mapping) and set(value) in FILE_OPTION):
            options[key] = value
    if weights is not None:
        options["weights"] = weights
    check_weights(options)  # a --weights path that is not there, said as a run says it
    built = entry.create(**options)
    described = describe(entry.name, entry.plugin, built, options)
    mine, theirs = described["identity_sha256"], encoder["identity_sha256"]
    if mine != theirs:
        changed = differences(
            {"identity": encoder["identity"], "options": keyed_options(encoder["identity"], encoder["options"])},
            {"identity": described["identity"], "options": keyed_options(described["identity"], described["options"])},
        )
        named = (encoder.get("options") or {}).get("weights")
        hint = (
            f", or pass --weights with the record's file {shown((named or {}).get('file'))}"
            if isinstance(named, Mapping) and "file" in named
            else ""
        )
        raise RecordError(
            f"{path}: encoder {shown(name)} built here ({shown(dist)} {installed}) has identity "
            f"{short(mine)}, the record's is {short(theirs)}: they differ in "
            f"{', '.join(changed[:5]) or 'the hash'} "
            f"(other weights, preprocessing or version); install {shown(dist)}=={shown(version)}{hint}"
        )
    notes = (
        []
        if installed == version
        else [f"{dist} {installed} is installed, the record was made with {version}; its identity is the same"]
    )
    return entry.name, options, notes


def plan(
    record: Mapping[str, Any], *, seeds: int | None = 1, choose: int | None = None
) -> tuple[list[Job], list[tuple[str, str, int]]]:
    """Which cells to re-run: per dataset x clusterer, the first ``seeds`` of the seeds the record has a
    successful result for (None: all), in the dataset's seed order or, with ``choose``, an order drawn
    from it (seeded: the same ``choose`` picks the same seeds). Clusterers of a dataset that re-run the
    same seeds share one job, so each seed's UMAP is fitted once."""
    ok: dict[tuple[str, str], set[int]] = {}
    for e in record["results"]:
        if e["status"] == "ok":
            ok.setdefault((e["dataset"], e["clusterer"]), set()).add(e["seed"])
    jobs, cells = [], []
    for name, ds in record["datasets"].items():
        order = list(ds["seeds"])
        if choose is not None:
            order = [order[i] for i in np.random.default_rng(choose).permutation(len(order))]
        by_seeds: dict[tuple[int, ...], list[str]] = {}
        for clusterer in record["clusterers"]:
            have = [s for s in order if s in ok.get((name, clusterer), ())]
            chosen = tuple(have if seeds is None else have[:seeds])
            if chosen:
                by_seeds.setdefault(chosen, []).append(clusterer)
                cells += [(name, clusterer, s) for s in chosen]
        jobs += [
            Job(
                name,
                tuple(clusterers),
                chosen,
                ds.get("max_samples"),
                ds.get("subsample_seed", 0),
                "n_bad_skipped" in ds,
            )
            for chosen, clusterers in by_seeds.items()
        ]
    return jobs, cells


def check_samples(
    record: Mapping[str, Any],
    path: str | Path,
    jobs: Sequence[Job],
    progress: Progress,
    dataset_options: Mapping[str, Any] | None = None,
    catalog: Catalog | None = None,
) -> None:
    """Each dataset's sample set made again, as a run makes it, has the record's fingerprint; else one line
    (another data version, split or subsample rule). Missing data is the dataset plugin's one line."""
    from zsbench.engine.embed import load_dataset
    from zsbench.engine.inputs import select_samples
    from zsbench.engine.keys import sample_fingerprint

    catalog = catalog or build_catalog()
    for job in {j.dataset: j for j in jobs}.values():
        theirs = record["datasets"][job.dataset]["fingerprint"]
        data = load_dataset(catalog.get("datasets", job.dataset), dataset_options, progress)
        view, selection = select_samples(
            data,
            job.dataset,
            progress,
            max_samples=job.max_samples,
            subsample_seed=job.subsample_seed,
            skip_bad=job.skip_bad,
        )
        mine = sample_fingerprint(view, selection)
        if mine != theirs:
            sample = f"{job.max_samples} samples (seed {job.subsample_seed})" if job.max_samples else "full partition"
            raise RecordError(
                f"{path}: the samples of {shown(job.dataset)} made here ({sample}, {len(view)} samples, "
                f"fingerprint {mine[:8]}) are not the record's ({theirs[:8]}): another data version or "
                "split; fetch the data version the record was made with"
            )


def compare(
    record: Mapping[str, Any], path: str | Path, plan_: Plan, results: Sequence[Result], tolerance: float | None = None
) -> Reproduction:
    """Each planned cell's re-run AMI beside the record's for the same seed, within ``tolerance`` AMI points
    (None: its clusterer's in TOLERANCES); RecordError in one line when the re-run is not like with like
    (protocol, reducer or clusterer settings, samples, encoder identity)."""
    datasets = list(dict.fromkeys(d for d, _, _ in plan_.cells))
    clusterers = list(dict.fromkeys(c for _, c, _ in plan_.cells))
    require_comparable(record, results, datasets, clusterers, f"record {path}")
    theirs = record["encoder"]["identity_sha256"]
    for r in results:
        mine = (r.config.get("encoder") or {}).get("identity_sha256")
        if mine != theirs:  # prepare() built the same identity; a plugin whose identity varies run to run
            raise RecordError(
                f"{path}: the re-run's encoder identity {short(str(mine))} is not the record's "
                f"{short(theirs)}; the plugin's identity is not stable between builds"
            )
    recorded = {(e["dataset"], e["clusterer"], e["seed"]): e for e in record["results"]}
    rerun = {(r.dataset, r.clusterer, r.seed): r for r in results}
    cells = []
    for key in plan_.cells:
        want = 100 * float(recorded[key]["metrics"]["ami"])
        allowed = tolerance if tolerance is not None else TOLERANCES.get(key[1], TOLERANCE)
        got = rerun.get(key)
        if got is None or not got.ok or got.ami is None:
            cells.append(Cell(*key, want, None, allowed, "not run" if got is None else got.error or "no AMI"))
        else:
            cells.append(Cell(*key, want, 100 * float(got.ami), allowed))
    return Reproduction(cells, len({(d, s) for d, _, s in plan_.cells}))
