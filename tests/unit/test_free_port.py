"""scripts.web_server.free_port is not steered by a seeded random module (its range: tests/e2e/test_web_server_ports.py)."""
from __future__ import annotations

import random

from scripts.web_server import free_port


def test_ports_do_not_follow_the_global_random_seed():
    """Training seeds Python's random module (keras.utils.set_random_seed). Ports drawn from it repeated from
    one test process to the next: two servers started at once in two processes picked the same port (CI
    failed on a private Postgres that found its port taken)."""
    state = random.getstate()  # the rest of this process keeps its own sequence
    try:
        random.seed(1234)
        first = [free_port() for _ in range(5)]
        random.seed(1234)
        assert [free_port() for _ in range(5)] != first
    finally:
        random.setstate(state)

