#!/usr/bin/env python3
"""Production monitor (seed 002).

    python monitor_production.py [--symbol BTC/USDT] [--refresh 10]   # live terminal view
    python monitor_production.py --once                               # one frame, then exit
    python monitor_production.py --report --hours 24                  # JSON report + summary

Reads the database only, so it runs beside the deployment in another terminal. While a
deployment runs the window ends now; otherwise at the end of the latest deployment (a replayed
one reports on its simulated time). Reports go to production_reports/report_<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from tradeloop.app import open_store
from tradeloop.app.stores import engine_lock
from tradeloop.app.views import View, collect
from tradeloop.domain.errors import TradeloopError
from tradeloop.domain.symbols import parse_symbol
from tradeloop.settings import Settings, load_settings

RULE = "=" * 100


def _duration(seconds: float) -> str:
    s = int(seconds)
    d, s = divmod(s, 86_400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return (f"{d}d " if d else "") + (f"{h}h " if h or d else "") + f"{m}m {s}s"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"


def render(view: View, refresh: float | None) -> Group:
    """The guide's layout as rich Text lines."""
    d = view.data
    sysd = d["system"]
    lines: list[Text] = [Text(RULE),
                         Text(f"PRODUCTION MONITOR - {view.now:%Y-%m-%d %H:%M:%S} UTC"
                              + ("" if view.running else "  (no deployment running: showing "
                                 f"deployment {sysd['deployment_id']} as it ended)"
                                 if sysd["deployment_id"] else "  (no deployment yet)")),
                         Text(RULE), Text(""), Text("📊 SYSTEM STATUS")]
    if sysd["deployment_id"] is None:
        lines.append(Text("  No deployment on record. Start one with "
                          "`python deploy_production.py --phase 1 --symbol BTC/USDT`."))
    else:
        lines += [
            Text(f"  Deployment: {sysd['deployment_id']} (phase {sysd['phase']}, {sysd['mode']}, "
                 f"{sysd['status']}{', ' + sysd['verdict'] if sysd['verdict'] else ''})"),
            Text(f"  Uptime: {_duration(sysd['uptime_seconds'])}"),
            Text(f"  Error Rate (1h): {_pct(sysd['error_rate_1h'])}"),
            Text(f"  Active Symbols: {sysd['active_symbols']}"),
            Text(f"  Equity: ${sysd['equity']:,.2f} | Max Drawdown: "
                 f"{sysd['max_drawdown_percent']:.2f}% | Health score: "
                 + (f"{sysd['health_score']:.0f}/100" if sysd["health_score"] is not None
                    else "—")),
        ]
        ex = d.get("exchange")
        if ex is not None:
            lines.append(Text(
                f"  Exchange: {ex['requests_per_minute']} req/min (limit "
                f"{ex['limit_per_minute']}, peak {ex['max_requests_per_minute']}), API errors "
                f"(1h) {_pct(ex['api_error_rate_1h'])}, ticker cache hits "
                f"{_pct(ex['cache_hit_rate'])}, websocket uptime {_pct(ex['websocket_uptime'])}"
                f", circuit {ex['circuit']}"))
        par = d.get("parity")
        if par is not None:
            share = lambda m, n: f"{100 * m / n:.1f}%" if n else "—"  # noqa: E731
            lines.append(Text(
                f"  Parity (deployment {par['deployment_id']}, {par['checked_at']}): "
                + ("✓ identical" if par["identical"] else "✗ diverged")
                + f" — predictions {share(par['predictions_matched'], par['predictions'])}, "
                  f"orders {share(par['orders_matched'], par['orders'])}"
                + (f"; first: {par['first_divergence'][:120]}"
                   if par["first_divergence"] else "")))
    cal = d.get("calibration")
    if cal is not None and (cal["gates"] or cal["models"]):
        lines += [Text(""), Text(f"🎯 LIVE CALIBRATION (forecasts whose {cal['horizon']} "
                                 f"outcome is known)")]
        for name, r in [*((f"{s} gate", r) for s, r in cal["gates"].items()),
                        *cal["models"].items()]:
            judged = r["samples"] >= cal["min_samples"]
            flag = ("⚠️ " if judged and r["directional_ece"] > cal["max_gap"] else "  ")
            lines.append(Text(
                f"  {flag}{name}: {r['samples']} known, hit rate {_pct(r['hit_rate'])}, "
                f"directional ECE {_pct(r['directional_ece'])} (P(up) {_pct(r['mean_p_up'])} "
                f"vs up {_pct(r['observed_up'])})" + ("" if judged else " — too few to judge")))
    age = d.get("model_age")
    if age is not None:
        budget = age["budget_hours"]
        over = age["over_budget"]
        lines += [Text(""), Text(
            f"🧠 Model age: oldest {age['oldest']['series']} {age['oldest']['hours']:.1f} h"
            + (f" (budget {budget:g} h" + (f"; over it: {', '.join(over)})" if over
                                           else ", all within)") if budget
               else " (no budget: continuous_learning.retraining.max_model_age_hours)"))]
    news = d.get("sentiment")
    if news is not None:
        parts = [f"{sym.split('/')[0]} " + (f"{v['mean']:+.2f}" if v["mean"] is not None
                                              else "—") + f" ({v['items']})"
                 + ("" if v["fresh"] else " stale") for sym, v in news["symbols"].items()]
        lines += [Text(""), Text(f"📰 News sentiment ({news['model']}, last "
                                 f"{news['window_hours']:g}h, mean score (items)): "
                                 + " · ".join(parts)
                                 + ("" if news["features_on"] else "  [not a model input]"))]
    for symbol, s in d["symbols"].items():
        lines += [Text(""), Text(RULE), Text(f"📈 {symbol}"), Text(RULE)]
        mode_icon = "🎯" if s["mode"] == "TRADING" else "📚"
        lines += [Text(f"  {mode_icon} Mode: {s['mode']}"),
                  Text(f"  Confidence: {_pct(s['confidence'])}"
                       + (f" ({s['direction']})" if s["direction"] else "")),
                  Text(f"  Time in mode: {_duration(s['time_in_mode_seconds'])}"), Text(""),
                  Text(f"  💰 Performance ({d['window']['hours']:g}h)")]
        mark = "✓" if s["pnl"] >= 0 else "✗"
        lines.append(Text(f"    {mark} P&L: ${s['pnl']:,.2f} ({s['pnl_percent']:.2f}%)"))
        lines.append(Text(f"    Win Rate: {_pct(s['win_rate'])} "
                          f"({s['wins']}/{s['trades']} trades)"))
        if sysd["max_drawdown_percent"] is not None:
            lines.append(Text(f"    Max Drawdown: {sysd['max_drawdown_percent']:.2f}% (account)"))
        lines += [Text(""), Text("  🎯 Recent Activity")]
        if not s["recent_activity"]:
            lines.append(Text("    (none in the window)"))
        for a in s["recent_activity"]:
            lines.append(Text(f"    [{a['time'][11:16]}] {a['event']}"))
    alerts = d["alerts"]
    lines += [Text(""), Text(RULE)]
    if alerts:
        lines.append(Text("🔔 Alerts (latest)"))
        for a in alerts[-5:]:
            icon = {"critical": "🔴", "warning": "⚠️ "}.get(a["severity"], "ℹ️ ")
            lines.append(Text(f"  {icon} [{a['timestamp'][11:16]}] "
                              f"{'[' + a['symbol'] + '] ' if a['symbol'] else ''}{a['message']}"))
        lines.append(Text(RULE))
    tail = f"Last Update: {datetime.now(UTC):%H:%M:%S}"
    if refresh:
        tail += f" | Refresh: {refresh:g}s"
    lines.append(Text(f"{tail} | Alerts Sent: {len(alerts)}"))
    return Group(*lines)


