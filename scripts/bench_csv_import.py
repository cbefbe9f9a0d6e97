"""Peak memory (max RSS) of ``import-csv`` on hostile files (issue 20, point 6).

    python -m scripts.bench_csv_import [--mb 100] [--keep DIR]

Builds a CSV of ``--mb`` megabytes: a header, every NYSE session from 1970 as a good
row, then blank rows (which the reader skips) up to the size, then one bad row at the
very end, so the reader must stream through all of it. Runs, each as its own process
under ``/usr/bin/time -v``:

- ``python -m jobs import-csv`` on it (refused at once: over ``MAX_FILE_BYTES``);
- the reader itself with the limit raised above the file (streams the whole file to the
  bad last row);
- ``python -m jobs import-csv /dev/zero`` and on a named pipe with no writer (300 s timeout).

Prints one line per case: exit status, seconds, max RSS in MB, the first stderr line.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(path: Path, megabytes: int) -> int:
    """Write the file; returns its size in bytes."""
    from marketdata.calendar import trading_days_between

    days = trading_days_between(date(1970, 1, 2), date(2024, 12, 31))
    target = megabytes * 10**6
    with path.open("w") as f:
        f.write("Date,Open,High,Low,Close,Volume\n")
        for k, day in enumerate(days):
            close = 10.0 + (k % 100) / 10
            f.write(f"{day},{close},{close + 1},{close - 1},{close},{1000 + k}\n")
        blank = ",,,,,\n"
        lines = max(0, target - 64 - f.tell()) // len(blank)
        for _ in range(lines // 10_000):
            f.write(blank * 10_000)
        f.write(blank * (lines % 10_000))
        f.write("1999-02-30,1,2,0.5,1.5,10\n")  # no such day: the error is on the last line
    return path.stat().st_size


def measure(label: str, argv: list[str], env: dict[str, str]) -> str:
    started = time.monotonic()
    try:
        done = subprocess.run(["/usr/bin/time", "-v", *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=300)
    except subprocess.TimeoutExpired:
        return f"{label}: still running after 300 s (blocked)"
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    first = next((line for line in done.stderr.splitlines() if line.startswith("error:")), "(no error line)")
    mb = int(rss.group(1)) / 1024 if rss else float("nan")
    return f"{label}: exit {done.returncode}, {time.monotonic() - started:.1f} s, max RSS {mb:.0f} MB; {first[:160]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="folder for the files and the store (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        big = folder / f"big{args.mb}.csv"
        size = build(big, args.mb)
        pipe = folder / "pipe.csv"
        if not pipe.exists():
            os.mkfifo(pipe)
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'store.db'}", "DATA_DIR": str(folder),
               "PRICE_SOURCE": "offline", "REDIS_URL": ""}
        py = sys.executable
        reader = ("import sys; from datetime import date; from marketdata.sources.csv_file import read_price_csv; "
                  "from contract.errors import Refusal\ntry: read_price_csv(sys.argv[1], today=date(2025, 1, 2), "
                  "ticker='AAPL', max_bytes=2**40)\nexcept Refusal as e: print('error: ' + str(e), file=sys.stderr); "
                  "sys.exit(2)")
        print(f"file: {big.name}, {size:,} bytes")
        print(measure("import-csv (the 50 MB limit)", [py, "-m", "jobs", "import-csv", str(big)], env))
        print(measure("reader, limit raised (streams it all)", [py, "-c", reader, str(big)], env))
        print(measure("import-csv /dev/zero", [py, "-m", "jobs", "import-csv", "/dev/zero"], env))
        print(measure("import-csv named pipe", [py, "-m", "jobs", "import-csv", str(pipe)], env))
        print(measure("baseline: jobs status", [py, "-m", "jobs", "status"], env))
    return 0


if __name__ == "__main__":
    sys.exit(main())
