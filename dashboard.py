"""Operator dashboard (Streamlit): `streamlit run dashboard.py` (binds 127.0.0.1, see
.streamlit/config.toml). Config: $TRADELOOP_CONFIG or ./config.yaml.

Views: Overview, Symbols, Activity, Controls, Export, Data, Strategies (the library,
imported strategy files, optimisation studies, any backtest drawn) and Pipeline (strategy
graduation: the funnel, each instance against its stage's criteria, allocations over time).
It reads only through the store, so it works while a deployment runs in another process;
every control asks for a confirmation, is recorded in ``control_commands`` and reaches the
running deployment through the control channel (or is applied at once when nothing runs).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from tradeloop.app import StoreHandle, open_store
from tradeloop.app import research_views as rv
from tradeloop.app.graduation import read_pipeline
from tradeloop.app.news import sentiment_view
from tradeloop.app.operator import LABELS, Operator
from tradeloop.app.views import dashboard_queries as dd
from tradeloop.cli.common import fmt_ms
from tradeloop.domain.deployment_metrics import initial_equity
from tradeloop.domain.errors import TradeloopError
from tradeloop.domain.timeframes import Timeframe
from tradeloop.domain.timestamps import ms_of, ts
from tradeloop.monitoring.svg_charts import Line, Panel, svg_chart
from tradeloop.settings import Settings, load_settings
from tradeloop.strategies.catalog import STRATEGIES, spec_of
from tradeloop.strategies.imported import choices

VIEWS = ("Overview", "Symbols", "Activity", "Controls", "Export", "Data", "Strategies",
         "Pipeline")
WINDOWS = {"1 hour": 1.0, "6 hours": 6.0, "24 hours": 24.0, "7 days": 168.0,
           "30 days": 720.0, "All": 24.0 * 3650}
MAX_CANDLES = 500
MODE_COLOURS = {"TRADING": "#1a9850", "LEARNING": "#f39c12"}
CHART_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


@st.cache_resource(show_spinner=False)
def connect(config: str | None) -> tuple[Settings, StoreHandle]:
    settings = load_settings(config)
    return settings, open_store(settings)


def fmt_duration(seconds: float) -> str:
    d = timedelta(seconds=int(seconds))
    if d.days:
        return f"{d.days} d {d.seconds // 3600} h"
    h, m = d.seconds // 3600, d.seconds % 3600 // 60
    return f"{h} h {m} min" if h else f"{m} min"


def fmt_money(x: float | None) -> str:
    return "—" if x is None else f"${x:,.2f}"


def pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f}%"


# -- confirmation of controls -----------------------------------------------------------------
def ask(command: str, *, symbol: str | None = None, argument: str | None = None,
        timeframe: str | None = None) -> None:
    """Remember a control to confirm (shown at the top of the page)."""
    st.session_state["confirm"] = {"command": command, "symbol": symbol,
                                   "argument": argument, "timeframe": timeframe}


def confirmation(op: Operator) -> None:
    pending: dict[str, Any] | None = st.session_state.get("confirm")
    if pending:
        what = LABELS[pending["command"]]
        target = " ".join(x for x in (pending["symbol"], pending["argument"]) if x)
        warning = {"wipe": " This clears positions, trades, predictions, modes and retraining "
                           "records (candles and models are kept).",
                   "rollback": " The running deployment closes its positions and stops."
                   }.get(pending["command"], "")
        box = st.container(border=True)
        box.warning(f"Confirm: **{what}** {target}?{warning}")
        yes, no, _ = box.columns([1, 1, 6])
        if yes.button("Confirm", type="primary", key="confirm_yes"):
            st.session_state.pop("confirm")
            try:
                out = op.request(pending["command"], symbol=pending["symbol"],
                                 argument=pending["argument"], timeframe=pending["timeframe"])
                st.session_state["outcome"] = (what, out.command_id, out.status, out.message)
            except TradeloopError as exc:
                st.session_state["outcome"] = (what, None, "rejected", str(exc))
            st.rerun()
        if no.button("Cancel", key="confirm_no"):
            st.session_state.pop("confirm")
            st.rerun()
    outcome = st.session_state.get("outcome")
    if outcome:
        what, cid, status, message = outcome
        ref = f" (command {cid})" if cid else ""
        if status == "rejected":
            st.error(f"{what}{ref} rejected: {message}")
        elif status == "pending":
            now_status, result = op.answer(cid)
            if now_status == "pending":
                st.info(f"{what}{ref}: {message}; waiting for the deployment to answer "
                        f"(refresh to update)")
            else:
                st.success(f"{what}{ref}: {now_status} — {result}")
        else:
            st.success(f"{what}{ref}: {message}")


# -- views ----------------------------------------------------------------------------------
def empty_state() -> None:
    st.info("No deployment recorded yet. Start one with `python deploy_production.py --phase 1 "
            "--symbol BTC/USDT --replay` (or `make demo`); this page fills in as it runs. The "
            "controls below work already.")


def overview(settings: Settings, b: dd.Board, engine: Any) -> None:
    sysd = b.view.data["system"]
    dep = b.view.deployment
    initial = initial_equity(dep.notes if dep else None, settings.trading.initial_balance)
    equity = sysd["equity"]
    pnl = None if equity is None else equity - initial
    alerts = dd.active_alerts(engine, b.deployment_id, b.view.since, b.view.now)
    c = st.columns(5)
    c[0].metric("Phase", f"{sysd['phase']}" if dep else "—",
                help=f"deployment #{sysd['deployment_id']} ({sysd['mode']})" if dep else None)
    c[1].metric("Status", sysd["status"] or "none")
    c[2].metric("Verdict", sysd["verdict"] or ("pending" if sysd["running"] else "—"))
    c[3].metric("Health score", "—" if sysd["health_score"] is None
                else f"{sysd['health_score']:.0f}/100")
    c[4].metric("Uptime", fmt_duration(sysd["uptime_seconds"]),
                delta=None if sysd["uptime_share"] is None
                else f"{100 * sysd['uptime_share']:.1f}% up", delta_color="off")
    c = st.columns(5)
    c[0].metric("Portfolio value", fmt_money(equity))
    c[1].metric("P&L", fmt_money(pnl),
                delta=None if pnl is None else f"{100 * pnl / initial:+.2f}%")
    c[2].metric("Error rate (1 h)", pct(sysd["error_rate_1h"], 2),
                help=f"{sysd['errors']} errors in {sysd['candle_closes']:,} candle closes")
    c[3].metric("Active alerts", f"{len(alerts)}",
                help="warning and critical alerts of the window, not acknowledged")
    c[4].metric("Max drawdown", "—" if sysd["max_drawdown_percent"] is None
                else f"{sysd['max_drawdown_percent']:.2f}%")
    ex = b.view.data.get("exchange")
    if ex is not None:  # live deployments: the exchange edge
        c = st.columns(5)
        c[0].metric("Requests / min", f"{ex['requests_per_minute']}",
                    help=f"limit {ex['limit_per_minute']}/min; peak "
                         f"{ex['max_requests_per_minute']}/min")
        c[1].metric("API errors (1 h)", pct(ex["api_error_rate_1h"], 2),
                    help=f"{ex['errors']} failed of {ex['requests']} requests, "
                         f"{ex['retries']} retries")
        c[2].metric("Ticker cache hits", pct(ex["cache_hit_rate"], 1))
        c[3].metric("Websocket uptime", pct(ex["websocket_uptime"], 1))
        c[4].metric("Circuit", ex["circuit"])
    age = b.view.data.get("model_age")
    if age is not None:  # the model-age budget (continuous_learning.retraining)
        c = st.columns(3)
        budget = age["budget_hours"]
        c[0].metric("Oldest model", f"{age['oldest']['hours']:.1f} h",
                    help=f"{age['oldest']['series']}, as of {age['as_of']} UTC")
        c[1].metric("Model-age budget", f"{budget:g} h" if budget else "off")
        c[2].metric("Over the budget", f"{len(age['over_budget'])}",
                    help=", ".join(age["over_budget"]) or "none")
    par = b.view.data.get("parity")
    if par is not None:  # `tradeloop parity`: live vs replay of the same candles and models
        c = st.columns(3)
        c[0].metric("Parity (live vs replay)", "identical" if par["identical"] else "diverged",
                    help=f"deployment {par['deployment_id']}, checked {par['checked_at']}; "
                         f"report {par['report']}")
        c[1].metric("Predictions identical",
                    f"{par['predictions_matched']:,}/{par['predictions']:,}")
        c[2].metric("Orders identical", f"{par['orders_matched']:,}/{par['orders']:,}")
        if par["first_divergence"]:
            st.caption(f"First divergence: {par['first_divergence']}")
    if dep is None:
        empty_state()
        return
    eq = dd.equity(engine, dep.id, b.view.since, b.view.now)
    confs = {s: dd.confidence(engine, s, b.view.since, b.view.now, max_points=800)
             for s in b.view.data["symbols"]}
    threshold = settings.continuous_learning.confidence.trading_threshold
    if st.toggle("Interactive charts", key="interactive",
                 help="plotly charts (zoom, hover); the light ones load faster"):
        overview_plotly(settings, eq, confs, threshold)
    else:
        times = np.asarray([ms_of(t) for t in eq["time"]], dtype=np.int64)
        st.markdown(svg_chart("Portfolio value and drawdown", [
            Panel([Line("equity", times, eq["equity"].to_numpy(float))], 260, "money"),
            Panel([Line("drawdown %", times, -eq["drawdown_percent"].to_numpy(float),
                        "#d73027", fill=True)], 130, "points",
                  [(-settings.risk.max_drawdown_percent, "max drawdown")])]),
            unsafe_allow_html=True)
        lines = [Line(s, np.asarray([ms_of(t) for t in f["time"]], dtype=np.int64),
                      f["confidence"].to_numpy(float), PALETTE[i % len(PALETTE)])
                 for i, (s, f) in enumerate(confs.items())]
        st.markdown(svg_chart("Confidence by symbol", [
            Panel(lines, 240, "percent", [(threshold, "threshold")])]), unsafe_allow_html=True)
    st.subheader("Symbols")
    rows = [{"symbol": s, "mode": d["mode"] + (" · paused" if s in b.paused else ""),
             "time in mode": fmt_duration(d["time_in_mode_seconds"]),
             "confidence": d["confidence"], "direction": d["direction"] or "—",
             "trades": d["trades"], "win rate": d["win_rate"], "P&L": d["pnl"],
             "retrains": d["retrains"]} for s, d in b.view.data["symbols"].items()]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="symbols_table", column_config={
        "confidence": st.column_config.NumberColumn(format="percent"),
        "win rate": st.column_config.NumberColumn(format="percent"),
        "P&L": st.column_config.NumberColumn(format="dollar")})
    st.subheader("Active alerts")
    if alerts.empty:
        st.caption("No active alerts.")
    else:
        st.dataframe(alerts, hide_index=True, key="alerts_table")


def overview_plotly(settings: Settings, eq: pd.DataFrame, confs: dict[str, pd.DataFrame],
                    threshold: float) -> None:
    """The Overview's charts in plotly (the interactive choice)."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3],
                        vertical_spacing=0.05)
    fig.add_trace(go.Scatter(x=eq["time"], y=eq["equity"], name="equity",
                             line={"color": "#2c7fb8"}), row=1, col=1)
    fig.add_trace(go.Scatter(x=eq["time"], y=-eq["drawdown_percent"], name="drawdown %",
                             fill="tozeroy", line={"color": "#d73027"}), row=2, col=1)
    fig.add_hline(y=-settings.risk.max_drawdown_percent, line_dash="dot", row=2, col=1,
                  annotation_text="max drawdown")
    fig.update_layout(title="Portfolio value and drawdown", height=420, margin=CHART_MARGIN,
                      showlegend=False)
    st.plotly_chart(fig, key="chart_equity")
    conf = go.Figure()
    for s, frame in confs.items():
        conf.add_trace(go.Scatter(x=frame["time"], y=frame["confidence"], name=s,
                                  mode="lines"))
    conf.add_hline(y=threshold, line_dash="dash", annotation_text="threshold")
    conf.update_layout(title="Confidence by symbol", height=320, margin=CHART_MARGIN,
                       yaxis={"tickformat": ".0%"})
    st.plotly_chart(conf, key="chart_confidence_all")


