"""Module-level tasks that the executor checks submit: a worker process imports them by name."""

from __future__ import annotations

import time


def square(x: int) -> int:
    return x * x


def fail(message: str) -> None:
    raise ValueError(message)


def pause(seconds: float) -> float:
    """Sleep ``seconds``, return them (a long pause is the task that ``close(cancel=True)`` must stop)."""
    time.sleep(seconds)
    return seconds
