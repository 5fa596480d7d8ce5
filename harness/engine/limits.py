"""The bound of every count option, checked before any planning: a count past its bound is one line
naming the option, the bound and what to do, never minutes of planning or the kernel's OOM killer.

Each bound is sized from what one machine holds. A planned clustering (a cell: encoder x dataset x
reducer x seed x clusterer) costs about 2 KB while the grid is planned and a row of about 4 KB in the
results store, so :data:`MAX_CELLS` cells plan in a few hundred MB and store in well under a GB. Seeds
past :data:`MAX_SEEDS` add no power a test can use (the protocol runs 3, a baseline at most that many).
:data:`MAX_SAMPLES` samples of a single float32 feature are already 40 MB, and the smallest reduction
holds a 15-neighbour graph of them (1.2 GB); no dataset zsbench reads comes near. :data:`MAX_WORKERS`
processes of ~150 MB each (Python, numpy, scikit-learn) are more than 150 GB. A k past :data:`MAX_K`
asks for more clusters than any dataset has classes (ImageNet and CelebA have 1,000).
"""

from __future__ import annotations

from typing import Any

from zsbench.plugin.errors import InvalidInputError

MAX_SEEDS = 1_000
MAX_CELLS = 100_000
MAX_SAMPLES = 10_000_000
MAX_WORKERS = 1_024
MAX_K = 10_000


PLANNING = "planning stays small and the store holds the rows"


def check_count(
    value: Any, option: str, bound: int, what: str, advice: str, why: str = PLANNING, subject: str = ""
) -> int:
    """``value`` (a whole number) when it is at most ``bound``; else one line naming ``option`` (or saying
    ``subject``), the bound (``what``: the unit, e.g. "seeds"), ``why`` it is bounded and ``advice``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{option} takes a whole number of {what}, got {str(value)[:40]!r}")
    if value > bound:
        shown = f"{value:,}" if value.bit_length() < 128 else "a number that large"
        raise InvalidInputError(
            f"{subject or f'{option} {shown}'} is more than zsbench allows: at most {bound:,} {what}, so that "
            f"{why}; {advice}"
        )
    return value


def check_seeds(n: int, option: str = "--seeds") -> int:
    return check_count(n, option, MAX_SEEDS, "seeds", "use fewer, or split them over several runs")


def check_samples(n: int | None, option: str = "--max-samples") -> int | None:
    if n is None:
        return None
    why = "one machine can embed and reduce them"
    return check_count(n, option, MAX_SAMPLES, "samples", "use fewer, or leave it out for all", why)


def check_workers(n: Any, option: str = "--workers") -> Any:
    """A number of workers given as a number or a numeric string (an executor's option); anything else is
    the executor's to judge."""
    text = str(n).strip()
    if isinstance(n, bool) or not text.isdigit():
        return n
    why = "one machine can hold their processes"
    check_count(int(text), option, MAX_WORKERS, "workers", "use fewer (default: one per core)", why)
    return n


def check_k(k: int, option: str) -> int:
    why = "it stays within what a dataset can have (the largest have 1,000 classes)"
    return check_count(k, option, MAX_K, "clusters", "use a smaller k", why)


def check_cells(n: int, shape: str) -> int:
    """A grid of ``n`` clusterings (``shape`` says how they multiply), before anything is planned."""
    return check_count(
        n,
        "the grid",
        MAX_CELLS,
        "clusterings",
        "run fewer seeds, clusterers, reducers, encoders or datasets at once",
        subject=f"a grid of {n:,} clusterings ({shape})",
    )
