"""A loopback fake of the Binance REST endpoints ccxt calls, with fault injection.

Serves ``exchangeInfo``, ``klines``, ``time`` and ``ping`` from in-memory candles on
127.0.0.1. Faults queued in ``faults`` apply to the next requests, one each: ``"429"``
(with Retry-After), ``"500"``, ``"503"``, ``"timeout"``, ``"reset"``, ``"shuffle"`` (klines out
of order) and ``"duplicate"`` (klines with a repeated candle).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np

from tradeloop.domain.candles import CandleArrays
from tradeloop.domain.timeframes import Timeframe


def _market(base: str, quote: str) -> dict[str, Any]:
    return {
        "symbol": f"{base}{quote}", "status": "TRADING", "baseAsset": base,
        "baseAssetPrecision": 8, "quoteAsset": quote, "quotePrecision": 8,
        "quoteAssetPrecision": 8, "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True, "ocoAllowed": True, "quoteOrderQtyMarketAllowed": True,
        "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000.00",
             "tickSize": "0.01"},
            {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000.0",
             "stepSize": "0.00001"},
            {"filterType": "NOTIONAL", "minNotional": "5.0", "applyMinToMarket": True,
             "maxNotional": "9000000.0", "avgPriceMins": 5},
        ],
        "permissions": [], "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER"],
    }


class FakeExchange:
    """Run with ``with FakeExchange() as fx:``; point ccxt at ``fx.url``."""

    def __init__(self, *, now_ms: int | None = None) -> None:
        self.candles: dict[tuple[str, str], CandleArrays] = {}
        self.faults: deque[str] = deque()
        self.requests: list[str] = []
        self.request_times: list[float] = []
        self.now_ms = now_ms
        self.max_limit = 1000
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add_candles(self, symbol: str, timeframe: str, candles: CandleArrays) -> None:
        self.candles[(symbol.replace("/", ""), timeframe)] = candles

    def __enter__(self) -> FakeExchange:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- request handling -----------------------------------------------------------------
    def _next_fault(self) -> str | None:
        with self._lock:
            return self.faults.popleft() if self.faults else None

    def _klines(self, query: dict[str, list[str]], fault: str | None) -> list[list[Any]]:
        symbol = query["symbol"][0]
        interval = query["interval"][0]
        limit = min(int(query.get("limit", ["500"])[0]), self.max_limit)
        start = int(query.get("startTime", ["0"])[0])
        end = int(query.get("endTime", [str(2**62)])[0])
        c = self.candles.get((symbol, interval))
        if c is None:
            return []
        tf = Timeframe.parse(interval)
        now = self.now_ms if self.now_ms is not None else time.time_ns() // 1_000_000
        mask = (c.open_time >= start) & (c.open_time <= end) & (c.open_time <= now)
        idx = np.flatnonzero(mask)[:limit]
        rows = [[int(c.open_time[i]), repr(float(c.open[i])), repr(float(c.high[i])),
                 repr(float(c.low[i])), repr(float(c.close[i])), repr(float(c.volume[i])),
                 int(c.open_time[i]) + tf.ms - 1, "0", 10, "0", "0", "0"] for i in idx]
        if fault == "shuffle" and len(rows) > 2:
            rows[0], rows[-1] = rows[-1], rows[0]
        if fault == "duplicate" and rows:
            rows.insert(1, list(rows[0]))
        return rows

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fx = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parsed = urlparse(self.path)
                fx.requests.append(parsed.path)
                fx.request_times.append(time.monotonic())
                fault = fx._next_fault() if parsed.path.endswith("/klines") else None
                if fault == "429":
                    self._send(429, {"code": -1003, "msg": "Too many requests."},
                               {"Retry-After": "0"})
                    return
                if fault in ("500", "503"):
                    self._send(int(fault), {"code": -1001, "msg": "Internal error."})
                    return
                if fault == "timeout":
                    time.sleep(2.5)
                    self._send(504, {"code": -1007, "msg": "Timeout."})
                    return
                if fault == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.connection.close()
                    return
                query = parse_qs(parsed.query)
                if parsed.path.endswith("/exchangeInfo"):
                    symbols = sorted({s for s, _ in fx.candles} | {"BTCUSDT", "ETHUSDT"})
                    markets = [_market(s[:-4], s[-4:]) for s in symbols if s.endswith("USDT")]
                    self._send(200, {"timezone": "UTC", "serverTime": int(time.time() * 1000),
                                     "rateLimits": [], "exchangeFilters": [],
                                     "symbols": markets})
                elif parsed.path.endswith("/klines"):
                    self._send(200, fx._klines(query, fault))
                elif parsed.path.endswith("/time"):
                    self._send(200, {"serverTime": int(time.time() * 1000)})
                elif parsed.path.endswith("/ping"):
                    self._send(200, {})
                else:
                    self._send(404, {"code": -1, "msg": f"no route {parsed.path}"})

        return Handler