def mode_badge(mode: str, seconds: float, paused: bool) -> str:
    colour = MODE_COLOURS.get(mode, "#777")
    extra = " · ⏸ paused by operator" if paused else ""
    return (f"<div data-testid='mode-indicator' style='display:inline-block;padding:6px 14px;"
            f"border-radius:8px;background:{colour};color:white;font-weight:700'>{mode}</div>"
            f"&nbsp; for {fmt_duration(seconds)}{extra}")


def symbol_view(settings: Settings, b: dd.Board, handle: StoreHandle) -> None:
    engine = handle.engine
    syms = list(b.view.data["symbols"]) or list(settings.symbols)
    symbol = st.selectbox("Symbol", syms, key="symbol")
    info = b.view.data["symbols"].get(symbol, {})
    st.markdown(mode_badge(info.get("mode", "LEARNING"), info.get("time_in_mode_seconds", 0.0),
                           symbol in b.paused), unsafe_allow_html=True)
    since, now, dep = b.view.since, b.view.now, b.view.deployment
    conf_cfg = settings.continuous_learning.confidence
    frame = dd.confidence(engine, symbol, since, now)
    fig = go.Figure()
    fig.add_hrect(y0=conf_cfg.trading_threshold - conf_cfg.hysteresis,
                  y1=conf_cfg.trading_threshold, fillcolor="#f39c12", opacity=0.15,
                  line_width=0, annotation_text="hysteresis band")
    fig.add_hline(y=conf_cfg.trading_threshold, line_dash="dash", annotation_text="threshold")
    for mode, colour in MODE_COLOURS.items():
        part = frame[frame["mode"] == mode]
        fig.add_trace(go.Scatter(x=part["time"], y=part["confidence"], mode="markers",
                                 marker={"size": 4, "color": colour}, name=mode))
    fig.add_trace(go.Scatter(x=frame["time"], y=frame["confidence"], mode="lines",
                             line={"color": "#888", "width": 1}, name="confidence"))
    fig.update_layout(title=f"{symbol}: the gate's P(up) against the threshold", height=360,
                      margin=CHART_MARGIN, yaxis={"tickformat": ".0%"})
    st.plotly_chart(fig, key="chart_confidence")
    left, right = st.columns(2)
    left.subheader("Multi-timeframe signals")
    left.dataframe(dd.timeframe_signals(settings, engine, symbol, now), hide_index=True,
                   key="tf_signals", column_config={
                       "confidence": st.column_config.NumberColumn(format="percent")})
    right.subheader("Models")
    right.dataframe(dd.models(settings, engine, dep, symbol, now), hide_index=True,
                    key="models_table")
    closed = dd.trades(engine, b.deployment_id, since, now, symbol)
    curve = dd.pnl_curve(closed)
    pf = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3],
                       vertical_spacing=0.05)
    pf.add_trace(go.Scatter(x=curve["time"], y=curve["pnl"], mode="lines+markers",
                            name="cumulative P&L", line={"shape": "hv"}), row=1, col=1)
    pf.add_trace(go.Scatter(x=curve["time"], y=-curve["drawdown"], fill="tozeroy",
                            name="drawdown", line={"color": "#d73027", "shape": "hv"}),
                 row=2, col=1)
    pf.update_layout(title=f"{symbol}: closed-trade P&L and drawdown ($)", height=340,
                     margin=CHART_MARGIN, showlegend=False)
    st.plotly_chart(pf, key="chart_symbol_pnl")
    st.subheader("Trades")
    if closed.empty:
        st.caption("No closed trades in this window.")
    else:
        st.dataframe(closed.iloc[::-1], hide_index=True, key="symbol_trades")
    st.subheader("Retraining history")
    rt = dd.retraining(engine, since, now, symbol)
    if rt.empty:
        st.caption("No retraining in this window.")
    else:
        st.dataframe(rt, hide_index=True, key="retraining_table", column_config={
            "validation_confidence": st.column_config.NumberColumn(format="percent"),
            "validation_accuracy": st.column_config.NumberColumn(format="percent")})
    st.subheader("Drift")
    drift = dd.drift(engine, symbol, since, now)
    if drift.empty:
        st.caption("No drift check yet (one per 200 forecasts of a series).")
    else:
        df = go.Figure()
        for tf, part in drift.groupby("timeframe"):
            df.add_trace(go.Scatter(x=part["time"], y=part["feature_drift"], mode="lines+markers",
                                    name=f"{tf} feature drift"))
            df.add_trace(go.Scatter(x=part["time"], y=part["error_drift"], mode="lines",
                                    line={"dash": "dot"}, name=f"{tf} error drift"))
        df.add_hline(y=float(drift["threshold"].iloc[-1]), line_dash="dash",
                     annotation_text="feature-drift trigger")
        df.add_hline(y=1.0, line_dash="dot", annotation_text="error-drift trigger")
        df.update_layout(title=f"{symbol}: drift indicators", height=300, margin=CHART_MARGIN)
        st.plotly_chart(df, key="chart_drift")
    calibration_panel(b, symbol)
    sentiment_panel(settings, handle, symbol, b)


