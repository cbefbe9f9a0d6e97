"""Which module a test process takes next, from what each module took in the last full run.

With ``--dist loadfile`` a module runs whole on one test process (pyproject.toml). On the 2-core machine
with three or four processes two things decide how long the whole run takes:

- long modules start early: a long module handed out last ends the run with one process busy;
- the modules running at once keep the cores busy together. The drills spend minutes waiting on a lease,
  an alert window or a visibility timeout; handed out by length alone, two or three of them ran side by
  side at the start of every run, and for two minutes a core stood idle (30-58% of the machine, sampled
  every 0.5 s).

So each module has two figures: its seconds (setup to teardown of all its tests) and its CPU-seconds
(its test process and every process it started: servers, workers, the browser; ``scripts.process_tree.tree_cpu_seconds``).
Their ratio, its *density*, is how many cores it keeps busy on average. ``DensityFileScheduling`` is
xdist's ``loadfile`` scheduler choosing, each time it hands a module to a process, by what the other
processes are running at that moment (``pick``): the modules that mostly wait run one at a time, beside
modules that keep the cores busy.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from xdist.scheduler import LoadFileScheduling


@dataclass(frozen=True)
class ModuleTime:
    """One module's figures from a run: wall seconds and CPU-seconds of everything it ran."""

    seconds: float
    cpu_seconds: float

    @property
    def density(self) -> float:
        """Cores kept busy on average (0 for a module that took no time)."""
        return self.cpu_seconds / self.seconds if self.seconds > 0 else 0.0


UNMEASURED = ModuleTime(60.0, 30.0)  # a module no run has measured yet: a minute at half a core


def pick(left: Sequence[str], figures: dict[str, ModuleTime], running: Sequence[str], cores_per_process: float,
         waiting_lines: int = 1) -> str:
    """The module to start next, of ``left`` (longest first), beside the modules ``running`` on the other
    processes. A module *waits* when it keeps less than half its process's share of the cores busy
    (``cores_per_process``: 2/3 of a core with three processes on two cores): the drills, which sleep through
    a lease, an alert window or a visibility timeout. One waiting module at a time, longest first, started
    as soon as no other process runs one; otherwise the longest busy module; when no busy module is left,
    the longest waiting one. So the waiting modules run one after another in one process from the start
    of the run, beside busy modules that keep the cores in use, and never two of them side by side while
    a busy module could go instead.
    ``waiting_lines``: how many waiting modules may run at once - the processes beyond the cores (one with
    three processes on two cores, two with four), so that as many processes as there are cores stay on
    busy modules."""
    def waits(module: str) -> bool:
        return figures.get(module, UNMEASURED).density < cores_per_process / 2

    waiting = [m for m in left if waits(m)]
    busy = [m for m in left if not waits(m)]
    if waiting and not (busy and sum(waits(m) for m in running) >= waiting_lines):
        return waiting[0]
    return busy[0]


class DensityFileScheduling(LoadFileScheduling):
    """xdist's ``--dist loadfile``, but each module handed to a process is chosen by ``pick`` from the modules
    the other processes run right then.
    xdist hands a process its next module while its current one has two tests left (a process runs a test
    only once it knows the next one): shortly before the process needs it, or, after a module of one or two
    tests, as that module starts (so a drill's successor is chosen beside the same modules as the drill)."""

    def __init__(self, config: Any, log: Any, figures: dict[str, ModuleTime], cores: int) -> None:
        super().__init__(config, log)  # sets numnodes: the processes the run starts
        self.figures = figures
        self.cores_per_process = cores / max(1, self.numnodes)
        self.waiting_lines = max(1, self.numnodes - cores)

    def _running(self, node: Any) -> str | None:
        """The module ``node`` is running now: its first assigned module with a test not done."""
        return next((scope for scope, tests in self.assigned_work.get(node, {}).items() if not all(tests.values())),
                    None)

    def _assign_work_unit(self, node: Any) -> None:
        others = [m for m in (self._running(n) for n in self.assigned_work if n is not node) if m is not None]
        chosen = pick(list(self.workqueue), self.figures, others, self.cores_per_process, self.waiting_lines)
        self.workqueue.move_to_end(chosen, last=False)  # xdist hands out the queue's first module
        super()._assign_work_unit(node)
