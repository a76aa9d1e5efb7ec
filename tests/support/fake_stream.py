"""A loopback fake of Binance's kline websocket stream (what ccxt.pro's ``watch_ohlcv``
subscribes to), serving the candles of a :class:`FakeExchange` on its clock.

Every ``push_seconds`` of wall time each subscribed (symbol, interval) gets an update of its
forming candle, and a final (``"x": true``) message when a candle closes. ``drop()`` closes
every connection and refuses new ones until ``restore()``: the websocket "drops".
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web

from tests.support.fake_exchange import FakeExchange
from tradeloop.domain.timeframes import Timeframe


class FakeStream:
    """Run with ``with FakeStream(fx) as ws:``; point ccxt.pro at ``ws.url``."""

    def __init__(self, fx: FakeExchange, push_seconds: float = 0.05) -> None:
        self.fx, self.push_seconds = fx, push_seconds
        self.down = False
        self.connections = 0
        self.messages = 0
        self._clients: set[web.WebSocketResponse] = set()
        self._subs: dict[web.WebSocketResponse, set[str]] = {}
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._runner: web.AppRunner | None = None
        self._pushing: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/stream/ws"

    def __enter__(self) -> FakeStream:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def drop(self) -> None:
        """Close every connection and refuse new ones."""
        self.down = True
        asyncio.run_coroutine_threadsafe(self._close_all(), self._loop).result(10)

    def restore(self) -> None:
        self.down = False

    # -- server -------------------------------------------------------------------------------
    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._pushing = self._loop.create_task(self._pusher())
        self._loop.run_forever()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/stream/ws/{stream}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _stop(self) -> None:
        if self._pushing is not None:
            self._pushing.cancel()
        await self._close_all()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _close_all(self) -> None:
        for ws in list(self._clients):
            await ws.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.down:
            return web.Response(status=503, text="stream unavailable")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        self._clients.add(ws)
        self._subs[ws] = set()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                if data.get("method") == "SUBSCRIBE":
                    self._subs[ws].update(data.get("params", []))
                    await ws.send_str(json.dumps({"result": None, "id": data.get("id")}))
        finally:
            self._clients.discard(ws)
            self._subs.pop(ws, None)
        return ws

    def _kline(self, stream: str, sent: dict[str, int]) -> list[dict[str, Any]]:
        """Messages due for one ``btcusdt@kline_1m`` stream since the last push."""
        market, _, interval = stream.partition("@kline_")
        c = self.fx.candles.get((market.upper(), interval))
        if c is None:
            return []
        tf = Timeframe.parse(interval)
        now = self.fx.now()
        forming = int(np.searchsorted(c.open_time, now, side="right")) - 1
        first = max(0, min(forming, sent.get(stream, forming)))
        out = []
        for i in range(first, forming + 1):
            closed = int(c.open_time[i]) + tf.ms <= now
            out.append({"e": "kline", "E": now, "s": market.upper(), "k": {
                "t": int(c.open_time[i]), "T": int(c.open_time[i]) + tf.ms - 1,
                "s": market.upper(), "i": interval, "f": 0, "L": 0,
                "o": repr(float(c.open[i])), "c": repr(float(c.close[i])),
                "h": repr(float(c.high[i])), "l": repr(float(c.low[i])),
                "v": repr(float(c.volume[i])), "n": 1, "x": closed, "q": "0", "V": "0",
                "Q": "0", "B": "0"}})
        sent[stream] = forming
        return out

    async def _pusher(self) -> None:
        sent: dict[web.WebSocketResponse, dict[str, int]] = {}
        while True:
            await asyncio.sleep(self.push_seconds)
            for ws, streams in list(self._subs.items()):
                state = sent.setdefault(ws, {})
                for stream in list(streams):
                    for message in self._kline(stream, state):
                        if ws.closed:
                            break
                        await ws.send_str(json.dumps(message))
                        self.messages += 1
