"""Training one classifier: Lightning for the loop, temperature + class-bias calibration.

Chronological split with purge (label horizon) and embargo, scaler fitted on the training part
only. The validation part is split in time: its first half chooses the epoch (early stopping
on the whole training objective, ``patience``, ``max_epochs``, or a stop once its calibrated
confidence reaches ``target_confidence``: that epoch is the one kept), its second half, after
a purge gap, fits the calibration; everything is reported on the untouched test part.
Validation figures (the per-epoch confidence, the ``val`` report) never come from a
calibration fitted on the rows they are measured on (per epoch: cross-fitted halves;
``val``: the second half's fit). Training stacks horizon heads (``model.aux_weight``;
:class:`_Classifier`), folded into the net's output layer at the end.
Seeded and deterministic. Lightning is imported here only, never on the inference path.
"""

from __future__ import annotations

import copy
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from tradeloop.ml.calibration import (
    Calibration,
    CalibrationReport,
    crossfit_probabilities,
    evaluate,
    fit_calibration,
)
from tradeloop.ml.dataset import Samples, Scaler, Split, chronological_split, sequences
from tradeloop.ml.nets import ClassifierNet, build_net
from tradeloop.settings import ModelSettings

warnings.filterwarnings("ignore", ".*does not have many workers.*")
warnings.filterwarnings("ignore", ".*GPU available but not used.*")
warnings.filterwarnings("ignore", ".*treespec, LeafSpec.*")
import lightning as L  # noqa: E402  (after the warning filters: its import warns)

for _name in ("lightning", "lightning.pytorch", "lightning.fabric",
              "lightning.pytorch.utilities.rank_zero"):
    logging.getLogger(_name).setLevel(logging.ERROR)


@dataclass(frozen=True)
class TrainingLimits:
    max_epochs: int
    patience: int
    target_confidence: float


@dataclass
class TrainOutcome:
    """A trained, calibrated classifier and how it did."""

    net: nn.Module
    architecture: str
    arch_params: dict[str, Any]
    scaler: Scaler
    calibration: Calibration
    sequence_length: int
    val: CalibrationReport
    test: CalibrationReport
    test_probabilities: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    history: list[dict[str, float]] = field(default_factory=list)
    stop_reason: str = "max_epochs"
    best_epoch: int = 0
    n_train: int = 0
    n_val: int = 0
    n_test: int = 0
    train_majority: int = 1
    seconds: float = 0.0
    test_from_ms: int = 0
    train_end: int = 0  # samples[:train_end] is the training part


