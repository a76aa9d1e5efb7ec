"""News sources: RSS/Atom feeds (feedparser) and the CryptoPanic posts API, each read into
:class:`NewsItem` rows with the symbols they mention. A source that fails is reported with
its error and the others are still read."""

from __future__ import annotations

import calendar
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tradeloop.adapters.news.http_client import NewsHttp, safe_url
from tradeloop.domain.errors import NewsError
from tradeloop.domain.news import NewsItem, mentions

log = logging.getLogger("tradeloop.news")
CRYPTOPANIC = "cryptopanic"
TAG = re.compile(r"<[^>]+>")


def parse_feed(url: str, body: bytes, fetched_ms: int,
               words: Mapping[str, Sequence[str]]) -> list[NewsItem]:
    """The entries of an RSS/Atom document; one without a parseable time keeps
    ``published_ms`` None. A document that is not a feed at all is a :class:`NewsError`."""
    import feedparser  # the news edge only: not on the trading path

    doc = feedparser.parse(body)
    if not doc.entries and (doc.bozo or not doc.get("version")):
        why = doc.get("bozo_exception") or "no feed elements"
        raise NewsError(f"{safe_url(url)}: not an RSS/Atom feed ({why})")
    source = str(doc.feed.get("title") or safe_url(url))[:64]
    out = []
    for e in doc.entries:
        title = str(e.get("title") or "").strip()
        link = str(e.get("link") or "").strip()
        if not title or not (link or e.get("id")):
            continue
        when = e.get("published_parsed") or e.get("updated_parsed")
        published = calendar.timegm(when) * 1000 if when else None
        summary = _text(str(e.get("summary") or ""))[:2000]
        out.append(NewsItem(source, str(e.get("id") or link)[:500], link[:1000], title[:500],
                            summary, published, fetched_ms,
                            mentions(f"{title} {summary}", words)))
    return out


def parse_posts(body: bytes, fetched_ms: int, words: Mapping[str, Sequence[str]]
                ) -> list[NewsItem]:
    """CryptoPanic's ``/api/v1/posts/`` answer; its tagged currencies count as mentions."""
    try:
        doc = json.loads(body)
        results = doc["results"]
    except (ValueError, KeyError, TypeError) as exc:
        raise NewsError(f"cryptopanic: unexpected answer ({exc})") from None
    by_base = {s.split("/")[0].lower(): s for s in words}
    out = []
    for p in results:
        title = str(p.get("title") or "").strip()
        if not title or p.get("id") is None:
            continue
        tagged = {by_base[c["code"].lower()] for c in p.get("currencies") or []
                  if isinstance(c, dict) and str(c.get("code", "")).lower() in by_base}
        found = set(mentions(title, words)) | tagged
        out.append(NewsItem(CRYPTOPANIC, f"cryptopanic:{p['id']}",
                            str(p.get("url") or "")[:1000], title[:500], "",
                            _iso_ms(p.get("published_at")), fetched_ms,
                            tuple(s for s in words if s in found)))
    return out


@dataclass
class Fetched:
    """What one round of fetching brought: the items and each failed source's error."""

    items: list[NewsItem] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    sources: int = 0


class NewsSources:
    """Every configured source through one :class:`NewsHttp`."""

    def __init__(self, http: NewsHttp, feeds: Sequence[str], words: Mapping[str, Sequence[str]],
                 *, cryptopanic_url: str | None = None, token: str | None = None,
                 currencies: Sequence[str] = ()) -> None:
        self.http, self.feeds, self.words = http, list(feeds), words
        self.cryptopanic_url, self.token = cryptopanic_url, token
        self.currencies = list(currencies)

    def fetch(self) -> Fetched:
        out = Fetched()
        for url in self.feeds:
            out.sources += 1
            try:
                body = self.http.get(url)
                out.items.extend(parse_feed(url, body, self.http.clock.now_ms(), self.words))
            except NewsError as exc:
                out.errors[safe_url(url)] = str(exc)
                log.warning("news: %s", exc)
        if self.cryptopanic_url is not None:
            out.sources += 1
            try:
                out.items.extend(self._cryptopanic())
            except NewsError as exc:
                out.errors[CRYPTOPANIC] = str(exc)
                log.warning("news: %s", exc)
        return out

    def _cryptopanic(self) -> list[NewsItem]:
        if not self.token:
            raise NewsError("cryptopanic: CRYPTOPANIC_TOKEN is not set in the environment "
                            "or .env")
        assert self.cryptopanic_url is not None
        params = {"auth_token": self.token, "public": "true"}
        if self.currencies:
            params["currencies"] = ",".join(self.currencies)
        body = self.http.get(f"{self.cryptopanic_url.rstrip('/')}/api/v1/posts/", params)
        return parse_posts(body, self.http.clock.now_ms(), self.words)


def _iso_ms(value: Any) -> int | None:
    """An ISO-8601 time with a zone as ms; None when absent or without a zone (not
    trustworthy)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(dt.timestamp() * 1000) if dt.tzinfo is not None else None


def _text(html: str) -> str:
    """Summary text without markup."""
    return " ".join(TAG.sub(" ", html).split())
