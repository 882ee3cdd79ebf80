"""The classical baselines: scikit-learn Pipelines on summary features or small spectrogram images.

Every model is a ``Pipeline`` of a ``StandardScaler`` and one classifier: SVC with an RBF
kernel, k-nearest neighbours, logistic regression, a decision tree, a random forest and
gradient-boosted trees (XGBoost). Hyper-parameters are chosen on the **validation** split:
each configuration of a small grid is fitted on ``train`` and scored on ``valid``; the best
one (by validation accuracy; the first in grid order wins ties) is kept as fitted and is
evaluated on ``test`` exactly once, by :func:`run_all`.

The feature inputs are the 140 MFCC summary statistics (``features.extract(..., 'mfcc_stats')``),
downsampled log-mel "images" (:func:`genre_lib.analysis.downsample_images`), and, for FMA,
the dataset's own precomputed ``features.csv`` (:func:`load_fma_precomputed`).

Notebook: 03_baseline_mfcc_svm.ipynb.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from .config import PROFILE_TABLE, Settings, get_settings

__all__ = ["Splits", "PipelineSpec", "Selection", "BaselineRun", "splits_from_features",
           "default_models", "model_scores", "select_on_valid", "evaluate", "run_all",
           "load_fma_precomputed", "fma_features_path", "precomputed_splits"]


# -- the data, split ----------------------------------------------------------------------------------
@dataclass
class Splits:
    """Feature matrices and labels of the three splits, with the track ids of each row.

    ``classes`` are the labels seen in training (sorted); every model predicts among them.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_valid: np.ndarray
    y_valid: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    ids_train: np.ndarray = field(default_factory=lambda: np.array([]))
    ids_valid: np.ndarray = field(default_factory=lambda: np.array([]))
    ids_test: np.ndarray = field(default_factory=lambda: np.array([]))

    @property
    def classes(self) -> list:
        return sorted(set(self.y_train), key=str)

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    def __repr__(self) -> str:
        return (f"Splits({self.name}: {self.n_features} features; train {len(self.y_train)}, "
                f"valid {len(self.y_valid)}, test {len(self.y_test)}; "
                f"{len(self.classes)} classes)")


