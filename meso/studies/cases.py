"""One sweep case: generate its volume, solve each physics, write its folder atomically.

A case folder ``DIR/cases/<id>/`` holds ``case.json`` (parameters, generator arguments, the
measured statistics of the generated volume, M per physics and axis, status and error) and the
full ``conduction.json`` / ``elasticity.json`` documents. It is written into a hidden folder
beside it (``.<id>~<host>~<pid>.tmp``) and renamed into place when complete, so a folder under
``cases/`` is always a finished case; an interrupted case leaves at most a hidden folder, which
a later run removes once its process is gone.

A case whose generation or solve raises, or whose solver does not converge, is written with
``"status": "failed"`` and the error, and the sweep goes on; it is run again by the next run.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mpi4py import MPI

from meso.conduction import conduct
from meso.elasticity import elastic
from meso.io.atomic import write_json
from meso.materials import Materials, load_materials, parse_materials
from meso.microstructure import Microstructure
from meso.studies.grid import Case, Sweep

# generate(**case.generator) -> Microstructure; measure(m) -> flat dict of measured statistics
Generate = Callable[..., Microstructure]
Measure = Callable[[Microstructure], dict[str, Any]]
CASES = "cases"
TMP_SUFFIX = ".tmp"


@dataclass
class CaseOutcome:
    """What the runner needs to know about one finished case."""

    id: str
    status: str  # "ok" or "failed"
    error: str | None = None
    seconds: float = 0.0


def case_dir(out: Path, case_id: str) -> Path:
    return Path(out) / CASES / case_id


def read_case(out: Path, case_id: str) -> dict[str, Any] | None:
    """The case.json of a finished case, or None when there is none (or it is unreadable)."""
    try:
        return json.loads((case_dir(out, case_id) / "case.json").read_text())
    except (OSError, ValueError):
        return None


def is_done(out: Path, case_id: str) -> bool:
    """True when the case has a folder with status ok (failed cases are run again)."""
    record = read_case(out, case_id)
    return record is not None and record.get("status") == "ok"


def sweep_materials(sweep: Sweep) -> Materials:
    if sweep.materials_text is None:
        return load_materials(None)
    return parse_materials(sweep.materials_text, sweep.materials_source or "sweep materials")


def _solve(sweep: Sweep, m: Microstructure, comm: MPI.Comm, materials: Materials):
    """{physics: (document, {axis: M}, [not converged axes])} for the sweep's physics."""
    solved = {}
    for physics in sweep.physics:
        if physics == "conduction":
            result = conduct(m, axes=sweep.axes, method=sweep.method, materials=materials,
                             comm=comm)  # fmt: skip
            factors = {a: result.factor(a) for a in sweep.axes}
            failed = [a for a, e in result.axes.items() for r in e.values() if not r.converged]
        else:
            result = elastic(m, axes=sweep.axes, materials=materials, strain=sweep.strain,
                             comm=comm)  # fmt: skip
            factors = {a: result.axes[a].M for a in sweep.axes}
            failed = [a for a, r in result.axes.items() if not r.converged]
        solved[physics] = (result.to_json(), factors, failed)
    return solved


def run_case(
    sweep: Sweep,
    case: Case,
    out: Path,
    *,
    generate: Generate,
    measure: Measure | None = None,
    comm: MPI.Comm = MPI.COMM_SELF,
) -> CaseOutcome:
    """Run `case` on the ranks of `comm` (rank 0 generates and writes) and write its folder.

    Exceptions from generating or solving are recorded in the case folder (status failed);
    KeyboardInterrupt and SystemExit remove the half-written folder and propagate.
    """
    start = time.perf_counter()
    out = Path(out)
    leader = comm.rank == 0
    tmp = None
    if leader:
        (out / CASES).mkdir(parents=True, exist_ok=True)
        tmp = out / CASES / _hidden_name(case.id)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
    record: dict[str, Any] = {"id": case.id, "index": case.index, "parameters": case.parameters,
                              "generator": case.generator, "physics": list(sweep.physics),
                              "axes": list(sweep.axes), "method": sweep.method,
                              "fingerprint": sweep.fingerprint}  # fmt: skip
    try:
        error = None
        m = None
        if leader:
            try:
                m = generate(**case.generator)
                record["measured"] = measure(m) if measure is not None else {}
                record["volume_fractions"] = m.volume_fractions()
            except Exception as exc:  # recorded, and the sweep goes on
                error = _record_error(record, exc)
        m, error = comm.bcast((m, error), root=0)
        if error is None:
            try:
                solved = _solve(sweep, m, comm, sweep_materials(sweep))
                record["results"] = {p: factors for p, (_, factors, _) in solved.items()}
                unconverged = [f"{p} {a}" for p, (_, _, failed) in solved.items() for a in failed]
                if unconverged:
                    error = f"solver did not converge for {', '.join(unconverged)}"
                if leader:
                    for physics, (document, _, _) in solved.items():
                        write_json(tmp / f"{physics}.json", document)
            except Exception as exc:
                error = _record_error(record, exc)
        # a failure on any rank of the group fails the case for all of them
        errors = comm.allgather(error)
        error = next((e for e in errors if e), None)
        seconds = time.perf_counter() - start
        record.update({"status": "failed" if error else "ok", "error": error,
                       "wall_seconds": seconds, "ranks": comm.size,
                       "host": socket.gethostname(), "pid": os.getpid()})  # fmt: skip
        if leader:
            write_json(tmp / "case.json", record)
            _move_into_place(tmp, case_dir(out, case.id))
        return CaseOutcome(case.id, record["status"], error, seconds)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _record_error(record: dict[str, Any], exc: Exception) -> str:
    record["traceback"] = traceback.format_exc()
    return f"{exc.__class__.__name__}: {exc}"


def _move_into_place(tmp: Path, final: Path) -> None:
    """Rename the finished folder onto `final`; a failed case there is replaced, a finished one
    (another process got there first) is kept and ours dropped."""
    if final.exists():
        record = read_case(final.parent.parent, final.name)
        if record is not None and record.get("status") == "ok":
            return
        aside = final.with_name(_hidden_name(f"{final.name}-old"))
        os.replace(final, aside)
        shutil.rmtree(aside, ignore_errors=True)
    try:
        os.rename(tmp, final)
    except OSError:  # a concurrent run renamed its folder first: keep that one
        if not final.exists():
            raise


def _hidden_name(case_id: str) -> str:
    """The hidden folder of a case being written by this process (ids and host names hold no
    '~')."""
    return f".{case_id}~{socket.gethostname()}~{os.getpid()}{TMP_SUFFIX}"


def remove_stale(out: Path) -> list[str]:
    """Remove hidden half-written case folders of this host's processes that are gone; return
    their names. (Folders of other hosts are left: their processes may still run.)"""
    removed = []
    host = socket.gethostname()
    for item in (Path(out) / CASES).glob(f".*~*~*{TMP_SUFFIX}"):
        _, item_host, pid = item.name[: -len(TMP_SUFFIX)].rsplit("~", 2)
        if item_host != host or not pid.isdigit() or _alive(int(pid)):
            continue
        shutil.rmtree(item, ignore_errors=True)
        removed.append(item.name)
    return removed


def _alive(pid: int) -> bool:
    """True for a running process; a zombie (a killed worker not yet reaped by its new parent)
    counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (macOS): trust kill(0)
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


__all__ = ["CaseOutcome", "case_dir", "is_done", "read_case", "remove_stale", "run_case"]
