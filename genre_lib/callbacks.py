"""Callbacks and optimisers for training: early stopping, the learning-rate schedule
(plateau or step decay), checkpoints, a wall-clock budget, one printed line per epoch, and
Adam or AdamW.

Notebook: 04_cnn.ipynb (callbacks); ``genre_lib.search`` tunes the schedules and AdamW.
"""
from __future__ import annotations

import time
from pathlib import Path

OPTIMIZERS = ("adam", "adamw")    # AdamW: Adam with decoupled weight decay (Keras default 0.004)
SCHEDULES = ("plateau", "step")   # ReduceLROnPlateau on val_loss, or halving every few epochs


def _time_budget_callback(seconds: float):
    import keras

    class TimeBudget(keras.callbacks.Callback):
        """Stop after the epoch in which the wall-clock budget ran out (noted in the sidecar)."""

        def __init__(self):
            super().__init__()
            self.hit = False

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            if time.perf_counter() - self.start > seconds:
                self.hit = True
                self.model.stop_training = True

    return TimeBudget()


def _epoch_line_callback(epochs: int):
    import keras

    class EpochLine(keras.callbacks.Callback):
        """One short line per epoch: losses, accuracies, learning rate and seconds."""

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            parts = [f"epoch {epoch + 1:2d}/{epochs}"]
            for key in ("loss", "accuracy", "auc", "val_loss", "val_accuracy", "val_auc"):
                if key in logs:
                    parts.append(f"{key} {float(logs[key]):.3f}")
            lr = logs.get("learning_rate")
            if lr is not None:
                parts.append(f"lr {float(lr):.1e}")
            parts.append(f"{time.perf_counter() - self.start:.0f} s")
            print("  ".join(parts), flush=True)

    return EpochLine()


def make_callbacks(checkpoint: Path | None, patience: int = 6, time_budget_s: float | None = None,
                   epoch_lines: int | None = None, schedule: str = "plateau", decay_every: int = 10):
    """EarlyStopping on validation loss (best weights restored), the learning-rate schedule,
    a ModelCheckpoint in ``.keras`` format, an optional wall-clock budget, and (with
    ``epoch_lines`` = the number of epochs) one printed line per epoch.

    ``schedule="plateau"`` halves the rate when the validation loss stalls for half the
    patience (ReduceLROnPlateau); ``"step"`` halves it every ``decay_every`` epochs whatever
    happens (step decay).

    Notebook: 04_cnn.ipynb; ``search.search_crnn`` tries the two schedules.
    """
    import keras

    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, not {schedule!r}")
    every = max(1, int(decay_every))
    cbs = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                         restore_best_weights=True),
           keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                             patience=max(1, patience // 2), min_lr=1e-5)
           if schedule == "plateau" else
           keras.callbacks.LearningRateScheduler(
               lambda epoch, lr: lr * 0.5 if epoch and epoch % every == 0 else lr)]
    if checkpoint is not None:
        cbs.append(keras.callbacks.ModelCheckpoint(str(checkpoint), monitor="val_loss",
                                                   save_best_only=True))
    if time_budget_s:
        cbs.append(_time_budget_callback(time_budget_s))
    if epoch_lines:
        cbs.append(_epoch_line_callback(epoch_lines))
    return cbs


def make_optimizer(name: str = "adam", lr: float = 3e-3, weight_decay: float | None = None):
    """``adam`` or ``adamw`` at learning rate ``lr``; ``weight_decay`` None keeps Keras'
    default for that optimizer (none for Adam, 0.004 for AdamW)."""
    import keras

    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, not {name!r}")
    cls = keras.optimizers.Adam if name == "adam" else keras.optimizers.AdamW
    return cls(lr) if weight_decay is None else cls(lr, weight_decay=float(weight_decay))


__all__ = ["OPTIMIZERS", "SCHEDULES", "make_callbacks", "make_optimizer"]
