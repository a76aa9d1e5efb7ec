"""The ``news`` section of ``config.yaml``: news sources, the sentiment model and the
sentiment features (``model.features.sentiment`` turns them on for the models)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from tradeloop.settings.fields import _Section


class CryptoPanicSettings(_Section):
    """The CryptoPanic posts API (its token: ``CRYPTOPANIC_TOKEN`` in the environment)."""

    enabled: bool = False
    base_url: str = "https://cryptopanic.com"

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value
    # empty: the base assets of the configured symbols
    currencies: list[str] = Field(default_factory=list)


class SentimentModelSettings(_Section):
    """The transformers text classifier that scores headlines (CPU, batched, loaded lazily
    off the trading path): a hub id (``ProsusAI/finbert``, ``ElKulako/cryptobert``) or a
    local directory."""

    model: str = "ProsusAI/finbert"
    revision: str | None = None  # a hub commit or tag (None: the hub's default branch)
    batch_size: Annotated[int, Field(ge=1, le=1024)] = 16
    max_length: Annotated[int, Field(ge=8, le=512)] = 128  # tokens per headline
    local_files_only: bool = False  # true: never reach the hub (an offline machine)


class SentimentFeatureSettings(_Section):
    """Per (symbol, candle), from the items published strictly before the candle closed."""

    window_hours: Annotated[float, Field(gt=0, le=24 * 30)] = 24.0
    half_life_hours: Annotated[float, Field(gt=0, le=24 * 30)] = 6.0


class NewsSettings(_Section):
    """News in (RSS/Atom feeds, CryptoPanic), scored for sentiment, as model features."""

    feeds: list[str] = Field(default_factory=list)  # RSS/Atom URLs
    cryptopanic: CryptoPanicSettings = CryptoPanicSettings()
    # extra words that mention a symbol ("BTC/USDT": ["bitcoin", "btc"]); the base asset
    # (and its common name for the large ones) always counts
    aliases: dict[str, list[str]] = Field(default_factory=dict)
    fetch_minutes: Annotated[float, Field(ge=0)] = 15.0  # inside a session (0: never)
    fresh_hours: Annotated[float, Field(gt=0)] = 6.0  # the pre-deployment check's "fresh"
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0
    rate_limit_per_minute: Annotated[int, Field(ge=1, le=6000)] = 30
    max_retries: Annotated[int, Field(ge=0, le=10)] = 3
    circuit_breaker_failures: Annotated[int, Field(ge=1)] = 5
    circuit_breaker_cooldown_seconds: Annotated[float, Field(gt=0)] = 60.0
    sentiment: SentimentModelSettings = SentimentModelSettings()
    features: SentimentFeatureSettings = SentimentFeatureSettings()

    @field_validator("feeds")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://", "file://")):
                raise ValueError(f"feed {url!r} is not an http(s) or file URL")
        return value

    @property
    def configured(self) -> bool:
        """Whether any source is configured."""
        return bool(self.feeds) or self.cryptopanic.enabled
