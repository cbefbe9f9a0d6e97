"""Markdown tables of ``python -m jobs export metrics`` (read on stdin): the README's figures.

    python -m jobs export metrics | python -m scripts.metrics_table

Every number printed comes from the export; nothing is recomputed here.
"""
from __future__ import annotations

import json
import sys

from contract.outputs import BAND_BASELINES, BASELINE_LABELS
from contract.vocab import CELL_LABELS, LEARNED_BASELINES, PAIRED_BASELINES

LABELS = {**CELL_LABELS, **BASELINE_LABELS}
BANDS = (*LEARNED_BASELINES, *BAND_BASELINES)


def _f(v, fmt: str, unit: str = "") -> str:
    return "-" if v is None else format(v, fmt) + unit


def score_table(doc: dict) -> list[str]:
    cells = doc["cells"]
    first = next(iter(cells.values()))
    ev = first["evaluation"]
    lines = [f"Rolling origins {ev['report_start']} to {ev['report_end']}: {ev['origins'][0]} at h=1 "
             f"({ev['origins'][-1]} at h={len(ev['origins'])}), refit every {ev['refit_every']} trading days "
             f"({ev['refit']}, {ev['refit_epochs']} epochs); intervals: {ev['bootstrap_reps']} stationary-bootstrap "
             f"resamples, mean block {ev['bootstrap_block']} days.", "",
             "| one day ahead | RMSE / persistence [95%] | R2 vs 0 | R2 vs mean | MASE | DM p | direction right | PT p | 80% / 95% coverage |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    rows = [(c, m["rows"][c], m["direction"]["rows"].get(c)) for c, m in cells.items()]
    rows += [(b, first["rows"][b], first["direction"]["rows"].get(b)) for b in PAIRED_BASELINES]
    rows += [("always_up", None, first["direction"]["rows"]["always_up"])]
    for key, r, d in rows:
        ratio = "-" if r is None else (f"{r['rmse_ratio']:.4f}" + ("" if key == "persistence" else
                                                                 f" [{r['rmse_ratio_low']:.4f}, {r['rmse_ratio_high']:.4f}]"))
        cov = "-" if r is None or r.get("coverage80") is None else f"{r['coverage80']:.3f} / {r['coverage95']:.3f}"
        lines.append(
            f"| {LABELS[key]} | {ratio} | {_f(r and r['r2_zero'] * 100, '+.2f', '%')} "
            f"| {_f(r and r['r2_mean'] * 100, '+.2f', '%')} | {_f(r and r['mase'], '.3f')} | {_f(r and r['dm_pvalue'], '.2f')} "
            f"| {_f(d and d['hit_rate'] * 100, '.1f', '%')} | {_f(d and d['pt_pvalue'], '.2f')} | {cov} |")
    lines.append(f"\nUp days: {first['direction']['up_share'] * 100:.1f}% of {first['direction']['days']}.")
    return lines


def _verdict(v: str) -> str:
    return "=" if v == "indistinguishable" else LABELS[v.split()[0]] + " better"


def pair_table(doc: dict) -> list[str]:
    comp = doc.get("comparison")
    if not comp:
        return ["(no cross-cell comparison stored)"]
    lines = [f"Pairs on {comp['origins']} shared origins, difference of RMSE ratios at h=1:", "",
             "| pair | difference [95%] | DM p | verdict h=1..5 (=: indistinguishable) |", "| --- | --- | ---: | --- |"]
    for p in comp["pairs"]:
        lines.append(f"| {LABELS[p['a']]} vs {LABELS[p['b']]} | {p['difference'][0]:+.4f} [{p['low'][0]:+.4f}, "
                     f"{p['high'][0]:+.4f}] | {_f(p['dm_pvalue'][0], '.2f')} | {' / '.join(_verdict(v) for v in p['verdict'])} |")
    return lines


def interval_table(doc: dict) -> list[str]:
    cells = doc["cells"]
    first = next(iter(cells.values()))
    lines = ["| band | 80% coverage h=1..5 | 95% coverage h=1..5 | Winkler 80% h=1..5 (% of price) | Winkler 95% h=1..5 |",
             "| --- | --- | --- | --- | --- |"]
    entries = [(c, m["intervals"][c]) for c, m in cells.items()] + [(k, first["intervals"][k]) for k in BANDS if k in first["intervals"]]
    for key, iv in entries:
        c80, c95 = (" ".join(f"{v * 100:.1f}" for v in iv[f"coverage{t}"]) for t in ("80", "95"))
        w80, w95 = (" ".join(f"{v:.2f}" for v in iv[f"winkler{t}"]) for t in ("80", "95"))
        lines.append(f"| {LABELS[key]} | {c80} | {c95} | {w80} | {w95} |")
    return lines + [""] + tercile_table(entries)


def tercile_table(entries: list[tuple[str, dict]]) -> list[str]:
    """Coverage per volatility third at h=1 and h=5, and the conditional-coverage test at h=1 (raw and after Holm)."""
    lines = ["| band | 80%: calm / middle / turbulent, h=1 | h=5 | 95%: calm / middle / turbulent, h=1 | h=5 "
             "| cond. coverage p h=1 (80 / 95) | after Holm |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for key, iv in entries:
        if "tercile_coverage80" not in iv:
            continue
        thirds = [" / ".join(f"{t[h] * 100:.1f}" for t in iv[f"tercile_coverage{tag}"]) for tag in ("80", "95") for h in (0, -1)]
        cc = " / ".join(_f(iv[f"tests{t}"]["cc"][0], ".2f") for t in ("80", "95"))
        holm = " / ".join(_f(iv[f"tests{t}"]["cc_holm"][0], ".2f") for t in ("80", "95"))
        lines.append(f"| {LABELS[key]} | {' | '.join(thirds)} | {cc} | {holm} |")
    return lines


def main() -> int:
    doc = json.load(sys.stdin)
    for block in (score_table(doc), [""], pair_table(doc), [""], interval_table(doc)):
        print("\n".join(block))
    return 0


if __name__ == "__main__":
    sys.exit(main())
