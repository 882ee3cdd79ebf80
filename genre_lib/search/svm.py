"""The MFCC + SVM search: the SVC's C and gamma and the number of MFCCs behind the summary
statistics, chosen on the validation split, and a nested cross-validation of the whole
procedure.

Each number of MFCCs is one cached feature set (``features.extract(table, "mfcc_stats",
settings, n_mfcc=k)``, 7 statistics per coefficient); a trial fits the pipeline of
:mod:`genre_lib.baselines` (``StandardScaler`` then an RBF ``SVC``) on train and scores it on
valid. The test split is read by :func:`test_score` only, once the choice is made.

Notebook: 11_hyperparameter_search.ipynb.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from .. import baselines, features
from ..config import Settings, get_settings
from .studies import make_sampler, open_study, run_study

N_MFCC = (13, 20, 30, 40)
SVM_SPACE = {"C": ("log-uniform", 1e-2, 1e3), "gamma": ("log-uniform", 1e-4, 1e-1),
             "n_mfcc": ("choice", *N_MFCC)}
# scikit-learn's own defaults (gamma "scale" = 1 / (n_features * variance) = 1 / n_features on
# standardised features) with the curriculum's 20 MFCCs
SVM_DEFAULT = {"C": 1.0, "gamma": "scale", "n_mfcc": 20}


def suggest_svm(trial) -> dict:
    """One point of :data:`SVM_SPACE` drawn by the trial's sampler.

    Notebook: 11_hyperparameter_search.ipynb.
    """
    return {"C": trial.suggest_float("C", 1e-2, 1e3, log=True),
            "gamma": trial.suggest_float("gamma", 1e-4, 1e-1, log=True),
            "n_mfcc": trial.suggest_categorical("n_mfcc", list(N_MFCC))}


class MfccBank:
    """MFCC statistics of one dataset for each number of MFCCs, as
    :class:`genre_lib.baselines.Splits`, read from the feature cache on first use.

    Notebook: 11_hyperparameter_search.ipynb.
    """

    def __init__(self, table: pd.DataFrame, progress: bool = False, *, settings: Settings | None = None):
        settings = settings or get_settings()
        self.table, self.settings, self.progress = table, settings, progress
        self._splits: dict[int, baselines.Splits] = {}

    def __call__(self, n_mfcc: int) -> baselines.Splits:
        k = int(n_mfcc)
        if k not in self._splits:
            fs = features.extract(self.table, "mfcc_stats", n_mfcc=k,
                                  progress=self.progress, settings=self.settings)
            self._splits[k] = baselines.splits_from_features(fs.X, fs.table, f"mfcc_stats({k})")
        return self._splits[k]

    def warm(self, values=N_MFCC) -> None:
        """Extract (or read from the cache) every feature set a trial may ask for."""
        for k in values:
            self(k)


def svm_pipeline(C: float, gamma, seed: int = 0):
    """``StandardScaler`` then ``SVC(kernel="rbf", C, gamma)``, as in the baselines."""
    from sklearn.svm import SVC

    return baselines._pipe(SVC(kernel="rbf", C=float(C), gamma=gamma, random_state=seed))


def fit_svm(params: dict, X, y, seed: int = 0):
    """The pipeline for ``params`` (``C``, ``gamma``) fitted on ``X``, ``y`` (one thread)."""
    with threadpool_limits(limits=1):
        return svm_pipeline(params["C"], params["gamma"], seed).fit(X, y)


def _accuracy(model, X, y) -> float:
    with threadpool_limits(limits=1):
        return float(np.mean(model.predict(X) == y))


def valid_score(bank: MfccBank, params: dict, seed: int = 0) -> float:
    """Validation accuracy of ``params`` fitted on the train split."""
    sp = bank(params["n_mfcc"])
    return _accuracy(fit_svm(params, sp.X_train, sp.y_train, seed), sp.X_valid, sp.y_valid)


def test_score(bank: MfccBank, params: dict, seed: int = 0) -> dict:
    """Fit ``params`` on train and score it on the **test** split: call it once, for the
    configuration chosen on validation (and the default beside it).

    Notebook: 11_hyperparameter_search.ipynb.
    """
    sp = bank(params["n_mfcc"])
    model = fit_svm(params, sp.X_train, sp.y_train, seed)
    return {"valid_accuracy": _accuracy(model, sp.X_valid, sp.y_valid),
            "test_accuracy": _accuracy(model, sp.X_test, sp.y_test)}


def svm_space(*, settings: Settings | None = None) -> dict:
    """What a stored SVM study's trials depend on (a changed space starts it afresh)."""
    settings = settings or get_settings()
    return {"model": "svc_rbf on mfcc_stats", "space": SVM_SPACE, "objective": "valid accuracy",
            "dataset": settings.dataset, "split": settings.split}


