"""Callbacks and optimisers for training: early stopping, the learning-rate schedule
(plateau or step decay), the state that lets an interrupted training resume (it holds the
best weights so far too, so no separate checkpoint file is written), a wall-clock safety
cap, one printed line per epoch, and Adam or AdamW.

Notebook: 04_cnn.ipynb (callbacks); ``genre_lib.search`` tunes the schedules and AdamW.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

OPTIMIZERS = ("adam", "adamw")    # AdamW: Adam with decoupled weight decay (Keras default 0.004)
SCHEDULES = ("plateau", "step")   # ReduceLROnPlateau on val_loss, or halving every few epochs


def _time_budget_callback(seconds: float, steps_per_epoch: int, budget_steps: int):
    import keras

    class TimeBudget(keras.callbacks.Callback):
        """A safety cap, not the budget: stop after the epoch in which ``seconds`` of wall time
        ran out, and say so loudly, since the model then differs from the one the same seed
        gives on a faster machine (noted in the sidecar; ``make spread`` counts it)."""

        def __init__(self):
            super().__init__()
            self.hit = False

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            if time.perf_counter() - self.start > seconds:
                self.hit = True
                self.model.stop_training = True
                done = (epoch + 1) * steps_per_epoch
                print(f"WARNING: training stopped by the wall-clock safety cap ({seconds:.0f} s) "
                      f"after {done} of its {budget_steps} steps: this machine is slower than the "
                      "budget assumes, so this model is not the one the same seed gives "
                      "elsewhere (raise GENRE_TRAIN_CAP_S to let it finish)", flush=True)

    return TimeBudget()


def _resume_callback(path: Path, run: dict, peers: list):
    """Save, after every epoch, everything a training needs to carry on from there (see
    :class:`ResumeState`); restore it at the start when ``run['resume']`` holds a saved state."""
    import keras

    from .store.files import atomic_write

    class ResumeState(keras.callbacks.Callback):
        """After each epoch, one file (written atomically) holds the model's variables (weights,
        batch-norm statistics, dropout's random state), the optimizer's (step count, moments,
        learning rate), the epoch, the history so far, and the state of early stopping (its
        best weights included) and of the learning-rate schedule. Restored, a killed training continues
        exactly as if it had never stopped."""

        def __init__(self):
            super().__init__()
            self.history = {k: list(v) for k, v in (run.get("resume") or {}).get("history", {}).items()}

        def _peers(self):
            kinds = ("EarlyStopping", "ReduceLROnPlateau")
            return {type(cb).__name__: cb for cb in peers if type(cb).__name__ in kinds}

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()
            state = run.get("resume")
            self.wall_before = float((state or {}).get("wall", 0.0))
            if not state:
                return
            arrays = state["arrays"]
            for i, v in enumerate(self.model.variables):
                v.assign(arrays[f"model_{i}"])
            opt = self.model.optimizer
            if not opt.built:
                opt.build(self.model.trainable_variables)
            for i, v in enumerate(opt.variables):
                v.assign(arrays[f"opt_{i}"])
            found = self._peers()
            for kind, cb in found.items():
                for key, value in state["callbacks"].get(kind, {}).items():
                    setattr(cb, key, value)
            es = found.get("EarlyStopping")
            n_best = state["n_best_weights"]
            if es is not None and n_best:
                es.best_weights = [arrays[f"best_{i}"] for i in range(n_best)]

        def on_epoch_end(self, epoch, logs=None):
            for k, v in (logs or {}).items():
                self.history.setdefault(k, []).append(float(v))
            arrays = {f"model_{i}": np.asarray(v) for i, v in enumerate(self.model.variables)}
            arrays.update({f"opt_{i}": np.asarray(v) for i, v in enumerate(self.model.optimizer.variables)})
            callbacks, n_best = {}, 0
            for kind, cb in self._peers().items():
                keys = {"EarlyStopping": ("wait", "best", "best_epoch", "stopped_epoch"),
                        "ReduceLROnPlateau": ("wait", "best", "cooldown_counter")}[kind]
                callbacks[kind] = {k: _plain(getattr(cb, k, None)) for k in keys}
                if kind == "EarlyStopping" and cb.best_weights is not None:
                    n_best = len(cb.best_weights)
                    arrays.update({f"best_{i}": np.asarray(w) for i, w in enumerate(cb.best_weights)})
            meta = {"epoch": int(epoch), "key": run["key"], "history": self.history,
                    "wall": self.wall_before + time.perf_counter() - self.start,
                    "callbacks": callbacks, "n_best_weights": n_best}
            arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
            atomic_write(path, lambda fh: np.savez(fh, **arrays))

    return ResumeState()


def _plain(value):
    """A callback's state value as JSON can hold it (numpy scalars to Python numbers)."""
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    return float(np.asarray(value))


def read_resume(path: Path, key: dict) -> dict | None:
    """The saved state of an interrupted training at ``path`` if it belongs to the run described
    by ``key`` (the model, its hyper-parameters, features, table and seed), else None (a state
    of another run, or an unreadable file, is removed with a note)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        with np.load(path) as f:
            arrays = {k: f[k] for k in f.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except (OSError, ValueError, KeyError) as exc:
        print(f"note: the saved state of an interrupted training at {path} is unreadable "
              f"({type(exc).__name__}: {exc}); starting from scratch")
        path.unlink(missing_ok=True)
        return None
    if meta.get("key") != json.loads(json.dumps(key)):
        print(f"note: {path.name} was left by an interrupted training of another configuration; "
              "starting from scratch")
        path.unlink(missing_ok=True)
        return None
    return {**meta, "arrays": arrays}


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


def make_callbacks(resume: tuple | None = None, patience: int = 6, time_budget_s: float | None = None,
                   epoch_lines: int | None = None, schedule: str = "plateau", decay_every: int = 10,
                   *, steps_per_epoch: int = 1, budget_steps: int = 0):
    """EarlyStopping on validation loss (best weights restored), the learning-rate schedule,
    the resume state saved after every epoch (``resume`` = ``(path, run)``, see
    :func:`read_resume`; None: nothing is saved), an optional wall-clock safety cap, and
    (with ``epoch_lines`` = the number of epochs) one printed line per epoch.

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
    if resume is not None:
        cbs.append(_resume_callback(*resume, peers=list(cbs)))  # after them: restores their state
    if time_budget_s:
        cbs.append(_time_budget_callback(time_budget_s, steps_per_epoch, budget_steps))
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


__all__ = ["OPTIMIZERS", "SCHEDULES", "make_callbacks", "make_optimizer", "read_resume"]
