"""Typed parameter schemas of the strategies: defaults, ranges and optimisation steps.

A schema turns what a user wrote (config ``trading.params``, a strategy file, an optimiser's
trial) into checked values, with one clear error per problem: an unknown or missing key, a
wrong type, a value out of range, a broken cross-parameter rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tradeloop.domain.errors import ConfigError

ParamValue = int | float | bool
Kind = Literal["int", "float", "bool", "str"]


@dataclass(frozen=True)
class Param:
    """One parameter: its type, default, inclusive range and optimisation step."""

    name: str
    kind: Kind
    default: Any  # a ParamValue for strategy parameters; text or None for "str"
    low: float | None = None
    high: float | None = None
    step: float | None = None
    description: str = ""
    exit: bool = False  # an exit parameter: the strategy file's backtest_params section
    search: tuple[float, float] | None = None  # the optimiser's range (default: low..high)

    @property
    def search_range(self) -> tuple[float, float]:
        if self.search is not None:
            return self.search
        if self.low is None or self.high is None:
            raise ConfigError(f"parameter {self.name} has no range to search")
        return self.low, self.high

    def check(self, value: Any, where: str) -> Any:
        """``value`` as this parameter's type; ConfigError naming ``where`` otherwise."""
        if self.kind == "str":
            if value is None and self.default is None:
                return None
            if not isinstance(value, str):
                raise ConfigError(f"{where}.{self.name}: expected text, got {value!r}")
            return value
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}.{self.name}: expected true or false, got "
                                  f"{value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}.{self.name}: expected a number ({self.kind}), got "
                              f"{value!r}")
        if self.kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ConfigError(f"{where}.{self.name}: expected a whole number, got {value!r}")
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise ConfigError(f"{where}.{self.name}: expected a finite number, got {value}")
        if (self.low is not None and value < self.low) or (
                self.high is not None and value > self.high):
            raise ConfigError(f"{where}.{self.name}: {value} is out of range "
                              f"[{_num(self.low)}, {_num(self.high)}]")
        return value


@dataclass(frozen=True)
class Rule:
    """A constraint between parameters, with the message shown when it fails."""

    holds: Callable[[Mapping[str, ParamValue]], bool]
    message: str


@dataclass(frozen=True)
class ParamSchema:
    params: tuple[Param, ...] = ()
    rules: tuple[Rule, ...] = ()

    def defaults(self) -> dict[str, ParamValue]:
        return {p.name: p.default for p in self.params}

    def resolve(self, values: Mapping[str, Any] | None, where: str, *, complete: bool = False
                ) -> dict[str, ParamValue]:
        """Checked values, defaults for what is not given (``complete``: every key must be
        given, as in a strategy file)."""
        values = dict(values or {})
        known = {p.name for p in self.params}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown parameter {unknown[0]!r}; known: "
                              f"{', '.join(sorted(known)) or 'none'}")
        missing = [p.name for p in self.params if p.name not in values]
        if complete and missing:
            raise ConfigError(f"{where}: missing parameter {missing[0]!r}")
        out = {p.name: p.check(values[p.name], where) if p.name in values else p.default
               for p in self.params}
        for rule in self.rules:
            if not rule.holds(out):
                raise ConfigError(f"{where}: {rule.message} (got "
                                  f"{', '.join(f'{k}={v}' for k, v in out.items())})")
        return out


def _num(v: float | None) -> str:
    return "-inf" if v is None else f"{v:g}"
