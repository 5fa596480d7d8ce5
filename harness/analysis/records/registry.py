"""The registry, a folder of records: where a record of an encoder lives (``standard-N/SLUG.json``) and
writing one there, with its labels archive, only if it passes validation on its own and beside the others.

What goes into a record is :mod:`zsbench.analysis.records.submission`; the format is
:mod:`zsbench.analysis.records`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from zsbench.analysis.records import LABELS_SUFFIX, RecordError, dumps, record_files
from zsbench.analysis.records.submission import Submission
from zsbench.analysis.records.validation import checked, validate


def slug(encoder: str) -> str:
    """A file name for an encoder name, one per name: ``raw-pixels`` stays itself; a name that had to
    change (``timm/vit_base.aug`` -> ``timm_vit_base.aug-1a2b3c4d``) carries a hash of the name, so
    ``enc[/x]`` and ``enc_x`` never share a file."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", encoder).strip("._") or "encoder"
    if safe == encoder:
        return safe
    return f"{safe}-{hashlib.sha256(encoder.encode()).hexdigest()[:8]}"


def record_path(registry: str | Path, protocol: str, encoder: str) -> Path:
    return Path(registry) / f"standard-{protocol}" / f"{slug(encoder)}.json"


def write(submission: Submission, path: str | Path, registry: str | Path | None = None) -> Path:
    """Write the record (and its labels archive beside it) and validate it; returns the record's path.

    What we write must pass what we check: a record that does not is removed again, and the
    problems are raised, so no invalid record is ever left in a registry. With ``registry`` (a folder
    of records), it must also pass beside them: no identity or look-alike name another record has.
    """
    path = Path(path)
    record = submission.record
    _not_anothers(path, record["encoder"]["name"])
    path.parent.mkdir(parents=True, exist_ok=True)
    labels_path = path.with_name(path.name.removesuffix(".json") + LABELS_SUFFIX)
    if record.get("labels") is not None:
        _save_labels(labels_path, submission.labels)
        record["labels"] = {"file": labels_path.name, "arrays": len(submission.labels)}
    path.write_text(dumps(record))
    problems = validate(path) or (_beside(path, Path(registry)) if registry is not None else [])
    if problems:
        path.unlink(missing_ok=True)
        if record.get("labels") is not None:
            labels_path.unlink(missing_ok=True)
        raise RecordError(
            "the record was not written: "
            + problems[0]
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
        )
    return path


def _beside(path: Path, registry: Path) -> list[str]:
    """What the record at ``path`` breaks beside the valid records of ``registry``: an identity another record
    has, or a name that reads as another identity's (see :func:`zsbench.analysis.board.sources.cross_check`)."""
    from zsbench.analysis.board.sources import cross_check

    pairs = [(f, checked(f)[0]) for f in {*record_files([registry]), path}]
    verdict = cross_check([(f, r) for f, r in pairs if r is not None])
    return [f"{path}: {why}" for f, why in verdict.refused if f == str(path)]


def _not_anothers(path: Path, encoder: str) -> None:
    """Refuse to replace the record of another encoder (a name that maps to the same file)."""
    if not path.is_file():
        return
    try:
        theirs = json.loads(path.read_text()).get("encoder", {}).get("name")
    except (OSError, ValueError, AttributeError):
        theirs = None
    if theirs != encoder:
        raise RecordError(
            f"{path} holds a record of {theirs!r}, not {encoder!r}; it was left alone: write "
            "this one elsewhere with --output"
        )


def _save_labels(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """An .npz (a zip of .npy files, what ``np.load`` reads) with fixed member timestamps and order, so
    the same labels give the same bytes (np.savez stamps the current time into the archive)."""
    import io
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in sorted(arrays.items()):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())
