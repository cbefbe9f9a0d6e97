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

from marketdata.config import ConfigError
from marketdata.db import StoreUnavailable
from marketdata.prices import PriceDataError
from marketdata.registry import RegistryError
from marketdata.sources.base import SourceUnavailable

from .errors import JobError

COMMAND_MODULES = [
    "jobs.commands.prices",
    "jobs.commands.export",
    "jobs.commands.train",
    "jobs.commands.schedule",
    "jobs.commands.ledger",
]

EXPECTED_ERRORS = (JobError, PriceDataError, SourceUnavailable, ConfigError, RegistryError, StoreUnavailable)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m jobs", description="AAPL recurrent-forecast jobs")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.handler(args) or 0)
    except EXPECTED_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # stdout closed early (e.g. piped into ``head``): not an error of ours.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
