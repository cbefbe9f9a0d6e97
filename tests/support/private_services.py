"""Private Redis and PostgreSQL instances on spare ports for fault drills.

Drills stop and restart services; they must never touch the machine's shared
ones, which the rest of the suite relies on. Each instance lives in a temp folder
and is removed afterwards.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from scripts.web_server import free_port  # below the ephemeral range: no outgoing connection takes it

START_ATTEMPTS = 5  # a port taken between free_port's check and the server's bind: another port, this often
PG_BIN = Path(next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), "/usr/lib/postgresql/15/bin"))


def _wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


class _PrivateServer:
    """A server on a port of its own (``free_port``). A subclass starts it once (``_start_once``: True when
    it is up, False when it exited; its log says why); ``start`` holds what both servers share."""

    name = ""
    port: int

    def _log(self) -> Path:
        raise NotImplementedError

    def _start_once(self, log: Path) -> bool:
        raise NotImplementedError

    def _clean_up_failed_start(self) -> None:
        """After a start that will not be tried again (nothing by default)."""

    def start(self, new_port_if_taken: bool = False) -> None:
        """Start on ``port`` (a restart keeps it: clients reconnect to the same URL); ``new_port_if_taken``
        (the first start, before anyone has the URL): on another port when another process took this one
        since it was picked."""
        for attempt in range(1, START_ATTEMPTS + 1):
            log = self._log()
            if self._start_once(log):
                _wait_port(self.port)
                return
            if not (new_port_if_taken and _port_taken(log) and attempt < START_ATTEMPTS):
                self._clean_up_failed_start()
                raise RuntimeError(f"{self.name} did not start on port {self.port}: {_why(log)}")
            self.port = free_port()
        raise AssertionError("unreachable")


class PrivateRedis(_PrivateServer):
    name = "redis-server"

    def __init__(self, workdir: Path):
        self.dir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _log(self) -> Path:
        return self.dir / f"redis-{self.port}.log"

    def _start_once(self, log: Path) -> bool:
        with open(log, "wb") as out:  # the server writes to its own copy of the descriptor
            self.proc = subprocess.Popen(
                ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly",
                 "no", "--dir", str(self.dir)],
                stdout=out, stderr=subprocess.STDOUT,
            )
        # Its own "Ready" line, not just an open port: another server already on the port would answer too.
        try:
            return _ready(self.proc, log, "Ready to accept connections")
        except TimeoutError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


class PrivatePostgres(_PrivateServer):
    """An initdb cluster run as the ``postgres`` OS user (the server refuses root)."""

    name = "PostgreSQL"

    def __init__(self, workdir: Path):
        # Its own folder directly under /tmp: the postgres user cannot enter
        # pytest's private (0700, root-owned) tmp folders.
        self.root = Path(tempfile.mkdtemp(prefix="pgdrill-"))
        self.dir = self.root / "pgdata"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *cmd: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *cmd], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.dir), "-A", "trust", "-U", "postgres")

    def _log(self) -> Path:
        return self.root / f"pg-{self.port}.log"

    def _start_once(self, log: Path) -> bool:
        try:
            self._as_postgres(
                str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-w", "-l", str(log),
                "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1", "start",
            )
        except subprocess.CalledProcessError:
            return False
        return True

    def _clean_up_failed_start(self) -> None:
        # pg_ctl -w gives up after 60 s, which a slow machine can reach while the server still starts
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-m", mode, "-w", "stop")


def _why(log: Path) -> str:
    """Why a server did not start, from its log: the port, or the log's last lines."""
    if _port_taken(log):
        return "another process holds the port"
    return "its log ends: " + (" | ".join(log.read_text(errors="replace").strip().splitlines()[-4:])
                               if log.exists() else "(no log)")


def _port_taken(log: Path) -> bool:
    """The server's log says another process holds its port (a race: ``free_port`` checked it free)."""
    return log.exists() and "Address already in use" in log.read_text(errors="replace")


def _ready(proc: subprocess.Popen, log: Path, line: str, timeout: float = 30) -> bool:
    """Whether ``proc`` logged ``line`` before it exited (False: it exited; see its log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and line in log.read_text(errors="replace"):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    raise TimeoutError(f"{log.name}: no {line!r} after {timeout:g} s")


def available(binary: str) -> bool:
    return shutil.which(binary) is not None or Path(binary).exists()


@contextmanager
def private_redis(tmp: Path):
    if shutil.which("redis-server") is None:
        from tests.support.services import service_missing

        service_missing("redis-server not installed (apt-get install redis-server)")
    r = PrivateRedis(tmp)
    r.start(new_port_if_taken=True)
    try:
        yield r
    finally:
        r.stop()


@contextmanager
def private_postgres(tmp: Path):
    pg = PrivatePostgres(tmp)
    try:
        pg.init()
        pg.start(new_port_if_taken=True)
        yield pg
    finally:
        try:
            pg.stop("immediate")
        except Exception:
            pass
        shutil.rmtree(pg.dir.parent, ignore_errors=True)
