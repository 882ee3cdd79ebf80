"""Optuna studies that live on disk: samplers and pruners by name, a SQLite storage per search
family, resuming, and tidy tables of what the trials found.

A study is stored in ``models/<run name>/search/<family>.db`` (a folder git ignores, apart
from the curriculum's saved models). Opening it again finds the trials already run, so
:func:`run_study` only runs the ones still missing: an interrupted search resumes, and
several processes pointed at the same file share one study (SQLite serialises their writes;
:class:`optuna.study.MaxTrialsCallback` stops them all at the budget).

Notebook: 11_hyperparameter_search.ipynb.
"""
from __future__ import annotations

import json
import sqlite3
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Settings, get_settings

SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "halving", "none")


def _optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


# -- samplers and pruners ---------------------------------------------------------------------
def startup_trials(n_trials: int) -> int:
    """Random trials TPE draws before it starts modelling: a quarter of the budget, 2 to 10.

    Notebook: 11_hyperparameter_search.ipynb.
    """
    return int(min(10, max(2, n_trials // 4)))


def make_sampler(name: str, seed: int, n_trials: int = 20):
    """``tpe`` (multivariate Tree-structured Parzen Estimator, which first draws
    :func:`startup_trials` at random) or ``random`` (independent uniform draws), seeded.

    Notebook: none directly; used by :func:`open_study` and ``search.nested_cv``.
    """
    optuna = _optuna()
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name != "tpe":
        raise ValueError(f"sampler must be one of {SAMPLERS}, not {name!r}")
    with warnings.catch_warnings():  # multivariate TPE is marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup_trials(n_trials),
                                          multivariate=True)


def make_pruner(name: str = "median", warmup: int = 2):
    """``median``: stop a trial whose intermediate score falls below the median of earlier
    trials at the same epoch (after ``warmup`` epochs and 3 finished trials); ``halving``:
    successive halving (keep the best third at epochs 1, 3, 9 ...); ``none``: never stop."""
    optuna = _optuna()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=warmup)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"pruner must be one of {PRUNERS}, not {name!r}")


# -- storage ----------------------------------------------------------------------------------
def search_dir(*, settings: Settings | None = None) -> Path:
    """``models/<run name>/search``: studies, trial scratch folders and retrained models.

    Notebook: 11_hyperparameter_search.ipynb.
    """
    settings = settings or get_settings()
    return settings.models_dir / "search"


def storage_path(family: str, *, settings: Settings | None = None) -> Path:
    """The SQLite file holding every study of one search family (``svm``, ``crnn``)."""
    settings = settings or get_settings()
    return search_dir(settings=settings) / f"{family}.db"


class _WalConnection(sqlite3.Connection):
    """A SQLite connection in write-ahead-log mode that syncs to disk at checkpoints rather
    than at every commit: 2-4 times less time per trial measured here, and readers never
    block the writer. (WAL needs a local disk, not a network file system.)"""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA journal_mode=WAL")
        self.execute("PRAGMA synchronous=NORMAL")


