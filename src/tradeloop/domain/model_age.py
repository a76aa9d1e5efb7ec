"""The model-age budget (pure): how old each series' model is and which to refresh next.

A series' model is as old as the newer of the data its champion was trained on and the
latest retrain whose paired test judged it on fresh data (a champion that beat its
challenger there is confirmed as current: promoting a worse model to look younger would
break the promotion rule). Refreshes start at ``REFRESH_AT`` of the budget, oldest first,
so that a job has time to finish before the budget runs out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

REFRESH_AT = 0.75  # of the budget: when a series is queued for a refresh

Series = tuple[str, str]  # (symbol, timeframe)


def ages(now_ms: int, trained: Mapping[Series, int | None], confirmed: Mapping[Series, int]
         ) -> dict[Series, int]:
    """Each series' model age (ms) at ``now_ms``; a series without a model is left out."""
    out = {}
    for key, data_to in trained.items():
        known = [t for t in (data_to, confirmed.get(key)) if t is not None]
        if known:
            out[key] = max(0, now_ms - max(known))
    return out


def due(model_ages: Mapping[Series, int], budget_ms: int, busy: Iterable[Series],
        free: int) -> list[Series]:
    """The series to refresh now: past ``REFRESH_AT`` of the budget, not ``busy`` (running,
    in their cooldown or backing off after failures), oldest first, at most ``free``."""
    running = set(busy)
    late = [k for k, age in model_ages.items()
            if age >= REFRESH_AT * budget_ms and k not in running]
    late.sort(key=lambda k: (-model_ages[k], k))
    return late[:max(0, free)]


def oldest(model_ages: Mapping[Series, int]) -> tuple[Series, int] | None:
    if not model_ages:
        return None
    key = max(model_ages, key=lambda k: (model_ages[k], k))
    return key, model_ages[key]
