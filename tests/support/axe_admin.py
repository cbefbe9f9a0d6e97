"""axe-core in the admin page's browser tests (issue 22): inject the engine, run it, list violations.

axe-core is not a Python package: it is read from the copy vendored in ``tests/support/axe/`` (the one the analyst
pages' test reads too); only without it is it installed once with npm into a cache folder outside the repository.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

AXE_VERSION = "4.14.1"
VENDORED = Path(__file__).with_name("axe") / "axe.min.js"
CACHE = Path.home() / ".cache" / f"axe-core-{AXE_VERSION}"


def axe_source() -> str:
    """The text of axe.min.js (vendored, else npm-installed into the cache); RuntimeError saying how to get it."""
    if VENDORED.exists():
        return VENDORED.read_text(encoding="utf-8")
    installed = CACHE / "node_modules" / "axe-core" / "axe.min.js"
    if not installed.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(CACHE),
                               f"axe-core@{AXE_VERSION}"], capture_output=True, text=True, timeout=300)
        if done.returncode != 0 or not installed.exists():
            raise RuntimeError(f"axe-core {AXE_VERSION} is needed: vendor axe.min.js as {VENDORED} or let npm install "
                               f"it ({done.stderr.strip()[-300:]})")
    return installed.read_text(encoding="utf-8")


def violations(page, impacts: tuple[str, ...] = ("critical", "serious")) -> list[str]:
    """One line per axe-core violation of ``impacts`` on the page as it is now: rule, impact, first targets."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source())
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       targets: v.nodes.slice(0, 4).map(n => n.target.join(' '))}));
    }""")
    return [f"{v['impact']} {v['id']} ({v['help']}): {', '.join(v['targets'])}" for v in result if v["impact"] in impacts]
