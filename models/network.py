"""One builder for every recurrent cell type of ``contract.vocab.CELL_INFO``; the lesson's network by default."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from contract.vocab import CELL_INFO, CELLS, DEFAULT_CELL, Cell


@dataclass(frozen=True)
class Hyperparams:
    """Everything that shapes a network and its training; defaults = the lesson's net.

    The lesson: windows of 3 days, GRU(16) -> GRU(8) -> Dense(8, relu) -> Dense.
    We predict ``horizon`` future daily close returns at once instead of one.
    """

    cell: str = DEFAULT_CELL
    window: int = 3  # L: trading days per input window
    horizon: int = 5  # H: future daily returns predicted
    units: tuple[int, ...] = (16, 8)  # one recurrent layer per entry
    dense_units: int = 8
    dropout: float = 0.0
    learning_rate: float = 3e-3
    batch_size: int = 256
    epochs: int = 150  # an upper bound: early stopping usually ends sooner
    patience: int = 12  # epochs without a better validation loss before stopping
    unroll: bool = True  # short windows: unrolled cells run faster on CPU

    def __post_init__(self):
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        object.__setattr__(self, "units", tuple(int(u) for u in self.units))
        checks = [
            (self.window >= 1, f"window must be >= 1 trading day, got {self.window}"),
            (self.horizon >= 1, f"horizon must be >= 1 trading day, got {self.horizon}"),
            (len(self.units) >= 1 and min(self.units) >= 1, f"units needs >= 1 positive entry, got {self.units}"),
            (self.dense_units >= 1, f"dense_units must be >= 1, got {self.dense_units}"),
            (0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}"),
            (self.learning_rate > 0, f"learning_rate must be positive, got {self.learning_rate}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.patience >= 1, f"patience must be >= 1, got {self.patience}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["units"] = list(self.units)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Hyperparams":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


def build_network(hp: Hyperparams, n_features: int):
    """An uncompiled ``keras.Sequential`` for ``hp``; input (batch, L, F), output (batch, H)."""
    import keras
    from keras import layers

    cell = getattr(layers, CELL_INFO[Cell(hp.cell)].layer)  # e.g. layers.GRU
    model = keras.Sequential(name=f"{hp.cell}_forecaster")
    model.add(keras.Input(shape=(hp.window, n_features)))  # (batch, L, F)
    for k, units in enumerate(hp.units):
        last = k == len(hp.units) - 1
        # every layer but the last hands on the whole sequence: (batch, L, units); the last (batch, units)
        model.add(cell(units, return_sequences=not last, dropout=hp.dropout, unroll=hp.unroll))
    model.add(layers.Dense(hp.dense_units, activation="relu"))  # (batch, dense_units)
    model.add(layers.Dense(hp.horizon))  # (batch, H): scaled daily close returns, linear
    return model
