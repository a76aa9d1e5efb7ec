"""The one exception tree of tradeloop.

Every error a user can cause or meet is a ``TradeloopError``; third-party errors (ccxt,
SQLAlchemy, pydantic, YAML) are mapped onto this tree at the adapter edge so that the CLI can
print one clear line instead of a traceback.
"""

from __future__ import annotations


class TradeloopError(Exception):
    """Base of every error tradeloop raises on purpose."""


class ConfigError(TradeloopError):
    """The configuration file or environment is invalid."""


class SecretInConfigError(ConfigError):
    """A secret value was placed in a config file instead of the environment."""


class DataError(TradeloopError):
    """Market data is malformed, missing or inconsistent."""


class UnknownTimeframeError(DataError):
    """A timeframe string is not one tradeloop knows."""


class UnknownSymbolError(DataError):
    """A symbol is malformed or not listed by the exchange."""


class InsufficientDataError(DataError):
    """Fewer candles are stored than an operation needs."""


class StorageError(TradeloopError):
    """The database cannot be opened, migrated, read or written."""


class ExchangeError(TradeloopError):
    """An exchange request failed."""


class TransientExchangeError(ExchangeError):
    """A request failed in a way that may succeed when retried (timeouts, 5xx, rate limits)."""


class CircuitOpenError(TransientExchangeError):
    """Calls to the exchange are suspended for a while after repeated failures."""


class ExchangeRejectedError(ExchangeError):
    """The exchange refused the request for good (bad symbol, bad parameters, auth)."""


class ExchangeAuthError(ExchangeRejectedError):
    """The API key or secret is missing, wrong or lacks a permission."""


class InsufficientFundsError(ExchangeRejectedError):
    """The account cannot pay for the order."""


class InvalidOrderError(ExchangeRejectedError):
    """The order breaks the market's rules (precision, minimum notional, order type)."""


class OrderNotFoundError(ExchangeRejectedError):
    """The exchange has no order with that id (it never arrived, or it expired)."""


class ModelError(TradeloopError):
    """A model cannot be trained, stored or served."""


class ModelLoadError(ModelError):
    """A model file is missing, corrupt or incompatible with this version."""


class EngineError(TradeloopError):
    """The engine cannot start or run (another instance holds the data folder, bad mode)."""


class AlreadyRunningError(EngineError):
    """Another engine already runs on this data folder."""


class DeploymentError(TradeloopError):
    """A rollout step cannot go ahead (no approved phase 1, nothing to replay, ...)."""


class SentimentModelError(ModelError):
    """The sentiment model cannot be loaded or run (sentiment features are then off)."""


class NewsError(TradeloopError):
    """A news source refused a request or answered something unusable."""


class NewsUnavailableError(NewsError):
    """A news source cannot be reached now (timeout, 5xx, rate limit, open circuit)."""