def sentiment_panel(settings: Settings, handle: StoreHandle, symbol: str, b: dd.Board
                    ) -> None:
    """News sentiment (seed 002): the symbol's newest headlines with their scores, and the
    decayed sentiment at each candle close beside the price."""
    st.subheader("News sentiment")
    if not (settings.news.configured or settings.model.features.sentiment):
        st.caption("No news source configured (news.feeds, news.cryptopanic): see the "
                   "README's news section.")
        return
    v = sentiment_view(settings, handle, symbol, ms_of(b.view.since), ms_of(b.view.now))
    if v.times_ms:
        fig = make_subplots(specs=[[{"secondary_y": True}]])
        when = [ts(t) for t in v.times_ms]
        fig.add_trace(go.Scatter(x=when, y=v.price, mode="lines", name="price",
                                 line={"color": "#888"}), secondary_y=False)
        fig.add_trace(go.Scatter(x=when, y=v.decayed, mode="lines", name="decayed sentiment",
                                 line={"color": "#1a9850"}), secondary_y=True)
        fig.update_yaxes(range=[-1, 1], secondary_y=True, title_text="sentiment")
        fig.update_layout(title=f"{symbol}: news sentiment ({v.model}) beside the price",
                          height=300, margin=CHART_MARGIN)
        st.plotly_chart(fig, key="chart_sentiment")
    if not v.headlines:
        st.caption(f"No headline mentions {symbol} yet (tradeloop news fetch / import).")
        return
    st.dataframe(pd.DataFrame([{
        "published (UTC)": h["published"], "source": h["source"], "title": h["title"],
        "sentiment": h["sentiment"], "label": h["label"] or "not scored"}
        for h in v.headlines]), hide_index=True, key="headlines_table")


