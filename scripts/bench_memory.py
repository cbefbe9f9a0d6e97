"""Resident memory of every Procfile process type over a realistic scenario, per dyno.

    python -m scripts.bench_memory                       # SQLite in a temp dir, offline prices
    python -m scripts.bench_memory --redis-url redis://127.0.0.1:6379/13   # also the Celery worker
    python -m scripts.bench_memory --only web --web-baseline /tmp/main   # the web beside another checkout's

Each process is started the way the Procfile starts it, and a sampler thread adds up
the RSS of its whole process tree (psutil, children included: the clock's training
child, gunicorn's workers, Celery's pool child) every 0.2 s. Heroku counts a dyno's
memory the same way (every process in the dyno), and logs R14 above the dyno's quota.
RSS adds pages shared between a parent and its forked children once per process, so
the sums are an upper bound.

Scenario, on an empty store:
1. clock: bootstrap (seed prices, first training of three cells, in the clock's child),
   then idle with its scheduler running;
2. a nightly fine-tune and a 3-cell retrain on the full history, each in its own
   ``python -m jobs nightly`` process (what the clock's child and a worker task run);
3. web: gunicorn with WEB_CONCURRENCY=2, every page, then 20 clients on pages and
   the forecast callback (loopback, bounded rounds), then idle;
4. with --redis-url, on a second empty store: the Procfile's worker and clock; the
   clock queues its bootstrap and never trains, the worker trains it and then a queued
   3-cell retrain; its pool child is replaced after a task left it above 300 MB
   (``--max-memory-per-child``), so the worker idles without TensorFlow.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from scripts.process_tree import process_tree

ROOT = Path(__file__).resolve().parents[1]
MIB = 2**20
SAMPLE_S = 0.2
# Dyno memory quotas, smallest first (Heroku: Basic/Standard-1X 512 MB, Standard-2X 1 GB).
DYNOS = [("standard-1X", 512), ("standard-2X", 1024), ("performance-M", 2560)]
HEADROOM = 0.9  # recommend a dyno whose quota the peak stays 10% under


@dataclass
class Tree:
    """Samples the summed RSS of a process and all its descendants.

    (Not PSS: on a shared machine other users' processes map the same TensorFlow
    libraries, which would make PSS smaller than anything a dyno of its own sees.)
    """

    pid: int
    samples: list[tuple[float, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def rss_mib(self) -> float:
        total = 0
        for p in process_tree(self.pid):
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total / MIB

    def start(self) -> "Tree":
        def loop():
            while not self._stop.is_set():
                self.samples.append((time.monotonic(), self.rss_mib()))
                self._stop.wait(SAMPLE_S)

        threading.Thread(target=loop, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def peak(self, since: float = 0.0) -> float:
        return max((r for t, r in self.samples if t >= since), default=0.0)

    def idle(self, seconds: float = 5.0) -> float:
        """Median of the last ``seconds`` of samples."""
        end = self.samples[-1][0]
        tail = sorted(r for t, r in self.samples if t >= end - seconds)
        return tail[len(tail) // 2]


@dataclass
class Row:
    process: str
    scenario: str
    peak: float
    idle: float | None


def dyno_for(peak_mib: float) -> str:
    for name, quota in DYNOS:
        if peak_mib <= quota * HEADROOM:
            return f"{name} ({quota} MB)"
    return "larger than performance-M"


def _env(base: dict[str, str], **extra: str) -> dict[str, str]:
    return {**os.environ, **base, **extra}


def _procfile(kind: str, root: Path = ROOT) -> str:
    for line in (root / "Procfile").read_text().splitlines():
        if line.startswith(f"{kind}:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit(f"error: no {kind}: line in Procfile")


def _start(cmd: str, env: dict[str, str], log: Path, cwd: Path = ROOT) -> subprocess.Popen:
    """A Procfile command under bash, in its own process group, PATH with this venv's bin first."""
    env = {**env, "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}"}
    return subprocess.Popen(["bash", "-c", f"exec {cmd}"], cwd=cwd, env=env, stdout=open(log, "wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _runs(env: dict[str, str]) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "jobs", "runs", "--json"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else []


def _wait_for_run(env: dict[str, str], trigger: str, timeout_s: float, proc: subprocess.Popen) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done = [r for r in _runs(env) if r["trigger"] == trigger and r["status"] != "running"]
        if done:
            return done[0]
        if proc.poll() is not None:
            raise SystemExit(f"error: the process exited with {proc.returncode} before the {trigger} run finished")
        time.sleep(1)
    raise SystemExit(f"error: no finished {trigger} run within {timeout_s:.0f}s")


def bench_clock(env: dict[str, str], tmp: Path, idle_s: float) -> Row:
    proc = _start(_procfile("clock"), env, tmp / "clock.log")
    tree = Tree(proc.pid).start()
    try:
        run = _wait_for_run(env, "bootstrap", 900, proc)
        print(f"clock bootstrap: run #{run['id']} {run['status']}", file=sys.stderr)
        time.sleep(idle_s)
    finally:
        tree.stop()
        _stop(proc)
    return Row("clock", "bootstrap in its child, then idle", tree.peak(), tree.idle())


def bench_training(env: dict[str, str], tmp: Path, action: str, label: str) -> Row:
    cmd = f"{sys.executable} -m jobs nightly --action {action} --quiet"
    proc = _start(cmd, env, tmp / f"nightly-{action}.log")
    tree = Tree(proc.pid).start()
    code = proc.wait(timeout=1800)
    tree.stop()
    if code != 0:
        raise SystemExit(f"error: {cmd} exited {code}; see {tmp / f'nightly-{action}.log'}")
    return Row("training process", label, tree.peak(), None)


def bench_web(env: dict[str, str], tmp: Path, clients: int, rounds: int, idle_s: float, code_dir: Path = ROOT) -> Row:
    from contract.vocab import CELLS
    from scripts.load_test import forecast_callback_body, page_route_body
    from scripts.web_server import free_port

    port = free_port()
    proc = _start(_procfile("web", code_dir), {**env, "PORT": str(port), "WEB_CONCURRENCY": "2"},
                  tmp / f"web-{code_dir.name}.log", cwd=code_dir)
    base = f"http://127.0.0.1:{port}"
    tree = Tree(proc.pid).start()
    pages = ["/", "/residuals", "/compare", "/admin"]
    try:
        _wait_http(base + "/healthz", proc)
        bodies = [json.dumps(page_route_body(p)).encode() for p in pages]
        bodies += [json.dumps(forecast_callback_body(base, c)).encode() for c in CELLS]
        for _ in range(8):  # every page and callback on both workers
            for p in pages:
                _post(base, None, p)
            for b in bodies:
                _post(base, b)
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(lambda i: [_post(base, bodies[(i + k) % len(bodies)]) for k in range(rounds)],
                          range(clients)))
        time.sleep(idle_s)
    finally:
        tree.stop()
        _stop(proc)
    where = "" if code_dir == ROOT else f" ({code_dir})"
    return Row("web", f"WEB_CONCURRENCY=2, every page, {clients} clients x {rounds} requests{where}", tree.peak(),
               tree.idle())


def _post(base: str, body: bytes | None, path: str | None = None) -> None:
    """One request: a POST of ``body`` to the callback endpoint, or a GET of ``path``; must answer 200."""
    import urllib.request

    req = urllib.request.Request(base + (path or "/_dash-update-component"), data=body,
                                 method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json", "Accept-Encoding": "br, gzip",
                                          "Authorization": "Basic YmVuY2g6YmVuY2gtcGFzc3dvcmQ="})  # bench:bench-password
    with urllib.request.urlopen(req, timeout=60) as r:
        r.read()