def splits_from_features(X, table: pd.DataFrame, name: str, label: str = "genre") -> Splits:
    """Cut ``X`` (one row per row of ``table``, e.g. ``fs.X`` with ``fs.table``) by the
    table's ``split`` column; ``label`` names the single-label column.

    Raises ``ValueError`` with a clear message when the table has no single label (MTAT) or
    when validation or test hold a label that training never saw.

    Notebook: 03_baseline_mfcc_svm.ipynb.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        X = X.reshape(len(X), -1)
    if len(X) != len(table):
        raise ValueError(f"{name}: {len(X)} feature rows but {len(table)} table rows")
    if label not in table.columns or table[label].isna().any():
        raise ValueError(f"{name}: the single-label baselines need a {label!r} column with a "
                         f"value for every track; this dataset has none (tags only?)")
    parts = {}
    for split in ("train", "valid", "test"):
        mask = (table["split"] == split).to_numpy()
        parts[split] = (X[mask], table.loc[mask, label].astype(str).to_numpy(),
                        table.loc[mask, "track_id"].to_numpy())
    if len(parts["train"][1]) == 0 or len(parts["valid"][1]) == 0 or len(parts["test"][1]) == 0:
        raise ValueError(f"{name}: every split needs at least one track "
                         f"(train {len(parts['train'][1])}, valid {len(parts['valid'][1])}, "
                         f"test {len(parts['test'][1])})")
    unseen = (set(parts["valid"][1]) | set(parts["test"][1])) - set(parts["train"][1])
    if unseen:
        raise ValueError(f"{name}: label(s) {sorted(unseen)} appear in valid/test but not in train")
    return Splits(name, parts["train"][0], parts["train"][1], parts["valid"][0], parts["valid"][1],
                  parts["test"][0], parts["test"][1], parts["train"][2], parts["valid"][2],
                  parts["test"][2])


# -- the models ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PipelineSpec:
    """A baseline: a readable title, a pipeline factory ``make(seed)`` and a grid factory
    ``grid(n_features, n_train)`` giving a dict of ``clf__<param>: [values]``."""

    key: str
    title: str
    make: Callable[[int], object]
    grid: Callable[[int, int], dict]


def _pipe(clf):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("scale", StandardScaler()), ("clf", clf)])


def default_models(fast: bool | None = None, *, settings: Settings | None = None) -> dict[str, PipelineSpec]:
    """The six baselines with their search grids. The ensembles' sizes come from the
    profile (``baseline_trees``, ``baseline_rounds``); ``fast=True`` forces the ci profile's
    smaller ones, ``fast=False`` the full profile's. The grids are otherwise the same.

    Every model runs single-threaded (and :func:`select_on_valid` and :func:`evaluate` cap the
    BLAS/OpenMP thread pools at one), so the fit and predict times compare like with like and
    a busy machine does not suffer thread oversubscription (measured here: a logistic
    regression fit 35x slower with two BLAS threads on two shared cores than with one).

    Notebook: 03_baseline_mfcc_svm.ipynb.
    """
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    settings = settings or get_settings()
    prof = settings.profile if fast is None else PROFILE_TABLE["ci" if fast else "full"]
    n_trees, n_rounds = prof.baseline_trees, prof.baseline_rounds

    def xgb(seed):
        from xgboost import XGBClassifier

        return _pipe(XGBClassifier(n_estimators=n_rounds, tree_method="hist", max_bin=64,
                                   subsample=0.8, colsample_bytree=0.3, n_jobs=1,
                                   random_state=seed, verbosity=0))

    specs = [
        PipelineSpec("svc_rbf", "SVC (RBF kernel)",
                     lambda seed: _pipe(SVC(kernel="rbf", random_state=seed)),
                     # gamma as multiples of 1 / n_features (sklearn's 'scale' on standardised data)
                     lambda d, n: {"clf__C": [0.1, 1.0, 10.0, 100.0, 1000.0],
                                   "clf__gamma": [0.25 / d, 1.0 / d, 4.0 / d]}),
        PipelineSpec("knn", "k-nearest neighbours",
                     lambda seed: _pipe(KNeighborsClassifier()),
                     lambda d, n: {"clf__n_neighbors": [k for k in (1, 3, 5, 9, 15) if k <= n] or [1],
                                   "clf__weights": ["uniform", "distance"]}),
        PipelineSpec("logreg", "logistic regression",
                     lambda seed: _pipe(LogisticRegression(max_iter=3000, random_state=seed)),
                     lambda d, n: {"clf__C": [0.01, 0.1, 1.0, 10.0]}),
        PipelineSpec("tree", "decision tree",
                     lambda seed: _pipe(DecisionTreeClassifier(random_state=seed)),
                     lambda d, n: {"clf__max_depth": [4, 8, 16, None],
                                   "clf__min_samples_leaf": [1, 5]}),
        PipelineSpec("forest", "random forest",
                     lambda seed: _pipe(RandomForestClassifier(n_estimators=n_trees, n_jobs=1,
                                                               random_state=seed)),
                     lambda d, n: {"clf__max_features": ["sqrt", 0.2],
                                   "clf__min_samples_leaf": [1, 3]}),
        PipelineSpec("xgboost", "gradient-boosted trees (XGBoost)", xgb,
                     lambda d, n: {"clf__max_depth": [3, 6], "clf__learning_rate": [0.1, 0.3]}),
    ]
    return {s.key: s for s in specs}


def model_scores(model, X) -> np.ndarray:
    """Class scores for ranking (top-k): ``predict_proba`` where the model has it, otherwise
    a softmax of ``decision_function`` (an SVC without Platt scaling). Columns follow
    ``model.classes_``."""
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X))
    d = np.asarray(model.decision_function(X), dtype=np.float64)
    if d.ndim == 1:  # two classes: one signed score
        d = np.stack([-d, d], axis=1)
    d = d - d.max(1, keepdims=True)
    e = np.exp(d)
    return e / e.sum(1, keepdims=True)


@dataclass
class Selection:
    """The outcome of the validation search for one model."""

    key: str
    title: str
    model: object            # the chosen pipeline, fitted on train
    params: dict
    valid_accuracy: float
    fit_s: float             # fit time of the chosen configuration
    search_s: float          # all fits and validation predictions of the search
    grid_scores: pd.DataFrame


def select_on_valid(spec: PipelineSpec, splits: Splits, seed: int = 42) -> Selection:
    """Fit every configuration of ``spec``'s grid on train, score it on valid, keep the best.

    Labels are encoded as integers 0..K-1 in the order of ``splits.classes`` (XGBoost needs
    that); :func:`evaluate` decodes them back.

    Notebook: 03_baseline_mfcc_svm.ipynb.
    """
    from sklearn.base import clone
    from sklearn.model_selection import ParameterGrid

    index = {c: i for i, c in enumerate(splits.classes)}
    y_train = np.array([index[c] for c in splits.y_train])
    y_valid = np.array([index[c] for c in splits.y_valid])
    base = spec.make(seed)
    rows, best = [], None
    start = time.perf_counter()
    for params in ParameterGrid(spec.grid(splits.n_features, len(y_train))):
        model = clone(base).set_params(**params)
        with threadpool_limits(limits=1):
            t0 = time.perf_counter()
            model.fit(splits.X_train, y_train)
            fit_s = time.perf_counter() - t0
            acc = float(np.mean(model.predict(splits.X_valid) == y_valid))
        rows.append({**{k.replace("clf__", ""): v for k, v in params.items()},
                     "valid_accuracy": acc, "fit_s": fit_s})
        if best is None or acc > best[0]:
            best = (acc, model, params, fit_s)
    search_s = time.perf_counter() - start
    acc, model, params, fit_s = best
    clean = {k.replace("clf__", ""): (round(v, 6) if isinstance(v, float) else v)
             for k, v in params.items()}
    return Selection(spec.key, spec.title, model, clean, acc, fit_s, search_s, pd.DataFrame(rows))


def evaluate(model, X, y_true, classes) -> dict:
    """Predictions, class scores and metrics of a fitted model on one split.

    Returns ``{"metrics", "y_pred", "scores", "predict_s"}``; the metrics come from
    :func:`genre_lib.evaluation.classification_metrics` (accuracy, F1 macro and weighted,
    top-2 and top-3 accuracy).
    """
    from .evaluation import classification_metrics

    classes = list(classes)
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        codes = np.asarray(model.predict(X))
        scores = model_scores(model, X)
        predict_s = time.perf_counter() - t0
    y_pred = np.array(classes, dtype=object)[codes.astype(int)]
    # scores' columns follow model.classes_ (codes seen in training), reorder to ``classes``
    full = np.zeros((len(X), len(classes)))
    full[:, np.asarray(model.classes_, dtype=int)] = scores
    metrics = classification_metrics(list(y_true), list(y_pred), full, classes)
    return {"metrics": metrics, "y_pred": y_pred, "scores": full, "predict_s": predict_s}


@dataclass
class BaselineRun:
    """Everything :func:`run_all` measured: the tidy ``table`` (one row per model), the
    validation ``selections`` and the test ``predictions`` (y_pred and scores per model)."""

    splits: Splits
    table: pd.DataFrame
    selections: dict
    predictions: dict
    result_paths: list

    def best_on_valid(self) -> str:
        """The key of the model with the highest validation accuracy (never chosen by test)."""
        return str(self.table.sort_values("valid_accuracy", ascending=False, kind="stable")
                   .iloc[0]["model"])


def run_all(splits: Splits, models=None, save: bool = True, progress: bool = True, *,
            settings: Settings | None = None) -> BaselineRun:
    """Select every baseline on valid, evaluate each chosen model once on test, and return a
    tidy table: model, features, chosen hyper-parameters, validation accuracy, test accuracy,
    top-2/top-3 accuracy, F1 macro and weighted, fit, predict and search times (seconds).

    With ``save``, one results row per model (split ``test``, with the validation accuracy
    beside it) is written to ``results/<run name>/``.

    Notebook: 03_baseline_mfcc_svm.ipynb.
    """
    from tqdm.auto import tqdm

    from .evaluation import result_row, save_result

    settings = settings or get_settings()
    specs = default_models(settings=settings)
    if models is not None:
        unknown = [m for m in models if m not in specs]
        if unknown:
            raise ValueError(f"unknown baseline(s) {unknown}; choose from {sorted(specs)}")
        specs = {k: specs[k] for k in models}
    rows, selections, predictions, paths = [], {}, {}, []
    bar = tqdm(list(specs.values()), desc=f"baselines on {splits.name}", disable=not progress)
    for spec in bar:
        bar.set_postfix_str(spec.key)
        sel = select_on_valid(spec, splits, seed=settings.seed)
        out = evaluate(sel.model, splits.X_test, splits.y_test, splits.classes)
        m = out["metrics"]
        row = {"model": spec.key, "title": spec.title, "features": splits.name,
               "params": json.dumps(sel.params, default=str),
               "valid_accuracy": sel.valid_accuracy,
               **{k: m.get(k, np.nan) for k in ("accuracy", "top2_accuracy", "top3_accuracy",
                                                 "f1_macro", "f1_weighted")},
               "fit_s": sel.fit_s, "predict_s": out["predict_s"], "search_s": sel.search_s,
               "configs": len(sel.grid_scores)}
        rows.append(row)
        selections[spec.key] = sel
        predictions[spec.key] = out
        if save:
            res = result_row(f"{spec.key} on {splits.name}", "test", m,
                             wall_time_s=sel.search_s + out["predict_s"], features=splits.name,
                             params=row["params"], valid_accuracy=round(sel.valid_accuracy, 4),
                             fit_s=round(sel.fit_s, 4), predict_s=round(out["predict_s"], 4),
                             n_train=len(splits.y_train), n_valid=len(splits.y_valid),
                             selected_on="valid", settings=settings)
            paths.append(save_result(res, settings=settings))
    table = pd.DataFrame(rows)
    return BaselineRun(splits, table, selections, predictions, paths)


# -- FMA's precomputed features.csv --------------------------------------------------------------------
def fma_features_path(table: pd.DataFrame | None = None, *, settings: Settings | None = None) -> Path | None:
    """Where FMA's ``features.csv`` (from ``fma_metadata.zip``) lies, or None if it is absent.

    The FMA loader records it in ``table.attrs["features_csv"]``; otherwise it is looked for
    under the data folder: ``fma_metadata/``, ``fma/fma_metadata/``, ``<dataset>/fma_metadata/``,
    ``<dataset>/``, ``fma/`` and the data folder itself.
    """
    settings = settings or get_settings()
    named = table.attrs.get("features_csv") if table is not None else None
    if isinstance(named, (str, Path)) and named and Path(named).name == "features.csv" \
            and Path(named).is_file():
        return Path(named)
    d = Path(settings.data_dir)
    for cand in (d / "fma_metadata", d / "fma" / "fma_metadata", d / settings.dataset / "fma_metadata",
                 d / settings.dataset, d / "fma", d):
        if (cand / "features.csv").is_file():
            return cand / "features.csv"
    return None


def load_fma_precomputed(table: pd.DataFrame | None = None, path=None, *,
                         settings: Settings | None = None) -> pd.DataFrame | None:
    """FMA's 518 precomputed features per track, or None when ``features.csv`` is absent.

    Read (and cached) by the FMA loader, :func:`genre_lib.datasets.fma.load_features`:
    columns ``<feature>_<statistic>_<number>``, rows indexed by six-digit track id. A file
    that is present but unreadable raises ``DatasetError`` naming it.

    Notebook: 03_baseline_mfcc_svm.ipynb.
    """
    from .datasets import fma

    path = Path(path) if path is not None else fma_features_path(table, settings=settings)
    if path is None or not Path(path).is_file():
        return None
    return fma.load_features(groups=None, path=path, settings=settings)


def _fma_id(track_id) -> str | None:
    digits = re.findall(r"\d+", str(track_id))
    return f"{int(digits[-1]):06d}" if digits else None


def precomputed_splits(table: pd.DataFrame, frame: pd.DataFrame, which: str = "all") -> Splits:
    """Splits of FMA's precomputed features for the tracks of ``table``.

    ``which='all'``: all 518 features; ``'mfcc'``: only the 140 MFCC statistics. Tracks
    missing from ``features.csv`` are left out, with a printed count.

    Notebook: 03_baseline_mfcc_svm.ipynb.
    """
    if which not in ("all", "mfcc"):
        raise ValueError("which must be 'all' or 'mfcc'")
    cols = frame.columns if which == "all" else [c for c in frame.columns if c.startswith("mfcc_")]
    ids = table["track_id"].map(_fma_id)
    present = ids.isin(frame.index).to_numpy()
    if not present.all():
        print(f"{(~present).sum()} of {len(table)} track(s) have no row in features.csv; left out")
    sub = table[present].reset_index(drop=True)
    X = frame.loc[ids[present].to_numpy(), cols].to_numpy(np.float32)
    name = f"fma features.csv ({which}, {len(cols)})"
    return splits_from_features(np.nan_to_num(X), sub, name)