def search_svm(bank: MfccBank, sampler: str = "tpe", seed: int = 0, n_trials: int | None = None,
               quiet: bool = False, *, settings: Settings | None = None):
    """Run (or resume) the SVM study ``svm-<sampler>-seed<seed>``: ``n_trials`` (default the
    profile's ``search_trials_svm``) trials, each scored by validation accuracy. Returns
    the study. ``settings`` default to the bank's.

    Notebook: 11_hyperparameter_search.ipynb.
    """
    settings = settings or bank.settings
    n = int(n_trials or settings.profile.search_trials_svm)
    study = open_study("svm", f"svm-{sampler}-seed{seed}", sampler, seed, n,
                       space=svm_space(settings=settings), settings=settings)

    def objective(trial):
        return valid_score(bank, suggest_svm(trial), seed)

    run_study(study, objective, n, quiet=quiet)
    return study


# -- nested cross-validation ------------------------------------------------------------------
def _pool(bank: MfccBank, values=N_MFCC) -> tuple[dict, np.ndarray]:
    """Train and valid rows together (test stays out) for every number of MFCCs."""
    X, y = {}, None
    for k in values:
        sp = bank(k)
        X[k] = np.vstack([sp.X_train, sp.X_valid])
        labels = np.concatenate([sp.y_train, sp.y_valid])
        if y is not None and not np.array_equal(y, labels):
            raise ValueError("the MFCC feature sets do not hold the same tracks in the same order")
        y = labels
    return X, y


def _cv_score(params: dict, X: dict, y: np.ndarray, folds, seed: int) -> float:
    Xk = X[params["n_mfcc"]]
    scores = [_accuracy(fit_svm(params, Xk[a], y[a], seed), Xk[b], y[b]) for a, b in folds]
    return float(np.mean(scores))


def nested_cv(bank: MfccBank, n_trials: int, outer: int = 5, inner: int = 3,
              sampler: str = "tpe", seed: int = 0) -> pd.DataFrame:
    """Nested cross-validation of "search the SVM space, then fit the winner".

    The train and valid tracks are pooled (test stays out) and cut into ``outer`` stratified
    folds. For each outer fold, a fresh study of ``n_trials`` trials scores every candidate
    by its mean accuracy over ``inner`` stratified folds of the *other* outer folds; the
    winner is refitted on all of them and scored once on the held-out outer fold. The mean
    of the outer scores estimates how well the whole procedure does on tracks it never saw;
    the inner best scores are what a search reports about itself, and the gap between the
    two is the optimism of picking a maximum. One row per outer fold.

    Notebook: 11_hyperparameter_search.ipynb.
    """
    import optuna
    from sklearn.model_selection import StratifiedKFold

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = _pool(bank)
    counts = pd.Series(y).value_counts()
    outer = int(min(outer, counts.min()))
    if outer < 2:
        raise ValueError("nested cross-validation needs at least 2 tracks of every genre")
    rows = []
    outer_cv = StratifiedKFold(outer, shuffle=True, random_state=seed)
    for fold, (dev, held) in enumerate(outer_cv.split(X[N_MFCC[0]], y)):
        k_in = int(min(inner, pd.Series(y[dev]).value_counts().min()))
        inner_cv = StratifiedKFold(max(2, k_in), shuffle=True, random_state=seed + fold)
        folds = [(dev[a], dev[b]) for a, b in inner_cv.split(dev, y[dev])]
        study = optuna.create_study(direction="maximize",
                                    sampler=make_sampler(sampler, seed + fold, n_trials))
        study.optimize(lambda t, f=folds: _cv_score(suggest_svm(t), X, y, f, seed), n_trials=n_trials)
        best = dict(study.best_params)
        model = fit_svm(best, X[best["n_mfcc"]][dev], y[dev], seed)
        rows.append({"fold": fold + 1, "dev_tracks": len(dev), "held_out_tracks": len(held),
                     "inner_best_cv": study.best_value,
                     "outer_accuracy": _accuracy(model, X[best["n_mfcc"]][held], y[held]),
                     **best})
    return pd.DataFrame(rows)


__all__ = ["N_MFCC", "SVM_SPACE", "SVM_DEFAULT", "suggest_svm", "MfccBank", "svm_pipeline",
           "fit_svm", "valid_score", "test_score", "svm_space", "search_svm", "nested_cv"]
