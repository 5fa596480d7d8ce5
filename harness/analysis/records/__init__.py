"""Registry records, the format: what a record is, the limits a reader holds it to, and reading one.

A record is a JSON document (schema ``zsbench/core/schemas/record-2.schema.json``) with one encoder
identity's per dataset x clusterer x seed scores and their provenance, plus an optional labels
archive beside it (``<record>.labels.npz``) holding the true labels of each dataset and every
predicted labelling, keyed by the sha256 of their int64 bytes
(:func:`zsbench.core.result.labels_hash`). :mod:`zsbench.analysis.records.validation` checks records,
:mod:`zsbench.analysis.records.verification` re-scores them from their labels, :mod:`zsbench.analysis.board.sources`
loads them for a board, and :mod:`zsbench.analysis.records.registry` writes them (``zsbench submit``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.plugin.errors import ZsbenchError
from zsbench.plugin.identity import local_paths

SCHEMA = "zsbench-record/2"
LABELS_SUFFIX = ".labels.npz"
# Limits on what a record may make a reader do, checked before the work they bound: a record is
# input from strangers, and validate, verify, the board and the gate must answer one line, not
# run out of memory or stack. Real records are far below them (the study's 26 datasets x 6
# clusterers x 10 seeds is 1,560 results, about 5 MB).
MAX_RECORD_BYTES = 64 * 1024 * 1024  # a record file's size, checked before it is read
MAX_DEPTH = 64  # nesting of arrays and objects, checked on the raw text before parsing (a record needs ~10)
MAX_RESULTS = 20_000  # results in one record: schema checks cost a few ms each
# The labels archive: each referenced member is read from its .npy header and must be a 1-d int64
# array of the dataset's n_samples, so at most 8 bytes a sample (+ its header) is decompressed from
# it; all members together at most this much. Members the record does not reference are not read.
MAX_LABEL_HEADER = 4096
MAX_LABELS_BYTES = 4 * 1024**3


class RecordError(ZsbenchError):
    """A record that cannot be read, fails its schema, or whose scores do not follow its labels."""


def schema() -> dict[str, Any]:
    return json.loads(resources.files("zsbench.core").joinpath("schemas/record-2.schema.json").read_text())


def dumps(record: Mapping[str, Any]) -> str:
    return json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n"


def read(path: str | Path) -> dict[str, Any]:
    """Parse a record file, or raise RecordError naming it.

    Refuses, before parsing, a file over MAX_RECORD_BYTES or nested deeper than MAX_DEPTH, and
    numbers that are not finite (NaN, Infinity, or 1e999, which overflows).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_RECORD_BYTES:
            raise RecordError(
                f"{path}: {size:,} bytes, over the {MAX_RECORD_BYTES:,} a record may have; "
                "a record holds one encoder's scores, not data"
            )
        data = path.read_bytes()
        depth = _depth(data)
        if depth > MAX_DEPTH:
            raise RecordError(
                f"{path}: arrays and objects nested {depth} deep, over the {MAX_DEPTH} a record "
                "may have; this is not a record written by `zsbench submit`"
            )
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise RecordError(f"{path}: no such record file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: cannot read: {exc}") from None
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except _NotFinite as exc:
        raise RecordError(
            f"{path}: {_where(text, exc.token)}holds {exc.token}, which is not a number a record "
            "may carry; scores are finite numbers"
        ) from None
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path}: not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # RecursionError: MAX_DEPTH should have stopped it first
        raise RecordError(f"{path}: not a record: {type(exc).__name__}: {exc}") from None


class _NotFinite(ValueError):
    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


def _no_constant(name: str) -> Any:
    raise _NotFinite(name)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: valid JSON, but Python reads it as inf
        raise _NotFinite(text)
    return value


# A JSON string, honouring escapes (an escaped \" does not end it).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)


def _depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects outside strings, without parsing (json.loads
    recurses once per level, so a deep file would exhaust the stack)."""
    chars = np.frombuffer(_STRING.sub(b"", data), dtype=np.uint8)
    depth = deepest = 0
    step = 1 << 20  # chunks bound the memory of the running sum
    for start in range(0, len(chars), step):
        chunk = chars[start : start + step]
        delta = (chunk == ord("[")).astype(np.int64) + (chunk == ord("{")) - (chunk == ord("]")) - (chunk == ord("}"))
        running = np.cumsum(delta) + depth
        if len(running):
            deepest = max(deepest, int(running.max()))
            depth = int(running[-1])
    return deepest


def _where(text: str, token: str) -> str:
    """``line L column C: `` of the first ``token`` outside strings, or '' (for an error message)."""
    blank = re.sub(_STRING.pattern.decode(), lambda m: " " * len(m.group()), text, flags=re.S)
    at = blank.find(token)
    if at < 0:
        return ""
    return f"line {blank.count(chr(10), 0, at) + 1} column {at - blank.rfind(chr(10), 0, at)}: "


def record_files(paths: Iterable[str | Path]) -> list[Path]:
    """Record files named directly, or found (recursively, sorted) in the folders named."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.rglob("*.json") if not f.name.endswith(".schema.json"))
        elif p.exists():
            found.append(p)
        else:
            raise RecordError(f"{p}: no such record file or folder")
    return found


# An absolute local path inside free text (an error message, a warning): kept as its file name only.
_PATH_IN_TEXT = re.compile(r"(?<![\w:/.~])(?:/|~/)[^\s'\"(),;]+")


def scrub_paths(text: str | None) -> str | None:
    """Free text with local paths cut to their last part: records never carry a path or user name."""
    if text is None:
        return None
    return _PATH_IN_TEXT.sub(lambda m: Path(m.group(0)).name or "/", text)


def portable_options(options: Mapping[str, Any], left_out: list[str]) -> dict[str, Any]:
    """Options as a record keeps them: a path (from results that predate content identities) as its name."""
    out = {}
    for key, value in options.items():
        if local_paths(value):
            out[key] = {"file": Path(str(value)).name}
            left_out.append(f"option {key}: the local path is recorded by its file name only")
        else:
            out[key] = value
    return out
