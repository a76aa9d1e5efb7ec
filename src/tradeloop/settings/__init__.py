"""Settings: the schema of ``config.yaml`` (``schema.py``) and its loader (``loader.py``)."""

from tradeloop.settings.loader import DEFAULT_CONFIG, format_validation_error, load_settings
from tradeloop.settings.schema import (
    SECRET_ENV_VARS,
    ExchangeSettings,
    ModelSettings,
    Secrets,
    Settings,
)

__all__ = ["DEFAULT_CONFIG", "SECRET_ENV_VARS", "ExchangeSettings", "ModelSettings", "Secrets",
           "Settings", "format_validation_error", "load_settings"]
