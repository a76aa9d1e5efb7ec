"""A file-only model registry: versions, runs and champions under one folder.

Used by backtests, whose retrains and promotions must never touch the production champions
in MLflow, and by tests. Runs are appended to ``runs.jsonl``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tradeloop.adapters.registry.champion_files import ChampionFiles
from tradeloop.ports import ModelRef


class LocalRegistry:
    """ModelRecorder over ``root``: deterministic versions (1, 2, ...) per series."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = ChampionFiles(root)
        self.runs: list[dict[str, Any]] = []

    def log_training(self, symbol: str, timeframe: str, *, model_path: Path,
                     params: dict[str, Any], history: list[dict[str, float]],
                     metrics: dict[str, float], tags: dict[str, str],
                     artifacts: dict[str, str]) -> tuple[str, str]:
        version = str(sum(1 for r in self.runs if r["series"] == [symbol, timeframe]) + 1)
        run_id = f"local-{len(self.runs) + 1}"
        run = {"run_id": run_id, "series": [symbol, timeframe],
               "version": version, "params": params, "metrics": metrics, "tags": tags,
               "epochs": len(history)}
        self.runs.append(run)
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "runs.jsonl", "a") as fh:
            fh.write(json.dumps({k: v for k, v in run.items() if k != "tags"},
                                default=str) + "\n")
        return run_id, version

    def champion_version(self, symbol: str, timeframe: str) -> str | None:
        ref = self.files.champion(symbol, timeframe)
        return None if ref is None else ref.version

    def set_champion(self, symbol: str, timeframe: str, version: str, local_file: Path) -> None:
        self.files.install(symbol, timeframe, version, local_file, None)

    def champion(self, symbol: str, timeframe: str) -> ModelRef | None:
        return self.files.champion(symbol, timeframe)
