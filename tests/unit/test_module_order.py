"""The suite's own scheduling (tests.support.module_order): long modules first, drills that wait handed out
beside modules that keep the cores busy, and the CPU a module's whole process tree spent."""
from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

from scripts.process_tree import tree_cpu_seconds
from tests.support.module_order import DensityFileScheduling, ModuleTime, pick

# Figures of the shape a real run gives (seconds, CPU-seconds): two drills that mostly wait, three
# modules that train or draw, and short unit modules.
RUN = {
    "drill_alerts.py": ModuleTime(170, 15), "drill_queue.py": ModuleTime(160, 45),
    "replay.py": ModuleTime(100, 86), "cli_signals.py": ModuleTime(95, 58), "nightly.py": ModuleTime(90, 51),
    **{f"unit_{k}.py": ModuleTime(2, 2) for k in range(4)},
}
LONGEST_FIRST = sorted(RUN, key=lambda m: -RUN[m].seconds)


SHARE = 2 / 3  # cores per process: three processes on two cores


def test_a_waiting_module_starts_first_when_none_runs():
    assert pick(LONGEST_FIRST, RUN, running=[], cores_per_process=SHARE) == "drill_alerts.py"
    assert pick(LONGEST_FIRST, RUN, running=["replay.py", "nightly.py"], cores_per_process=SHARE) == "drill_alerts.py"


def test_a_busy_module_starts_beside_a_waiting_one():
    """drill_queue keeps 0.28 cores busy, under half of a process's 2/3: it waits, so the longest busy module."""
    assert pick(LONGEST_FIRST, RUN, running=["drill_queue.py"], cores_per_process=SHARE) == "replay.py"
    assert pick(["drill_queue.py", "unit_0.py"], RUN, running=["drill_alerts.py"], cores_per_process=SHARE) == "unit_0.py"


def test_waiting_modules_share_a_process_only_when_no_busy_module_is_left():
    assert pick(["drill_queue.py"], RUN, running=["drill_alerts.py"], cores_per_process=SHARE) == "drill_queue.py"


def test_four_processes_on_two_cores_run_two_waiting_lines():
    """With four processes on two cores, two waiting modules may run at once (two processes stay on busy
    modules), never a third while a busy module is left; with three processes, one."""
    figures = RUN | {"sweep.py": ModuleTime(90, 9), "one_clock.py": ModuleTime(50, 5)}
    left = ["replay.py", "sweep.py", "one_clock.py", "unit_0.py"]
    assert pick(left, figures, running=["drill_alerts.py", "cli_signals.py"], cores_per_process=2 / 4,
                waiting_lines=2) == "sweep.py"
    assert pick(left, figures, running=["drill_alerts.py", "sweep.py", "cli_signals.py"], cores_per_process=2 / 4,
                waiting_lines=2) == "replay.py"
    assert pick(left, figures, running=["drill_alerts.py", "cli_signals.py"], cores_per_process=SHARE) == "replay.py"


def test_busy_modules_go_longest_first():
    left = ["replay.py", "cli_signals.py", "nightly.py", "unit_0.py"]
    assert pick(left, RUN, running=["drill_alerts.py"], cores_per_process=SHARE) == "replay.py"
    assert pick(left[1:], RUN, running=["drill_alerts.py", "replay.py"], cores_per_process=SHARE) == "cli_signals.py"


def test_an_unmeasured_module_counts_as_busy():
    """A minute at half a core: busy beside three processes' 2/3-core shares."""
    assert pick(["new.py", "drill_queue.py"], RUN, running=["drill_alerts.py"], cores_per_process=SHARE) == "new.py"


class _Node:
    """What the scheduler sees of an xdist test process: it is sent test indices, and shut down."""

    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.shutting_down = False
        self.sent: list[int] = []

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True


def _scheduler() -> tuple[DensityFileScheduling, list[_Node], list[str]]:
    config = SimpleNamespace(getvalue=lambda name: ["3*popen"] if name == "tx" else None,
                             option=SimpleNamespace(loadscopereorder=False))
    sched = DensityFileScheduling(config, None, RUN, cores=2)
    tests = {"drill_alerts.py": 1, "drill_queue.py": 1, "replay.py": 3, "cli_signals.py": 5, "nightly.py": 5}
    collection = [f"{m}::test_{k}" for m in LONGEST_FIRST for k in range(tests.get(m, 2))]
    nodes = [_Node(f"gw{k}") for k in range(3)]
    for node in nodes:
        sched.add_node(node)
        sched.add_node_collection(node, collection)
    sched.schedule()
    return sched, nodes, collection


def _modules_sent(node: _Node, collection: list[str]) -> list[str]:
    return list(dict.fromkeys(collection[i].split("::")[0] for i in node.sent))


def test_the_scheduler_runs_the_drills_in_one_process_beside_the_busy_modules():
    """xdist's own loadfile handed out both drills first, to two processes (longest first). Now one process
    takes the first drill and, as a single-test module must learn its successor at once, the second; the
    other two start the longest busy modules."""
    sched, nodes, collection = _scheduler()
    assert [_modules_sent(node, collection) for node in nodes] == [
        ["drill_alerts.py", "drill_queue.py"], ["replay.py"], ["cli_signals.py"]]
    every = [m for node in nodes for m in _modules_sent(node, collection)]
    assert len(every) == len(set(every))  # no module twice


def test_the_scheduler_hands_out_every_module_once():
    sched, nodes, collection = _scheduler()
    while sched.workqueue:  # each process completes what it was sent, and asks again
        for node in nodes:
            for index in list(node.sent):
                if not sched.assigned_work[node][collection[index].split("::")[0]][collection[index]]:
                    sched.mark_test_complete(node, index)
    sent = [collection[i] for node in nodes for i in node.sent]
    assert sorted(sent) == sorted(collection)


def test_tree_cpu_counts_a_child_that_started_and_ended_in_between():
    before = tree_cpu_seconds()
    subprocess.run([sys.executable, "-c", "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass"],
                   check=True)
    spent = tree_cpu_seconds() - before
    assert 0.35 <= spent < 5, spent  # the child's 0.4 s of CPU (in 10 ms ticks) and its start-up, reaped here


def test_tree_cpu_of_a_missing_process_is_zero():
    assert tree_cpu_seconds(pid=2**22 + 1) == 0.0  # above Linux's largest pid
