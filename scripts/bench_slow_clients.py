"""Slow and idle clients against the Procfile's web: does /healthz and the Forecast callback still answer?

For each checkout (this tree, and ``--baseline`` for a side-by-side run) the script starts that
checkout's own Procfile ``web:`` command (``WEB_CONCURRENCY=2``) on a fixture store, opens
``--connections`` hostile connections to it over loopback and keeps them open for the whole
run (a connection the server closes is opened again at once):

- half send a callback request's headers and then trickle its body, one byte every 5 s;
- half are idle keep-alive sockets: one request answered, then silence.

Meanwhile one probe client measures ``/healthz`` and the Forecast cell-switch callback in
turn, each with a 10 s timeout (a timeout counts as 10 s and as a failure). Prints p50/p95/max
and failures per checkout, and the same probes with no hostile connection as the reference.

    python -m scripts.bench_slow_clients --baseline /tmp/baseline-main      # 50 connections, 40 s each
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from scripts.load_test import forecast_callback_body, percentile
from scripts.web_server import free_port, gunicorn_listening, gunicorn_port_taken

ROOT = Path(__file__).resolve().parents[1]
TRICKLE_EVERY_S = 5.0
PROBE_TIMEOUT_S = 10.0
DECLARED_BODY = 4000  # bytes a trickling client says it will send


def procfile_web(code_dir: Path) -> str:
    for line in (code_dir / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit(f"error: no web: line in {code_dir / 'Procfile'}")


def start_web(code_dir: Path, env: dict[str, str], log: Path, attempts: int = 5) -> tuple[subprocess.Popen, str]:
    """The checkout's Procfile ``web:`` command under bash, on a free loopback port; (process, base URL).
    On a port another process took since ``free_port`` checked it, again on another."""
    cmd = procfile_web(code_dir).replace("0.0.0.0:", "127.0.0.1:")  # loopback only
    for attempt in range(attempts):
        port = free_port()
        full = {**os.environ, **env, "PORT": str(port), "WEB_CONCURRENCY": "2",
                "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
        # one log for every attempt (appended after the first); gunicorn writes to its own copy of the descriptor
        with open(log, "ab" if attempt else "wb") as out:
            proc = subprocess.Popen(["bash", "-c", f"exec {cmd}"], cwd=code_dir, env=full, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        if _healthy(proc, base, log):
            return proc, base
        stop_web(proc)  # its port was taken
    raise SystemExit(f"error: the web found its port in use {attempts} times; see {log}")


def _healthy(proc: subprocess.Popen, base: str, log: Path, timeout: float = 60) -> bool:
    """True once this gunicorn (bash execs it: ``proc``'s pid) listens on ``base`` and answers /healthz;
    False when another process holds the port. Until its master logs ``Listening at: <base> (<pid>)``, an
    answer on the port could come from another test's server."""
    port = int(base.rsplit(":", 1)[1])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if gunicorn_port_taken(text, "127.0.0.1", port):
            return False
        if proc.poll() is not None:
            raise SystemExit(f"error: the web exited with {proc.returncode}; see {log}")
        try:
            if gunicorn_listening(text, proc.pid, port) and requests.get(base + "/healthz", timeout=1).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.1)
    stop_web(proc)
    raise SystemExit(f"error: the web did not answer /healthz within {timeout:g} s; see {log}")