def write_report(settings: Settings, view: View) -> str:
    folder = settings.path(settings.paths.reports_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"report_{datetime.now(UTC):%Y%m%d_%H%M%S}.json"
    n = 1
    while path.exists():  # two reports in one second keep both
        path = folder / f"report_{datetime.now(UTC):%Y%m%d_%H%M%S}_{n}.json"
        n += 1
    path.write_text(json.dumps(view.data, indent=2, default=str) + "\n")
    return str(path)


def summary(view: View, path: str, console: Console) -> None:
    d = view.data
    sysd = d["system"]
    console.print(RULE)
    console.print(f"PRODUCTION REPORT - last {d['window']['hours']:g}h "
                  f"({d['window']['from']} .. {d['window']['to']} UTC)")
    console.print(RULE)
    if sysd["deployment_id"] is None:
        console.print("No deployment on record.")
    else:
        console.print(f"Deployment {sysd['deployment_id']} (phase {sysd['phase']}, "
                      f"{sysd['mode']}, {sysd['status']}), health score "
                      f"{sysd['health_score'] if sysd['health_score'] is not None else '—'}, "
                      f"errors {sysd['errors']} / {sysd['candle_closes']} candle closes")
    for symbol, s in d["symbols"].items():
        console.print(f"  {symbol}: {s['mode']}, {s['trades']} trades, win rate "
                      f"{_pct(s['win_rate'])}, P&L ${s['pnl']:,.2f}, {s['retrains']} retrains, "
                      f"{s['transitions']} mode changes")
    r = d["retraining"]
    console.print(f"Retraining: {r['count']} runs {r['by_reason']}, {r['promoted']} promoted, "
                  f"{r['failed']} failed")
    console.print(f"Alerts: {len(d['alerts'])} "
                  f"({sum(a['severity'] == 'critical' for a in d['alerts'])} critical)")
    console.print(f"Report written: {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Production monitor (seed 002)")
    parser.add_argument("--config", default=None)
    parser.add_argument("--symbol", default=None, help="show one symbol")
    parser.add_argument("--refresh", type=float, default=10.0, help="seconds between updates")
    parser.add_argument("--once", action="store_true", help="print one frame and exit")
    parser.add_argument("--report", action="store_true", help="write a JSON report")
    parser.add_argument("--hours", type=float, default=24.0, help="report/view window")
    parser.add_argument("--deployment", type=int, default=None, help="a deployment id")
    args = parser.parse_args(argv)
    if args.refresh <= 0 or args.hours <= 0:
        parser.error("--refresh and --hours must be positive")
    console = Console(highlight=False, soft_wrap=True,
                      width=None if sys.stdout.isatty() else 120)
    try:
        settings = load_settings(args.config)
        symbols = [parse_symbol(args.symbol)] if args.symbol else None
        store = open_store(settings)
    except TradeloopError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    lock = engine_lock(settings)

    def view() -> View:
        running = lock.held_elsewhere() is not None
        return collect(settings, store.engine, hours=args.hours, symbols=symbols,
                       deployment_id=args.deployment, running=running)

    try:
        if args.report:
            v = view()
            summary(v, write_report(settings, v), console)
            return 0
        if args.once or not sys.stdout.isatty():
            console.print(render(view(), None))
            return 0
        with Live(render(view(), args.refresh), console=console, screen=False,
                  auto_refresh=False) as live:
            while True:
                time.sleep(args.refresh)
                live.update(render(view(), args.refresh), refresh=True)
    except KeyboardInterrupt:
        return 0
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