def calibration_panel(b: dd.Board, symbol: str) -> None:
    """Live calibration: the symbol's gate and models on forecasts whose outcome is known."""
    st.subheader("Live calibration")
    cal = b.view.data.get("calibration") or {}
    rows = [("gate", cal.get("gates", {}).get(symbol))] + [
        (name.split(" ", 1)[1], r) for name, r in cal.get("models", {}).items()
        if name.split(" ", 1)[0] == symbol]
    rows = [(n, r) for n, r in rows if r is not None]
    if not rows:
        st.caption(f"No forecast of {symbol} has a known outcome yet (the horizon is "
                   f"{cal.get('horizon', '?')}).")
        return
    st.dataframe(pd.DataFrame([{
        "forecaster": n, "known outcomes": r["samples"], "hit rate": r["hit_rate"],
        "directional ECE": r["directional_ece"], "mean P(up)": r["mean_p_up"],
        "observed up": r["observed_up"],
        "verdict": ("too few to judge" if r["samples"] < cal["min_samples"] else
                    "⚠️ miscalibrated" if r["directional_ece"] > cal["max_gap"] else "✓")}
        for n, r in rows]), hide_index=True, key="calibration_table", column_config={
            k: st.column_config.NumberColumn(format="percent")
            for k in ("hit rate", "directional ECE", "mean P(up)", "observed up")})
    curve = rows[0][1]["reliability_curve"] if rows[0][0] == "gate" else []
    if curve:
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="calibrated",
                                 line={"dash": "dot", "color": "#888"}))
        fig.add_trace(go.Scatter(x=[c[0] for c in curve], y=[c[1] for c in curve],
                                 mode="lines+markers", name="gate P(up)",
                                 text=[f"{c[2]} forecasts" for c in curve]))
        fig.update_layout(title=f"{symbol}: reliability of the gate's P(up) (live)",
                          height=300, margin=CHART_MARGIN,
                          xaxis={"title": "forecast", "tickformat": ".0%"},
                          yaxis={"title": "observed", "tickformat": ".0%"})
        st.plotly_chart(fig, key="chart_reliability")


def activity_view(b: dd.Board, engine: Any) -> None:
    syms = ["All", *b.view.data["symbols"]]
    choice = st.selectbox("Symbol", syms, key="activity_symbol")
    feed = dd.activity(engine, b.view.deployment, b.view.since, b.view.now,
                       symbol=None if choice == "All" else choice)
    kinds = sorted(set(feed["kind"])) if not feed.empty else []
    shown = st.multiselect("Show", kinds, default=kinds, key="activity_kinds")
    if feed.empty:
        st.caption("Nothing happened in this window yet.")
        return
    st.dataframe(feed[feed["kind"].isin(shown)], hide_index=True, key="activity_feed",
                 height=600)


def controls_view(settings: Settings, b: dd.Board, op: Operator, engine: Any) -> None:
    holder = op.running()
    if holder:
        st.success(f"A deployment is running (pid {holder.get('pid')}, mode "
                   f"{holder.get('mode')}, {holder.get('symbols')}): commands reach it within "
                   f"a few seconds.")
    else:
        st.info("No deployment is running: pauses, the strategy and Wipe Data apply to the "
                "stored state at once; a retrain runs in the background.")
    symbols = list(b.view.data["symbols"]) or list(settings.symbols)
    st.subheader("Strategy")
    options = choices(settings)
    names = list(options)
    current = b.strategy if b.strategy in names else settings.trading.strategy
    choice = st.selectbox("Active strategy", names, index=names.index(current),
                          format_func=lambda n: f"{n} — {options[n]}", key="strategy_choice")
    st.caption(f"Active now: **{current}**")
    if st.button("Switch strategy", key="btn_strategy", disabled=choice == current):
        ask("strategy", argument=choice)
        st.rerun()
    st.subheader("Symbol")
    symbol = st.selectbox("Symbol", symbols, key="control_symbol")
    paused = symbol in b.paused
    c = st.columns(3)
    if c[0].button("Resume" if paused else "Pause", key="btn_pause"):
        ask("resume" if paused else "pause", symbol=symbol)
        st.rerun()
    tf = c[1].selectbox("Timeframe", ["main", *settings.timeframes.names], key="retrain_tf",
                        label_visibility="collapsed")
    if c[2].button("Retrain now", key="btn_retrain"):
        ask("retrain", symbol=symbol, timeframe=None if tf == "main" else tf)
        st.rerun()
    st.subheader("Danger zone")
    d = st.columns(2)
    if d[0].button("🛑 Emergency stop", key="btn_emergency", type="primary"):
        ask("rollback")
        st.rerun()
    if d[1].button("🗑 Wipe Data", key="btn_wipe"):
        ask("wipe")
        st.rerun()
    st.subheader("Recent commands")
    cmds = dd.commands(engine)
    if cmds.empty:
        st.caption("No command yet.")
    else:
        st.dataframe(cmds, hide_index=True, key="commands_table")


