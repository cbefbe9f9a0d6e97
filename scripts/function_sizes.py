"""Functions over a size budget (issue 14: about 50 lines, 6 parameters), per package.

    python -m scripts.function_sizes dashboard jobs models store config marketdata contract

Counts a function's lines from ``def`` to its last line and its parameters without
``self``/``cls``; prints the offenders and their count. Exit status 1 when there is any, so
``.ci/run`` fails on a function over the budget; with no package named, every product package.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_LINES = 50
MAX_PARAMS = 6
GENERATED = Path("store/migrations/versions")  # Alembic revisions: one table per statement, written by autogenerate


def offenders(package: str) -> list[tuple[str, str, int, int]]:
    rows = []
    for path in sorted(Path(package).rglob("*.py")):
        if GENERATED in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            a = node.args
            params = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) + bool(a.vararg) + bool(a.kwarg)
            if a.args and a.args[0].arg in ("self", "cls"):
                params -= 1
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > MAX_LINES or params > MAX_PARAMS:
                rows.append((str(path), node.name, lines, params))
    return rows


def main(packages: list[str]) -> int:
    rows = [row for package in packages for row in offenders(package)]
    for path, name, lines, params in rows:
        print(f"{path}\t{name}\t{lines} lines\t{params} parameters")
    print(f"{len(rows)} functions over {MAX_LINES} lines or {MAX_PARAMS} parameters")
    return 1 if rows else 0


PACKAGES = ["dashboard", "jobs", "models", "store", "alerts", "price_feed", "config", "marketdata", "contract"]

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:] or PACKAGES))
