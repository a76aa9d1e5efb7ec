"""MLflow tracking and model registry: one run per training, a registered model per
(symbol, timeframe) named ``tradeloop-<BASE>_<QUOTE>-<tf>``, the ``champion`` alias in service."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from tradeloop.adapters.registry.champion_files import ChampionFiles
from tradeloop.domain.errors import ModelError
from tradeloop.domain.symbols import symbol_slug
from tradeloop.ports import ModelRef

EXPERIMENT = "tradeloop"
CHAMPION = "champion"

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
logging.getLogger("mlflow").setLevel(logging.WARNING)
logging.getLogger("alembic").setLevel(logging.WARNING)


def model_name(symbol: str, timeframe: str) -> str:
    return f"tradeloop-{symbol_slug(symbol)}-{timeframe}"


class MlflowRegistry:
    """Runs, registered models and aliases in the configured MLflow store, mirrored into
    champion files under ``models_dir``."""

    def __init__(self, tracking_uri: str, artifact_location: str, models_dir: Path) -> None:
        import mlflow
        from mlflow import MlflowClient

        self._mlflow = mlflow
        self.tracking_uri = tracking_uri
        self.artifact_location = artifact_location
        self.files = ChampionFiles(models_dir)
        mlflow.set_tracking_uri(tracking_uri)
        self.client = MlflowClient(tracking_uri=tracking_uri)

    def model_file(self, symbol: str, timeframe: str, version: str) -> Path:
        return self.files.model_file(symbol, timeframe, version)

    def _experiment_id(self) -> str:
        exp = self.client.get_experiment_by_name(EXPERIMENT)
        if exp is not None:
            return str(exp.experiment_id)
        return str(self.client.create_experiment(EXPERIMENT,
                                                 artifact_location=self.artifact_location))

    def log_training(self, symbol: str, timeframe: str, *, model_path: Path,
                     params: dict[str, Any], history: list[dict[str, float]],
                     metrics: dict[str, float], tags: dict[str, str],
                     artifacts: dict[str, str]) -> tuple[str, str]:
        """Log one training run and register its model; returns (run_id, version)."""
        mlflow = self._mlflow
        name = model_name(symbol, timeframe)
        again = self._registered_for(tags.get("job_id"))
        if again is not None:  # a retried job (its worker died after registering)
            return again
        try:
            with mlflow.start_run(experiment_id=self._experiment_id(),
                                  run_name=f"{name}") as run:
                mlflow.set_tags({"symbol": symbol, "timeframe": timeframe, **tags})
                mlflow.log_params(params)
                for row in history:
                    step = int(row["epoch"])
                    mlflow.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=step)
                mlflow.log_metrics(metrics)
                mlflow.log_artifact(str(model_path), artifact_path="model")
                with tempfile.TemporaryDirectory() as tmp:
                    for filename, text in artifacts.items():
                        (Path(tmp) / filename).write_text(text)
                        mlflow.log_artifact(str(Path(tmp) / filename))
                run_id = run.info.run_id
                source = f"{run.info.artifact_uri}/model"
            if not self.client.search_registered_models(filter_string=f"name = '{name}'"):
                self.client.create_registered_model(
                    name, description=f"tradeloop classifier for {symbol} {timeframe}")
            version = self.client.create_model_version(name, source=source, run_id=run_id)
        except Exception as exc:  # MLflow raises many types; one clear error at the edge
            raise ModelError(f"MLflow logging for {name} failed: "
                             f"{exc.__class__.__name__}: {str(exc)[:300]}") from None
        return run_id, str(version.version)

    def _registered_for(self, job_id: str | None) -> tuple[str, str] | None:
        """(run id, version) a job registered already, if it did."""
        if not job_id:
            return None
        try:
            runs = self.client.search_runs(
                [self._experiment_id()], filter_string=f"tags.job_id = '{job_id}'",
                max_results=5)
            for run in runs:
                versions = self.client.search_model_versions(
                    f"run_id = '{run.info.run_id}'")
                if versions:
                    return run.info.run_id, str(versions[0].version)
        except Exception as exc:  # MLflow raises many types; one clear error at the edge
            raise ModelError(f"MLflow lookup of job {job_id} failed: "
                             f"{exc.__class__.__name__}: {str(exc)[:300]}") from None
        return None

    def log_promotion(self, run_id: str, metrics: dict[str, float]) -> None:
        """The promotion decision's metrics on the challenger's (finished) run."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        try:
            self.client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0)
                                                   for k, v in metrics.items()])
        except Exception as exc:  # MLflow raises many types; one clear error at the edge
            raise ModelError(f"MLflow logging of the promotion of run {run_id} failed: "
                             f"{exc.__class__.__name__}: {str(exc)[:300]}") from None

    def champion_version(self, symbol: str, timeframe: str) -> str | None:
        try:
            mv = self.client.get_model_version_by_alias(model_name(symbol, timeframe), CHAMPION)
        except Exception:
            return None
        return str(mv.version)

    def set_champion(self, symbol: str, timeframe: str, version: str, local_file: Path) -> None:
        """Point the alias at ``version`` and mirror it for serving."""
        name = model_name(symbol, timeframe)
        self.client.set_registered_model_alias(name, CHAMPION, version)
        run_id = self.client.get_model_version(name, version).run_id
        self.files.install(symbol, timeframe, version, local_file, run_id)

    def champion(self, symbol: str, timeframe: str) -> ModelRef | None:
        return self.files.champion(symbol, timeframe)
