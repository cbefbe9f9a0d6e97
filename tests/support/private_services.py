"""Private Redis and PostgreSQL instances on spare ports for fault drills.

Drills stop and restart services; they must never touch the machine's shared
ones, which the rest of the suite relies on. Each instance lives in a temp folder
and is removed afterwards.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from scripts.web_server import free_port  # below the ephemeral range: no outgoing connection takes it

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


class PrivateRedis:
    def __init__(self, workdir: Path):
        self.dir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


class PrivatePostgres:
    """An initdb cluster run as the ``postgres`` OS user (the server refuses root)."""

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

    def start(self) -> None:
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-w", "-l", str(self.root / "pg.log"),
            "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1", "start",
        )
        _wait_port(self.port)

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-m", mode, "-w", "stop")


def available(binary: str) -> bool:
    return shutil.which(binary) is not None or Path(binary).exists()


@contextmanager
def private_redis(tmp: Path):
    if shutil.which("redis-server") is None:
        from tests.support.services import service_missing

        service_missing("redis-server not installed (apt-get install redis-server)")
    r = PrivateRedis(tmp)
    r.start()
    try:
        yield r
    finally:
        r.stop()


@contextmanager
def private_postgres(tmp: Path):
    pg = PrivatePostgres(tmp)
    pg.init()
    pg.start()
    try:
        yield pg
    finally:
        try:
            pg.stop("immediate")
        except Exception:
            pass
        shutil.rmtree(pg.dir.parent, ignore_errors=True)
