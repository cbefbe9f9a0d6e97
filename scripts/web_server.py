"""Start ``gunicorn 'dashboard.app:create_server()'`` as a real process on a free localhost port,
with threaded workers as the Procfile's ``web:`` runs them."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_bin() -> str:
    cand = Path(sys.executable).with_name("gunicorn")
    return str(cand) if cand.exists() else (shutil.which("gunicorn") or "gunicorn")


class WebServer:
    """A gunicorn process; ``url`` is its base URL. Use as a context manager."""

    def __init__(self, env: dict[str, str], workers: int = 2, log_path: Path | None = None, extra_args: tuple = (),
                 expect_healthy: bool = True, cwd: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.workers = workers
        self.log_path = log_path
        self.extra_args = extra_args
        self.cwd = cwd or ROOT  # another checkout's code, for side-by-side benchmarks
        self.expect_healthy = expect_healthy  # False: up once /healthz answers at all (a 503 on a dead store)
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.ready_after_s = float("nan")

    def start(self, timeout: float = 30) -> "WebServer":
        log = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(
            # threaded workers, as the Procfile runs them
            [gunicorn_bin(), "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}", "--timeout", "120",
             "--worker-class", "gthread", "--threads", "64",
             *self.extra_args, "dashboard.app:create_server()"],
            cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        self.ready_after_s = time.perf_counter() - self.started_at
                        return self
            except urllib.error.HTTPError as exc:
                if exc.code == 503 and not self.expect_healthy:
                    self.ready_after_s = time.perf_counter() - self.started_at
                    return self
                time.sleep(0.05)
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout}s")

    def worker_pids(self) -> list[int]:
        import psutil

        return [c.pid for c in psutil.Process(self.proc.pid).children()]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # gunicorn master stops its own workers
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
