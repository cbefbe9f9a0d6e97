"""Training speed and memory, measured side by side in one run on this machine.

    python scripts/bench_training.py [--lesson-epochs 50]

1. The lesson's loop: Keras ``fit`` fed batch by batch from a Python
   ``keras.utils.PyDataset`` (what ``TimeseriesGenerator`` was), batch 64,
   50 epochs, GRU(16) -> GRU(8) -> Dense(8, relu) -> Dense, Adam(1e-3).
2. Ours, on the very same windows and targets (models.training.fit_network):
   one traced ``tf.function`` train step over shuffled numpy batches of 256,
   unrolled cells, Adam(3e-3), early stopping on the validation loss (patience
   12, best weights kept).
Throughput = training windows x epochs run / fit wall time, tracing included.
Then the product path end to end on a throw-away SQLite store: a full
three-cell retrain on the whole history (train, rolling-origin evaluation of
each cell and every baseline with refits every EVAL_REFIT_EVERY days, bootstrap,
serialise, store, cross-cell comparison) and a GRU fine-tune (with its own
rolling evaluation); and the peak resident memory of this process.
``--product-only`` skips the loop comparison.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def lesson_loop(x_tr, y_tr, x_va, y_va, epochs: int, seed: int):
    import keras

    from models.network import Hyperparams, build_network
    from models.training import set_determinism

    class Batches(keras.utils.PyDataset):  # the naive way: Python slices a batch at a time
        def __init__(self, x, y, batch):
            super().__init__()
            self.x, self.y, self.batch = x, y, batch

        def __len__(self):
            return int(np.ceil(len(self.x) / self.batch))

        def __getitem__(self, i):
            s = slice(i * self.batch, (i + 1) * self.batch)
            return self.x[s], self.y[s]

    class Stamps(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            stamps.append(time.perf_counter())

    set_determinism(seed)
    hp = Hyperparams(cell="gru", unroll=False, learning_rate=1e-3, batch_size=64, epochs=epochs)
    model = build_network(hp, x_tr.shape[2])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
    stamps: list[float] = []
    t = time.perf_counter()
    hist = model.fit(Batches(x_tr, y_tr, 64), validation_data=(x_va, y_va), epochs=epochs, verbose=0,
                     callbacks=[Stamps()])
    seconds = time.perf_counter() - t
    val = hist.history["val_loss"]
    return Result(seconds, len(val), float(val[-1]), float(min(val)), _steady(stamps))


def our_loop(x_tr, y_tr, x_va, y_va, seed: int):
    from models.network import Hyperparams, build_network
    from models.features import TrainArrays
    from models.training import FitControls, FitSchedule, fit_network, set_determinism

    set_determinism(seed)
    hp = Hyperparams(cell="gru")
    model = build_network(hp, x_tr.shape[2])
    stamps: list[float] = []
    h = fit_network(model, TrainArrays(x_tr, y_tr, x_va, y_va), FitSchedule.full(hp),
                    FitControls(seed=seed, on_epoch=lambda *_: stamps.append(time.perf_counter())))
    # val loss of the kept (best) weights, recomputed to be sure of what is kept
    kept = float(np.mean((np.asarray(model(x_va, training=False)) - y_va) ** 2))
    return Result(h.seconds, len(h.epoch), kept, h.best_val_loss, _steady(stamps))


@dataclass
class Result:
    seconds: float  # fit wall time, first-epoch tracing included
    epochs: int
    final_val: float  # validation loss of the weights the loop ends with
    best_val: float
    steady_epoch_s: float  # median epoch time after the first (no tracing)


def _steady(stamps: list[float]) -> float:
    return float(np.median(np.diff(stamps))) if len(stamps) > 2 else float("nan")


def median_run(fn, repeats: int) -> tuple[Result, Result]:
    """(first run, run with the median wall time) of ``repeats`` runs: other jobs share the CPU,
    and later runs in one process trace faster than the first."""
    runs = [fn() for _ in range(max(1, repeats))]
    return runs[0], sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]


def product_path(prices):
    from datetime import datetime, timezone

    from jobs.context import build_context
    from jobs.candidates import finetune_champion, train_cells
    from store.db import session_factory
    from contract.vocab import CELLS
    from store.prices import upsert_prices

    with tempfile.TemporaryDirectory() as tmp:
        ctx = build_context({"DATABASE_URL": f"sqlite:///{tmp}/bench.db", "DATA_DIR": tmp})
        with session_factory(ctx.engine).begin() as s:
            upsert_prices(s, "AAPL", prices, "offline-sample", datetime.now(timezone.utc))
        t = time.perf_counter()
        outcomes = train_cells(ctx, "AAPL", CELLS)
        retrain = time.perf_counter() - t
        t = time.perf_counter()
        ft = finetune_champion(ctx, "AAPL", "gru")
        finetune = time.perf_counter() - t
        ctx.engine.dispose()
    return retrain, finetune, outcomes, ft


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lesson-epochs", type=int, default=50)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeats", type=int, default=3, help="runs per loop; the median is shown (default 3)")
    ap.add_argument("--product-only", action="store_true", help="only the product path (retrain + fine-tune)")
    args = ap.parse_args()

    from marketdata.sources.offline import OfflineSampleSource
    from models.features import SplitSpec, prepare

    prices = OfflineSampleSource().fetch("AAPL")
    p = prepare(prices, window=3, horizon=5, split=SplitSpec())
    arrays = p.train_arrays()
    x_tr, y_tr, x_va, y_va = arrays.x_train, arrays.y_train, arrays.x_val, arrays.y_val
    n = len(x_tr)
    print(f"AAPL offline sample: {len(prices)} days; {n} training windows (L=3, H=5), {len(x_va)} validation windows")

    print(f"load average before the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores "
          f"({len(os.sched_getaffinity(0))} usable by this process)")
    if not args.product_only:
        compare_loops(x_tr, y_tr, x_va, y_va, n, args)
    return report_product(prices)


def compare_loops(x_tr, y_tr, x_va, y_va, n, args) -> None:
    print(f"lesson loop and ours: median of {args.repeats} runs each (the product path below runs once)")
    les0, les = median_run(lambda: lesson_loop(x_tr, y_tr, x_va, y_va, args.lesson_epochs, args.seed), args.repeats)
    our0, our = median_run(lambda: our_loop(x_tr, y_tr, x_va, y_va, args.seed), args.repeats)
    lt, ot = n * les.epochs / les.seconds, n * our.epochs / our.seconds
    ls, os_ = n / les.steady_epoch_s, n / our.steady_epoch_s
    print()
    print(f"{'':<40}{'lesson loop':>14}{'ours':>14}")
    print(f"{'epochs run':<40}{les.epochs:>14d}{our.epochs:>14d}")
    print(f"{'fit wall time (s)':<40}{les.seconds:>14.2f}{our.seconds:>14.2f}")
    print(f"{'windows x epochs / s (incl. tracing)':<40}{lt:>14.0f}{ot:>14.0f}")
    print(f"{'  same, first run of each loop':<40}{n * les0.epochs / les0.seconds:>14.0f}{n * our0.epochs / our0.seconds:>14.0f}")
    print(f"{'windows x epochs / s (after epoch 1)':<40}{ls:>14.0f}{os_:>14.0f}")
    print(f"{'val loss of final weights':<40}{les.final_val:>14.4f}{our.final_val:>14.4f}")
    print(f"{'best val loss seen':<40}{les.best_val:>14.4f}{our.best_val:>14.4f}")
    first_ratio = (our0.epochs / our0.seconds) / (les0.epochs / les0.seconds)
    print(f"throughput ours / lesson: {ot / lt:.1f}x incl. tracing (first runs: {first_ratio:.1f}x), {os_ / ls:.1f}x after epoch 1; "
          f"time to a trained model: {les.seconds / our.seconds:.1f}x shorter")


def report_product(prices) -> int:
    retrain, finetune, outcomes, ft = product_path(prices)
    print()
    print(f"full 3-cell retrain, whole history (train + rolling evaluation + store): {retrain:.1f} s  (goal < 60 s)")
    for o in outcomes:
        ev = o.metrics["evaluation"]
        print(f"  {o.cell:<10} {o.seconds:5.1f} s, of which rolling evaluation {o.rolling_seconds:4.1f} s "
              f"({ev['origins'][0]} reported origins, {ev['refits']} warm-start refits every {ev['refit_every']} days); "
              f"rmse ratio {o.metrics['rows'][o.cell]['rmse_ratio']:.4f} "
              f"[{o.metrics['rows'][o.cell]['rmse_ratio_low']:.4f}, {o.metrics['rows'][o.cell]['rmse_ratio_high']:.4f}]")
    print(f"GRU fine-tune (5 epochs, load champion, rolling evaluation, store): {finetune:.1f} s  (goal < 10 s)  "
          f"promoted={ft.promoted}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak_mb:.0f} MB  (goal < 1536 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
