"""Server-side render time of the analyst pages, in-process, against a baseline tree in the same run.

Each page is rendered through Dash's page-router callback with Flask's test client (no HTTP,
no other clients), on a fresh fixture store, 40 times after one warm-up; so a change to how
pages are built shows without the noise of a shared machine's network stack.

    python -m scripts.bench_render                          # this tree
    python -m scripts.bench_render --baseline /path/to/old  # the same, then an older checkout, side by side

The baseline runs this file in a subprocess with the other tree on the path, so it measures that
tree's code (which needs ``tests/support/dash_client.py``, and ``create_server`` or ``server``).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PAGES = ("/", "/residuals", "/compare")
ROUNDS = 40


def measure() -> dict[str, list[float]]:
    """{page: [p50 ms, p95 ms, response bytes]} for the tree on sys.path."""
    from scripts.fixture_store import write_fixture_models
    from store.db import make_engine

    tmp = tempfile.mkdtemp(prefix="bench-render-")
    url = f"sqlite:///{tmp}/store.db"
    engine = make_engine(url)
    write_fixture_models(engine)
    engine.dispose()
    os.environ.update({"DATABASE_URL": url, "CACHE_DIR": f"{tmp}/cache", "REDIS_URL": ""})
    try:
        from dashboard.app import create_server
        server = create_server()
    except ImportError:  # a tree from before the app factory
        from dashboard.app import server  # type: ignore[attr-defined,no-redef]
    from scripts.dash_client import render_page

    client, out = server.test_client(), {}
    for path in PAGES:
        render_page(client, path)  # warm: the read cache and the memoised figures
        times = []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            response = render_page(client, path)
            times.append(1000 * (time.perf_counter() - start))
            assert response.status_code == 200, (path, response.status_code)
        times.sort()
        out[path] = [statistics.median(times), times[int(0.95 * ROUNDS) - 1], len(response.data)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, help="another checkout to measure the same way")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # the baseline subprocess
    args = ap.parse_args()
    if args.json:
        print(json.dumps(measure()))
        return
    print(f"rendering {', '.join(PAGES)} {ROUNDS} times each, in-process (fixture store)", file=sys.stderr)
    rows = {"this tree": measure()}
    if args.baseline:
        env = {**os.environ, "PYTHONPATH": str(args.baseline.resolve())}
        # this file, run by path: its own folder goes first on sys.path, then the baseline tree
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--json"], cwd=args.baseline,
                              env=env, capture_output=True, text=True, check=True)
        rows = {"baseline": json.loads(done.stdout.strip().splitlines()[-1]), **rows}
    print(f"{'tree':10s}  {'page':11s}  {'p50 ms':>7s}  {'p95 ms':>7s}  {'bytes':>8s}")
    for tree, pages in rows.items():
        for path, (p50, p95, size) in pages.items():
            print(f"{tree:10s}  {path:11s}  {p50:7.1f}  {p95:7.1f}  {int(size):8,d}")


if __name__ == "__main__":
    main()