def export_view(settings: Settings, b: dd.Board, engine: Any) -> None:
    closed = dd.trades(engine, b.deployment_id, b.view.since, b.view.now)
    st.caption(f"{len(closed)} closed trades in the window "
               f"({b.view.since:%Y-%m-%d %H:%M} – {b.view.now:%Y-%m-%d %H:%M} UTC).")
    stem = f"deployment{b.deployment_id or 0}"
    c = st.columns(3)
    c[0].download_button("Trades (CSV)", dd.export_trades(closed, "csv"),
                         file_name=f"trades_{stem}.csv", mime="text/csv", key="dl_trades_csv")
    c[1].download_button("Trades (JSON)", dd.export_trades(closed, "json"),
                         file_name=f"trades_{stem}.json", mime="application/json",
                         key="dl_trades_json")
    c[2].download_button("Report (JSON)", dd.export_report(b.view),
                         file_name=f"report_{stem}.json", mime="application/json",
                         key="dl_report_json")


def data_view(handle: StoreHandle) -> None:
    status = handle.candles.status()
    if not status:
        st.info("No candles stored yet. Run `tradeloop data import ../shared/data` or "
                "`tradeloop data synth`.")
        return
    st.subheader("Stored candles")
    st.dataframe(pd.DataFrame([
        {"exchange": s.key.exchange, "symbol": s.key.symbol, "timeframe": s.key.timeframe,
         "first (UTC)": fmt_ms(s.first_open), "last (UTC)": fmt_ms(s.last_open),
         "rows": s.rows, "gaps": s.gaps, "missing": s.missing} for s in status]),
        hide_index=True, key="coverage")
    labels = {f"{s.key.exchange} {s.key.symbol} {s.key.timeframe}": s for s in status}
    chosen = labels[st.selectbox("Series", list(labels), key="series")]
    tf_ms = Timeframe.parse(chosen.key.timeframe).ms
    candles = handle.candles.load(chosen.key, start_ms=chosen.last_open - (MAX_CANDLES - 1) * tf_ms)
    times = [ts(int(t)) for t in candles.open_time]
    fig = go.Figure(go.Candlestick(x=times, open=candles.open, high=candles.high,
                                   low=candles.low, close=candles.close, name=str(chosen.key)))
    fig.update_layout(title=f"Last {len(candles)} candles of {chosen.key}", height=480,
                      xaxis_rangeslider_visible=False, margin=CHART_MARGIN)
    st.plotly_chart(fig, key="chart_candles")


# -- strategies: the library, imported files, optimisation studies, one backtest drawn -------
BACKTEST_CANDLES = 2_000  # candles drawn under the trades (the equity covers the window)


@st.cache_data(show_spinner="Reading the study…", max_entries=8)
def study_view(config: str | None, name: str, trials: int) -> rv.StudyView:
    """A study's view; ``trials`` (its size now) keys the cache so new trials show."""
    return rv.study(load_settings(config), name)


def strategies_view(settings: Settings, handle: StoreHandle) -> None:
    st.subheader("Library")
    st.dataframe(rv.library(), hide_index=True, key="library_table")
    names = list(STRATEGIES)
    chosen = st.selectbox("Parameters of", names, key="library_strategy",
                          format_func=lambda n: f"{n} — {STRATEGIES[n]}")
    params = rv.parameters(chosen)
    if params.empty:
        st.caption(f"{chosen} has no parameters of its own (its models decide).")
    else:
        st.dataframe(params, hide_index=True, key="params_table")
    st.subheader("Imported strategy files")
    files = rv.files(settings)
    if files.empty:
        st.caption("No file imported yet: `tradeloop strategy import FILE` keeps one in "
                   "strategies/; `tradeloop run --strategy-file FILE` trades it.")
    else:
        st.dataframe(files, hide_index=True, key="files_table", column_config={
            k: st.column_config.NumberColumn(format="percent")
            for k in ("win rate", "return")})
    config = os.environ.get("TRADELOOP_CONFIG")
    st.subheader("Optimisation studies")
    studies = rv.studies(settings)
    view: rv.StudyView | None = None
    if studies.empty:
        st.caption("No study yet: `tradeloop optimize --strategy NAME --symbol S --timeframe "
                   "TF --from D --to D`.")
    else:
        st.dataframe(studies, hide_index=True, key="studies_table")
        name = st.selectbox("Study", list(studies["study"]), key="study")
        size = int(studies.loc[studies["study"] == name, "trials"].iloc[0])
        view = study_view(config, name, size)
        study_panel(settings, view)
    st.subheader("Visualize a backtest")
    backtest_panel(settings, handle, view, files)


