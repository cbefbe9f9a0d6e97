"""Start ``gunicorn 'dashboard.app:create_server()'`` as a real process on a free localhost port,
with threaded workers as the Procfile's ``web:`` runs them."""
from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The browser of the end-to-end tests (tests.support.services) and of the benchmarks that measure them:
# Debian's chromium-headless-shell where it is installed (.ci/run installs it): the same Chromium build as the
# chromium package in its lighter, old headless mode (the one Playwright runs headless tests in), which took a
# third less CPU than the full browser for the same tests here (tests/e2e/test_ui_analyst_round3.py: 130 -> 88
# CPU-s on the whole machine); else Debian's chromium.
CHROMIUM = next((b for b in ("/usr/bin/chromium-headless-shell", "/usr/bin/chromium") if Path(b).exists()),
                "/usr/bin/chromium")
# How every test and benchmark launches it: as root it needs --no-sandbox, the machines have no GPU, and on a
# closed network its background connections are refused many at a time.
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking")


def _ephemeral_low(path: str = "/proc/sys/net/ipv4/ip_local_port_range") -> int:
    """The lowest port the kernel hands to outgoing connections (32768 on Linux by default)."""
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


# The operating system's randomness, not the random module's global generator: training seeds that one
# (keras.utils.set_random_seed, in every test process that trains in-process), after which every pytest-xdist
# process drew the same ports in the same order and two servers started at once could pick the same one.
_PORT_PICKER = random.SystemRandom()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on, chosen BELOW the kernel's ephemeral range.

    A port from ``bind(0)`` lies inside that range, so between this check and the server's own bind
    any outgoing connection on the machine (Chromium, requests, a database driver, in any of the
    suite's processes) can be given it as its local port, and the server then fails with "Connection
    in use" (gunicorn retries for 5 s and exits 1: a rare flake in a busy parallel run). Outgoing
    connections never take a port below the range; two processes picking the same one is left, and
    ``WebServer.start`` starts again on another port when that happens. ``host`` is the address the
    server will bind (0.0.0.0 conflicts with a port held on any address)."""
    low = _ephemeral_low()
    for _ in range(50) if low > 4096 else ():
        port = _PORT_PICKER.randrange(max(1024, low - 12000), low)
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # no range known (not Linux): the kernel's choice
        s.bind((host, 0))
        return s.getsockname()[1]


def gunicorn_bin() -> str:
    cand = Path(sys.executable).with_name("gunicorn")
    return str(cand) if cand.exists() else (shutil.which("gunicorn") or "gunicorn")


def gunicorn_listening(log_text: str, pid: int, port: int) -> bool:
    """The gunicorn master ``pid`` has bound ``port``: it logged ``Listening at: ...127.0.0.1:PORT... (PID)``.
    Until then a /healthz answer on the port could come from another process holding it."""
    return any(line.endswith(f"({pid})") and f"http://127.0.0.1:{port}" in line
               for line in log_text.splitlines() if "Listening at: " in line)


def gunicorn_port_taken(log_text: str, host: str, port: int) -> bool:
    """gunicorn found ``host:port`` held by another process (it retries for 5 s, then exits 1)."""
    return f"Connection in use: ('{host}', {port})" in log_text


class _PortTaken(Exception):
    """gunicorn could not bind its port: another process holds it."""


class WebServer:
    """A gunicorn process; ``url`` is its base URL. Use as a context manager."""

    def __init__(self, env: dict[str, str], workers: int = 2, log_path: Path | None = None,
                 also_bind: tuple[str, ...] = (), expect_healthy: bool = True, cwd: Path | None = None):
        self.hosts = ("127.0.0.1", *also_bind)  # gunicorn listens on each, on a port of its own (``binds``)
        self._pick_ports()
        self.env = {**os.environ, **env}
        self.workers = workers
        self.log_path = log_path
        self.cwd = cwd or ROOT  # another checkout's code, for side-by-side benchmarks
        self.expect_healthy = expect_healthy  # False: up once /healthz answers at all (a 503 on a dead store)
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.ready_after_s = float("nan")
        self._temp_log: Path | None = None

    def start(self, timeout: float = 30, attempts: int = 3) -> "WebServer":
        """Start gunicorn and wait for /healthz; on "Connection in use" (another process took the port
        after ``free_port`` checked it) start again on another port, up to ``attempts`` times. The log
        keeps every attempt. (A retry cannot save a test of the first start's output: gunicorn runs its
        ``on_starting`` hook, which generates the local admin password, before it binds.)"""
        for attempt in range(1, attempts + 1):
            try:
                return self._start_once(timeout, append=attempt > 1)
            except _PortTaken:
                if attempt == attempts:
                    raise RuntimeError(f"gunicorn found a port of {self.binds} in use {attempts} times") from None
                self._pick_ports()
        raise AssertionError("unreachable")

    def _pick_ports(self) -> None:
        """A free port for each host (``binds``); ``port`` and ``url`` are the loopback one's."""
        self.binds = {host: free_port(host) for host in self.hosts}

    @property
    def port(self) -> int:
        return self.binds["127.0.0.1"]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _log_file(self) -> Path:
        """gunicorn's log: the caller's file, else a temporary one (removed by ``stop``). It always goes to a
        file: its lines tell a lost port from other failures, and that this server is the one listening."""
        if self.log_path:
            return self.log_path
        if self._temp_log is None:
            with tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False) as f:
                self._temp_log = Path(f.name)
        return self._temp_log

    def _start_once(self, timeout: float, append: bool) -> "WebServer":
        log_path = self._log_file()
        with open(log_path, "ab" if append else "wb") as log:
            self.started_at = time.perf_counter()
            self.proc = subprocess.Popen(
                # threaded workers, as the Procfile runs them; no control socket: gunicorn 27 puts it at one
                # path ($XDG_RUNTIME_DIR/gunicorn.ctl, else ~/.gunicorn/gunicorn.ctl) for every server of the
                # user, so the suite's parallel servers would take it from each other
                [gunicorn_bin(), "-w", str(self.workers), *(a for h, p in self.binds.items() for a in ("-b", f"{h}:{p}")),
                 "--timeout", "120", "--worker-class", "gthread", "--threads", "64", "--no-control-socket",
                 "dashboard.app:create_server()"],
                cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        return self._wait_healthy(timeout, log_path)

    def _wait_healthy(self, timeout: float, log_path: Path) -> "WebServer":
        deadline, bound = time.monotonic() + timeout, False
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                text = log_path.read_text(errors="replace")
                if any(gunicorn_port_taken(text, host, port) for host, port in self.binds.items()):
                    raise _PortTaken()
                tail = " | ".join(text.strip().splitlines()[-5:])
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; its log ({log_path}) ends: {tail}")
            bound = bound or gunicorn_listening(log_path.read_text(errors="replace"), self.proc.pid, self.port)
            if not bound:
                time.sleep(0.05)
                continue
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
        if self._temp_log is not None:
            self._temp_log.unlink(missing_ok=True)
            self._temp_log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
