"""``tradeloop train``: one model per (symbol, timeframe), logged to MLflow."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from tradeloop.app import model_registry, open_store
from tradeloop.app.news import news_features
from tradeloop.cli.common import console, err_console, fmt_ms, settings_from
from tradeloop.domain.errors import TradeloopError
from tradeloop.domain.symbols import parse_symbol
from tradeloop.domain.timeframes import Timeframe


def register(groups: Any) -> None:
    p = groups.add_parser("train", help="train the model of a symbol (every configured "
                                        "timeframe, or one with --interval)")
    p.add_argument("--symbol", required=True)
    p.add_argument("--interval", default=None, help="one timeframe, e.g. 4h")
    p.set_defaults(func=train)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"


def train(args: argparse.Namespace) -> int:
    from tradeloop.ml.training_job import train_series  # imports Lightning (~10 s)

    settings = settings_from(args)
    symbol = parse_symbol(args.symbol)
    intervals = [Timeframe.parse(args.interval).name] if args.interval \
        else settings.timeframes.names
    max_epochs = settings.continuous_learning.retraining.max_epochs
    store = open_store(settings)
    registry = model_registry(settings)
    table = Table(title=f"{symbol}: held-out test results (calibrated)", title_justify="left")
    for col in ("tf", "train/val/test", "epochs", "stop", "accuracy", "majority", "dir. acc",
                "ECE", "mean conf", "version", "champion"):
        table.add_column(col)
    failed = 0
    try:
        for tf in intervals:
            label = f"[{symbol}_{tf}]"
            console.print(f"⚙ {label} Starting training (reason: manual)")
            try:
                def on_epoch(epoch: int, m: dict[str, float], label: str = label) -> None:
                    console.print(
                        f"  {label} Epoch {epoch}/{max_epochs}: Loss={m['train_loss']:.4f}, "
                        f"Val Loss={m['val_loss']:.4f}, Val Acc={_pct(m['val_accuracy'])}, "
                        f"Val Conf={_pct(m['val_confidence'])}")

                res = train_series(settings, store.candles, registry, symbol, tf,
                                   on_epoch=on_epoch, news=news_features(settings, store))
            except TradeloopError as exc:
                failed += 1
                err_console.print(f"✗ {label} {exc}")
                continue
            o = res.outcome
            console.print(f"✓ {label} Training data: {o.n_train:,} train, {o.n_val:,} val, "
                          f"{o.n_test:,} test ({fmt_ms(res.data_from)} .. {fmt_ms(res.data_to)})")
            if o.stop_reason == "target_confidence":
                console.print(f"✓ {label} Target confidence reached: "
                              f"{_pct(o.history[-1]['val_confidence'])}")
            console.print(f"✓ {label} Training done in {o.seconds:.1f}s ({o.stop_reason}); "
                          f"test accuracy {_pct(o.test.accuracy)} vs majority baseline "
                          f"{_pct(o.test.majority_baseline)}, mean confidence "
                          f"{_pct(o.test.mean_confidence)}, ECE {o.test.ece:.3f}; "
                          f"version {res.version}{' (champion)' if res.became_champion else ''}")
            if o.test.miscalibration > 0.03:
                console.print(f"! {label} miscalibrated on test data: mean confidence "
                              f"{_pct(o.test.mean_confidence)} vs accuracy {_pct(o.test.accuracy)}")
            table.add_row(tf, f"{o.n_train}/{o.n_val}/{o.n_test}",
                          f"{len(o.history)} (best {o.best_epoch})", o.stop_reason,
                          _pct(o.test.accuracy), _pct(o.test.majority_baseline),
                          _pct(o.test.directional_accuracy), f"{o.test.ece:.3f}",
                          _pct(o.test.mean_confidence), res.version,
                          "yes" if res.became_champion else "no")
    finally:
        store.close()
    console.print(table)
    console.print(f"MLflow: {settings.mlflow_tracking_uri} (open with `mlflow ui "
                  f"--backend-store-uri {settings.mlflow_tracking_uri}`)")
    return 1 if failed else 0
