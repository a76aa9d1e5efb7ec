"""A loopback fake of the Binance spot REST endpoints ccxt calls, with fault injection.

Public: ``exchangeInfo``, ``klines``, ``ticker/24hr``, ``time``, ``ping``. Signed (the API
key header is checked): ``order`` (POST/GET/DELETE), ``openOrders``, ``myTrades`` and
``account``, on an in-memory account. Market orders fill at once at the current price (the
close of the newest closed candle, or ``prices[symbol]``) with a 0.1 % fee in the quote asset;
a limit order fills when it is marketable, else it rests until the price reaches it. Like
Binance, a client order id is refused while an open order has it ("Duplicate order sent."),
but a filled order's id may be used again -- so a client that re-sends blindly creates
duplicates, which :meth:`duplicate_client_ids` counts.

Faults, each taken by one request: ``faults`` for ``klines`` (kept for the feed tests),
``order_faults`` for order placement, ``any_faults`` for any endpoint, ``path_faults`` for
the endpoints whose path ends so; or random faults on
every endpoint with probability ``fault_rate``. Kinds: ``"429"`` (with Retry-After), ``"500"``,
``"503"``, ``"timeout"`` (answers after ``timeout_delay`` seconds), ``"reset"`` (connection
dropped before the request is handled), ``"lost"`` (the request is handled -- an order is
accepted -- and then the connection is dropped: the response is lost), ``"shuffle"`` and
``"duplicate"`` (klines out of order / with a repeated candle) and ``"echo_key"`` (a 401
whose message repeats the API key, as a misconfigured proxy would: for redaction tests).
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np

from tests.fakes import FakeClock
from tradeloop.deploy.session import DeploymentSession
from tradeloop.domain.candles import CandleArrays
from tradeloop.domain.timeframes import Timeframe
from tradeloop.ports import RetrainRunner, StoreHandle
from tradeloop.settings import Settings

FEE = 0.001
RANDOM_FAULTS = ("429", "500", "503", "timeout", "reset", "lost")


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


class _Reply(Exception):
    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


class FakeExchange:
    """Run with ``with FakeExchange() as fx:``; point ccxt at ``fx.url``."""

    def __init__(self, *, now_ms: int | None = None, api_key: str | None = None,
                 balances: dict[str, float] | None = None, seed: int = 0) -> None:
        self.candles: dict[tuple[str, str], CandleArrays] = {}
        self.faults: deque[str] = deque()
        self.order_faults: deque[str] = deque()
        self.any_faults: deque[str] = deque()
        self.path_faults: dict[str, deque[str]] = {}  # by path suffix, e.g. "/account"
        self.fault_rate = 0.0
        self.fault_kinds: tuple[str, ...] = RANDOM_FAULTS
        self.timeout_delay = 2.5
        self.injected: dict[str, int] = {}
        self.rng = random.Random(seed)
        self.requests: list[str] = []
        self.request_times: list[float] = []
        self.now_ms = now_ms
        self.clock: Callable[[], int] | None = None
        self.max_limit = 1000
        self.api_key = api_key
        self.prices: dict[str, float] = {}
        self.balances: dict[str, float] = dict(balances or {"USDT": 10_000.0})
        self.locked: dict[str, float] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.trades: list[dict[str, Any]] = []
        self._next_id = 1000
        self._lock = threading.RLock()
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

    # -- account queries for tests ----------------------------------------------------------
    def now(self) -> int:
        if self.clock is not None:
            return self.clock()
        return self.now_ms if self.now_ms is not None else time.time_ns() // 1_000_000

    def price(self, market_id: str) -> float:
        """The current price: ``prices`` if set, else the newest closed candle's close."""
        if market_id in self.prices:
            return self.prices[market_id]
        now, best = self.now(), None
        for (sym, interval), c in self.candles.items():
            if sym != market_id or not len(c):
                continue
            tf = Timeframe.parse(interval)
            i = int(np.searchsorted(c.open_time, now - tf.ms, side="right")) - 1
            if i >= 0 and (best is None or c.open_time[i] + tf.ms > best[0]):
                best = (int(c.open_time[i]) + tf.ms, float(c.close[i]))
        return best[1] if best is not None else 100.0

    def duplicate_client_ids(self) -> dict[str, int]:
        """Client order ids used by more than one accepted order."""
        counts: dict[str, int] = {}
        for o in self.orders.values():
            counts[o["clientOrderId"]] = counts.get(o["clientOrderId"], 0) + 1
        return {k: v for k, v in counts.items() if v > 1}

    def set_price(self, market_id: str, price: float) -> None:
        """Move the price; resting limit orders that it reaches fill."""
        with self._lock:
            self.prices[market_id] = price
            for o in self.orders.values():
                if o["symbol"] == market_id and o["status"] == "NEW":
                    limit = float(o["price"])
                    if (o["side"] == "BUY" and price <= limit) or \
                            (o["side"] == "SELL" and price >= limit):
                        self._unlock(o)
                        self._execute(o, limit)

    # -- matching ---------------------------------------------------------------------------
    def _split(self, market_id: str) -> tuple[str, str]:
        return market_id[:-4], market_id[-4:]

    def _free(self, asset: str) -> float:
        return self.balances.get(asset, 0.0) - self.locked.get(asset, 0.0)

    def _unlock(self, o: dict[str, Any]) -> None:
        asset, amount = o["_lock"]
        self.locked[asset] = self.locked.get(asset, 0.0) - amount
        o["_lock"] = (asset, 0.0)

    def _execute(self, o: dict[str, Any], price: float) -> None:
        base, quote = self._split(o["symbol"])
        qty = float(o["origQty"])
        notional = qty * price
        fee = notional * FEE
        if o["side"] == "BUY":
            self.balances[quote] = self.balances.get(quote, 0.0) - notional - fee
            self.balances[base] = self.balances.get(base, 0.0) + qty
        else:
            self.balances[base] = self.balances.get(base, 0.0) - qty
            self.balances[quote] = self.balances.get(quote, 0.0) + notional - fee
        o.update(status="FILLED", executedQty=repr(qty), cummulativeQuoteQty=repr(notional),
                 updateTime=int(time.time() * 1000))
        trade = {"symbol": o["symbol"], "id": len(self.trades) + 1, "orderId": o["orderId"],
                 "orderListId": -1, "price": repr(price), "qty": repr(qty),
                 "quoteQty": repr(notional), "commission": repr(fee), "commissionAsset": quote,
                 "time": int(time.time() * 1000), "isBuyer": o["side"] == "BUY",
                 "isMaker": False, "isBestMatch": True}
        self.trades.append(trade)
        o["fills"] = [{"price": trade["price"], "qty": trade["qty"],
                       "commission": trade["commission"], "commissionAsset": quote,
                       "tradeId": trade["id"]}]

    def _place(self, q: dict[str, str]) -> dict[str, Any]:
        market_id, side, kind = q["symbol"], q["side"], q["type"]
        cid = q.get("newClientOrderId") or f"x-{self._next_id}"
        base, quote = self._split(market_id)
        with self._lock:
            if any(o["clientOrderId"] == cid and o["status"] == "NEW"
                   for o in self.orders.values()):
                raise _Reply(400, -2010, "Duplicate order sent.")
            qty = float(q["quantity"])
            px = self.price(market_id)
            limit = float(q["price"]) if kind == "LIMIT" else None
            ref = limit if limit is not None else px
            if qty * ref < 5.0:
                raise _Reply(400, -1013, "Filter failure: NOTIONAL")
            if side == "BUY" and self._free(quote) < qty * ref * (1 + FEE):
                raise _Reply(400, -2010, "Account has insufficient balance for requested "
                                         "action.")
            if side == "SELL" and self._free(base) < qty - 1e-12:
                raise _Reply(400, -2010, "Account has insufficient balance for requested "
                                         "action.")
            self._next_id += 1
            now = int(time.time() * 1000)
            o: dict[str, Any] = {
                "symbol": market_id, "orderId": self._next_id, "orderListId": -1,
                "clientOrderId": cid, "transactTime": now, "time": now, "updateTime": now,
                "price": q.get("price", "0.00000000"), "origQty": q["quantity"],
                "executedQty": "0.00000000", "cummulativeQuoteQty": "0.00000000",
                "status": "NEW", "timeInForce": q.get("timeInForce", "GTC"), "type": kind,
                "side": side, "fills": [], "isWorking": True, "stopPrice": "0.00000000",
                "selfTradePreventionMode": "NONE", "_lock": (quote, 0.0)}
            self.orders[o["orderId"]] = o
            if limit is None or (side == "BUY" and px <= limit) or \
                    (side == "SELL" and px >= limit):
                self._execute(o, px)
            else:
                reserve = (quote, qty * limit * (1 + FEE)) if side == "BUY" else (base, qty)
                self.locked[reserve[0]] = self.locked.get(reserve[0], 0.0) + reserve[1]
                o["_lock"] = reserve
            return o

    def _find(self, q: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            if "orderId" in q:
                o = self.orders.get(int(q["orderId"]))
                if o is not None:
                    return o
            cid = q.get("origClientOrderId")
            found = [o for o in self.orders.values() if o["clientOrderId"] == cid]
            if found:
                return found[-1]
        raise _Reply(400, -2013, "Order does not exist.")

    @staticmethod
    def _public(o: dict[str, Any], fills: bool = False) -> dict[str, Any]:
        return {k: v for k, v in o.items() if not k.startswith("_") and (fills or k != "fills")}

    def _account(self) -> dict[str, Any]:
        assets = sorted(set(self.balances) | set(self.locked))
        return {"makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
                "sellerCommission": 0, "canTrade": True, "canWithdraw": True,
                "canDeposit": True, "updateTime": int(time.time() * 1000),
                "accountType": "SPOT", "permissions": ["SPOT"],
                "balances": [{"asset": a, "free": repr(self._free(a)),
                              "locked": repr(self.locked.get(a, 0.0))} for a in assets]}

    def _ticker(self, market_id: str) -> dict[str, Any]:
        p = self.price(market_id)
        now = int(time.time() * 1000)
        return {"symbol": market_id, "priceChange": "0", "priceChangePercent": "0",
                "weightedAvgPrice": repr(p), "prevClosePrice": repr(p), "lastPrice": repr(p),
                "lastQty": "1", "bidPrice": repr(p), "bidQty": "1", "askPrice": repr(p),
                "askQty": "1", "openPrice": repr(p), "highPrice": repr(p), "lowPrice": repr(p),
                "volume": "1", "quoteVolume": repr(p), "openTime": now - 86_400_000,
                "closeTime": now, "firstId": 1, "lastId": 1, "count": 1}

    # -- request handling -----------------------------------------------------------------
    def _fault(self, path: str, method: str) -> str | None:
        with self._lock:
            fault = None
            if path.endswith("/klines") and self.faults:
                fault = self.faults.popleft()
            elif path.endswith("/order") and method == "POST" and self.order_faults:
                fault = self.order_faults.popleft()
            elif self.any_faults:
                fault = self.any_faults.popleft()
            elif any(path.endswith(k) and q for k, q in self.path_faults.items()):
                fault = next(q for k, q in self.path_faults.items()
                             if path.endswith(k) and q).popleft()
            elif self.fault_rate and self.rng.random() < self.fault_rate:
                fault = self.rng.choice(self.fault_kinds)
            if fault is not None:
                self.injected[fault] = self.injected.get(fault, 0) + 1
            return fault

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
        now = self.now()
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

    def _route(self, method: str, path: str, q: dict[str, str], raw: dict[str, list[str]],
               fault: str | None, headers: Any) -> Any:
        if path.endswith("/exchangeInfo"):
            symbols = sorted({s for s, _ in self.candles} | {"BTCUSDT", "ETHUSDT"})
            markets = [_market(s[:-4], s[-4:]) for s in symbols if s.endswith("USDT")]
            return {"timezone": "UTC", "serverTime": int(time.time() * 1000),
                    "rateLimits": [], "exchangeFilters": [], "symbols": markets}
        if path.endswith("/klines"):
            return self._klines(raw, fault)
        if path.endswith("/time"):
            return {"serverTime": int(time.time() * 1000)}
        if path.endswith("/ping"):
            return {}
        if path.endswith("/ticker/24hr"):
            if "symbol" in q:
                return self._ticker(q["symbol"])
            return [self._ticker(s) for s, _ in self.candles]
        # signed endpoints
        key = headers.get("X-MBX-APIKEY")
        if self.api_key is not None and key != self.api_key:
            raise _Reply(401, -2015, "Invalid API-key, IP, or permissions for action.")
        if "signature" not in q:
            raise _Reply(400, -1102, "Mandatory parameter 'signature' was not sent.")
        if path.endswith("/order"):
            if method == "POST":
                return self._public(self._place(q), fills=True)
            if method == "GET":
                return self._public(self._find(q))
            if method == "DELETE":
                with self._lock:
                    o = self._find(q)
                    if o["status"] != "NEW":
                        raise _Reply(400, -2011, "Unknown order sent.")
                    self._unlock(o)
                    o["status"] = "CANCELED"
                    return self._public(o)
        if path.endswith("/openOrders"):
            with self._lock:
                return [self._public(o) for o in self.orders.values() if o["status"] == "NEW"
                        and ("symbol" not in q or o["symbol"] == q["symbol"])]
        if path.endswith("/myTrades"):
            with self._lock:
                return [t for t in self.trades if t["symbol"] == q.get("symbol") and
                        ("orderId" not in q or t["orderId"] == int(q["orderId"]))]
        if path.endswith("/account"):
            with self._lock:
                return self._account()
        raise _Reply(404, -1, f"no route {path}")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fx = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()  # headers and body go out in two writes: no Nagle delay
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def handle(self) -> None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    super().handle()  # a killed client is not an error of the fake

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _drop(self) -> None:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.connection.close()
                self.close_connection = True

            def _serve(self, method: str) -> None:
                parsed = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                raw = parse_qs(parsed.query)
                raw.update(parse_qs(body))
                q = {k: v[-1] for k, v in raw.items()}
                with fx._lock:
                    fx.requests.append(parsed.path)
                    fx.request_times.append(time.monotonic())
                fault = fx._fault(parsed.path, method)
                if fault == "429":
                    self._send(429, {"code": -1003, "msg": "Too many requests."},
                               {"Retry-After": "0"})
                    return
                if fault in ("500", "503"):
                    self._send(int(fault), {"code": -1001, "msg": "Internal error."})
                    return
                if fault == "reset":
                    self._drop()
                    return
                if fault == "echo_key":
                    self._send(401, {"code": -2015, "msg": "Invalid API-key "
                                     f"{self.headers.get('X-MBX-APIKEY')} for this action."})
                    return
                try:
                    result = fx._route(method, parsed.path, q, raw, fault, self.headers)
                except _Reply as r:
                    if fault == "lost":
                        self._drop()
                        return
                    self._send(r.status, {"code": r.code, "msg": r.msg})
                    return
                if fault == "lost":
                    self._drop()
                    return
                if fault == "timeout":
                    time.sleep(fx.timeout_delay)
                    self._send(504, {"code": -1007, "msg": "Timeout waiting for response."})
                    return
                self._send(200, result)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

        return Handler


class ExchangeClock(FakeClock):
    """Simulated time shared with a fake exchange, which serves the candles of ``bar_ms``
    closed by then."""

    def __init__(self, now_ms: int, fx: FakeExchange, bar_ms: int) -> None:
        super().__init__(now_ms)
        self.fx, self.bar_ms = fx, bar_ms
        self.fx.now_ms = self.now - bar_ms

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        self.fx.now_ms = self.now - self.bar_ms


def paper_session(settings: Settings, store: StoreHandle, symbols: list[str],
                  clock: ExchangeClock, runner: RetrainRunner) -> DeploymentSession:
    """A paper session on the fake exchange through the real ccxt client, on ``clock``'s
    simulated time (heartbeats and retries far apart: the clock moves only when asked)."""
    from tradeloop.adapters.exchange.ccxt_client import make_exchange
    from tradeloop.adapters.exchange.gateway import ExchangeGateway
    from tradeloop.adapters.market_data.ccxt_source import CcxtCandleSource
    from tradeloop.app.feeds import live_feed
    from tradeloop.app.sessions import make_session

    source = CcxtCandleSource(ExchangeGateway(make_exchange(settings.exchange), clock))
    return make_session(settings, store, symbols, mode="paper", clock=clock,
                        feed=live_feed(source, store, clock, settings, heartbeat_seconds=600,
                                       retry_seconds=600), runner=runner)
