"""Transfer learning with musicnn: classifiers on its features, its top layers fine-tuned,
patch votes, smaller training sets, and a CNN trained from scratch for comparison.

* :func:`pca_models`: PCA then an SVM or XGBoost, as scikit-learn pipelines with small
  grids, for :func:`genre_lib.baselines.select_on_valid` (chosen on the validation split,
  as Pons and Serra 2019 did with musicnn features on GTZAN);
* :func:`patch_splits`: one row per 3 s patch, to classify patches and then decide per clip
  (by the mean probability or a majority vote: :func:`genre_lib.evaluation.track_metrics`);
* :func:`top_model` / :func:`fine_tune_top`: the port's back end (from the pooled
  activations to the output) with its pretrained weights and a new output layer, trained on
  the frozen network's pooled activations: fine-tuning the top layers costs no pass through
  the front end, which is where almost all of the computation is;
* :func:`linear_probe`: logistic regression on frozen features;
* :func:`train_subset` and :func:`scratch_cnn`: k training clips per genre, and a small CNN
  trained from scratch on the same patches (the learning curve's third contender).

Notebook: 10_transfer_learning.ipynb.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from .table import PatchFeatures


# -- labels and subsets -------------------------------------------------------------------------
def classes_of(table: pd.DataFrame, label: str = "genre") -> list[str]:
    """The labels of the training split, sorted (every model predicts among them)."""
    return sorted(table.loc[table["split"] == "train", label].astype(str).unique())


def train_subset(table: pd.DataFrame, per_label: int | None, seed: int, label: str = "genre") -> np.ndarray:
    """Boolean mask over ``table``'s rows: ``per_label`` random training tracks per label
    (all of them for ``None`` or when fewer exist); valid and test rows are never kept."""
    rng = np.random.default_rng(seed)
    keep = np.zeros(len(table), dtype=bool)
    train = table["split"].to_numpy() == "train"
    for value in sorted(table.loc[train, label].astype(str).unique()):
        rows = np.flatnonzero(train & (table[label].astype(str).to_numpy() == value))
        if per_label is not None and len(rows) > per_label:
            rows = rng.choice(rows, per_label, replace=False)
        keep[rows] = True
    return keep


# -- classical classifiers on the features --------------------------------------------------------
def pca_models(*, settings=None) -> dict:
    """PCA then SVM (RBF) and PCA then XGBoost, as :class:`genre_lib.baselines.PipelineSpec`
    pipelines (standardise, PCA, classifier); the grids try the share of variance kept and
    the classifier's main knob."""
    from sklearn.decomposition import PCA
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from ..baselines import PipelineSpec
    from ..config import get_settings

    rounds = (settings or get_settings()).profile.baseline_rounds

    def pipe(clf, seed):
        return Pipeline([("scale", StandardScaler()),
                         ("pca", PCA(whiten=True, svd_solver="full", random_state=seed)),
                         ("clf", clf)])

    def xgb(seed):
        from xgboost import XGBClassifier

        return pipe(XGBClassifier(n_estimators=rounds, tree_method="hist", max_bin=64,
                                  subsample=0.8, n_jobs=1, random_state=seed, verbosity=0), seed)

    return {
        "pca_svc": PipelineSpec("pca_svc", "PCA + SVM (RBF)",
                                lambda seed: pipe(SVC(kernel="rbf", random_state=seed), seed),
                                lambda d, n: {"pca__n_components": [0.8, 0.95],
                                              "clf__C": [0.1, 1.0, 10.0, 100.0]}),
        "pca_xgboost": PipelineSpec("pca_xgboost", "PCA + XGBoost", xgb,
                                    lambda d, n: {"pca__n_components": [0.8, 0.95],
                                                  "clf__max_depth": [3, 6]}),
    }


