"""Fakes for pipeline tests: a stand-in for ``jobs.training`` (no TensorFlow) and a dead source.

It registers real ``ModelRecord`` rows and champions (fake ``.keras`` bytes), reports
progress per "epoch" and honours ``should_cancel``, so pipeline tests run in
milliseconds and still see the store change the way real training changes it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timezone

from sqlalchemy import func, select

from jobs.errors import Cancelled
from marketdata.db import session_factory
from marketdata.prices import load_prices
from marketdata.sources.base import PriceSource, SourceUnavailable
from marketdata.tables import Champion, ModelRecord


@dataclass
class TrainOutcome:
    model_id: int
    cell: str
    kind: str
    promoted: bool
    metrics: dict
    previous_champion_id: int | None
    champion_metrics: dict | None
    seconds: float


@dataclass
class FakeTrainer:
    rmse: float = 1.0  # the candidate's test RMSE; promoted when not worse than the champion's
    fail_with: Exception | None = None
    epochs_default: int = 3
    calls: list = field(default_factory=list)
    on_epoch: object = None  # called with the epoch number (tests use it to cancel mid-run)

    def _train(self, ctx, ticker, cell, kind, epochs, run_id, progress, should_cancel, prices, part=(0, 1)):
        self.calls.append((kind, cell, epochs))
        frame = prices if prices is not None else load_prices(ctx.engine, ticker)
        n = epochs or self.epochs_default
        for epoch in range(1, n + 1):
            if self.on_epoch:
                self.on_epoch(epoch)
            if should_cancel():
                raise Cancelled(f"{cell} cancelled at epoch {epoch}")
            progress((part[0] + epoch / n) / part[1], f"{cell} epoch {epoch}/{n}")  # overall fraction
        if self.fail_with is not None:
            raise self.fail_with
        now = ctx.now().astimezone(timezone.utc)
        metrics = {"cell": cell, "rows": {cell: {"rmse": self.rmse}, "persistence": {"rmse": 1.0}}}
        with session_factory(ctx.engine).begin() as s:
            version = (s.execute(select(func.max(ModelRecord.version)).where(
                ModelRecord.ticker == ticker, ModelRecord.cell == cell)).scalar() or 0) + 1
            champ = s.get(Champion, (ticker, cell))
            prev = s.get(ModelRecord, champ.model_id) if champ else None
            rec = ModelRecord(
                ticker=ticker, cell=cell, version=version, kind=kind, parent_id=prev.id if prev and kind == "finetune" else None,
                run_id=run_id, hyperparams={}, seed=42, data_start=frame.index[0].date(), data_end=frame.index[-1].date(),
                val_start=frame.index[-40].date(), test_start=frame.index[-20].date(), data_hash="x", metrics=metrics,
                train_seconds=0.01, param_count=1, keras_bytes=b"fake", created_at=now,
            )
            s.add(rec)
            s.flush()
            prev_rmse = prev.metrics["rows"][cell]["rmse"] if prev else None
            promoted = prev is None or self.rmse <= prev_rmse
            if promoted:
                if champ:
                    champ.model_id, champ.promoted_at = rec.id, now
                else:
                    s.add(Champion(ticker=ticker, cell=cell, model_id=rec.id, promoted_at=now))
        return TrainOutcome(rec.id, cell, kind, promoted, metrics, prev.id if prev else None,
                            prev.metrics if prev else None, 0.01)

    def train_cells(self, ctx, ticker, cells, *, epochs=None, seed=42, run_id=None, progress=None,
                    should_cancel=None, prices=None, promote=True):
        return [self._train(ctx, ticker, c, "train", epochs, run_id, progress, should_cancel, prices, (i, len(cells)))
                for i, c in enumerate(cells)]

    def finetune_cell(self, ctx, ticker, cell="gru", *, epochs=None, run_id=None, progress=None,
                      should_cancel=None, prices=None):
        return self._train(ctx, ticker, cell, "finetune", epochs, run_id, progress, should_cancel, prices)


class DownSource(PriceSource):
    """Always unavailable, as Yahoo is with the network down after its retries."""

    name = "yahoo"

    def fetch(self, ticker, start=None):
        raise SourceUnavailable("Yahoo unreachable for AAPL after 3 attempts: ConnectionError: network down")