class _Classifier(L.LightningModule):
    """The net plus, for training only, stacked horizon heads (``aux_weight`` > 0): one linear
    head per horizon (the auxiliary ones and the traded one) on the net's last hidden layer,
    each trained on its own labels, and the traded logits a linear stacker over their logits
    with the gradient stopped. The net's hidden layers learn from every horizon; the 4h noise
    reaches only the stacker (a few weights), not the representation nor a readout of all of
    it. Heads and stacker are linear, so :meth:`fold` writes them into the net's output layer:
    the served net is the plain net. Early stopping watches the whole objective (traded loss
    plus ``aux_weight`` x the heads' mean loss); ``val_loss`` stays the traded horizon's."""

    def __init__(self, net: ClassifierNet, lr: float, weight_decay: float, n_aux: int,
                 aux_weight: float) -> None:
        super().__init__()
        self.net = net
        self.lr, self.weight_decay = lr, weight_decay
        self.aux_weight = aux_weight if n_aux else 0.0
        n_heads = n_aux + 1
        self.heads = nn.Linear(net.width, 3 * n_heads) if self.aux_weight else None
        self.stack = nn.Linear(3 * n_heads, 3) if self.aux_weight else None
        self.loss = nn.CrossEntropyLoss()
        self._val: list[tuple[torch.Tensor, ...]] = []
        self._train_losses: list[float] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def _losses(self, x: torch.Tensor, y: torch.Tensor, y_aux: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(traded logits, traded loss, whole objective)."""
        if self.heads is None or self.stack is None:
            logits = self.net(x)
            main = self.loss(logits, y)
            return logits, main, main
        z = self.heads(self.net.hidden(x))
        logits = self.stack(z.detach())
        main = self.loss(logits, y)
        every = torch.cat([y_aux, y[:, None]], dim=1).reshape(-1)  # row i * k + j: horizon j
        return logits, main, main + self.aux_weight * self.loss(z.reshape(-1, 3), every)

    def training_step(self, batch: tuple[torch.Tensor, ...], _: int) -> torch.Tensor:
        _logits, main, objective = self._losses(*batch)
        self._train_losses.append(float(main.detach()))
        return objective

    def validation_step(self, batch: tuple[torch.Tensor, ...], _: int) -> None:
        x, y, y_aux = batch
        logits, _main, objective = self._losses(x, y, y_aux)
        self._val.append((logits.detach(), y, objective.detach() * len(y)))

    def on_validation_epoch_end(self) -> None:
        logits = torch.cat([v[0] for v in self._val]).numpy().astype(np.float64)
        y = torch.cat([v[1] for v in self._val]).numpy()
        objective = float(sum(float(v[2]) for v in self._val) / len(y))
        self._val.clear()
        val_loss = float(nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(y)))
        probs = crossfit_probabilities(logits, y)
        train_loss = float(np.mean(self._train_losses)) if self._train_losses else float("nan")
        self._train_losses.clear()
        self.log_dict({"val_loss": val_loss, "val_objective": objective,
                       "train_loss": train_loss,
                       "val_accuracy": float((probs.argmax(1) == y).mean()),
                       "val_confidence": float(probs.max(1).mean()),
                       "val_majority_share": float(np.bincount(y, minlength=3).max() / len(y))})

    def fold(self) -> None:
        """Write stacker o heads into the net's output layer (both linear: exact)."""
        if self.heads is None or self.stack is None:
            return
        out = self.net.output_layer()
        with torch.no_grad():
            out.weight.copy_(self.stack.weight @ self.heads.weight)
            out.bias.copy_(self.stack.weight @ self.heads.bias + self.stack.bias)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=self.lr,
                                 weight_decay=self.weight_decay)


class _Data(L.LightningDataModule):
    def __init__(self, train: TensorDataset, val: TensorDataset, batch_size: int, seed: int
                 ) -> None:
        super().__init__()
        self.train, self.val, self.batch_size, self.seed = train, val, batch_size, seed

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train, batch_size=self.batch_size, shuffle=True,
                          generator=torch.Generator().manual_seed(self.seed))

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val, batch_size=len(self.val))


class _Monitor(L.Callback):
    """Keeps the best weights, records history, stops at the target confidence."""

    def __init__(self, target_confidence: float,
                 on_epoch: Callable[[int, dict[str, float]], None] | None) -> None:
        self.target = target_confidence
        self.on_epoch = on_epoch
        self.history: list[dict[str, float]] = []
        self.best_loss = float("inf")
        self.best_state: dict[str, torch.Tensor] | None = None
        self.best_epoch = 0
        self.target_hit = False

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        m = {k: float(v) for k, v in trainer.callback_metrics.items()}
        epoch = trainer.current_epoch + 1
        self.history.append({"epoch": epoch, **m})
        # Confidence counts only once the model beats "always the majority class": where one
        # class dominates (e.g. flat on 1m candles) the prior alone would reach the target.
        hit = m["val_confidence"] >= self.target and m["val_accuracy"] > m["val_majority_share"]
        if m["val_objective"] < self.best_loss or hit:  # a target stop keeps the epoch that hit it
            self.best_loss, self.best_epoch = min(m["val_objective"], self.best_loss), epoch
            self.best_state = copy.deepcopy(module.state_dict())
        if self.on_epoch is not None:
            self.on_epoch(epoch, m)
        if hit:
            self.target_hit = True
            trainer.should_stop = True


def _inputs(X: np.ndarray, seq_len: int, architecture: str) -> tuple[np.ndarray, int]:
    """Network inputs for every row and the first row that has one."""
    if architecture == "gru":
        return sequences(X, seq_len), seq_len - 1
    return X, 0


