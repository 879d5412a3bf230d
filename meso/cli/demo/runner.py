"""The demo's stages as `meso` commands run in this process: printed, timed and recorded."""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field


@dataclass
class Runner:
    """Runs `meso` commands one after another, printing each (so it can be copied) with its
    stage number and wall time, and keeps them for the report's "commands" section."""

    quiet: bool = False
    commands: list[str] = field(default_factory=list)
    timings: list[tuple[str, float]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def __call__(self, stage: str, argv: list[str]) -> float:
        from meso.cli import main

        command = "meso " + shlex.join(argv)
        self.commands.append(command)
        if not self.quiet:
            elapsed = time.perf_counter() - self.started
            print(f"meso demo [{stage}, {elapsed:5.0f} s]: {command}", flush=True)
        start = time.perf_counter()
        code = main([*argv, *(["--quiet"] if self.quiet else [])])
        if code != 0:
            raise SystemExit(f"meso demo: stage {stage!r} failed with exit code {code}: {command}")
        seconds = time.perf_counter() - start
        self.timings.append((stage, seconds))
        return seconds

    def stage_times(self) -> list[list[object]]:
        """Wall time per stage (commands of one stage summed), in the order they first ran."""
        totals: dict[str, float] = {}
        for stage, seconds in self.timings:
            totals[stage] = totals.get(stage, 0.0) + seconds
        total = time.perf_counter() - self.started
        return [["stage", "wall time (s)"], *[[k, v] for k, v in totals.items()], ["total", total]]
