"""Verifying a registry record: re-score every successful result from its labels archive.

The archive is input from strangers: each member is read only when the record references it, and
only after its zip entry and .npy header show labels of the right size (see the limits in
:mod:`zsbench.analysis.records`).
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.analysis.records import MAX_LABEL_HEADER, MAX_LABELS_BYTES, RecordError, read
from zsbench.analysis.records.validation import validate
from zsbench.core.result import labels_hash

# Re-scored values must agree this closely: the same sklearn gives identical floats, other
# versions differ in the last few bits at most.
TOLERANCE = 1e-9


@dataclass
class Verification:
    checked: int = 0  # results re-scored
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def verify(path: str | Path) -> Verification:
    """Re-score every successful result from the record's labels archive.

    Raises RecordError when the record is invalid or has no labels; returns the mismatches, one line
    each, naming the dataset, clusterer, seed and metric. Silhouettes need the UMAP spaces, which a
    record does not carry, so they are not re-checked.
    """
    path = Path(path)
    problems = validate(path)
    if problems:
        raise RecordError(
            problems[0]
            + (f" (and {len(problems) - 1} more; run `zsbench validate {path}`)" if len(problems) > 1 else "")
        )
    record = read(path)
    if record["labels"] is None or not record["labels"]["file"]:
        raise RecordError(
            f"{path}: has no labels archive (submitted with --no-labels), so its scores cannot "
            "be re-checked; submit again with the labels"
        )
    archive = path.parent / record["labels"]["file"]
    report = Verification()
    try:
        with zipfile.ZipFile(archive) as zf:
            _rescore(record, _Labels(zf, archive.name, report), report)
    except (OSError, zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
        raise RecordError(f"{archive}: cannot read the labels archive: {exc}") from None
    return report


def _rescore(record: Mapping[str, Any], labels: _Labels, report: Verification) -> None:
    from zsbench.core.metrics import LABEL_METRICS, label_scores

    n = {name: ds["n_samples"] for name, ds in record["datasets"].items()}
    wanted = {ds["labels_sha256"] for ds in record["datasets"].values()}
    wanted |= {e["labels_sha256"] for e in record["results"] if e["status"] == "ok" and e["labels_sha256"]}
    labels.refuse_others(wanted)
    truths = {
        name: labels.get(ds["labels_sha256"], n[name], f"dataset {name}") for name, ds in record["datasets"].items()
    }
    for entry in record["results"]:
        if entry["status"] != "ok":
            continue
        what = f"{entry['dataset']} / {entry['clusterer']} / seed {entry['seed']}"
        truth = truths[entry["dataset"]]
        pred = labels.get(entry["labels_sha256"], n[entry["dataset"]], what)
        if truth is None or pred is None:
            continue
        fresh = label_scores(truth, pred)
        report.checked += 1
        for metric in LABEL_METRICS:
            recorded = entry["metrics"].get(metric)
            if not _agree(recorded, fresh[metric]):
                report.mismatches.append(f"{what}: {metric} recorded {recorded!r}, re-scored {fresh[metric]!r}")


class _Labels:
    """The members of a labels archive (``<sha256>.npy``), each read only when the record references
    it, and only after its zip entry and .npy header show a 1-d int64 array of the dataset's samples:
    a hostile archive can hold members that would decompress to gigabytes."""

    def __init__(self, zf: zipfile.ZipFile, name: str, report: Verification) -> None:
        self.zf, self.name, self.report = zf, name, report
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.read = 0  # decompressed bytes so far, against MAX_LABELS_BYTES
        for info in zf.infolist():
            key = info.filename.removesuffix(".npy")
            if key in self.members:
                report.mismatches.append(f"{name}: member {info.filename!r} appears twice")
            self.members.setdefault(key, info)

    def refuse_others(self, wanted: set[str]) -> None:
        for key, info in sorted(self.members.items()):
            if key not in wanted or not info.filename.endswith(".npy"):
                self.report.mismatches.append(
                    f"{self.name}: member {info.filename[:80]!r} "
                    f"({info.file_size:,} bytes) is not labels the record references; "
                    "not read (an archive holds only the record's labels)"
                )

    def get(self, digest: str, n: int, what: str) -> np.ndarray | None:
        """The labels ``digest`` as an int64 array of ``n``, or None with a mismatch line saying why."""
        try:
            array, why = self._load(digest, n)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            array, why = None, f"cannot be read ({exc})"
        if array is None:
            self.report.mismatches.append(f"{what}: labels {digest[:12]}… in {self.name} {why}")
        return array

    def _load(self, digest: str, n: int) -> tuple[np.ndarray | None, str]:
        info = self.members.get(digest)
        if info is None or not info.filename.endswith(".npy"):
            return None, "are not there"
        if info.file_size > 8 * n + MAX_LABEL_HEADER:
            return None, f"are {info.file_size:,} bytes, more than {n:,} int64 labels"
        if self.read + 8 * n > MAX_LABELS_BYTES:
            return None, f"were not read: the archive's labels exceed {MAX_LABELS_BYTES:,} bytes in all"
        with self.zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=MAX_LABEL_HEADER)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=MAX_LABEL_HEADER)
            else:
                return None, f"are in .npy format {version}, not 1.0 or 2.0"
            if dtype != np.dtype("<i8") or shape != (n,):
                return None, f"are {dtype} of shape {shape}, not int64 of shape ({n},) (the dataset's samples)"
            data = f.read(8 * n + 1)  # never more than the header declared, whatever the stream holds
        self.read += len(data)
        if len(data) != 8 * n:
            return None, f"hold {len(data):,} bytes of data, not {8 * n:,}"
        array = np.frombuffer(data, dtype="<i8")
        if labels_hash(array) != digest:
            return None, "do not match their hash"
        return array, ""


def _agree(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=0.0, abs_tol=TOLERANCE)