def _halves(val: slice, gap: int) -> tuple[slice, slice]:
    """The validation part split in time: early stopping on the first half, the calibration
    fitted on the second (after a purge gap). A calibration fitted on the rows that chose the
    epoch trusts that epoch's luck: on a random walk it sharpened noise past the threshold."""
    start, stop = val.start or 0, val.stop
    mid = start + (stop - start - gap) // 2
    if mid - start < 4 or stop - (mid + gap) < 4:
        raise ValueError(f"a validation part of {stop - start} rows is too small to split")
    return slice(start, mid), slice(mid + gap, stop)


def train_classifier(
    samples: Samples,
    cfg: ModelSettings,
    limits: TrainingLimits,
    *,
    purge_bars: int,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    split: Split | None = None,
) -> TrainOutcome:
    """Train, calibrate and evaluate one classifier on time-ordered ``samples`` whose labels
    reach ``purge_bars`` rows ahead (the gap between the parts of the split)."""
    started = time.perf_counter()
    torch.set_num_threads(1)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    seq_len = cfg.sequence_length if cfg.architecture == "gru" else 1
    split = split or chronological_split(len(samples), cfg.val_fraction, cfg.test_fraction,
                                         gap=purge_bars + cfg.embargo_bars)
    train_idx = np.arange(len(samples))[split.train]
    scaler = Scaler.fit(samples.X[split.train])
    inputs, first = _inputs(scaler.transform(samples.X), seq_len, cfg.architecture)

    def part(sl: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        idx = np.arange(len(samples))[sl]
        idx = idx[idx >= first]
        return idx - first, samples.y[idx], samples.fwd_return[idx]

    stop_part, cal_part = _halves(split.val, purge_bars + cfg.embargo_bars)
    (tr_i, tr_y, _), (va_i, va_y, va_r), (ca_i, ca_y, _), (te_i, te_y, te_r) = (
        part(split.train), part(stop_part), part(cal_part), part(split.test))
    x = torch.from_numpy(inputs)
    y_aux = torch.from_numpy(samples.y_aux[first:])
    arch_params = {"hidden_size": cfg.hidden_size, "num_layers": cfg.num_layers,
                   "dropout": cfg.dropout}
    net = build_net(cfg.architecture, samples.X.shape[1], arch_params)
    module = _Classifier(net, cfg.learning_rate, cfg.weight_decay, samples.y_aux.shape[1],
                         cfg.aux_weight)
    data = _Data(TensorDataset(x[tr_i], torch.from_numpy(tr_y), y_aux[tr_i]),
                 TensorDataset(x[va_i], torch.from_numpy(va_y), y_aux[va_i]),
                 cfg.batch_size, cfg.seed)
    monitor = _Monitor(limits.target_confidence, on_epoch)
    early = L.pytorch.callbacks.EarlyStopping(monitor="val_objective", patience=limits.patience,
                                              mode="min")
    trainer = L.Trainer(max_epochs=limits.max_epochs, accelerator="cpu", devices=1,
                        deterministic=True, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False,
                        num_sanity_val_steps=0, callbacks=[monitor, early])
    trainer.fit(module, datamodule=data)
    if monitor.best_state is not None:
        module.load_state_dict(monitor.best_state)
    module.fold()
    net.eval()
    with torch.no_grad():
        val_logits = net(x[va_i]).numpy().astype(np.float64)
        cal_logits = net(x[ca_i]).numpy().astype(np.float64)
        test_logits = net(x[te_i]).numpy().astype(np.float64)
    calibration = fit_calibration(cal_logits, ca_y)
    majority = int(np.bincount(samples.y[train_idx], minlength=3).argmax())
    stop = ("target_confidence" if monitor.target_hit else
            "early_stopping" if early.stopped_epoch else "max_epochs")
    return TrainOutcome(
        net=net, architecture=cfg.architecture, arch_params=arch_params, scaler=scaler,
        calibration=calibration, sequence_length=seq_len,
        val=evaluate(calibration.apply(val_logits), va_y, va_r, majority),
        test=evaluate(calibration.apply(test_logits), te_y, te_r, majority),
        test_probabilities=calibration.apply(test_logits),
        history=monitor.history, stop_reason=stop, best_epoch=monitor.best_epoch,
        n_train=len(tr_i), n_val=len(va_i) + len(ca_i), n_test=len(te_i),
        train_majority=majority,
        seconds=time.perf_counter() - started,
        test_from_ms=int(samples.open_time[split.test.start]), train_end=split.train.stop)
