"""End to end through the CLI (run in this interpreter, tests.support.cli), on the offline prices."""
import csv
import io
import json

import pytest

from contract.vocab import CELLS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A fresh store after `init` and `train --epochs 5`, with both exports (run once for the module)."""
    import os

    from tests.support.cli import run_jobs_in_process

    tmp = tmp_path_factory.mktemp("cli")

    def run(*args, url):
        env = {**os.environ, "DATABASE_URL": url, "PRICE_SOURCE": "offline", "DATA_DIR": str(tmp / "data")}
        return run_jobs_in_process(args, env)

    url = f"sqlite:///{tmp / 'a.db'}"
    assert run("init", url=url).returncode == 0
    train = run("train", "--epochs", "5", url=url)
    preds = run("export", "predictions", "--cell", "gru", url=url)
    metrics = run("export", "metrics", url=url)
    backtests = {c: run("export", "backtest", "--cell", c, url=url) for c in ("gru", "persistence", "linear", "garch", "conformal", "random_walk")}
    return {"run": run, "tmp": tmp, "train": train, "predictions": preds, "metrics": metrics, "backtests": backtests}


def test_train_reports_progress_per_cell_and_epoch(trained):
    train = trained["train"]
    assert train.returncode == 0, train.stderr
    for cell in CELLS:
        assert f"{cell}: epoch 5/5" in train.stderr  # patience 12 > 5 epochs: all five run
        assert any(line.startswith(cell) and "promoted" in line for line in train.stdout.splitlines())


def test_predictions_export_has_every_test_day(trained):
    out = trained["predictions"]
    assert out.returncode == 0, out.stderr
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[0] == ["Date", "Actual", "Predicted", "Residual"]
    metrics = json.loads(trained["metrics"].stdout)
    assert len(rows) - 1 == metrics["cells"]["gru"]["test_days"]
    date, actual, predicted, residual = rows[1]
    assert date == metrics["cells"]["gru"]["evaluation"]["report_start"]  # reported origins only
    assert float(residual) == pytest.approx(float(actual) - float(predicted), abs=2e-6)


def test_metrics_export_has_persistence_beside_every_cell(trained):
    out = trained["metrics"]
    assert out.returncode == 0, out.stderr
    cells = json.loads(out.stdout)["cells"]
    assert set(cells) == set(CELLS)
    for cell, entry in cells.items():
        assert set(entry["rows"]) == {cell, "persistence", "drift", "ridge"}
        assert entry["rows"]["persistence"]["rmse_ratio"] == 1.0
        assert "dm_pvalue" in entry["rows"][cell] and "coverage95" in entry["rows"][cell]


def test_same_seed_gives_identical_exported_predictions(trained):
    run = trained["run"]
    url = f"sqlite:///{trained['tmp'] / 'b.db'}"
    assert run("init", url=url).returncode == 0
    assert run("train", "--epochs", "5", "--cells", "gru", url=url).returncode == 0
    again = run("export", "predictions", "--cell", "gru", url=url)
    assert again.stdout == trained["predictions"].stdout


def test_finetune_runs_on_the_trained_store(trained):
    url = f"sqlite:///{trained['tmp'] / 'a.db'}"
    out = trained["run"]("finetune", "--cell", "gru", "--epochs", "2", url=url)
    assert out.returncode == 0, out.stderr
    assert "finetune" in out.stdout


def test_backtest_walks_forward_over_the_test_period(trained):
    url = f"sqlite:///{trained['tmp'] / 'a.db'}"
    out = trained["run"]("backtest", "--cell", "lstm", "--every", "250", "--epochs", "1", url=url)
    assert out.returncode == 0, out.stderr
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[0] == ["Date", "Actual", "Predicted", "Residual", "Persistence"]
    # the CLI walk-forward covers the whole evaluation period (promotion window included)
    assert len(rows) - 1 == json.loads(trained["metrics"].stdout)["cells"]["lstm"]["evaluation"]["evaluation_days"]
    assert "walk-forward lstm" in out.stderr and "vs persistence" in out.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("export", "predictions", "--cell", "gru"), "no gru model for AAPL yet"),
        (("export", "metrics"), "no trained models for AAPL yet"),
        (("finetune",), "no gru champion"),
        (("backtest", "--cell", "lstm"), "no lstm champion"),
        (("train", "--cells", "gru,transformer"), "cell type 'transformer' must be one of simplernn, lstm, gru"),
        (("train", "--epochs", "0"), "argument --epochs: 0 is out of range; use 1 to 500"),
    ],
)
def test_expected_errors_are_one_line(run_cli, sqlite_url, args, message):
    out = run_cli(*args, database_url=sqlite_url)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and message in last
    assert "Traceback" not in out.stderr


def test_train_and_finetune_are_recorded_in_the_run_history(trained):
    """The CLI trains through the pipeline: each command is a run, with who asked and what it did."""
    url = f"sqlite:///{trained['tmp'] / 'a.db'}"
    out = trained["run"]("runs", "--json", url=url)
    history = list(reversed(json.loads(out.stdout)))  # oldest first
    train = history[0]
    assert (train["trigger"], train["action"], train["status"]) == ("manual", "retrain", "succeeded")
    assert train["requested_by"].startswith("cli:") and set(train["metrics_after"]) == set(CELLS)
    assert "no update" in train["steps"][0]["message"]  # trained on the stored prices as they were
    assert all(r["status"] == "succeeded" for r in history)


def test_train_is_refused_while_the_ticker_is_training(run_cli, sqlite_url):
    """A training of AAPL already holds its lease: `train` is refused, naming that run."""
    from datetime import datetime, timezone

    from store import lease as leases
    from store import runs
    from store.db import create_schema, make_engine

    eng = make_engine(sqlite_url)
    create_schema(eng)
    now = datetime.now(timezone.utc)
    run_id = runs.start_run(eng, ticker="AAPL", trigger="nightly", requested_by="clock", action="auto", now=now)
    leases.acquire(eng, holder="other", ttl_s=600, name=leases.training_lease("AAPL"))
    leases.attach_run(eng, holder="other", run_id=run_id, name=leases.training_lease("AAPL"))
    eng.dispose()
    out = run_cli("train", "--cells", "gru", database_url=sqlite_url)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith(
        f"error: another training run is in progress: run #{run_id} (nightly auto requested by clock) of AAPL started")


def _rmse_by_horizon(text: str) -> dict[int, float]:
    rows = list(csv.DictReader(io.StringIO(text)))
    out = {}
    for h in sorted({int(r["Horizon"]) for r in rows}):
        e = [float(r["Actual"]) - float(r["Predicted"]) for r in rows if int(r["Horizon"]) == h]
        out[h] = (sum(x * x for x in e) / len(e)) ** 0.5
    return out


def test_backtest_exports_recompute_the_stored_figures(trained):
    # Anyone can re-check the headline: the CSVs give back the stored RMSE ratios at every horizon.
    outs = trained["backtests"]
    for out in outs.values():
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines()[0] == "Origin,Date,Horizon,Actual,Predicted,Lower80,Upper80,Lower95,Upper95"
    gru = json.loads(trained["metrics"].stdout)["cells"]["gru"]
    row, ridge = gru["rows"]["gru"], gru["rows"]["ridge"]
    model, pers, lin = (_rmse_by_horizon(outs[c].stdout) for c in ("gru", "persistence", "linear"))
    for h in range(1, 6):
        assert model[h] / pers[h] == pytest.approx(row["per_horizon_rmse_ratio"][h - 1], rel=1e-3)
        assert lin[h] / pers[h] == pytest.approx(ridge["per_horizon_rmse_ratio"][h - 1], rel=1e-3)
    n_rows = len(outs["gru"].stdout.splitlines()) - 1
    assert n_rows == sum(gru["evaluation"]["origins"])  # one row per reported origin and horizon


def test_metrics_export_carries_every_figure(trained):
    doc = json.loads(trained["metrics"].stdout)
    gru = doc["cells"]["gru"]
    assert {"evaluation", "direction", "intervals", "pairs"} <= set(gru)
    assert {"r2_zero", "r2_mean", "mase", "per_horizon_dm_pvalue", "rmse_ratio_low"} <= set(gru["rows"]["gru"])
    assert "always_up" in gru["direction"]["rows"] and "random_walk_band" in gru["intervals"]
    assert doc["comparison"]["origins"] > 0 and len(doc["comparison"]["pairs"]) == 6  # 3 cells + ridge, pairwise


def _coverage_by_horizon(text: str, level: str) -> dict[int, float]:
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r[f"Lower{level}"]]
    return {h: sum(float(r[f"Lower{level}"]) <= float(r["Actual"]) <= float(r[f"Upper{level}"]) for r in rows
                   if int(r["Horizon"]) == h) / sum(int(r["Horizon"]) == h for r in rows) for h in range(1, 6)}


@pytest.mark.parametrize("cell, key", [("garch", "garch_band"), ("conformal", "conformal_band"),
                                       ("random_walk", "random_walk_band"), ("gru", "gru")])
def test_band_exports_recompute_the_stored_coverage(trained, cell, key):
    """Every band's CSV gives back its stored coverage at both levels and every horizon."""
    out = trained["backtests"][cell]
    assert out.returncode == 0, out.stderr
    stored = json.loads(trained["metrics"].stdout)["cells"]["gru"]["intervals"][key]
    for level in ("80", "95"):
        cov = _coverage_by_horizon(out.stdout, level)
        assert [cov[h] for h in range(1, 6)] == pytest.approx(stored[f"coverage{level}"], abs=2e-3)
    assert trained["backtests"]["random_walk"].stdout == trained["backtests"]["persistence"].stdout


def test_backtest_export_refuses_an_unknown_forecaster(trained):
    out = trained["run"]("export", "backtest", "--cell", "arima", url=f"sqlite:///{trained['tmp'] / 'a.db'}")
    assert out.returncode == 2 and out.stderr.strip().startswith("error: unknown --cell 'arima'")
    assert len(out.stderr.strip().splitlines()) == 1