def stop_web(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@dataclass
class SlowClients:
    """``count`` hostile connections to 127.0.0.1:``port``, kept open by one thread until ``close()``."""

    port: int
    count: int
    opened: int = 0
    answered: dict[str, int] = field(default_factory=dict)  # first status line word -> times
    _socks: list[tuple[str, socket.socket]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _open(self, kind: str) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        if kind == "trickle":
            sock.sendall((f"POST /_dash-update-component HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                          f"Content-Type: application/json\r\nContent-Length: {DECLARED_BODY}\r\n\r\n{{").encode())
        else:  # one request, answered, then an idle keep-alive socket
            sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n\r\n".encode())
        sock.setblocking(False)
        self.opened += 1
        return sock

    def _closed_by_server(self, sock: socket.socket) -> bool:
        """Reads what the server sent; True when it closed the connection."""
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return False
        except OSError:
            return True
        if data.startswith(b"HTTP/1.1 "):
            status = data.split(b" ", 2)[1].decode()
            self.answered[status] = self.answered.get(status, 0) + 1
        return not data

    def start(self) -> "SlowClients":
        kinds = ["trickle", "idle"]
        self._socks = [(kinds[i % 2], self._open(kinds[i % 2])) for i in range(self.count)]
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def _run(self) -> None:
        next_byte = time.monotonic() + TRICKLE_EVERY_S
        while not self._stop.wait(0.2):
            trickle_now = time.monotonic() >= next_byte
            next_byte += TRICKLE_EVERY_S if trickle_now else 0
            for i, (kind, sock) in enumerate(self._socks):
                closed = self._closed_by_server(sock)
                if not closed and kind == "trickle" and trickle_now:
                    try:
                        sock.send(b" ")
                    except OSError:
                        closed = True
                if closed:
                    sock.close()
                    try:
                        self._socks[i] = (kind, self._open(kind))
                    except OSError:
                        pass  # the listen queue is full: try again on the next turn

    def close(self) -> None:
        self._stop.set()
        time.sleep(0.3)
        for _kind, sock in self._socks:
            sock.close()


def probe(base: str, seconds: float, body: dict) -> dict[str, list[float | None]]:
    """Alternate /healthz and the Forecast callback for ``seconds``; latency in ms, None for a failure."""
    out: dict[str, list[float | None]] = {"healthz": [], "forecast callback": []}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for name, method, path, js in (("healthz", "GET", "/healthz", None),
                                       ("forecast callback", "POST", "/_dash-update-component", body)):
            t = time.perf_counter()
            try:
                ok = requests.request(method, base + path, json=js, timeout=PROBE_TIMEOUT_S).status_code == 200
            except requests.RequestException:
                ok = False
            ms = (time.perf_counter() - t) * 1000
            out[name].append(ms if ok else None)
        time.sleep(0.1)
    return out


def summary(latencies: list[float | None]) -> str:
    ms = [PROBE_TIMEOUT_S * 1000 if v is None else v for v in latencies]
    failed = sum(v is None for v in latencies)
    return (f"{len(ms):>5} {failed:>6} {percentile(ms, 0.5):>8.0f} {percentile(ms, 0.95):>8.0f} "
            f"{max(ms):>8.0f}")


def measure(code_dir: Path, env: dict[str, str], connections: int, seconds: float, tmp: Path) -> list[str]:
    rows = []
    proc, base = start_web(code_dir, env, tmp / f"web-{len(list(tmp.glob('web-*')))}.log")
    try:
        body = forecast_callback_body(base, "lstm")
        quiet = probe(base, min(10.0, seconds), body)
        slow = SlowClients(int(base.rsplit(":", 1)[1]), connections).start()
        time.sleep(TRICKLE_EVERY_S + 1)  # every slow connection is open and has been served or stalled
        try:
            attacked = probe(base, seconds, body)
        finally:
            slow.close()
        for name in quiet:
            rows.append(f"{str(code_dir)[-28:]:<28} {'none':>10} {name:<18} {summary(quiet[name])}")
            rows.append(f"{str(code_dir)[-28:]:<28} {connections:>10} {name:<18} {summary(attacked[name])}")
        rows.append(f"{'':<28} slow connections opened in all: {slow.opened}; server answers to them: "
                    f"{json.dumps(slow.answered, sort_keys=True)}")
    finally:
        stop_web(proc)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, help="another checkout (e.g. main) measured the same way, first")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=40.0, help="probing time under attack, per checkout")
    args = ap.parse_args()
    if not 1 <= args.connections <= 200 or not 5 <= args.seconds <= 600:
        ap.error("--connections must be 1..200 and --seconds 5..600")
    from scripts.fixture_store import write_fixture_models
    from store.db import make_engine

    tmp = Path(tempfile.mkdtemp(prefix="bench-slow-"))
    url = f"sqlite:///{tmp / 'store.db'}"
    engine = make_engine(url)
    write_fixture_models(engine)
    engine.dispose()
    env = {"DATABASE_URL": url, "DATA_DIR": str(tmp / "data"), "CACHE_DIR": str(tmp / "cache"), "TICKERS": "AAPL",
           "PRICE_SOURCE": "offline", "REDIS_URL": "", "ADMIN_USER": "bench", "ADMIN_PASSWORD": "bench-password",
           "ANALYST_USER": "", "ANALYST_PASSWORD": ""}
    rows = []
    for code_dir in ([args.baseline] if args.baseline else []) + [ROOT]:
        rows += measure(code_dir.resolve(), env, args.connections, args.seconds, tmp)
    print(f"\nProcfile web: per checkout, probes in turn with a {PROBE_TIMEOUT_S:.0f} s timeout; "
          f"ms (a failure counts as {PROBE_TIMEOUT_S:.0f} s); logs in {tmp}")
    print(f"{'checkout':<28} {'slow conns':>10} {'request':<18} {'count':>5} {'failed':>6} {'p50':>8} {'p95':>8} {'max':>8}")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
