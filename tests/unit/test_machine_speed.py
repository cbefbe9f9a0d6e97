"""scripts.machine_speed: the figures that say how fast a machine is, measured for real on small workloads."""
from __future__ import annotations

import subprocess
import sys

import pytest

from scripts import machine_speed

BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"


def test_a_childs_cpu_seconds_are_counted_whole():
    spent = machine_speed.child_cpu_seconds([sys.executable, "-c", BURN])
    assert 0.28 <= spent < 5  # the burn, plus the interpreter's start


def test_a_failing_child_is_an_error_not_a_figure():
    with pytest.raises(subprocess.CalledProcessError, match="returned non-zero exit status 3"):
        machine_speed.child_cpu_seconds([sys.executable, "-c", "raise SystemExit(3)"])


def test_the_loop_takes_longer_for_more_steps():
    assert machine_speed.loop_cpu_seconds(1_000_000) > machine_speed.loop_cpu_seconds(1_000)


def test_the_command_prints_each_figure_and_the_comparison(monkeypatch, capsys):
    monkeypatch.setattr(machine_speed, "IMPORT", [sys.executable, "-S", "-c", "pass"])  # an interpreter's start
    monkeypatch.setattr(machine_speed, "LOOP_STEPS", 100_000)
    assert machine_speed.main(["--rounds", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("import tensorflow, keras: 0.") and "(median of 2: " in lines[0]
    assert lines[1].startswith("python loop of 100,000 additions: ")
    assert "693.6-747.6 s" in lines[2] and lines[2].endswith("x its CPU time")


@pytest.mark.parametrize("rounds", ["0", "21", "two", "-1", "\u0663"])  # the last: an Arabic-Indic three
def test_rounds_outside_one_to_twenty_are_refused_in_one_line(rounds, capsys):
    with pytest.raises(SystemExit) as stop:
        machine_speed.main(["--rounds", rounds])
    assert stop.value.code == 2
    assert f"--rounds: must be a whole number from 1 to 20, not {rounds!r}" in capsys.readouterr().err
