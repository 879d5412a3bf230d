"""Outputs that appear whole or not at all: a command writes into staging folders, moved into place at the end.

Every command that writes files asks ``stage(target_folder)`` for a folder to write into: a
hidden folder beside the target (same file system, so the final moves are renames). When the
command returns, ``staged_outputs`` moves every staged file onto its place in the target folder
(created then) and removes the staging folders; on an exception, Ctrl-C or SIGTERM (turned into
KeyboardInterrupt by the CLI) it removes them and leaves the targets as they were. The moves are
file by file (a folder of results cannot be swapped in one rename without deleting the files
a user keeps beside them), with SIGINT and SIGTERM held off until they are done.
"""

from __future__ import annotations

import contextvars
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# (staging folder, target folder) pairs of the innermost ``staged_outputs``, and the folders
# it had to create to hold them (removed again if the command fails)
_CURRENT: contextvars.ContextVar[tuple[list, list] | None] = contextvars.ContextVar(
    "meso_staging", default=None
)


def stage(target: str | os.PathLike) -> Path:
    """A folder to write the contents of folder `target` into: inside ``staged_outputs`` a new
    hidden folder beside `target`, moved into it at the end; outside, `target` itself
    (created)."""
    target = Path(target)
    current = _CURRENT.get()
    if current is None:
        target.mkdir(parents=True, exist_ok=True)
        return target
    pending, created = current
    for staging, staged_target in pending:
        if staged_target == target:
            return staging
    parent = target.parent
    missing = [p for p in (parent, *parent.parents) if not p.exists()]
    parent.mkdir(parents=True, exist_ok=True)
    created.extend(missing)  # deepest first
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name or 'out'}.staging-", dir=parent))
    pending.append((staging, target))
    return staging


@contextmanager
def staged_outputs() -> Iterator[None]:
    """Collect the ``stage`` folders asked for inside; move their files into place on a normal
    exit, and remove them on any exit."""
    pending: list[tuple[Path, Path]] = []
    created: list[Path] = []
    token = _CURRENT.set((pending, created))
    done = False
    try:
        yield
        with _signals_held():
            for staging, target in pending:
                _move_contents(staging, target)
        done = True
    finally:
        _CURRENT.reset(token)
        for staging, _ in pending:
            shutil.rmtree(staging, ignore_errors=True)
        if not done:
            for folder in created:  # deepest first; only if still empty
                try:
                    folder.rmdir()
                except OSError:
                    pass


def _move_contents(source: Path, target: Path) -> None:
    """Rename every file below `source` onto the same relative path below `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        destination = target / item.name
        if item.is_dir() and not item.is_symlink():
            _move_contents(item, destination)
        else:
            if destination.is_dir() and not destination.is_symlink():
                shutil.rmtree(destination)
            os.replace(item, destination)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Defer SIGINT and SIGTERM (delivered after the block) where the platform allows it."""
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, ValueError, OSError):  # no pthread_sigmask, or not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def replaced_whole(target: str | os.PathLike) -> Iterator[Path]:
    """For a command whose output folder is its own (``meso demo``, which runs other commands
    into it): yield `target` to write into directly, with its previous contents moved aside;
    on success drop them, on any failure put them back (the target as it was, or absent)."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise FileExistsError(target)
    if Path.cwd().resolve().is_relative_to(target.resolve()):
        raise IsADirectoryError(target)  # never move the working folder aside
    previous = None
    if target.exists():
        previous = Path(tempfile.mkdtemp(prefix=f".{target.name}.previous-", dir=target.parent))
        os.replace(target, previous / "contents")
    done = False
    try:
        target.mkdir(parents=True)
        yield target
        done = True
    finally:
        with _signals_held():
            if not done:
                shutil.rmtree(target, ignore_errors=True)
                if previous is not None:
                    os.replace(previous / "contents", target)
            if previous is not None:
                shutil.rmtree(previous, ignore_errors=True)


__all__ = ["replaced_whole", "stage", "staged_outputs"]
