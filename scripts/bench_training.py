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
three-cell retrain on the whole history (train, evaluate, serialise, store)
and a GRU fine-tune; and the peak resident memory of this process.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402


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

    set_determinism(seed)
    hp = Hyperparams(cell="gru", unroll=False, learning_rate=1e-3, batch_size=64, epochs=epochs)
    model = build_network(hp, x_tr.shape[2])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
    t = time.perf_counter()
    hist = model.fit(Batches(x_tr, y_tr, 64), validation_data=(x_va, y_va), epochs=epochs, verbose=0)
    seconds = time.perf_counter() - t
    val = hist.history["val_loss"]
    return seconds, len(val), float(val[-1]), float(min(val))


def our_loop(x_tr, y_tr, x_va, y_va, seed: int):
    from models.network import Hyperparams, build_network
    from models.training import fit_network, set_determinism

    set_determinism(seed)
    hp = Hyperparams(cell="gru")
    model = build_network(hp, x_tr.shape[2])
    h = fit_network(model, x_tr, y_tr, x_va, y_va, epochs=hp.epochs, batch_size=hp.batch_size,
                    patience=hp.patience, learning_rate=hp.learning_rate, seed=seed)
    # val loss of the kept (best) weights, recomputed to be sure of what is kept
    kept = float(np.mean((np.asarray(model(x_va, training=False)) - y_va) ** 2))
    return h.seconds, len(h.epoch), kept, h.best_val_loss


def product_path(prices):
    from datetime import datetime, timezone

    from jobs.context import bootstrap
    from jobs.training import finetune_cell, train_cells
    from marketdata.db import session_factory
    from marketdata.outputs import CELLS
    from marketdata.prices import upsert_prices

    with tempfile.TemporaryDirectory() as tmp:
        ctx = bootstrap({"DATABASE_URL": f"sqlite:///{tmp}/bench.db", "DATA_DIR": tmp})
        with session_factory(ctx.engine).begin() as s:
            upsert_prices(s, "AAPL", prices, "offline-sample", datetime.now(timezone.utc))
        t = time.perf_counter()
        outcomes = train_cells(ctx, "AAPL", CELLS)
        retrain = time.perf_counter() - t
        t = time.perf_counter()
        ft = finetune_cell(ctx, "AAPL", "gru")
        finetune = time.perf_counter() - t
        ctx.engine.dispose()
    return retrain, finetune, outcomes, ft


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lesson-epochs", type=int, default=50)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    from marketdata.sources.offline import OfflineSampleSource
    from models.features import SplitSpec, prepare

    prices = OfflineSampleSource().fetch("AAPL")
    p = prepare(prices, window=3, horizon=5, split=SplitSpec())
    x_tr, y_tr, x_va, y_va = p.train_arrays()
    n = len(x_tr)
    print(f"AAPL offline sample: {len(prices)} days; {n} training windows (L=3, H=5), {len(x_va)} validation windows")

    ls, le, lval, lbest = lesson_loop(x_tr, y_tr, x_va, y_va, args.lesson_epochs, args.seed)
    os_, oe, oval, obest = our_loop(x_tr, y_tr, x_va, y_va, args.seed)
    lt, ot = n * le / ls, n * oe / os_
    print()
    print(f"{'':<34}{'lesson loop':>16}{'ours':>16}")
    print(f"{'epochs run':<34}{le:>16d}{oe:>16d}")
    print(f"{'fit wall time (s)':<34}{ls:>16.2f}{os_:>16.2f}")
    print(f"{'windows x epochs / s':<34}{lt:>16.0f}{ot:>16.0f}")
    print(f"{'val loss of final weights':<34}{lval:>16.4f}{oval:>16.4f}")
    print(f"{'best val loss seen':<34}{lbest:>16.4f}{obest:>16.4f}")
    print(f"throughput ratio ours / lesson: {ot / lt:.1f}x   time-to-model ratio: {ls / os_:.1f}x")

    retrain, finetune, outcomes, ft = product_path(prices)
    print()
    print(f"full 3-cell retrain, whole history (train+evaluate+store): {retrain:.1f} s  (goal < 60 s)")
    for o in outcomes:
        print(f"  {o.cell:<10} {o.seconds:5.1f} s  rmse ratio to persistence {o.metrics['rows'][o.cell]['rmse_ratio']:.4f}")
    print(f"GRU fine-tune (5 epochs, load champion, evaluate, store): {finetune:.1f} s  (goal < 10 s)  promoted={ft.promoted}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak_mb:.0f} MB  (goal < 1536 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