def study_panel(settings: Settings, view: rv.StudyView) -> None:
    r = view.report
    c = st.columns(5)
    c[0].metric("Trials", f"{r.trials}", help=f"{r.completed} completed, {r.pruned} pruned "
                                               f"(too few trades), {r.failed} failed")
    c[1].metric(f"Best {r.spec.objective} (in-sample)",
                "—" if r.best_value is None else f"{r.best_value:.2f}",
                help=None if r.best_number is None else f"trial {r.best_number}")
    c[2].metric("Deflated Sharpe p", "—" if r.deflated is None
                else f"{r.deflated.probability:.2f}",
                help="probability that the chosen trial's Sharpe beats the best of as many "
                     "trials of pure luck (significant at 0.95 and above)")
    c[3].metric("PBO", "—" if r.overfitting is None else f"{r.overfitting.pbo:.2f}",
                help="probability of backtest overfitting (CSCV): how often the in-sample "
                     "best falls below the median out of sample; 0.5 and above: no skill")
    c[4].metric("Window", f"{fmt_ms(r.spec.start_ms)[:10]} – {fmt_ms(r.spec.end_ms)[:10]}")
    if r.deflated is not None and r.deflated.probability < 0.95:
        st.warning(f"The best of {r.trials} trials is not distinguishable from luck "
                   f"(deflated Sharpe p {r.deflated.probability:.2f} < 0.95).")
    trials = view.trials
    done = trials[trials["value"].notna()]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=done["trial"], y=done["value"], mode="markers", name="trial"))
    fig.add_trace(go.Scatter(x=trials["trial"], y=trials["best so far"], mode="lines",
                             line={"shape": "hv"}, name="best so far"))
    fig.update_layout(title=f"{r.spec.objective} per trial", height=320, margin=CHART_MARGIN,
                      xaxis={"title": "trial"})
    st.plotly_chart(fig, key="chart_trials")
    left, right = st.columns(2)
    if view.importance:
        imp = go.Figure(go.Bar(x=list(view.importance.values()),
                               y=list(view.importance), orientation="h"))
        imp.update_layout(title="Parameter importance (fANOVA)", height=320,
                          margin=CHART_MARGIN, yaxis={"autorange": "reversed"})
        left.plotly_chart(imp, key="chart_importance")
    else:
        left.caption("Parameter importance needs at least four completed trials that differ.")
    if not view.folds.empty:
        folds = go.Figure()
        folds.add_trace(go.Bar(x=view.folds["fold"], y=view.folds["in-sample"],
                               name="in-sample"))
        folds.add_trace(go.Bar(x=view.folds["fold"], y=view.folds["out-of-sample"],
                               name="out-of-sample"))
        folds.add_trace(go.Scatter(x=view.folds["fold"],
                                   y=view.folds["median trial out-of-sample"],
                                   mode="markers", name="median trial out-of-sample"))
        folds.update_layout(title=f"Walk-forward: in- vs out-of-sample {r.spec.objective}",
                            height=320, margin=CHART_MARGIN, barmode="group",
                            xaxis={"title": "fold", "dtick": 1})
        right.plotly_chart(folds, key="chart_folds")
        st.dataframe(view.folds, hide_index=True, key="folds_table")
    st.dataframe(trials.iloc[::-1], hide_index=True, key="trials_table", height=300)
    if r.best_number is not None:
        if st.button("Prepare the strategy file of the best trial", key="btn_export"):
            from tradeloop.app.strategy_files import export_strategy

            with st.spinner("Backtesting the best trial for the file's metrics…"):
                doc = export_strategy(settings, r.spec.strategy, r.best_params, r.spec.symbol,
                                      r.spec.timeframe, r.spec.start_ms, r.spec.end_ms,
                                      extra_metrics=r.metrics())
            st.session_state["export"] = (r.name, json.dumps(doc, indent=2) + "\n")
        ready = st.session_state.get("export")
        if ready and ready[0] == r.name:
            st.download_button("Download strategy.json", ready[1], key="dl_strategy",
                               file_name=f"{r.name}.json", mime="application/json")


def backtest_panel(settings: Settings, handle: StoreHandle, view: rv.StudyView | None,
                   files: pd.DataFrame) -> None:
    sources = ["Library strategy"] + (["Trial of the study"] if view is not None else []) + \
        (["Imported file"] if not files.empty else [])
    source = st.radio("Backtest", sources, horizontal=True, key="bt_source")
    status = handle.candles.status()
    series = [s.key for s in status]
    if not series:
        st.caption("No candles stored yet to backtest on.")
        return
    c = st.columns(4)
    if source == "Trial of the study":
        assert view is not None
        r = view.report
        options = list(view.params)
        if not options or r.best_number is None:
            st.caption("No completed trial in this study.")
            return
        trial = c[0].selectbox("Trial", options, index=options.index(r.best_number),
                               key="bt_trial")
        params = view.params[trial]
        run = lambda: rv.settings_for(settings, strategy=r.spec.strategy,  # noqa: E731
                                      params=params, symbol=r.spec.symbol,
                                      timeframe=r.spec.timeframe)
        default = (ts(r.spec.start_ms), ts(r.spec.end_ms))
        what = f"{r.spec.strategy} trial {trial} on {r.spec.symbol} {r.spec.timeframe}"
    else:
        if source == "Imported file":
            file = c[0].selectbox("File", list(files["file"]), key="bt_file")
            path = settings.path("strategies") / file
            run = lambda: rv.settings_for(settings, file=path)  # noqa: E731
            what = file
        else:
            name = c[0].selectbox("Strategy", [n for n in STRATEGIES
                                               if not spec_of(n).needs_models],
                                  key="bt_strategy")
            labels = {f"{k.symbol} {k.timeframe}": k for k in series}
            key = labels[c[1].selectbox("Series", list(labels), key="bt_series")]
            run = lambda: rv.settings_for(settings, strategy=name,  # noqa: E731
                                          symbol=key.symbol, timeframe=key.timeframe)
            what = f"{name} (defaults) on {key.symbol} {key.timeframe}"
        last = max(s.last_open for s in status)
        default = (ts(last) - timedelta(days=90), ts(last))
    slot = {"Library strategy": "lib", "Trial of the study": "trial"}.get(source, "file")
    start = c[2].date_input("From", default[0].date(), key=f"bt_from_{slot}")
    end = c[3].date_input("To", default[1].date(), key=f"bt_to_{slot}")
    if st.button("Run backtest", key="btn_backtest"):
        try:
            with st.spinner(f"Backtesting {what}…"):
                s = run()
                result = rv.backtest(s, day_ms(start), day_ms(end))
            st.session_state["backtest"] = (what, result)
        except TradeloopError as exc:
            st.error(f"Cannot backtest {what}: {exc}")
    shown = st.session_state.get("backtest")
    if shown:
        backtest_charts(*shown)


