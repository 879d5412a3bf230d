"""Independent tasks (sweep cases, comparison windows) on worker processes or on groups of MPI ranks.

``map_tasks(function, tasks)`` calls ``function(task, comm)`` once per task and returns the
results in task order, handing tasks out dynamically in every mode:

- serial: one task after the other on MPI.COMM_SELF;
- ``workers=N``: N processes started with "spawn" (a forked child would share the parent's
  MPI state), each running whole tasks on its own COMM_SELF; `function` and the tasks are
  pickled, so `function` must be a module-level function;
- under ``mpirun -n P`` with ``ranks_per_case=K``: the world communicator split into P/K
  groups of K ranks, each calling `function` with its group communicator (the result of the
  group's rank 0 counts); rank 0 also runs a small queue thread (MPI_THREAD_MULTIPLE) that
  gives the next task to whichever group leader asks, so a slow task never holds up the
  others.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from mpi4py import MPI

from meso.errors import InputError
from meso.progress import Progress, report

_REQUEST, _REPLY = 17, 18
Task = Callable[[Any, MPI.Comm], Any]


def check_parallel(comm: MPI.Comm, workers: int, ranks_per_case: int) -> None:
    """InputError for a --workers / --ranks-per-case combination that cannot run."""
    if workers < 1:
        raise InputError("--workers", f"must be >= 1, got {workers}")
    if ranks_per_case < 1:
        raise InputError("--ranks-per-case", f"must be >= 1, got {ranks_per_case}")
    if comm.size > 1 and workers > 1:
        raise InputError("--workers", "use --ranks-per-case under mpirun, not worker processes")
    if comm.size % ranks_per_case:
        raise InputError("--ranks-per-case", f"{ranks_per_case} does not divide the "
                         f"{comm.size} MPI rank(s) (run under mpirun -n P with P a multiple)")  # fmt: skip
    if comm.size > 1 and MPI.Query_thread() < MPI.THREAD_MULTIPLE:
        raise InputError("--ranks-per-case", "this MPI library has no MPI_THREAD_MULTIPLE, "
                         "which the rank-0 case queue needs; use --case I per job instead")  # fmt: skip


def map_tasks(
    function: Task,
    tasks: Sequence[Any],
    *,
    workers: int = 1,
    ranks_per_case: int = 1,
    comm: MPI.Comm = MPI.COMM_WORLD,
    progress: Progress | None = None,
    describe: Callable[[Any], str] = str,
) -> list[Any]:
    """[function(task, comm) for task in tasks], run as the module docstring says; every rank
    of `comm` calls it and gets the list. `progress` (rank 0) gets describe(result) per task."""
    check_parallel(comm, workers, ranks_per_case)
    if comm.size > 1:
        return _run_split(function, tasks, comm, ranks_per_case, progress, describe)
    if workers > 1 and len(tasks) > 1:
        return _run_pool(function, tasks, workers, progress, describe)
    results = []
    for task in tasks:
        results.append(function(task, MPI.COMM_SELF))
        report(progress, describe(results[-1]))
    return results


# -- worker processes --------------------------------------------------------------------------


def _worker_init(log_level: int) -> None:
    """Ctrl-C reaches the parent, which terminates the pool; SIGTERM (that, or a scheduler)
    exits quietly through the task's clean-up (SystemExit passes every ``except Exception``).
    Log records appear as in the parent (the CLI's level and format)."""
    logging.basicConfig(level=log_level, format="%(levelname)s %(name)s: %(message)s")

    def leave(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, leave)


def _worker_task(job: tuple[int, Task, Any]) -> tuple[int, Any]:
    index, function, task = job
    return index, function(task, MPI.COMM_SELF)


def _run_pool(function, tasks, workers, progress, describe) -> list[Any]:
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(min(workers, len(tasks)), initializer=_worker_init,
                        initargs=(logging.getLogger().getEffectiveLevel(),))  # fmt: skip
    results: list[Any] = [None] * len(tasks)
    try:
        jobs = [(i, function, task) for i, task in enumerate(tasks)]
        for index, result in pool.imap_unordered(_worker_task, jobs, chunksize=1):
            results[index] = result
            report(progress, describe(result))
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    return results


# -- MPI groups with a rank-0 queue ------------------------------------------------------------


def _serve_queue(comm: MPI.Comm, count: int, groups: int, results: list, progress, describe):
    """Rank 0's queue thread: answer each leader's request (which carries the result of its
    previous task) with the next task index, then None once per group. Polls with short
    sleeps so that it does not take a core from the solver running beside it on rank 0."""
    following, finished = 0, 0
    status = MPI.Status()
    while finished < groups:
        while not comm.Iprobe(source=MPI.ANY_SOURCE, tag=_REQUEST, status=status):
            time.sleep(0.002)
        leader = status.Get_source()
        previous = comm.recv(source=leader, tag=_REQUEST)
        if previous is not None:
            index, result = previous
            results[index] = result
            report(progress, describe(result))
        if following < count:
            comm.send(following, dest=leader, tag=_REPLY)
            following += 1
        else:
            comm.send(None, dest=leader, tag=_REPLY)
            finished += 1


def _run_split(function, tasks, world, ranks_per_case, progress, describe) -> list[Any]:
    groups = world.size // ranks_per_case
    group = world.Split(color=world.rank // ranks_per_case, key=world.rank)
    queue = world.Dup()  # the queue's messages never mix with anything else
    results: list[Any] = [None] * len(tasks)
    server = None
    if world.rank == 0:
        server = threading.Thread(target=_serve_queue, daemon=True,
                                  args=(queue, len(tasks), groups, results, progress,
                                        describe))  # fmt: skip
        server.start()
    try:
        previous = None
        while True:
            index = None
            if group.rank == 0:
                queue.send(previous, dest=0, tag=_REQUEST)
                index = queue.recv(source=0, tag=_REPLY)
            index = group.bcast(index, root=0)
            if index is None:
                break
            previous = (index, function(tasks[index], group))
        if server is not None:
            server.join()
        return world.bcast(results, root=0)
    finally:
        queue.Free()
        group.Free()


__all__ = ["check_parallel", "map_tasks"]