def storage(family: str, *, settings: Settings | None = None):
    """An Optuna RDB storage on :func:`storage_path`. A heartbeat marks trials of a process
    that died (a killed kernel) as failed, so a resumed search runs them again."""
    settings = settings or get_settings()
    from sqlalchemy.exc import DatabaseError

    optuna = _optuna()
    path = storage_path(family, settings=settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = {"connect_args": {"timeout": 60, "factory": _WalConnection}}
    for attempt in range(5):  # processes that create the same new file race for its tables
        try:
            with warnings.catch_warnings():  # the heartbeat is marked experimental
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(f"sqlite:///{path}", heartbeat_interval=30,
                                                  grace_period=120, engine_kwargs=engine)
        except DatabaseError:
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


def open_study(family: str, name: str, sampler: str = "tpe", seed: int = 0, n_trials: int = 20,
               pruner: str = "none", space: dict | None = None, *, settings: Settings | None = None):
    """Create study ``name`` in ``family``'s storage, or load it with its trials.

    ``space`` (JSON-able: the search space and anything fixed that changes what a trial
    measures, such as the epoch cap) is recorded with the study; a stored study recorded
    with another space is deleted and started afresh, with the reason printed.

    Notebook: none directly; used by ``search.search_svm`` and ``search.search_crnn``.
    """
    settings = settings or get_settings()
    optuna = _optuna()
    store = storage(family, settings=settings)
    described = json.loads(json.dumps(space or {}, sort_keys=True, default=str))
    if name in optuna.get_all_study_names(store):
        old = optuna.load_study(study_name=name, storage=store).user_attrs.get("space")
        if old != described:
            print(f"{name}: stored with another search space or budget; starting it afresh")
            optuna.delete_study(study_name=name, storage=store)
    study = optuna.create_study(study_name=name, storage=store, direction="maximize",
                                sampler=make_sampler(sampler, seed, n_trials),
                                pruner=make_pruner(pruner), load_if_exists=True)
    study.set_user_attr("space", described)
    study.set_user_attr("sampler", sampler)
    study.set_user_attr("seed", int(seed))
    return study


def finished(study) -> list:
    """The trials that used up budget: completed and pruned ones."""
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


def _completed_value(trial) -> float:
    """The trial's score; NaN for a pruned trial, whose stored value is only the last
    intermediate score it reported (Optuna keeps that), not the objective."""
    return float(trial.value) if trial.state.name == "COMPLETE" and trial.value is not None else np.nan


def _trial_line(study, trial) -> None:
    value = "pruned" if trial.state.name == "PRUNED" else f"{_completed_value(trial):.4f}"
    shown = ", ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
    secs = trial.duration.total_seconds() if trial.duration else 0.0
    reused = trial.user_attrs.get("reused_from")
    where = f"{secs:.0f} s, the same training as {reused}" if reused else f"{secs:.0f} s"
    print(f"  {study.study_name} #{trial.number:<2d} {value:>6s}  {shown}  ({where})", flush=True)


def _short(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def run_study(study, objective, n_trials: int, quiet: bool = False) -> dict:
    """Run the trials ``study`` still lacks to reach ``n_trials`` finished (completed or
    pruned) ones, printing one line per trial; returns ``{"ran", "seconds", "finished"}``.

    Notebook: none directly; used by ``search.search_svm`` and ``search.search_crnn``.
    """
    optuna = _optuna()
    from optuna.trial import TrialState

    missing = n_trials - len(finished(study))
    start = time.perf_counter()
    if missing > 0:
        stop = optuna.study.MaxTrialsCallback(n_trials, states=(TrialState.COMPLETE, TrialState.PRUNED))
        callbacks = [stop] if quiet else [stop, lambda s, t: _trial_line(s, t)]
        study.optimize(objective, n_trials=missing, callbacks=callbacks, gc_after_trial=True)
    return {"ran": max(0, missing), "seconds": time.perf_counter() - start,
            "finished": len(finished(study))}


# -- tables -----------------------------------------------------------------------------------
def trials_frame(study) -> pd.DataFrame:
    """One row per finished trial: number, state, value (NaN when pruned), the last score it
    reported (``last_reported``, per epoch for the CRNN), seconds, the parameters, and the
    study's sampler and seed.

    Notebook: 11_hyperparameter_search.ipynb.
    """
    rows = []
    for t in finished(study):
        rows.append({"study": study.study_name, "sampler": study.user_attrs.get("sampler"),
                     "seed": study.user_attrs.get("seed"), "number": t.number,
                     "state": t.state.name.lower(), "value": _completed_value(t),
                     "last_reported": t.intermediate_values[max(t.intermediate_values)]
                     if t.intermediate_values else np.nan,
                     "seconds": t.duration.total_seconds() if t.duration else np.nan,
                     **t.params, **{f"attr_{k}": v for k, v in t.user_attrs.items()}})
    return pd.DataFrame(rows)


def best_so_far(studies) -> pd.DataFrame:
    """The best value reached after each trial, per study: columns ``sampler``, ``seed``,
    ``trial`` (1, 2, ...), ``value`` and ``best``. A pruned trial spends budget without a
    value, so the best so far carries over it.

    Notebook: 11_hyperparameter_search.ipynb.
    """
    parts = []
    for study in studies:
        frame = trials_frame(study)
        if frame.empty:
            continue
        frame = frame.sort_values("number").reset_index(drop=True)
        best = pd.to_numeric(frame["value"], errors="coerce").cummax().ffill()
        parts.append(pd.DataFrame({"study": frame["study"], "sampler": frame["sampler"],
                                   "seed": frame["seed"], "trial": np.arange(1, len(frame) + 1),
                                   "value": frame["value"], "best": best}))
    cols = ["study", "sampler", "seed", "trial", "value", "best"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


def mean_sd(values, digits: int = 4) -> str:
    """``"0.8125 ± 0.0217 (n=3)"``: mean ± sample standard deviation (``ddof=1``); the spread
    reads ``n/a`` for a single value. Four decimals by default: an accuracy on 80 tracks
    moves in steps of 0.0125.

    Notebook: 11_hyperparameter_search.ipynb.
    """
    v = pd.to_numeric(pd.Series(values), errors="coerce").dropna().to_numpy(float)
    if not len(v):
        return "n/a"
    sd = f"{v.std(ddof=1):.{digits}f}" if len(v) > 1 else "n/a"
    return f"{v.mean():.{digits}f} ± {sd} (n={len(v)})"


def compare_samplers(studies) -> pd.DataFrame:
    """Per sampler: searches run, trials each, the best validation score of each search as
    mean, sd, min and max over the seeds, and the mean wall time of one search (s).

    Notebook: 11_hyperparameter_search.ipynb.
    """
    rows = []
    for study in studies:
        frame = trials_frame(study)
        values = pd.to_numeric(frame.get("value"), errors="coerce") if len(frame) else pd.Series([])
        rows.append({"sampler": study.user_attrs.get("sampler"), "seed": study.user_attrs.get("seed"),
                     "trials": len(frame), "pruned": int((frame.get("state") == "pruned").sum())
                     if len(frame) else 0,
                     "best": values.max(), "seconds": frame["seconds"].sum() if len(frame) else 0.0})
    per = pd.DataFrame(rows)
    out = per.groupby("sampler", sort=False).agg(
        searches=("seed", "count"), trials=("trials", "mean"), pruned=("pruned", "mean"),
        best_mean=("best", "mean"), best_sd=("best", "std"), best_min=("best", "min"),
        best_max=("best", "max"), seconds=("seconds", "mean"))
    out["best"] = [mean_sd(per.loc[per["sampler"] == s, "best"]) for s in out.index]
    return out.reset_index()


# -- what mattered ----------------------------------------------------------------------------
def pooled(studies, name: str = "pooled"):
    """An in-memory study holding the completed trials of ``studies`` (same search space),
    so importance is measured on all of them at once.

    Notebook: 11_hyperparameter_search.ipynb.
    """
    optuna = _optuna()
    from optuna.trial import TrialState

    out = optuna.create_study(study_name=name, direction="maximize")
    for study in studies:
        out.add_trials(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    return out


def importances(study, min_trials: int = 4, seed: int = 0) -> pd.Series:
    """Each parameter's share of the variance of the score (fANOVA: a random forest fitted
    to the completed trials, its variance decomposed by parameter; the shares sum to 1).

    With fewer than ``min_trials`` completed trials, or scores that do not vary, fANOVA has
    nothing to explain: the result is all NaN and ``attrs["note"]`` says why.

    Notebook: 11_hyperparameter_search.ipynb.
    """
    optuna = _optuna()
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    names = sorted({k for t in done for k in t.params})
    values = {t.value for t in done}
    note = ""
    if len(done) < min_trials:
        note = f"only {len(done)} completed trial(s); importance needs at least {min_trials}"
    elif len(values) < 2:
        note = "every trial scored the same; nothing to explain"
    if not note:
        try:
            evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
            got = optuna.importance.get_param_importances(study, evaluator=evaluator)
            out = pd.Series(got, dtype=float).reindex(names).fillna(0.0)
            out.attrs["note"] = f"fANOVA over {len(done)} completed trials"
            return out.sort_values(ascending=False)
        except (RuntimeError, ValueError, ZeroDivisionError) as exc:
            note = f"fANOVA failed ({type(exc).__name__}: {exc})"
    out = pd.Series(np.nan, index=names, dtype=float)
    out.attrs["note"] = note
    return out


__all__ = ["SAMPLERS", "PRUNERS", "startup_trials", "make_sampler", "make_pruner", "search_dir",
           "storage_path", "storage", "open_study", "finished", "run_study", "trials_frame",
           "best_so_far", "mean_sd", "compare_samplers", "pooled", "importances"]
