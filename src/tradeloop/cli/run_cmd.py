"""``tradeloop run`` (a live session), ``tradeloop retrain`` (manual trigger) and
``tradeloop stop``: the operator's handles on the engine."""

from __future__ import annotations

import argparse
import signal
import time
from typing import Any

from tradeloop.app.stores import control_channel, engine_lock, open_store, wall_clock
from tradeloop.cli.common import (
    add_strategy_file,
    console,
    parse_duration_ms,
    settings_from,
    setup_logging,
)
from tradeloop.domain.errors import EngineError
from tradeloop.domain.symbols import parse_symbol
from tradeloop.domain.timeframes import Timeframe
from tradeloop.settings import Settings

ANSWER_WAIT_S = 30.0


def register(groups: Any) -> None:
    p = groups.add_parser("run", help="run the engine live (paper: live prices, simulated "
                                      "fills; testnet/live: orders on the exchange)")
    p.add_argument("--mode", default="paper", choices=("paper", "testnet", "live"))
    p.add_argument("--symbols", default=None, help="comma list (default: config symbols)")
    p.add_argument("--duration", default=None, help="stop after e.g. 24h (default: run until "
                                                    "stopped)")
    add_strategy_file(p)
    p.set_defaults(func=run)
    r = groups.add_parser("retrain", help="retrain a series now (trigger 'manual'); queued "
                                          "to the running engine when there is one")
    r.add_argument("--symbol", required=True)
    r.add_argument("--interval", default=None, help="timeframe (default: the symbol's main "
                                                    "timeframe)")
    r.set_defaults(func=retrain_now)
    s = groups.add_parser("stop", help="ask the running engine to stop gracefully")
    s.set_defaults(func=stop)
    w = groups.add_parser("wipe", help="Wipe Data: clear the trading state (positions, orders, "
                                       "trades, signals, the live graduation pipeline); the "
                                       "running engine restarts its pipeline, else the next "
                                       "session starts it")
    w.add_argument("--yes", action="store_true", help="confirm (required)")
    w.set_defaults(func=wipe)


def run(args: argparse.Namespace) -> int:
    from tradeloop.app.sessions import live_session

    settings = settings_from(args)
    symbols = [parse_symbol(s) for s in args.symbols.split(",")] if args.symbols \
        else list(settings.symbols)
    duration = parse_duration_ms(args.duration) if args.duration else None
    setup_logging(settings, "engine.log")
    clock = wall_clock()
    store = open_store(settings)
    stopping = {"flag": False}

    def on_term(signum: int, frame: Any) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGTERM, on_term)
    try:
        session = live_session(settings, store, symbols, mode=args.mode, clock=clock)
        res = session.run(duration, stop=lambda: stopping["flag"])
    finally:
        store.close()
    console.print(f"session {res.deployment_id} ended ({res.stopped_by}): "
                  f"{res.engine.stats.events:,} candle closes, {res.engine.stats.orders} orders, "
                  f"{res.engine.stats.trades} trades, equity {res.engine.account_equity():,.2f}")
    return 0


def _running(settings: Settings) -> dict[str, object] | None:
    return engine_lock(settings).held_elsewhere()


def _await_answer(channel: Any, command_id: int) -> int:
    deadline = time.monotonic() + ANSWER_WAIT_S
    while time.monotonic() < deadline:
        status, result = channel.status(command_id)
        if status != "pending":
            console.print(f"command {command_id}: {status} — {result}")
            return 0 if status == "done" else 1
        time.sleep(0.5)
    console.print(f"command {command_id} queued; the engine has not answered within "
                  f"{ANSWER_WAIT_S:.0f}s (it polls every few seconds)")
    return 0


def retrain_now(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    symbol = parse_symbol(args.symbol)
    tf = Timeframe.parse(args.interval).name if args.interval else None
    if tf is not None and tf not in settings.timeframes.names:
        raise EngineError(f"timeframe {tf} is not configured ({settings.timeframes.names})")
    store = open_store(settings)
    try:
        clock = wall_clock()
        if _running(settings) is not None:
            channel = control_channel(store)
            cid = channel.request("retrain", clock.now_ms(), symbol=symbol, timeframe=tf)
            console.print(f"queued manual retrain of {symbol} {tf or '(main timeframe)'} "
                          f"for the running engine (command {cid})")
            return _await_answer(channel, cid)
        return _retrain_here(settings, store, symbol, tf or _main_timeframe(settings),
                             clock.now_ms())
    finally:
        store.close()


def _main_timeframe(settings: Settings) -> str:
    return max(settings.timeframes.intervals,
               key=lambda i: (i.weight, Timeframe.parse(i.interval))).interval


def _retrain_here(settings: Settings, store: Any, symbol: str, tf: str, now_ms: int) -> int:
    from tradeloop.app.retrain_jobs import retrain_here

    console.print(f"no engine running: retraining {symbol} {tf} here (trigger manual)")
    res = retrain_here(settings, store, symbol, tf, now_ms)
    if res.error:
        console.print(f"[red]retraining failed:[/] {res.error}")
        return 1
    verdict = "promoted to champion" if res.promoted else "not promoted"
    console.print(f"v{res.version} {verdict}: {res.reason}")
    return 0


def stop(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    holder = _running(settings)
    if holder is None:
        console.print("no engine is running on this data folder")
        return 1
    store = open_store(settings)
    try:
        channel = control_channel(store)
        cid = channel.request("stop", wall_clock().now_ms())
        console.print(f"asked the running engine ({holder}) to stop (command {cid})")
        return _await_answer(channel, cid)
    finally:
        store.close()


def wipe(args: argparse.Namespace) -> int:
    from tradeloop.app.operator import Operator

    if not args.yes:
        raise EngineError("Wipe Data deletes the trading state: run it again with --yes "
                          "(candles, models and deployments are kept)")
    settings = settings_from(args)
    store = open_store(settings)
    try:
        op = Operator(settings, store.engine, by="cli")
        out = op.request("wipe")
        if out.status == "pending":
            console.print(f"asked the running engine to wipe its data (command "
                          f"{out.command_id})")
            return _await_answer(control_channel(store), out.command_id)
        console.print(f"Wipe Data: {out.status} — {out.message}")
        return 0 if out.status == "done" else 1
    finally:
        store.close()
