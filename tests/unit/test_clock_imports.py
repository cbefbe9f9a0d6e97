"""The web imports run history and the lease: they must not drag in TensorFlow or APScheduler."""
from __future__ import annotations

import subprocess
import sys

from tests.support.services import ROOT


def test_runs_and_lease_modules_stay_light():
    code = (
        "import sys, store.runs, store.lease, jobs.run, jobs.commands.clock, jobs.commands.nightly\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'apscheduler', 'models') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
