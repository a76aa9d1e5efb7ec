"""`tradeloop train` with a real MLflow store; the Predictor serving its champions."""

import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tradeloop.adapters.market_data.synthetic import synth_market
from tradeloop.adapters.registry.champion_files import ChampionFiles
from tradeloop.adapters.registry.mlflow_registry import MlflowRegistry, model_name
from tradeloop.adapters.store.candle_store import CandleStore
from tradeloop.cli import main as cli
from tradeloop.domain.candles import SeriesKey
from tradeloop.domain.errors import InsufficientDataError
from tradeloop.ml.model_file import ModelArtifact
from tradeloop.ml.predictor import ChampionPredictor
from tradeloop.ml.training_job import train_series
from tradeloop.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
exchange: {name: synthetic}
symbols: [SYN/USDT]
continuous_learning: {retraining: {max_epochs: 4, patience: 2}}
model: {min_samples: 400, max_train_candles: 3000}
"""


@pytest.fixture
def setup(tmp_path: Path, sqlite_store: CandleStore) -> tuple[Settings, CandleStore]:
    (tmp_path / "config.yaml").write_text(CONFIG)
    candles, _ = synth_market(200, timeframe="1h", seed=3)
    sqlite_store.write(SeriesKey("synthetic", "SYN/USDT", "1h"), candles)
    return load_settings(tmp_path / "config.yaml", env={}), sqlite_store


def test_training_is_logged_registered_and_served(setup: tuple[Settings, CandleStore]) -> None:
    settings, store = setup
    registry = MlflowRegistry(settings.mlflow_tracking_uri, settings.mlflow_artifact_location,
                              settings.path("models"))
    first = train_series(settings, store, registry, "SYN/USDT", "1h")
    assert first.became_champion and first.version == "1"
    assert first.model_path == settings.path("models") / "SYN_USDT" / "1h" / "v1.npz"

    run = registry.client.get_run(first.run_id)
    assert run.data.params["symbol"] == "SYN/USDT" and "logret_1" in run.data.params["features"]
    assert run.data.params["data_first_candle"] == "2024-03-16T00:00:00Z"  # last 3,000 of 4,800
    assert run.data.tags["code_version"].startswith("0.1.0")
    for metric in ("test_accuracy", "test_log_loss", "test_brier", "test_ece",
                   "test_mean_confidence", "test_majority_baseline", "test_class_share_up"):
        assert metric in run.data.metrics
    epochs = registry.client.get_metric_history(first.run_id, "val_loss")
    assert len(epochs) == len(first.outcome.history) >= 1
    artifacts = {a.path for a in registry.client.list_artifacts(first.run_id)}
    assert {"model", "features.json", "report.json"} <= artifacts

    registry.log_promotion(first.run_id, {"promotion_p_value": 0.25, "promotion_effect": -0.01})
    decided = registry.client.get_run(first.run_id).data.metrics
    assert decided["promotion_p_value"] == 0.25 and decided["promotion_effect"] == -0.01

    mv = registry.client.get_model_version_by_alias(model_name("SYN/USDT", "1h"), "champion")
    assert str(mv.version) == "1"
    second = train_series(settings, store, registry, "SYN/USDT", "1h")
    assert second.version == "2" and not second.became_champion
    assert registry.champion_version("SYN/USDT", "1h") == "1"  # promotion is the engine's job

    candles = store.load(SeriesKey("synthetic", "SYN/USDT", "1h"))
    prediction = ChampionPredictor(ChampionFiles(settings.path("models"))).predict(
        "SYN/USDT", "1h", candles)
    assert prediction is not None and prediction.model_version == "1"
    assert prediction.direction in ("down", "flat", "up")
    assert sum(prediction.probabilities) == pytest.approx(1.0)
    assert prediction.confidence == max(prediction.probabilities)


def test_too_little_data_names_series_and_counts(setup: tuple[Settings, CandleStore],
                                                 tmp_path: Path) -> None:
    settings, store = setup
    with pytest.raises(InsufficientDataError,
                       match=r"SYN/USDT 4h: 0 candles found on synthetic, 465 needed"):
        train_series(settings, store, MlflowRegistry(
            settings.mlflow_tracking_uri, settings.mlflow_artifact_location, tmp_path / "m"),
            "SYN/USDT", "4h")


def test_broken_models_never_crash_the_caller(setup: tuple[Settings, CandleStore],
                                             tmp_path: Path) -> None:
    settings, store = setup
    files = ChampionFiles(tmp_path / "models")
    candles = store.load(SeriesKey("synthetic", "SYN/USDT", "1h"))
    predictor = ChampionPredictor(files)
    assert predictor.predict("SYN/USDT", "1h", candles) is None
    assert "no champion model for SYN/USDT 1h" in predictor.errors[("SYN/USDT", "1h")]

    folder = files.folder("SYN/USDT", "1h")
    folder.mkdir(parents=True)
    (folder / "v1.npz").write_bytes(b"not a model")
    files.set("SYN/USDT", "1h", "1", "v1.npz", None)
    assert predictor.predict("SYN/USDT", "1h", candles) is None
    assert "corrupt model file" in predictor.errors[("SYN/USDT", "1h")]

    with open(folder / "v1.npz", "wb") as fh:
        np.savez(fh, __header__=np.array(json.dumps({"format": "tradeloop-classifier/1"})))
    assert predictor.predict("SYN/USDT", "1h", candles) is None
    assert "incompatible model file" in predictor.errors[("SYN/USDT", "1h")]

    from tradeloop.adapters.registry.local_registry import LocalRegistry

    recorder = LocalRegistry(tmp_path / "good")
    train_series(settings, store, recorder, "SYN/USDT", "1h")
    art = ModelArtifact.load(recorder.champion("SYN/USDT", "1h").path)  # type: ignore[union-attr]
    art.feature_names = [*art.feature_names[:-1], "sentiment"]
    art.save(folder / "v1.npz")
    assert predictor.predict("SYN/USDT", "1h", candles) is None
    assert "trained on features" in predictor.errors[("SYN/USDT", "1h")]

    art = ModelArtifact.load(recorder.champion("SYN/USDT", "1h").path)  # type: ignore[union-attr]
    art.arch_params = {**art.arch_params, "hidden_size": 8}
    art.save(folder / "v1.npz")
    assert predictor.predict("SYN/USDT", "1h", candles) is None
    assert "hidden_size is 8" in predictor.errors[("SYN/USDT", "1h")]

    art = ModelArtifact.load(recorder.champion("SYN/USDT", "1h").path)  # type: ignore[union-attr]
    art.state_dict.pop(max(art.state_dict))  # drop the output layer's bias
    art.save(folder / "v1.npz")
    assert predictor.predict("SYN/USDT", "1h", candles) is None
    assert "does not take" in predictor.errors[("SYN/USDT", "1h")] or \
        "layers ending" in predictor.errors[("SYN/USDT", "1h")]

    assert predictor.predict("SYN/USDT", "1h", candles.take(slice(0, 50))) is None
    assert json.loads((folder / "champion.json").read_text())["version"] == "1"


def test_cli_train_and_the_seed_wrapper(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(CONFIG.replace("max_epochs: 4", "max_epochs: 2"))
    assert cli(["--config", str(cfg), "data", "synth", "--symbol", "SYN/USDT", "--days", "60",
                "--timeframes", "15m,1h,4h"]) == 0
    capsys.readouterr()
    assert cli(["--config", str(cfg), "train", "--symbol", "SYN/USDT", "--interval", "1h"]) == 0
    out = capsys.readouterr().out
    assert "[SYN/USDT_1h] Epoch 1/2: Loss=" in out and "Training data:" in out
    assert "version 1 (champion)" in out and "held-out test results" in out

    wrapper = runpy.run_path(str(ROOT / "src" / "multi_currency_system.py"), run_name="w")
    assert wrapper["main"](["--train", "--symbol", "SYN/USDT", "--config", str(cfg)]) == 1
    captured = capsys.readouterr()
    assert "[SYN/USDT_15m] Training done" in captured.out
    assert "SYN/USDT 4h: 360 candles found on synthetic, 465 needed" in captured.err
    assert "SYN/USDT 1m: 0 candles found" in captured.err
    assert (tmp_path / "models" / "SYN_USDT" / "1h" / "v2.npz").exists()


def test_inference_path_never_imports_lightning_or_mlflow() -> None:
    code = ("import sys; from tradeloop.ml.predictor import ChampionPredictor; "
            "from tradeloop.app import champion_files; import tradeloop.app.sessions; "
            "import tradeloop.engine.runner; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('lightning', 'mlflow', "
            "'pytorch_lightning', 'torch')]; print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_gru_sequence_model_trains_and_serves_without_lookahead(
    setup: tuple[Settings, CandleStore], tmp_path: Path
) -> None:
    from tradeloop.adapters.registry.local_registry import LocalRegistry

    settings, store = setup
    settings = settings.model_copy(update={"model": settings.model.model_copy(
        update={"architecture": "gru", "sequence_length": 8, "hidden_size": 16})})
    recorder = LocalRegistry(tmp_path / "gru")
    summary = train_series(settings, store, recorder, "SYN/USDT", "1h")
    assert summary.outcome.architecture == "gru" and summary.outcome.sequence_length == 8
    candles = store.load(SeriesKey("synthetic", "SYN/USDT", "1h"))
    predictor = ChampionPredictor(recorder)
    full = predictor.predict("SYN/USDT", "1h", candles.take(slice(0, 4000)))
    assert full is not None and full.model_version == "1"
    short = predictor.predict("SYN/USDT", "1h", candles.take(slice(4000 - 71, 4000)))
    assert short == full  # 64 lookback + 8 sequence rows - 1 candles suffice, and agree
    assert predictor.predict("SYN/USDT", "1h", candles.take(slice(4000 - 70, 4000))) is None
    assert "71 needed" in predictor.errors[("SYN/USDT", "1h")]


@pytest.mark.parametrize("architecture", ["mlp", "gru"])
def test_auxiliary_horizons_shape_training_and_stay_out_of_the_model(architecture: str) -> None:
    from tradeloop.ml.dataset import build_samples
    from tradeloop.ml.training import TrainingLimits, train_classifier

    candles, _ = synth_market(60, timeframe="1h", seed=6)
    samples = build_samples(candles, 4, 0.0024, step_ms=3_600_000)
    assert samples.y_aux.shape[1] == 3  # 1h, 2h and 3h beside the 4h move
    limits = TrainingLimits(max_epochs=2, patience=2, target_confidence=0.99)
    nets = {}
    for weight in (0.0, 1.0):
        cfg = Settings().model.model_copy(update={"architecture": architecture,
                                                  "hidden_size": 16, "aux_weight": weight})
        nets[weight] = train_classifier(samples, cfg, limits, purge_bars=4).net.state_dict()
    assert nets[0.0].keys() == nets[1.0].keys()  # the auxiliary heads are training-only
    assert any(not np.array_equal(nets[0.0][k].numpy(), nets[1.0][k].numpy())
               for k in nets[0.0])  # ... and they change what the net learns


@pytest.mark.parametrize("architecture", ["mlp", "gru"])
def test_stacked_horizon_heads_fold_exactly_into_the_served_net(architecture: str) -> None:
    import torch

    from tradeloop.ml.nets import build_net
    from tradeloop.ml.training import _Classifier

    torch.manual_seed(0)
    net = build_net(architecture, 5, {"hidden_size": 8, "num_layers": 1, "dropout": 0.0})
    module = _Classifier(net, 1e-3, 0.0, n_aux=3, aux_weight=1.0)
    x = torch.randn(32, 4, 5) if architecture == "gru" else torch.randn(32, 5)
    y, y_aux = torch.randint(0, 3, (32,)), torch.randint(0, 3, (32, 3))
    net.eval()
    with torch.no_grad():
        stacked, _main, _objective = module._losses(x, y, y_aux)
    module.fold()
    with torch.no_grad():
        torch.testing.assert_close(net(x), stacked, rtol=1e-5, atol=1e-6)
    # every head and the stacker are optimised (they once sat outside the optimiser, frozen
    # at their random start)
    optimised = {id(p) for group in module.configure_optimizers().param_groups
                 for p in group["params"]}
    assert {id(p) for p in module.parameters()} <= optimised
    # the traded loss reaches only the stacker: the representation learns from the heads
    net.train()
    _logits, main, _objective = module._losses(x, y, y_aux)
    main.backward()
    assert module.stack is not None and module.stack.weight.grad is not None
    assert all(p.grad is None for p in net.parameters())
