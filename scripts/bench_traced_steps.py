"""Training CPU with the step traced once per architecture (models/steps.py) beside tracing it for every
network (what every fit did before: models.steps.stepping_itself), in fresh processes, on the same fits.

    python -m scripts.bench_traced_steps [--runs 3] [--blocks 6] [--epochs 3]

The fits: the three cells once each, then ``--blocks`` refits of the GRU from scratch (a walk-forward
backtest's blocks, a ledger backfill's nights, a test process's many small trainings), each followed by two
warm starts (the rolling evaluation's refits). Small networks and few epochs, as the tests train them: tracing
is a fixed cost per fit, so its share shrinks as the epochs grow (scripts/bench_training.py times full fits).
Prints each process's CPU seconds (user + system, TensorFlow's import included) and the weights' digest, which
must be the same in both: the twin gives the numbers of stepping each network itself.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _fits(blocks: int, epochs: int) -> str:
    """Run the fits in this process; the digest of every final weight."""
    import numpy as np

    from models.features import TrainArrays
    from models.network import Hyperparams, build_network
    from models.training import FitControls, FitSchedule, fit_network, set_determinism, warm_trainer

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(600, 3, 1)).astype("float32"), rng.normal(size=(600, 5)).astype("float32")
    data = TrainArrays(x[:480], y[:480], x[480:], y[480:])
    schedule = FitSchedule(epochs=epochs, batch_size=64, patience=epochs, learning_rate=3e-3)
    digest = hashlib.sha256()
    for k, cell in enumerate(["simplernn", "lstm", "gru", *["gru"] * blocks]):
        set_determinism(k)
        model = build_network(Hyperparams(cell=cell), 1)
        fit_network(model, data, schedule, FitControls(seed=k))
        warm = warm_trainer(model, 3e-4, 64, seed=k)
        warm(x[:200], y[:200], 1)
        warm(x[200:400], y[200:400], 1)
        for w in model.get_weights():
            digest.update(np.ascontiguousarray(w).tobytes())
    return digest.hexdigest()[:16]


def _child(mode: str, blocks: int, epochs: int) -> None:
    from jobs.quiet_tf import import_tensorflow_quietly

    import_tensorflow_quietly()
    if mode == "every network":
        from models import steps, training

        training.stepping = steps.stepping_itself  # type: ignore[assignment]
    digest = _fits(blocks, epochs)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"{usage.ru_utime + usage.ru_stime:.2f} {digest}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="processes per mode, alternating (default 3)")
    parser.add_argument("--blocks", type=int, default=6, help="GRU refits after the three cells (default 6)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per fit (default 3)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if min(args.runs, args.epochs) < 1 or args.blocks < 0:
        parser.error("--runs and --epochs must be >= 1 and --blocks >= 0")
    if args.child:
        _child(args.child, args.blocks, args.epochs)
        return
    fits = 3 + args.blocks
    print(f"{fits} fits of {args.epochs} epochs, each with 2 warm starts; CPU-s per process, TensorFlow's import included")
    results: dict[str, list[tuple[float, str]]] = {"once per architecture": [], "every network": []}
    for run in range(args.runs):
        for mode in results:
            done = subprocess.run([sys.executable, "-m", "scripts.bench_traced_steps", "--child", mode,
                                   "--blocks", str(args.blocks), "--epochs", str(args.epochs)],
                                  cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                                  capture_output=True, text=True, check=True)
            cpu, digest = done.stdout.split()
            results[mode].append((float(cpu), digest))
            print(f"  run {run + 1}: traced {mode:<22} {float(cpu):6.2f} CPU-s  weights {digest}", flush=True)
    medians = {mode: sorted(cpu for cpu, _ in r)[len(r) // 2] for mode, r in results.items()}
    digests = {d for r in results.values() for _, d in r}
    print(f"median: once per architecture {medians['once per architecture']:.2f} CPU-s, every network "
          f"{medians['every network']:.2f} CPU-s ({medians['once per architecture'] / medians['every network']:.2f}x); "
          f"weights {'identical' if len(digests) == 1 else 'DIFFER: ' + ', '.join(sorted(digests))}")
    if len(digests) != 1:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