def clip_splits(pf: PatchFeatures, layer: str = "penultimate", how: str = "mean",
                rows: np.ndarray | None = None, name: str | None = None):
    """:class:`genre_lib.baselines.Splits` of clip-pooled features; ``rows`` (a mask over the
    table) keeps a subset, e.g. :func:`train_subset`'s."""
    from ..baselines import splits_from_features

    X, table = pf.clips(layer, how), pf.table
    if rows is not None:
        X, table = X[rows], table[rows].reset_index(drop=True)
    return splits_from_features(X, table, name or f"musicnn {pf.model} {layer} ({how} over patches)")


def patch_splits(pf: PatchFeatures, layer: str = "penultimate"):
    """Splits with one row per patch (each patch carries its clip's label and id)."""
    from ..baselines import splits_from_features

    table = pf.table.iloc[pf.track].reset_index(drop=True)
    return splits_from_features(pf.X[layer], table, f"musicnn {pf.model} {layer} per patch")


# -- the port's top layers ------------------------------------------------------------------------
def interleave_pools(max_pool: np.ndarray, mean_pool: np.ndarray) -> np.ndarray:
    """The back end's input: max and mean pool interleaved channel by channel (n, 1506)."""
    out = np.empty((len(max_pool), 2 * max_pool.shape[1]), dtype=np.float32)
    out[:, 0::2], out[:, 1::2] = max_pool, mean_pool
    return out


def top_model(n_classes: int, name: str = "MSD_musicnn", pretrained: bool = True,
              dropout: float = 0.5):
    """The port's back end as a model of its own: interleaved pools (1506) -> ``pool_bn`` ->
    ``penultimate_dense`` -> ``penultimate`` -> a new softmax output of ``n_classes``, with
    ``name``'s weights in the three pretrained layers (unless ``pretrained=False``)."""
    import keras
    from keras import layers

    from .port import output_head
    from .weights import VARIABLE_MAP, layer_weights, read_checkpoint

    inputs = keras.Input((1506,), name="pools")
    x = layers.BatchNormalization(name="pool_bn")(inputs)
    x = layers.Dropout(dropout, name="pool_dropout")(x)
    x = layers.Dense(200, activation="relu", name="penultimate_dense")(x)
    x = layers.BatchNormalization(name="penultimate")(x)
    model = keras.Model(inputs, output_head(x, n_classes, "softmax", dropout), name="musicnn_top")
    if pretrained:
        variables = read_checkpoint(name)
        for scope, layer_name in VARIABLE_MAP.items():
            if layer_name in ("pool_bn", "penultimate_dense", "penultimate"):
                layer = model.get_layer(layer_name)
                layer.set_weights(layer_weights(variables, scope, layer))
    return model


def fine_tune_top(X_train, y_train, X_valid, y_valid, n_classes: int, name: str = "MSD_musicnn",
                  epochs: int = 40, batch_size: int = 32, lr: float = 1e-3, seed: int = 42,
                  pretrained: bool = True, patience: int = 6):
    """Train :func:`top_model` on interleaved pools (per patch) with early stopping on the
    validation loss (best weights kept); returns (model, history dict, seconds)."""
    import keras

    keras.utils.set_random_seed(seed)
    model = top_model(n_classes, name, pretrained)
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)
    t0 = time.perf_counter()
    hist = model.fit(X_train, y_train, validation_data=(X_valid, y_valid), epochs=epochs,
                     batch_size=batch_size, callbacks=[stop], verbose=0)
    return model, hist.history, time.perf_counter() - t0


