"""Server CPU of first visits: the shell and every script a browser with an empty cache fetches, brotli.

    python -m scripts.bench_cold_visit --baseline /tmp/baseline-main     # 20 visits per checkout

Each checkout runs in its own process (its own ``create_app`` on an empty store, Flask's test client, no
network): one visit warms it, then ``--visits`` first visits are timed with ``time.process_time``. This
is the CPU a gunicorn worker spends per new visitor on compression and file reading, beside a baseline.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = r"""
import json, os, re, sys, time
import brotli
sys.path.insert(0, os.getcwd())
from store.db import create_schema, make_engine
from dashboard.app import create_app
from config.settings import load_settings
create_schema(make_engine(f"sqlite:///{sys.argv[1]}"))
app = create_app(load_settings({"DATABASE_URL": f"sqlite:///{sys.argv[1]}", "CACHE_DIR": sys.argv[2]}))
client = app.server.test_client()
def visit():
    html = brotli.decompress(client.get("/", headers={"Accept-Encoding": "br"}).get_data()).decode()
    sent = 0
    for src in re.findall(r'<script[^>]*src="([^"]+)"', html):
        sent += len(client.get(src, headers={"Accept-Encoding": "br"}).get_data())
    return sent
visit()
start = time.process_time()
sent = [visit() for _ in range(int(sys.argv[3]))]
print(json.dumps({"cpu_ms": 1000 * (time.process_time() - start) / len(sent), "bytes": sent[-1]}))
"""


def measure(checkout: Path, visits: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", CHILD, f"{tmp}/store.db", f"{tmp}/cache", str(visits)],
                             cwd=checkout, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise SystemExit(f"error: the visit in {checkout} failed: {out.stderr.strip().splitlines()[-1:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to measure beside this one")
    parser.add_argument("--visits", type=int, default=20, choices=range(1, 501), metavar="1-500")
    args = parser.parse_args(argv)
    if args.baseline is not None and not (args.baseline / "dashboard" / "app.py").is_file():
        raise SystemExit(f"error: --baseline {args.baseline} is not a checkout of this project (no dashboard/app.py)")
    rows = [("this tree", measure(ROOT, args.visits))]
    if args.baseline is not None:
        rows.append(("baseline", measure(args.baseline.resolve(), args.visits)))
    print(f"server CPU per first visit (shell + every script, brotli), {args.visits} visits:")
    for name, r in rows:
        print(f"  {name:9s}  {r['cpu_ms']:7.1f} ms CPU   {r['bytes'] / 1024:7.0f} KiB sent")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
