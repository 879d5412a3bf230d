"""The `meso` command line: one entry point, one module per subcommand under meso/cli/."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from contextlib import contextmanager

from meso import __version__
from meso.errors import InputError
from meso.io.staging import staged_outputs

# Subcommand modules, in the order `meso --help` lists them. Each has `register(subparsers)`
# which adds its parser and sets `func`; list a module here only once its command works.
COMMAND_MODULES = ["demo", "info", "reconstruct", "synth", "phantom", "elastic", "conduct", "mesh"]


def global_options(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """--out, --quiet, --log-level: accepted before or after the subcommand name."""
    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("global options")
    group.add_argument("--out", metavar="DIR", default=default, help="output folder")
    group.add_argument(
        "--quiet",
        action="store_true",
        default=default if suppress else False,
        help="no progress bars or summaries",
    )
    group.add_argument(
        "--log-level",
        default=default if suppress else "WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging detail (default WARNING)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meso",
        description="From synchrotron tomography and synthetic LLZO microstructures to FEniCSx "
        "models of ionic conduction and elasticity. Run `meso COMMAND --help` for details.",
    )
    parser.add_argument("--version", action="version", version=f"meso {__version__}")
    global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name in COMMAND_MODULES:
        module = __import__(f"meso.cli.{name}", fromlist=["register"])
        command = module.register(sub)
        global_options(command, suppress=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    logging.basicConfig(
        level=args.log_level, format="%(levelname)s %(name)s: %(message)s", force=True
    )
    # The level also goes on the handler: the C compiler run behind DOLFINx's form JIT lowers
    # the root logger to INFO, which would otherwise print every compiler command line.
    for handler in logging.root.handlers:
        handler.setLevel(args.log_level)
    try:
        with staged_outputs(), _sigterm_as_interrupt():
            return int(args.func(args) or 0)
    except InputError as exc:
        print(f"meso {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"meso {args.command}: interrupted", file=sys.stderr)
        return 130


@contextmanager
def _sigterm_as_interrupt():
    """SIGTERM (a scheduler's kill, `kill PID`) ends the command like Ctrl-C, so that its
    staged outputs are removed; the previous handler comes back afterwards."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
