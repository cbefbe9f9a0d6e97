"""What every expected failure of a command must look like, checked on real processes."""
from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
import traceback
import weakref

from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from store.db import make_engine
from store.tables import Lease, ModelRecord, Price, Run
from tests.support.services import ROOT


def assert_one_error_line(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit status 2, no traceback, and exactly one stderr line, starting ``error:`` and
    holding each fragment (progress lines of long commands may come before it)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert len(errors) == 1 and lines[-1] == errors[0], lines[-10:]
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]


def stored(url: str) -> dict[str, list]:
    """Everything a refused command must not have changed: prices, runs, models, leases."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                "prices": conn.execute(select(Price.ticker, Price.date, Price.close, Price.volume)
                                       .order_by(Price.ticker, Price.date)).all(),
                "runs": conn.execute(select(Run.id, Run.ticker, Run.status).order_by(Run.id)).all(),
                "models": conn.execute(select(ModelRecord.id).order_by(ModelRecord.id)).all(),
                "leases": conn.execute(select(Lease.name, Lease.holder)).all(),
            }
    finally:
        engine.dispose()


class _Text(io.StringIO):
    """A captured text stream; ``buffer`` for code that writes bytes, as on a real pipe."""

    def __init__(self, initial: str = ""):
        super().__init__(initial)
        self.buffer = _BytesInto(self)


class _BytesInto(io.RawIOBase):
    def __init__(self, text: io.StringIO):
        self.text = text

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.text.write(bytes(data).decode("utf-8", "replace"))
        return len(data)


def run_jobs_in_process(args: tuple[str, ...] | list[str], env: dict[str, str], stdin: str | None = None,
                        ) -> subprocess.CompletedProcess:
    """``python -m jobs ARGS`` with ``env`` as the environment, run in this interpreter.

    What a subprocess gives a test, without the 1.5-8 s interpreter (and TensorFlow) start-up per call:
    the exit status (SystemExit, or 1 with a traceback on stderr for an uncaught exception), stdout and
    stderr as text (WARNING-level log lines included, formatted as ``jobs.cli.main`` configures them), an
    environment of exactly ``env``, and the signal handlers, cwd and logging restored afterwards. Tests
    about the process itself (signals, kill -9, the clock and its child) keep real processes."""
    from jobs.cli import main

    out, err = _Text(), _Text()
    saved_env = dict(os.environ)
    saved_streams = (sys.stdin, sys.stdout, sys.stderr)
    saved_signals = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    saved_cwd = os.getcwd()
    root = logging.getLogger()
    saved_level = root.level
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    os.environ.clear()
    os.environ.update(env)
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin or ""), out, err
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if "-v" in args or "--verbose" in args else logging.WARNING)
    os.chdir(ROOT)
    engines: weakref.WeakSet = weakref.WeakSet()  # every engine the command connects, to close as its exit would

    def connected(conn) -> None:
        engines.add(conn.engine)

    event.listen(Engine, "engine_connect", connected)
    try:
        code = _exit_status(main, list(args))
    finally:
        event.remove(Engine, "engine_connect", connected)
        # The command's store connections closed as its exit would close them (SQLite folds its WAL back).
        # Disposing the engines it used, not gc.collect(): a full collection in a worker that has loaded
        # TensorFlow and many frames costs seconds, on every call.
        for engine in list(engines):
            engine.dispose()
        os.chdir(saved_cwd)
        root.removeHandler(handler)
        root.setLevel(saved_level)
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.environ.clear()
        os.environ.update(saved_env)
        for sig, previous in saved_signals.items():
            signal.signal(sig, previous)
    return subprocess.CompletedProcess(["python", "-m", "jobs", *args], code, out.getvalue(), err.getvalue())


def _exit_status(main, argv: list[str]) -> int:
    """What the interpreter's exit status would be for ``sys.exit(main(argv))``."""
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code
    except Exception:  # uncaught: Python prints the traceback and exits 1 (pytest's own, e.g. a timeout, go up)
        traceback.print_exc(file=sys.stderr)
        return 1
    finally:
        sys.stdout.flush()
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
