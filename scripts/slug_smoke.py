"""Start every Procfile process from a built slug and see it work (after bin/post_compile).

    python -m scripts.slug_size --keep /tmp/slug       # build the slug and keep it
    python -m scripts.slug_smoke /tmp/slug/app --redis-url redis://127.0.0.1:6379/13

Runs with the slug's own Python (``.heroku/python/bin`` first on PATH, nothing from this
virtualenv), in the slug directory, each Procfile command verbatim, on a fresh SQLite
store with the offline prices:

- imports: TensorFlow, Keras, the dashboard, the training code and the clock load;
- release: ``python -m jobs migrate`` exits 0;
- clock: bootstraps (its child trains three cells, 1 epoch) and the run succeeds;
- web: /healthz, the Forecast page, the plotly-basic asset (brotli) and a page callback answer 200;
- worker (with --redis-url): a queued fine-tune runs on it and succeeds.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

IMPORTS = ("import tensorflow as tf, keras, dashboard.app, jobs.candidates, jobs.clock, jobs.child; "
           "print('tensorflow', tf.__version__, 'keras', keras.__version__)")


def procfile(app: Path) -> dict[str, str]:
    lines = (app / "Procfile").read_text().splitlines()
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in lines if ":" in line)}


def slug_env(app: Path, tmp: Path, **extra: str) -> dict[str, str]:
    """Only what a dyno has: the slug's Python on PATH, the config vars; no virtualenv."""
    return {"PATH": f"{app / '.heroku/python/bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp),
            "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1", "DATABASE_URL": f"sqlite:///{tmp / 'store.db'}",
            "DATA_DIR": str(tmp / "data"), "PRICE_SOURCE": "offline", "PIPELINE_EPOCHS": "1",
            "PIPELINE_FINETUNE_EPOCHS": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "REDIS_URL": "", **extra}


def run(cmd: str, app: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", cmd], cwd=app, env=env, capture_output=True, text=True, timeout=timeout)


def start(cmd: str, app: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(["bash", "-c", f"exec {cmd}"], cwd=app, env=env, stdout=open(log, "wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            return proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.wait()


def get(url: str, body: bytes | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=body, headers={"Accept-Encoding": "br", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()
        return r.status, r.headers.get("Content-Encoding") or "none"


def check_clock(app: Path, env: dict[str, str], tmp: Path) -> str:
    proc = start(procfile(app)["clock"], app, env, tmp / "clock.log")
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            out = run("python -m jobs runs --json", app, env)
            done = [r for r in json.loads(out.stdout or "[]") if r["status"] != "running"] if out.returncode == 0 else []
            if done:
                return f"bootstrap run #{done[0]['id']} {done[0]['status']}: {done[0]['progress_message']}"
            time.sleep(2)
        raise RuntimeError(f"no finished bootstrap run; see {tmp / 'clock.log'}")
    finally:
        stop(proc)


def check_web(app: Path, env: dict[str, str], tmp: Path) -> str:
    port = "18765"
    proc = start(procfile(app)["web"], app, {**env, "PORT": port}, tmp / "web.log")
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                get(base + "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        page = get(base + "/")
        asset = get(base + "/assets/plotly-basic-4.1.1.min.js")
        route = json.dumps({"output": ".._pages_content.children..._pages_store.data..",
                            "outputs": [{"id": "_pages_content", "property": "children"},
                                        {"id": "_pages_store", "property": "data"}],
                            "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/"},
                                       {"id": "_pages_location", "property": "search", "value": ""}],
                            "changedPropIds": ["_pages_location.pathname"], "state": []}).encode()
        callback = get(base + "/_dash-update-component", route)
        return f"/ {page[0]}, plotly-basic {asset[0]} ({asset[1]}), page callback {callback[0]} ({callback[1]})"
    finally:
        stop(proc)


def check_worker(app: Path, env: dict[str, str], tmp: Path) -> str:
    proc = start(procfile(app)["worker"], app, env, tmp / "worker.log")
    try:
        for _ in range(120):
            if b"ready." in (tmp / "worker.log").read_bytes():
                break
            time.sleep(0.5)
        out = run("python -m jobs nightly --queue --action finetune --wait 300", app, env, timeout=360)
        if out.returncode != 0:
            raise RuntimeError(f"queued fine-tune: {out.stdout.strip()} {out.stderr.strip()[-300:]}")
        return out.stdout.strip()
    finally:
        stop(proc)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("app", type=Path, help="the slug directory (scripts.slug_size --keep DIR builds DIR/app)")
    ap.add_argument("--redis-url", help="also run the Celery worker on this Redis (a private db number)")
    args = ap.parse_args()
    app = args.app.resolve()
    tmp = Path(tempfile.mkdtemp(prefix="slug-smoke-"))
    env = slug_env(app, tmp)
    results, failed = [], False
    steps = [("imports", lambda: run(f'python -c "{IMPORTS}"', app, env)),
             ("release", lambda: run(procfile(app)["release"], app, env)),
             ("clock", lambda: check_clock(app, env, tmp)),
             ("web", lambda: check_web(app, env, tmp))]
    if args.redis_url:
        steps.append(("worker", lambda: check_worker(app, {**env, "REDIS_URL": args.redis_url}, tmp)))
    for name, step in steps:
        try:
            out = step()
            if isinstance(out, subprocess.CompletedProcess):
                if out.returncode != 0:
                    raise RuntimeError(out.stderr.strip()[-500:])
                out = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "exit 0"
            results.append((name, "ok", out))
        except Exception as exc:  # report every process type, then fail
            failed = True
            results.append((name, "FAILED", f"{type(exc).__name__}: {exc}"))
    print(f"slug: {app}; python: {app / '.heroku/python/bin/python3.11'}; logs: {tmp}")
    for name, status, detail in results:
        print(f"{name:<8} {status:<7} {detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
