"""The one progress protocol of every long computation: a callable that takes a step's name."""

from __future__ import annotations

from collections.abc import Callable

# Called once per finished step (an axis, a solve, a case) with a short name of it; the CLI
# passes a tqdm bar's update, notebooks a print or nothing.
Progress = Callable[[str], None]


def report(progress: Progress | None, step: str) -> None:
    """Tell `progress` (if any) that `step` is done."""
    if progress is not None:
        progress(step)
