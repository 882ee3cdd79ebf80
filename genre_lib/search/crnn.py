"""The CRNN search: the 1D-convolutional CRNN with a GRU (``crnn1d``, ``rnn="gru"``, the
``crnn1d_gru`` of notebook 05) over the space of de la Torre Veguillas et al.'s FMA search (2025,
github.com/nereadelatorre/Music-Genre-Classification), trained by
:func:`genre_lib.training.load_or_train` on the cached log-mel features.

Every trial trains with AdamW for at most the profile's ``search_epochs`` epochs, reports
the chunk-level validation accuracy after each epoch to Optuna (so a pruner can stop a
hopeless trial early), and returns the track-level validation accuracy. Trials train in a
scratch folder of their own under ``models/<run name>/search/`` that is removed afterwards,
so they never touch the curriculum's saved models, and they never score the test split.
:func:`retrain` then trains a configuration with several training seeds (kept, so a re-run
loads them), and :func:`test_scores` reads the test split, once, at the end.

Notebook: 11_hyperparameter_search.ipynb.
"""
from __future__ import annotations

import contextlib
import io
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd

from .. import training
from ..config import Settings, get_settings
from ..models import spec as model_spec
from .studies import open_study, run_study, search_dir

ARCH, RNN = "crnn1d", "gru"
BATCH_SIZES = (16, 32, 64, 128)
UNITS = (64, 128, 256)
CRNN_SPACE = {"batch_size": ("choice", *BATCH_SIZES), "lr": ("log-uniform", 1e-4, 1e-3),
              "units": ("choice", *UNITS), "dropout": ("uniform", 0.2, 0.5),
              "rnn_layers": ("choice", 1, 2), "schedule": ("choice", "plateau", "step")}
SEARCH_FIXED = {"optimizer": "adamw"}  # decoupled weight decay (the FMA search used Adam + decay)


def suggest_crnn(trial) -> dict:
    """One point of :data:`CRNN_SPACE` drawn by the trial's sampler: batch size 16-128,
    learning rate 1e-4 to 1e-3 (log scale), 64/128/256 GRU units, dropout 0.2-0.5 before the
    classifier, one or two recurrent layers, ReduceLROnPlateau or step decay.

    Notebook: 11_hyperparameter_search.ipynb.
    """
    return {"batch_size": trial.suggest_categorical("batch_size", list(BATCH_SIZES)),
            "lr": trial.suggest_float("lr", 1e-4, 1e-3, log=True),
            "units": trial.suggest_categorical("units", list(UNITS)),
            "dropout": trial.suggest_float("dropout", 0.2, 0.5),
            "rnn_layers": trial.suggest_categorical("rnn_layers", [1, 2]),
            "schedule": trial.suggest_categorical("schedule", ["plateau", "step"])}


def default_config(*, settings: Settings | None = None) -> dict:
    """The curriculum's own ``crnn1d_gru`` settings, in the search's terms (what notebook 05
    trains when nothing is searched).

    Notebook: 11_hyperparameter_search.ipynb.
    """
    settings = settings or get_settings()
    hyper = model_spec(ARCH).hyper_defaults()
    return {"batch_size": settings.profile.batch_size, "lr": training.TRAIN_DEFAULTS["lr"],
            "units": hyper["units"], "dropout": hyper["dropout"], "rnn_layers": hyper["rnn_layers"],
            "schedule": training.TRAIN_DEFAULTS["schedule"],
            "optimizer": training.TRAIN_DEFAULTS["optimizer"]}


