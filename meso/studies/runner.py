"""Run a sweep's unfinished cases: serially, on a pool of processes, or on groups of MPI ranks.

The sweep folder is long-lived and resumable, so it is not staged as a whole: each case folder
appears whole (``meso.studies.cases``), ``sweep.json`` records the fingerprint of the grid, and
``results.csv`` / ``summary.csv`` are rewritten atomically from the case folders after every
run. Cases already finished are never run again (their files stay untouched).

The cases run serially, on worker processes or on groups of MPI ranks, handed out dynamically
(``meso.studies.parallel``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mpi4py import MPI

from meso.errors import InputError
from meso.io.atomic import write_json
from meso.progress import Progress, report
from meso.studies.cases import (
    CaseOutcome,
    Generate,
    Measure,
    is_done,
    remove_stale,
    run_case,
    sweep_materials,
)
from meso.studies.grid import Case, Sweep, changed_settings
from meso.studies.parallel import check_parallel, map_tasks
from meso.studies.plots import sweep_figures
from meso.studies.summary import write_summary

SWEEP_JSON = "sweep.json"


@dataclass
class RunReport:
    """What one run did: the cases it ran (with outcomes) and those it found finished."""

    ran: list[CaseOutcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0


def prepare_folder(sweep: Sweep, out: Path) -> None:
    """Create `out` with sweep.json for a new sweep, or check that its sweep.json is this grid;
    InputError naming the changed settings when it is not."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(out, "exists and is not a folder")
    record = out / SWEEP_JSON
    if record.exists():
        try:
            previous = json.loads(record.read_text())
        except (OSError, ValueError):
            raise InputError(
                record, "is unreadable; remove the folder or choose another --out"
            ) from None
        if previous.get("fingerprint") != sweep.fingerprint:
            changes = changed_settings(previous.get("settings", {}), sweep.settings)
            what = "; ".join(changes) if changes else "the materials file changed"
            raise InputError(out, f"holds a sweep of a different grid ({what}); choose another "
                             "--out or remove the folder to start again")  # fmt: skip
        return
    if out.exists() and any(p for p in out.iterdir() if not p.name.startswith(".")):
        raise InputError(out, f"is not empty and has no {SWEEP_JSON}: not a sweep folder")
    write_json(record, sweep.to_json())


def pending_cases(
    sweep: Sweep, out: Path, only: Sequence[Case] | None = None
) -> tuple[list[Case], list[str]]:
    """(cases still to run, ids already finished) among `only` (default all)."""
    todo, done = [], []
    for case in sweep.cases if only is None else only:
        (done if is_done(out, case.id) else todo).append(case)
    return todo, [c.id for c in done]


def run_cases(
    sweep: Sweep,
    out: Path,
    *,
    generate: Generate,
    measure: Measure | None = None,
    only: Sequence[Case] | None = None,
    workers: int = 1,
    ranks_per_case: int = 1,
    comm: MPI.Comm = MPI.COMM_WORLD,
    progress: Progress | None = None,
) -> RunReport:
    """Run the unfinished cases of `sweep` (or of `only`) into `out` (prepared by
    ``prepare_folder``); every rank of `comm` calls it. `progress` gets "<id> ok|failed" per
    case (on rank 0). Returns the same RunReport on every rank."""
    start = time.perf_counter()
    if comm.rank == 0:
        remove_stale(out)
        todo, done = pending_cases(sweep, out, only)
    else:
        todo, done = None, None
    todo, done = comm.bcast((todo, done), root=0)
    for case_id in done:
        report(progress, f"{case_id} finished before")
    tasks = [(sweep, case, out, generate, measure) for case in todo]
    ran = map_tasks(
        _sweep_case,
        tasks,
        workers=workers,
        ranks_per_case=ranks_per_case,
        comm=comm,
        progress=progress,
        describe=lambda o: f"{o.id} {o.status}",
    )
    return RunReport(ran=ran, skipped=done, wall_seconds=time.perf_counter() - start)


def run_sweep(
    sweep: Sweep,
    out: str | Path,
    *,
    generate: Generate,
    measure: Measure | None = None,
    only: Sequence[Case] | None = None,
    workers: int = 1,
    ranks_per_case: int = 1,
    comm: MPI.Comm = MPI.COMM_WORLD,
    progress: Progress | None = None,
) -> tuple[RunReport, dict]:
    """Prepare `out` (refusing a folder of another grid), run the unfinished cases of `sweep`
    (or of `only`) and rewrite results.csv / summary.csv (also after an interruption).

    `generate(**case.generator)` makes a case's Microstructure (e.g. ``synth.generate``) and
    `measure(m)` a flat dict of its measured statistics (results.csv columns measured_*); both
    must be module-level functions when `workers` > 1 (they are pickled by name). Every rank of
    `comm` calls this. Returns (RunReport, the summary.json document) on every rank.
    """
    out = Path(out)
    check_parallel(comm, workers, ranks_per_case)
    problem = None
    if comm.rank == 0:
        try:
            prepare_folder(sweep, out)
        except InputError as exc:
            problem = (exc.source, exc.problem)  # InputError itself does not unpickle
    problem = comm.bcast(problem, root=0)
    if problem is not None:
        raise InputError(*problem)
    document = None
    try:
        run = run_cases(sweep, out, generate=generate, measure=measure, only=only,
                        workers=workers, ranks_per_case=ranks_per_case, comm=comm,
                        progress=progress)  # fmt: skip
    finally:
        if comm.rank == 0:
            document, table = write_summary(sweep, out)
    if comm.rank == 0:
        sweep_figures(table, out, boundary=boundary_model(sweep))
    return run, comm.bcast(document, root=0)


def boundary_model(sweep: Sweep) -> tuple[float, float] | None:
    """(delta_um, sigma_grain / sigma_gb) of the brick-layer reference, or None when the
    boundaries do not resist (or their thickness is swept)."""
    materials = sweep_materials(sweep)
    h_um = sweep.settings["voxel_size_um"]
    thickness = sweep.settings.get("gb_thickness_voxels", [1.0])
    phase = materials.phases.get("grain_boundary")
    if phase is None or len(thickness) != 1 or thickness[0] == 0:
        return None
    sigma_gb = phase.conductivity(h_um * 1e-6)
    sigma_grain = materials.grain.conductivity(h_um * 1e-6)
    if not sigma_gb or not sigma_grain or sigma_gb >= sigma_grain:
        return None
    return thickness[0] * h_um, sigma_grain / sigma_gb


def _sweep_case(task, comm: MPI.Comm) -> CaseOutcome:
    sweep, case, out, generate, measure = task
    return run_case(sweep, case, out, generate=generate, measure=measure, comm=comm)


__all__ = [
    "SWEEP_JSON",
    "RunReport",
    "check_parallel",
    "pending_cases",
    "prepare_folder",
    "run_cases",
    "run_sweep",
]
