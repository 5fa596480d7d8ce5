"""What the protocol produces: one result per clustering (a row of the store and of a record)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


def labels_hash(labels: Any) -> str:
    """The sha256 of labels as int64 bytes: how results, the artifact cache and records name a labelling."""
    import numpy as np

    return hashlib.sha256(np.ascontiguousarray(labels, dtype=np.int64).tobytes()).hexdigest()


@dataclass(frozen=True)
class Result:
    """One clustering of one embedding: a row of the results store and of the registry."""

    encoder: str
    dataset: str
    reducer: str
    clusterer: str
    seed: int
    status: str  # "ok" or "failed"
    error: str | None
    metrics: Mapping[str, Any]
    config: Mapping[str, Any]
    timings: Mapping[str, float]
    provenance: Mapping[str, Any]
    protocol_version: str
    created_at: str
    run_id: str
    id: int | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def ami(self) -> float | None:
        return self.metrics.get("ami")

    def to_record(self) -> dict[str, Any]:
        """A plain, JSON-able dict (the registry's record format)."""
        record = asdict(self)
        record.pop("id")
        return json.loads(json.dumps(record, default=repr))

    def flat(self) -> dict[str, Any]:
        """One flat row for tables and DataFrames: keys, metrics and timings side by side."""
        row = {k: getattr(self, k) for k in ("encoder", "dataset", "reducer", "clusterer", "seed", "status", "error")}
        row.update(self.metrics)
        row.update({f"time_{k}": v for k, v in self.timings.items()})
        row.update(protocol_version=self.protocol_version, created_at=self.created_at, run_id=self.run_id)
        return row