def _wait_http(url: str, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"error: the web process exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"error: {url} did not answer within {timeout_s}s")


def bench_queue(env: dict[str, str], tmp: Path, idle_s: float) -> list[Row]:
    """REDIS_URL set, fresh store: the clock bootstraps through the queue, the worker trains;
    then a queued 3-cell retrain; both idle."""
    worker = _start(_procfile("worker"), env, tmp / "worker.log")
    wtree = Tree(worker.pid).start()
    time.sleep(8)  # the worker imports the app and connects to Redis
    clock = _start(_procfile("clock"), env, tmp / "clock-queue.log")
    ctree = Tree(clock.pid).start()
    try:
        run = _wait_for_run(env, "bootstrap", 900, clock)
        print(f"queued bootstrap: run #{run['id']} {run['status']}", file=sys.stderr)
        cmd = [sys.executable, "-m", "jobs", "nightly", "--queue", "--action", "retrain", "--wait", "900"]
        out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=960)
        print(f"worker retrain: {out.stdout.strip() or out.stderr.strip()}", file=sys.stderr)
        time.sleep(idle_s)
    finally:
        for tree in (ctree, wtree):
            tree.stop()
        for proc in (clock, worker):
            _stop(proc)
    return [Row("clock", "REDIS_URL set: bootstrap queued to the worker, then idle", ctree.peak(), ctree.idle()),
            Row("worker", "bootstrap + queued 3-cell retrain, then idle", wtree.peak(), wtree.idle())]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--redis-url", help="also measure the Celery worker on this Redis (a private db number)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=15, help="requests per web client")
    ap.add_argument("--idle-seconds", type=float, default=10.0)
    ap.add_argument("--web-baseline", type=Path, help="also measure the web of this checkout (its own Procfile)")
    ap.add_argument("--only", default="clock,training,web,worker", help="comma-separated parts to run")
    args = ap.parse_args()
    only = set(args.only.split(","))

    tmp = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    base = {"DATABASE_URL": f"sqlite:///{tmp / 'store.db'}", "DATA_DIR": str(tmp / "data"), "PRICE_SOURCE": "offline",
            "RETRAIN_WEEKDAY": "", "REDIS_URL": "", "ADMIN_USER": "bench", "ADMIN_PASSWORD": "bench-password",
            "ANALYST_USER": "", "ANALYST_PASSWORD": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env = _env(base)
    rows = []
    if only & {"clock", "training", "web"}:  # each needs the bootstrapped store
        rows.append(bench_clock(env, tmp, args.idle_seconds))
    if "training" in only:
        rows.append(bench_training(env, tmp, "finetune", "nightly fine-tune of the GRU"))
        rows.append(bench_training(env, tmp, "retrain", "3-cell retrain, full history"))
    if "web" in only:
        if args.web_baseline:
            rows.append(bench_web(env, tmp, args.clients, args.rounds, args.idle_seconds, args.web_baseline.resolve()))
        rows.append(bench_web(env, tmp, args.clients, args.rounds, args.idle_seconds))
    if args.redis_url and "worker" in only:
        queue_db = {"DATABASE_URL": f"sqlite:///{tmp / 'queue-store.db'}", "REDIS_URL": args.redis_url}
        rows += bench_queue(_env(base, **queue_db), tmp, args.idle_seconds)

    print(f"\nstore and logs: {tmp}; {psutil.cpu_count()} CPUs; summed over each process tree, MiB; "
          "dyno chosen on peak RSS")
    print(f"{'process type':<17} {'scenario':<58} {'peak RSS':>8} {'idle RSS':>8}  recommended dyno")
    for r in rows:
        idle = f"{r.idle:8.0f}" if r.idle is not None else "       -"
        print(f"{r.process:<17} {r.scenario:<58} {r.peak:8.0f} {idle}  {dyno_for(r.peak)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