def pruning_callback(trial, monitor: str = "val_accuracy"):
    """A Keras callback that reports ``monitor`` to the trial after every epoch and stops the
    fit (raising ``optuna.TrialPruned``) when the study's pruner says so.

    Notebook: 11_hyperparameter_search.ipynb.
    """
    import keras
    import optuna

    class Pruning(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get(monitor)
            if value is None:
                return
            trial.report(float(value), step=epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {epoch + 1} ({monitor} {float(value):.3f})")

    return Pruning()


@contextlib.contextmanager
def _quiet_training():
    """Train without printing: the training lines go to a buffer (yielded), and TensorFlow's
    warning that many models in a row retrace their functions (expected here) is held back."""
    import logging

    tf_log = logging.getLogger("tensorflow")
    level = tf_log.level
    tf_log.setLevel(logging.ERROR)
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log):
            yield log
    finally:
        tf_log.setLevel(level)


def _quiet_settings(work_dir, *, settings: Settings) -> Settings:
    """``settings`` writing to ``work_dir`` and printing no line per epoch."""
    return settings.with_(work_dir=work_dir, profile=replace(settings.profile, epoch_lines=False))


def crnn_space(epochs: int, *, settings: Settings | None = None) -> dict:
    """What a stored CRNN study's trials depend on (a changed space starts it afresh)."""
    settings = settings or get_settings()
    return {"model": f"{ARCH} ({RNN})", "space": CRNN_SPACE, "fixed": SEARCH_FIXED,
            "epochs": int(epochs), "objective": "track-level valid accuracy",
            "dataset": settings.dataset, "split": settings.split}


def _same_run_elsewhere(trial, params: dict, seed: int):
    """A completed trial of another study in the same storage that trained exactly this
    configuration with the same training seed and the same space (epoch cap included), or
    None. Training is deterministic for a seed on one machine (tests/test_determinism.py),
    so its result is the result this trial would compute: TPE and random search of one seed
    draw the same start-up configurations, which then train once instead of twice."""
    import optuna

    here = trial.study
    store = here._storage
    space = here.user_attrs.get("space")
    for summary in optuna.get_all_study_summaries(store, include_best_trial=False):
        if summary.study_name == here.study_name:
            continue
        attrs = summary.user_attrs
        if attrs.get("space") != space or attrs.get("seed") != seed:
            continue
        other = optuna.load_study(study_name=summary.study_name, storage=store)
        for t in other.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
            if t.params == params and "epochs_run" in t.user_attrs:
                return summary.study_name, t
    return None


def crnn_objective(study_name: str, seed: int, epochs: int, *, settings: Settings | None = None):
    """The objective of one CRNN study: train the trial's configuration (training seed
    ``seed``) in a scratch folder, score the valid split only, remove the folder. A
    configuration another study already trained with the same seed is not trained again: its
    per-epoch scores are replayed to this study's pruner (which may stop it where the live
    training would have been stopped) and its score is returned
    (:func:`_same_run_elsewhere`; the trial's ``reused_from`` says where it came from)."""
    settings = settings or get_settings()
    def objective(trial):
        import optuna

        params = suggest_crnn(trial)
        found = _same_run_elsewhere(trial, params, seed)
        if found is not None:
            source, earlier = found
            trial.set_user_attr("reused_from", f"{source} #{earlier.number}")
            for step, value in sorted(earlier.intermediate_values.items()):
                trial.report(value, step)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after epoch {step + 1} (replayed)")
            for key in ("epochs_run", "train_seconds"):
                trial.set_user_attr(key, earlier.user_attrs[key])
            return float(earlier.value)
        name = f"{study_name}-trial{trial.number:03d}"
        scratch = search_dir(settings=settings) / "trials" / name
        try:
            with _quiet_training():
                trained = training.load_or_train(
                    name, force=True, arch=ARCH, rnn=RNN, epochs=epochs, seed=seed,
                    callbacks=[pruning_callback(trial)], score_on=("valid",), **SEARCH_FIXED,
                    **params, settings=_quiet_settings(scratch, settings=settings))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        trial.set_user_attr("epochs_run", trained.meta["epochs_run"])
        trial.set_user_attr("train_seconds", trained.meta["train_seconds"])
        return float(trained.meta["metrics"]["valid"]["accuracy"])

    return objective


def search_crnn(sampler: str = "tpe", seed: int = 0, n_trials: int | None = None, epochs: int | None = None,
                pruner: str = "median", quiet: bool = False, *, settings: Settings | None = None):
    """Run (or resume) the CRNN study ``crnn-<sampler>-seed<seed>``: ``n_trials`` trials
    (default the profile's ``search_trials_crnn``) of at most ``epochs`` epochs (default
    ``search_epochs``), pruned by ``pruner``. Returns the study.

    Notebook: 11_hyperparameter_search.ipynb.
    """
    settings = settings or get_settings()
    n = int(n_trials or settings.profile.search_trials_crnn)
    epochs = int(epochs or settings.profile.search_epochs)
    name = f"crnn-{sampler}-seed{seed}"
    study = open_study("crnn", name, sampler, seed, n, pruner=pruner,
                       space=crnn_space(epochs, settings=settings), settings=settings)
    run_study(study, crnn_objective(name, seed, epochs, settings=settings), n, quiet=quiet)
    return study


def best_params(studies) -> tuple[dict, float, str]:
    """The completed trial with the highest validation score over all ``studies``:
    (its parameters, its score, the study it came from). Pruned trials do not count.

    Notebook: 11_hyperparameter_search.ipynb.
    """
    best = None
    for study in studies:
        for t in study.get_trials(deepcopy=False):
            done = t.state.name == "COMPLETE" and t.value is not None  # not pruned
            if done and (best is None or t.value > best[1]):
                best = (dict(t.params), float(t.value), study.study_name)
    if best is None:
        raise ValueError("no completed trial to choose from")
    return best


# -- luck vs skill ----------------------------------------------------------------------------
def retrain(params: dict, label: str, seeds, epochs: int | None = None, *,
            settings: Settings | None = None) -> list:
    """``params`` trained once per training seed in ``seeds`` (at most ``epochs`` epochs,
    default the profile's ``retrain_epochs``), saved as ``<label>-seed<s>`` under
    ``models/<run name>/search/retrained/`` and loaded from there on a re-run. Only the
    valid split is scored. Returns the trained models.

    Notebook: 11_hyperparameter_search.ipynb.
    """
    settings = settings or get_settings()
    epochs = int(epochs or settings.profile.retrain_epochs)
    where = _quiet_settings(search_dir(settings=settings) / "retrained", settings=settings)
    out = []
    for s in seeds:
        with _quiet_training() as log:
            out.append(training.load_or_train(f"{label}-seed{s}", arch=ARCH, rnn=RNN,
                                              epochs=epochs, seed=int(s), score_on=("valid",),
                                              **params, settings=where))
        print(f"{label}, seed {s}: valid accuracy {out[-1].meta['metrics']['valid']['accuracy']:.4f}"
              f" ({out[-1].meta['epochs_run']} epochs, {out[-1].meta['train_seconds']:.0f} s"
              f"{', loaded' if log.getvalue().lstrip().startswith('loaded') else ''})", flush=True)
    return out


def seed_table(models, split: str = "valid", fs=None) -> pd.DataFrame:
    """One row per model: its training seed, accuracy and F1 macro on ``split`` (valid from
    the sidecar; another split is evaluated now on ``fs``, default each model's features).

    Notebook: 11_hyperparameter_search.ipynb.
    """
    rows = []
    for m in models:
        if split == "valid" and "valid" in m.meta.get("metrics", {}):
            got = m.meta["metrics"]["valid"]
        else:
            got = m.evaluate(fs if fs is not None else m.features(progress=False), split)
        rows.append({"model": m.name, "seed": m.meta.get("seed"), "split": split,
                     "accuracy": got["accuracy"], "f1_macro": got.get("f1_macro", np.nan)})
    return pd.DataFrame(rows)


def test_scores(models) -> pd.DataFrame:
    """The **test** split scored by each model: the one reading of test, at the end.

    Notebook: 11_hyperparameter_search.ipynb.
    """
    if not models:
        return pd.DataFrame(columns=["model", "seed", "split", "accuracy", "f1_macro"])
    fs = models[0].features(progress=False)
    return seed_table(models, "test", fs)


__all__ = ["ARCH", "RNN", "CRNN_SPACE", "SEARCH_FIXED", "suggest_crnn", "default_config",
           "pruning_callback", "crnn_space", "crnn_objective", "search_crnn", "best_params",
           "retrain", "seed_table", "test_scores"]
