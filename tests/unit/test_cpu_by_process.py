"""scripts.cpu_by_process: the CPU of a command's processes, sampled from /proc, by kind."""
from __future__ import annotations

import itertools
import subprocess
import sys

import pytest

from scripts.cpu_by_process import idle_by_interval, kind, main, sample_while, tally

BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < 1.0: pass"


@pytest.mark.parametrize("command, expected", [
    ("/usr/bin/chromium-headless-shell --type=renderer", "chromium"),
    (".venv/bin/python .venv/bin/gunicorn dashboard.app:create_server()", "gunicorn"),
    (".venv/bin/python -m jobs clock", "jobs clock"),
    (".venv/bin/python -m jobs nightly --ticker AAPL", "jobs command"),
    ("python -c from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5)", "spawned child"),
    ("postgres: 15/main: postgres test 127.0.0.1(5432) idle", "postgres"),
    ("kworker/1:0H", "other"),
])
def test_a_process_is_counted_by_its_command_line(command, expected):
    assert kind(command) == expected


def test_a_command_that_burns_cpu_is_counted_while_it_runs():
    proc = subprocess.Popen([sys.executable, "-c", BURN])
    seconds, count = tally(sample_while(proc, every=0.05))
    assert proc.returncode == 0
    assert seconds["python, other"] >= 0.3 and count["python, other"] >= 1  # the burner, seen before it ended


def test_the_command_line_prints_the_table_and_passes_on_the_status(capsys):
    assert main(["--every", "0.05", "--", sys.executable, "-c", "import sys; sys.exit(3)"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("wall ") and "machine busy" in err
    with pytest.raises(SystemExit):
        main(["--every", "0", "--", "true"])
    assert "--every must be between 0.01 and 60 seconds, got 0.0" in capsys.readouterr().err


def test_top_lists_the_costliest_command_lines(capsys):
    """Every process on the machine is sampled (the other test processes too), so the burner is looked for
    among all the lines, not only the first few."""
    assert main(["--every", "0.05", "--top", "1000", "--", sys.executable, "-c", BURN]) == 0
    err = capsys.readouterr().err
    listed = err.split("the 1000 costliest command lines:\n", 1)[1].splitlines()
    burner = [line for line in listed if "-c import time t = time.process_time()" in line]  # on one line
    assert len(burner) == 1 and float(burner[0].split()[0]) >= 0.3, listed
    with pytest.raises(SystemExit):
        main(["--top", "-1", "--", "true"])
    assert "--top must be between 0 and 1000, got -1" in capsys.readouterr().err


def test_a_process_keeps_its_command_line_once_it_has_ended(monkeypatch):
    """A zombie's /proc entry has no command line, only a name: the process is still counted as what it was."""
    import scripts.cpu_by_process as sampler

    seen = itertools.chain([[((7, 1.0), 0.5, "python -m jobs nightly")]], itertools.repeat([((7, 1.0), 2.0, None)]))
    monkeypatch.setattr(sampler, "_processes", lambda: next(seen))
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
    spent = sample_while(proc, every=0.2)
    assert spent == [(2.0 - 0.5, "python -m jobs nightly")]


def test_idle_is_summed_per_interval_from_the_start():
    log = [(100.0, 50.0), (105.0, 52.0), (112.0, 52.5), (131.0, 60.0)]  # (monotonic s, idle core-s so far)
    assert idle_by_interval(log, began=100.0, width=10.0) == [2.0, 0.5, 0.0, 7.5]


def test_timeline_prints_one_figure_per_interval(capsys):
    assert main(["--every", "0.05", "--timeline", "0.2", "--", sys.executable, "-c", "import time; time.sleep(0.5)"]) == 0
    line = [x for x in capsys.readouterr().err.splitlines() if x.startswith("idle core-s per 0.2 s: ")]
    assert len(line) == 1 and len(line[0].split(": ")[1].split()) >= 3, line  # 0.5 s or more: 3 intervals or more
    with pytest.raises(SystemExit):
        main(["--every", "0.5", "--timeline", "0.1", "--", "true"])
    assert "--timeline must be between --every (0.5) and 3600 seconds, got 0.1" in capsys.readouterr().err


def test_a_process_that_renames_itself_is_counted_under_its_new_command_line(monkeypatch):
    """A Chromium renderer is forked from its zygote and then takes its own command line."""
    import scripts.cpu_by_process as sampler

    zygote, renderer = "chromium-headless-shell --type=zygote", "chromium-headless-shell --type=renderer"
    seen = itertools.chain([[((8, 1.0), 0.1, zygote)]], itertools.repeat([((8, 1.0), 1.1, renderer)]))
    monkeypatch.setattr(sampler, "_processes", lambda: next(seen))
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
    assert sample_while(proc, every=0.2) == [(1.1 - 0.1, renderer)]