def day_ms(d: date) -> int:
    return ms_of(datetime(d.year, d.month, d.day))


def backtest_charts(what: str, b: rv.BacktestView) -> None:
    eq = b.equity
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3],
                        vertical_spacing=0.05)
    fig.add_trace(go.Scatter(x=eq["time"], y=eq["equity"], name="strategy"), row=1, col=1)
    fig.add_trace(go.Scatter(x=eq["time"], y=eq["buy_and_hold"], name="buy and hold",
                             line={"dash": "dot", "color": "#888"}), row=1, col=1)
    fig.add_trace(go.Scatter(x=eq["time"], y=-eq["drawdown_percent"], name="drawdown %",
                             fill="tozeroy", line={"color": "#d73027"}), row=2, col=1)
    fig.update_layout(title=f"Equity and drawdown: {what}", height=420, margin=CHART_MARGIN)
    st.plotly_chart(fig, key="chart_bt_equity")
    left, right = st.columns([2, 1])
    candles = b.candles.iloc[-BACKTEST_CANDLES:]
    chart = go.Figure(go.Candlestick(x=candles["time"], open=candles["open"],
                                     high=candles["high"], low=candles["low"],
                                     close=candles["close"], name="candles"))
    trades = b.trades
    if not trades.empty:
        shown = trades[trades["exit_time"] >= candles["time"].iloc[0]]
        chart.add_trace(go.Scatter(x=shown["entry_time"], y=shown["entry_price"],
                                   mode="markers", name="entry",
                                   marker={"symbol": "triangle-up", "size": 10,
                                           "color": "#1a9850"}))
        chart.add_trace(go.Scatter(x=shown["exit_time"], y=shown["exit_price"],
                                   mode="markers", name="exit", text=shown["exit_reason"],
                                   marker={"symbol": "triangle-down", "size": 10,
                                           "color": "#d73027"}))
    chart.update_layout(title=f"Trades on the last {len(candles)} candles", height=420,
                        xaxis_rangeslider_visible=False, margin=CHART_MARGIN)
    left.plotly_chart(chart, key="chart_bt_trades")
    right.dataframe(b.metrics(), hide_index=True, key="bt_metrics")
    st.dataframe(trades.iloc[::-1], hide_index=True, key="bt_trades")


FUNNEL = ("candidate", "backtested", "paper", "live_candidate", "live")


def pipeline_view(handle: StoreHandle, capital: float, op: Operator) -> None:
    """Strategy graduation (seed 000): the live pipeline or a rehearsal (``capital``: the
    book each live instance trades on paper)."""
    st.subheader("Strategy graduation")
    first = read_pipeline(handle, transitions=0)
    if first.pipeline is None:
        st.info("No graduation pipeline yet. Wipe Data starts the live one; "
                "`tradeloop graduation --replay --from 2024-01-01 --to 2025-01-01` rehearses "
                "one on the stored history.")
        return
    name = st.selectbox("Pipeline", first.known, index=first.known.index(first.pipeline),
                        key="pipeline_name")
    p = read_pipeline(handle, name, transitions=None, allocations=True, capital=capital)
    now = p.now()
    if p.progress is not None:
        prog = p.progress
        st.caption(f"Backtests: {prog['done']}/{prog['total']} (as of {prog['as_of'][:16]})")
    counts = {s: sum(1 for i in p.instances if i.stage == s) for s in
              (*FUNNEL, "under_review", "retired")}
    cols = st.columns(len(counts))
    for col, (stage, n) in zip(cols, counts.items(), strict=True):
        col.metric(stage.replace("_", " "), n)
    left, right = st.columns(2)
    funnel = go.Figure(go.Funnel(y=[s.replace("_", " ") for s in FUNNEL],
                                 x=[p.reached.get(s, 0) for s in FUNNEL],
                                 textinfo="value+percent initial"))
    funnel.update_layout(title="Graduation funnel (instances that ever reached each stage)",
                         height=360, margin=CHART_MARGIN)
    left.plotly_chart(funnel, key="chart_funnel")
    alloc = pd.DataFrame(p.allocations)
    fig = go.Figure()
    if not alloc.empty:
        for inst, rows in alloc.groupby("instance", sort=True):
            fig.add_trace(go.Scatter(x=rows["time"], y=rows["fraction"], name=str(inst),
                                     mode="lines", stackgroup="capital"))
    fig.update_layout(title="Allocation over time (share of the account)", height=360,
                      margin=CHART_MARGIN, yaxis={"tickformat": ".0%"}, showlegend=False)
    right.plotly_chart(fig, key="chart_allocations")
    rows = []
    for i in p.instances:
        row: dict[str, Any] = {
            "instance": i.instance, "stage": i.stage,
            "time in stage": fmt_duration((now - i.stage_since).total_seconds()),
            "allocation": i.fraction, "verdict": (i.verdict or {}).get("reason", "")}
        perf = p.performance.get(i.instance)
        if perf is not None and perf.trades:  # the live pipeline's: from its own trades
            row.update({"closed trades": perf.trades, "P&L": round(perf.pnl, 2),
                        "win rate": perf.win_rate, "realised Sharpe": perf.sharpe,
                        "realised drawdown": perf.max_drawdown})
        for crit, c in ((i.verdict or {}).get("criteria") or {}).items():
            value = "n/a" if c["value"] is None else f"{c['value']:.3g}"
            row[crit] = f"{'✓' if c['passed'] else '✗'} {value} {c['op']} {c['threshold']:g}"
        rows.append(row)
    st.caption("Each instance against its stage's criteria at its last judgement "
               f"({'now' if name == 'live' else f'simulated time {now:%Y-%m-%d %H:%M}'}).")
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="pipeline_instances",
                 column_config={c: st.column_config.NumberColumn(format="percent")
                                for c in ("allocation", "win rate", "realised drawdown")})
    moves = pd.DataFrame([{"time": t["time"], "instance": t["instance"],
                           "move": f"{t['from']} -> {t['to']}", "reason": t["reason"]}
                          for t in reversed(p.transitions)])
    st.subheader("Transitions (latest first)")
    st.dataframe(moves, hide_index=True, key="pipeline_transitions")
    blacklist_panel(op)


