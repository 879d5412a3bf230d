"""The `meso` command line: one entry point, one module per subcommand under meso/cli/."""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
import textwrap
from collections.abc import Sequence
from contextlib import contextmanager

from meso import __version__
from meso.errors import InputError
from meso.io.staging import staged_outputs

# Subcommand modules, in the order `meso --help` lists them. Each has `register(subparsers)`
# which adds its parser and sets `func`; list a module here only once its command works.
COMMAND_MODULES = [
    "demo",
    "info",
    "reconstruct",
    "synth",
    "phantom",
    "elastic",
    "conduct",
    "mesh",
    "segment",
    "quantify",
    "sweep",
    "compare",
    "hotspot",
    "extract",
    "validate",
]


# argparse takes "-1e-3" for an option (its own pattern knows only "-1" and "-1.5"): every meso
# parser reads negative numbers in any float spelling as values (`--strain -1e-3`).
NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.I)


class MesoHelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, but lines never break inside an option name (--grain-size), a
    newline in a description or epilog starts a new line (one example per line), and --shape
    shows its one metavar (N|NX,NY,NZ), not N [N ...]."""

    def _split_lines(self, text, width):
        text = self._whitespace_matcher.sub(" ", text).strip()
        return textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)

    def _fill_text(self, text, width, indent):
        lines = (self._whitespace_matcher.sub(" ", line).strip() for line in text.splitlines())
        return "\n".join(textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent,
                                       break_on_hyphens=False, break_long_words=False)
                         for line in lines)  # fmt: skip

    def _format_args(self, action, default_metavar):
        from meso.cli.common import ShapeAction

        if isinstance(action, ShapeAction):
            return action.metavar
        return super()._format_args(action, default_metavar)


class MesoParser(argparse.ArgumentParser):
    """The parser of `meso` and of each command: negative numbers are values, and a usage error
    is one line on stderr, "meso CMD: error: --option: problem", with exit code 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", MesoHelpFormatter)
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER

    def error(self, message: str):
        message = " ".join(str(message).split())
        if message.startswith("argument "):  # "argument --strain: ..." -> "--strain: ..."
            message = message[len("argument ") :]
        self.exit(2, f"{self.prog}: error: {message}\n")

    def parse_args(self, args=None, namespace=None):
        """As argparse's, but an unrecognised argument is reported by the command it follows."""
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            commands = [a for a in self._actions if isinstance(a, argparse._SubParsersAction)]
            command = getattr(namespace, "command", None)
            parser = commands[0].choices.get(command, self) if commands and command else self
            parser.error(f"{' '.join(extras)}: unrecognized argument{'s' * (len(extras) > 1)}")
        return namespace


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
    parser = MesoParser(
        prog="meso",
        description="From synchrotron tomography and synthetic LLZO microstructures to FEniCSx "
        "models of ionic conduction and elasticity. Run `meso COMMAND --help` for details.",
    )
    parser.add_argument("--version", action="version", version=f"meso {__version__}")
    global_options(parser)
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands", parser_class=MesoParser
    )
    for name in COMMAND_MODULES:
        module = __import__(f"meso.cli.{name}", fromlist=["register"])
        command = module.register(sub)
        global_options(command, suppress=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a usage error (2, already printed)
        return exc.code if isinstance(exc.code, int) else 2
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