def linear_probe(X_train, y_train, X_valid, y_valid, seed: int = 42, Cs=(0.001, 0.01, 0.1, 1.0)):
    """Logistic regression on standardised frozen features, ``C`` chosen on valid; returns
    (fitted pipeline, {C: validation accuracy})."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    best, scores = None, {}
    for C in Cs:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000, random_state=seed))
        model.fit(X_train, y_train)
        scores[C] = float(np.mean(model.predict(X_valid) == y_valid))
        if best is None or scores[C] > scores[best[0]]:
            best = (C, model)
    return best[1], scores


# -- a CNN from scratch on the same patches ------------------------------------------------------
def table_patches(table: pd.DataFrame, max_patches: int | None = None, seconds: float | None = None,
                  progress: bool = False, *, settings=None):
    """Log-mel patches of every readable track (float16 to halve the memory), with the row
    of ``table`` each came from: (patches, rows). ``max_patches`` per track, from the start."""
    from tqdm.auto import tqdm

    from ..audio import AudioError, load
    from ..config import get_settings
    from ..features import default_seconds
    from . import preprocessing as pre

    settings = settings or get_settings()
    if seconds is None:
        seconds = default_seconds(table, settings=settings)
    out, rows = [], []
    for i, path in enumerate(tqdm(list(table["path"]), desc="log-mel patches", disable=not progress)):
        try:
            y = load(path, sr=pre.SR, duration=seconds)
        except AudioError:
            continue
        p = pre.clip_patches(y, pre.SR)[:max_patches]
        out.append(p.astype(np.float16))
        rows.extend([i] * len(p))
    return np.concatenate(out), np.asarray(rows)


def scratch_cnn(X_train, y_train, X_valid, y_valid, n_classes: int, epochs: int = 40,
                batch_size: int = 32, lr: float = 3e-3, seed: int = 42, patience: int = 6):
    """The package's 1D CNN on mel frames (``cnn1d_mel``, random weights) trained on log-mel
    patches (n, 187, 96) with early stopping on validation loss; per-band standardisation
    measured on the training patches is built in (:class:`genre_lib.pipeline.Normaliser`, as
    for every model the package trains). Returns (model, history dict, seconds)."""
    import keras

    from .. import models
    from ..pipeline import Normaliser

    keras.utils.set_random_seed(seed)
    Xf = np.asarray(X_train, dtype=np.float32)
    norm = Normaliser.fit(np.swapaxes(Xf, 1, 2), "logmel")  # per mel band: bands first
    model = models.build("cnn1d_mel", Xf.shape[1:], n_classes, head="softmax",
                         normalise=(norm.mean, norm.variance))
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)
    t0 = time.perf_counter()
    hist = model.fit(Xf, y_train, validation_data=(np.asarray(X_valid, np.float32), y_valid),
                     epochs=epochs, batch_size=batch_size, callbacks=[stop], verbose=0)
    return model, hist.history, time.perf_counter() - t0


# -- one model, chosen on valid, tested once ------------------------------------------------------
def select_and_test(spec, splits, seed: int = 42) -> dict:
    """:func:`genre_lib.baselines.select_on_valid` then one test evaluation; a flat dict
    (model key, chosen parameters, validation and test accuracy, test F1 macro, fit
    seconds) plus the fitted ``model`` and the test ``scores``."""
    from ..baselines import evaluate, select_on_valid

    sel = select_on_valid(spec, splits, seed=seed)
    out = evaluate(sel.model, splits.X_test, splits.y_test, splits.classes)
    return {"model_key": spec.key, "params": sel.params, "valid_accuracy": sel.valid_accuracy,
            "accuracy": out["metrics"]["accuracy"], "f1_macro": out["metrics"].get("f1_macro"),
            "fit_s": sel.fit_s, "model": sel.model, "scores": out["scores"]}


def predict_proba(model, X, batch_size: int = 256) -> np.ndarray:
    """Chunk level (here: patches or clips): class probabilities of a Keras ``model`` on
    ``X``, a float32 ``np.ndarray`` ``(n, n_classes)`` as :meth:`genre_lib.models.Trained.predict`
    gives, batch by batch, the model called directly (no ``predict``: it would compile a new
    graph for every freshly trained model).

    Notebook: 10_transfer_learning.ipynb.
    """
    out = [np.asarray(model(np.asarray(X[i:i + batch_size], np.float32), training=False))
           for i in range(0, len(X), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, model.output_shape[-1]), np.float32)
