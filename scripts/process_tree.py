"""A process and everything it started, as psutil sees it: what the benchmarks and the test scheduler
measure (CPU-seconds, resident memory) summed over a server's workers, a browser's processes, a drill's
children."""
from __future__ import annotations

import psutil


def process_tree(pid: int | None = None) -> list[psutil.Process]:
    """Process ``pid`` (default: this one) and its live descendants; [] when ``pid`` does not exist."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def tree_cpu_seconds(pid: int | None = None) -> float:
    """CPU-seconds (user + system) so far of process ``pid`` (default: this one) and all its live descendants,
    each with the children it has reaped: the difference of two calls is what the tree spent in between,
    also in processes that started and ended in between (their parent, in the tree, reaped them). A process
    re-parented away from the tree (a daemon) is not counted; a ``pid`` that does not exist gives 0.0."""
    total = 0.0
    for proc in process_tree(pid):
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue  # ended while we looked
        total += t.user + t.system + t.children_user + t.children_system
    return total
