"""Field types shared by the sections of ``config.yaml``."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tradeloop.domain.errors import TradeloopError
from tradeloop.domain.timeframes import Timeframe

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


def _timeframe_name(value: str) -> str:
    try:
        return Timeframe.parse(value).name
    except TradeloopError as exc:
        raise ValueError(str(exc)) from None


TimeframeName = Annotated[str, AfterValidator(_timeframe_name)]  # "1m" ... "1w"