def blacklist_panel(op: Operator) -> None:
    """Seed 003's symbol filtering: what is blacklisted, why and until when; lift an entry
    or add one (the running session reads the list within a second)."""
    st.subheader("Symbol blacklist")
    now = datetime.now(UTC).replace(tzinfo=None)
    entries = op.blacklist_entries()
    active = [e for e in entries if e.lifted_at is None and e.expires_at > now]
    if active:
        st.dataframe(pd.DataFrame([{"symbol": e.symbol, "source": e.source,
                                    "since": e.created_at, "until": e.expires_at,
                                    "reason": e.reason} for e in active]),
                     hide_index=True, key="blacklist_active")
        cols = st.columns(min(len(active), 6))
        for i, e in enumerate(active):
            if cols[i % len(cols)].button(f"Lift {e.symbol}", key=f"lift_{e.id}"):
                try:
                    st.success(op.lift_blacklist(e.symbol))
                except TradeloopError as exc:
                    st.error(str(exc))
    else:
        st.caption("No symbol is blacklisted now.")
    past = [e for e in entries if e not in active]
    if past:
        with st.expander(f"Earlier entries ({len(past)})"):
            st.dataframe(pd.DataFrame([{"symbol": e.symbol, "source": e.source,
                                        "since": e.created_at, "until": e.expires_at,
                                        "lifted": e.lifted_at, "by": e.lifted_by,
                                        "reason": e.reason} for e in past]),
                         hide_index=True, key="blacklist_past")
    with st.form("blacklist_add"):
        symbol = st.selectbox("Symbol", op.settings.symbols, key="blacklist_symbol")
        hours = st.number_input("Hours", min_value=1.0, value=24.0, key="blacklist_hours")
        reason = st.text_input("Reason", key="blacklist_reason")
        if st.form_submit_button("Blacklist"):
            try:
                st.success(op.blacklist(symbol, float(hours), reason))
            except TradeloopError as exc:
                st.error(str(exc))


PRICE_REFRESH_SECONDS = 1.0


def live_prices(engine: Any) -> None:
    """The session's latest price of each symbol (written every second while it runs)."""
    rows = dd.latest_prices(engine)
    if not rows:
        return
    now = datetime.now(UTC).replace(tzinfo=None)
    cols = st.columns(min(len(rows), 6))
    for i, (symbol, price, at, written) in enumerate(rows):
        age = max(0.0, (now - written).total_seconds())
        cols[i % len(cols)].metric(f"{symbol} price", f"{price:,.6g}",
                                   help=f"as of {at:%H:%M:%S} UTC; written {age:.0f} s ago")


def main() -> None:
    st.set_page_config(page_title="tradeloop", page_icon="📈", layout="wide")
    try:
        settings, handle = connect(os.environ.get("TRADELOOP_CONFIG"))
    except TradeloopError as exc:
        st.error(f"Cannot open tradeloop: {exc}")
        return
    engine = handle.engine
    op = Operator(settings, engine, by="dashboard")
    side = st.sidebar
    side.title("tradeloop")
    deps = dd.deployments(engine)
    labels = {"Latest": None} | {label: i for i, label in deps}
    chosen = side.selectbox("Deployment", list(labels), key="deployment")
    window = side.selectbox("Window", list(WINDOWS), index=2, key="window")
    view = side.radio("View", VIEWS, key="view")
    if side.button("↻ Refresh", key="refresh"):
        st.rerun()
    b = dd.board(settings, engine, hours=WINDOWS[window], deployment_id=labels[chosen])
    running = "🟢 running" if b.view.running else "⚪ not running"
    st.title("tradeloop")
    st.caption(f"{running} · strategy **{b.strategy}** · window {b.view.since:%Y-%m-%d %H:%M} "
               f"– {b.view.now:%Y-%m-%d %H:%M} UTC")
    if b.view.running:  # seed 003: live prices within a second, without reloading the page
        st.fragment(run_every=PRICE_REFRESH_SECONDS)(live_prices)(engine)
    else:
        live_prices(engine)
    confirmation(op)
    if view == "Overview":
        overview(settings, b, engine)
    elif view == "Symbols":
        symbol_view(settings, b, handle)
    elif view == "Activity":
        activity_view(b, engine)
    elif view == "Controls":
        controls_view(settings, b, op, engine)
    elif view == "Export":
        export_view(settings, b, engine)
    elif view == "Data":
        data_view(handle)
    elif view == "Strategies":
        strategies_view(settings, handle)
    else:
        pipeline_view(handle, settings.trading.initial_balance, op)


# Streamlit runs this file as ``__main__``; a process spawned from a process that ran it (a
# retraining worker) imports it as ``__mp_main__`` and must not draw the dashboard again.
if __name__ == "__main__":
    main()
