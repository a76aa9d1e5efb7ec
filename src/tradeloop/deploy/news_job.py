"""The news job inside a live session: every ``news.fetch_minutes`` the configured sources are
read, stored and scored on a thread of its own (the trading loop never waits for a feed or
for the sentiment model); what a round did is logged, a failure is recorded and the next
round comes as usual."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from tradeloop.ports import Store

log = logging.getLogger("tradeloop.news")


class NewsJob:
    """A runner hook: ``fetch`` is one round (returns its summary line, raises on failure)."""

    def __init__(self, fetch: Callable[[], str], every_ms: int, store: Store) -> None:
        self.fetch, self.every_ms, self.store = fetch, every_ms, store
        self.next_ms: int | None = None
        self.rounds = 0
        self._pool: ThreadPoolExecutor | None = None
        self._job: Future[str] | None = None

    def on_close(self, now_ms: int) -> str | None:
        self.step(now_ms)
        return None

    def on_heartbeat(self, now_ms: int) -> str | None:
        self.step(now_ms)
        return None

    def step(self, now_ms: int) -> None:
        if self._job is not None and self._job.done():
            job, self._job = self._job, None
            self.rounds += 1
            try:
                log.info("news: %s", job.result())
            except Exception as exc:  # a round must never stop the session
                log.warning("news: round failed: %s", exc)
                self.store.error(now_ms, type(exc).__name__, f"news: {exc}"[:2000], None,
                                 None, "news")
        if self._job is None and (self.next_ms is None or now_ms >= self.next_ms):
            self.next_ms = now_ms + self.every_ms
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="news")
            self._job = self._pool.submit(self.fetch)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
