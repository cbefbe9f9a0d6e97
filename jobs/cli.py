"""``python -m jobs COMMAND``: one argparse entry point, one small module per command group.

Each module in ``COMMAND_MODULES`` has ``register(subparsers)``; handlers take the
parsed args and return an exit code. Expected failures are printed as a single
line on stderr with a non-zero exit, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from config.logs import setup_logging
from config.settings import load_settings
from contract.errors import EXPECTED
from store.db import store_failures_as_errors

from .stopping import StopRequest

COMMAND_MODULES = [
    "jobs.commands.prices",
    "jobs.commands.export",
    "jobs.commands.train",
    "jobs.commands.nightly",
    "jobs.commands.runs",
    "jobs.commands.queue",
    "jobs.commands.clock",
    "jobs.commands.simulate",
    "jobs.commands.ledger",
    "jobs.commands.serve",
    "jobs.commands.alerts",
]

class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one ``error:`` line and exit status 2 like every
    other expected failure (argparse's own form is a usage block then the error).
    Sub-command parsers inherit this class."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m jobs", description="AAPL recurrent-forecast jobs")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # stdout is the command's answer; its log lines go to stderr
    setup_logging("jobs", logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr)
    if getattr(args, "long_running", False):
        # SIGTERM / Ctrl-C: the run stops at its next epoch and is recorded as cancelled.
        args.should_cancel = StopRequest().install()
    try:
        # The store failing mid-command (read-only, gone) is a StoreError naming it, shown like any Failure.
        with store_failures_as_errors(lambda: load_settings(uses=()).database_url):
            return int(args.handler(args) or 0)
    except EXPECTED as exc:  # every Refusal and Failure of the product
        print("error: " + " ".join(str(exc).split()), file=sys.stderr)  # one line, always
        return 2
    except BrokenPipeError:
        # stdout closed early (e.g. piped into ``head``): not an error of ours.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
