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

    def log_training(self, symbol: str, timeframe: str, *, model_path: Path,
                     params: dict[str, Any], history: list[dict[str, float]],
                     metrics: dict[str, float], tags: dict[str, str],
                     artifacts: dict[str, str]) -> tuple[str, str]:
        # Numbered from the runs on disk: several processes (retraining workers) share it.
        past = self._past_runs()
        job = tags.get("job_id")
        again = next((r for r in past if job and r.get("job_id") == job), None)
        if again is not None:  # a retried job (its worker died after registering)
            return str(again["run_id"]), str(again["version"])
        version = str(sum(1 for r in past if r["series"] == [symbol, timeframe]) + 1)
        run_id = f"local-{len(past) + 1}"
        run = {"run_id": run_id, "series": [symbol, timeframe],
               "version": version, "params": params, "metrics": metrics, "tags": tags,
               "epochs": len(history), **({"job_id": job} if job else {})}
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "runs.jsonl", "a") as fh:
            fh.write(json.dumps({k: v for k, v in run.items() if k != "tags"},
                                default=str) + "\n")
        return run_id, version

    def log_promotion(self, run_id: str, metrics: dict[str, float]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "promotions.jsonl", "a") as fh:
            fh.write(json.dumps({"run_id": run_id, **metrics}) + "\n")

    def _past_runs(self) -> list[dict[str, Any]]:
        path = self.root / "runs.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def champion_version(self, symbol: str, timeframe: str) -> str | None:
        ref = self.files.champion(symbol, timeframe)
        return None if ref is None else ref.version

    def set_champion(self, symbol: str, timeframe: str, version: str, local_file: Path) -> None:
        self.files.install(symbol, timeframe, version, local_file, None)

    def champion(self, symbol: str, timeframe: str) -> ModelRef | None:
        return self.files.champion(symbol, timeframe)
