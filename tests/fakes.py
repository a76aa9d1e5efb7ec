"""In-memory fakes of tradeloop's ports, for tests that need no real MLflow or exchange."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tradeloop.adapters.registry.champion_files import ChampionFiles
from tradeloop.ports import ModelRef


class FakeRecorder:
    """ModelRecorder that keeps runs in memory and champions in champion files."""

    def __init__(self, models_dir: Path) -> None:
        self.files = ChampionFiles(models_dir)
        self.runs: list[dict[str, Any]] = []

    def log_training(self, symbol: str, timeframe: str, *, model_path: Path,
                     params: dict[str, Any], history: list[dict[str, float]],
                     metrics: dict[str, float], tags: dict[str, str],
                     artifacts: dict[str, str]) -> tuple[str, str]:
        version = str(sum(1 for r in self.runs if r["series"] == (symbol, timeframe)) + 1)
        self.runs.append({"series": (symbol, timeframe), "params": params, "metrics": metrics,
                          "history": history, "tags": tags, "version": version})
        return f"run-{len(self.runs)}", version

    def champion_version(self, symbol: str, timeframe: str) -> str | None:
        ref = self.files.champion(symbol, timeframe)
        return None if ref is None else ref.version

    def set_champion(self, symbol: str, timeframe: str, version: str, local_file: Path) -> None:
        self.files.install(symbol, timeframe, version, local_file, None)

    def champion(self, symbol: str, timeframe: str) -> ModelRef | None:
        return self.files.champion(symbol, timeframe)
