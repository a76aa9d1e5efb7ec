"""Operator dashboard (Streamlit): `streamlit run dashboard.py --server.address 127.0.0.1`.

This version shows the candle store: coverage of every stored series and a candlestick chart
of any of them. It reads only through the store, so it works while imports or downloads run.
The trading views and controls arrive with the engine (see README, Roadmap).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import plotly.graph_objects as go
import streamlit as st

from tradeloop.app import open_store
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.timeframes import Timeframe
from tradeloop.settings import load_settings

MAX_CANDLES = 500


def fmt(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def main() -> None:
    st.set_page_config(page_title="tradeloop", layout="wide")
    st.title("tradeloop")
    settings = load_settings(os.environ.get("TRADELOOP_CONFIG"))
    store = open_store(settings)
    try:
        status = store.candles.status()
        st.subheader("Stored candles")
        if not status:
            st.info("No candles stored yet. Run `tradeloop data import ../shared/data` or "
                    "`tradeloop data synth`.")
            return
        st.dataframe(
            [{"exchange": s.key.exchange, "symbol": s.key.symbol, "timeframe": s.key.timeframe,
              "first (UTC)": fmt(s.first_open), "last (UTC)": fmt(s.last_open), "rows": s.rows,
              "gaps": s.gaps, "missing": s.missing} for s in status],
            hide_index=True, use_container_width=True)
        labels = {f"{s.key.exchange} {s.key.symbol} {s.key.timeframe}": s for s in status}
        choice = st.selectbox("Series", list(labels), key="series")
        chosen = labels[choice]
        key: SeriesKey = chosen.key
        tf_ms = Timeframe.parse(key.timeframe).ms
        candles = store.candles.load(key, start_ms=chosen.last_open - (MAX_CANDLES - 1) * tf_ms)
        times = [datetime.fromtimestamp(t / 1000, UTC) for t in candles.open_time.tolist()]
        fig = go.Figure(go.Candlestick(x=times, open=candles.open, high=candles.high,
                                       low=candles.low, close=candles.close, name=str(key)))
        fig.update_layout(height=480, xaxis_rangeslider_visible=False,
                          margin={"l": 10, "r": 10, "t": 30, "b": 10})
        st.subheader(f"Last {len(candles)} candles of {key}")
        st.plotly_chart(fig, use_container_width=True)
    finally:
        store.close()


main()
