"""Training: device and strategy, tf.data pipelines from the feature cache, callbacks, and
:func:`load_or_train`, which later notebooks use to get a trained model by name.

The pipeline never copies the whole dataset a second time: a generator draws batches of
random excerpts ("chunks") straight out of the cached feature array, standardises them
with statistics of the training split, optionally augments them (gain, mixed-in noise,
SpecAugment-style masks; the random crop itself is the time shift), and hands them to
``tf.data`` which prefetches the next batch while the model trains on the current one.

A clip is judged by cutting it into consecutive chunks, predicting each, and combining
the chunk predictions per track (mean probability and majority vote, see
:func:`genre_lib.evaluation.aggregate_tracks`).

Every trained model is saved as ``models/<run name>/<name>.keras`` with a JSON sidecar
``<name>.json`` (classes, feature kind and parameters, chunk length, input shape,
normalisation statistics, history, valid and test metrics). Valid and test results rows
are written separately and labelled by split.

Notebook: 04_cnn.ipynb (training loop, callbacks, devices), 05_crnn.ipynb,
06_parallel_cnn_rnn.ipynb (loading a saved model by name).
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import evaluation, features
from . import models as model_zoo
from .config import Settings, get_settings
from .datasets import has_genres, has_tags  # noqa: F401  (re-exported)

SIDECAR_VERSION = 1
WAVEFORM_SR = 11025  # the raw-waveform model reads audio at half the usual rate (CPU budget)
TRAIN_DEFAULTS = dict(lr=3e-3, batch_size=None, epochs=None, crops_per_track=None,
                      patience=6, augment=("gain", "mask"), valid_chunks_per_track=4,
                      time_budget_s=None, chunk_seconds=None, target="auto", n_tags=50,
                      verbose=None)
# per-model training defaults that differ from TRAIN_DEFAULTS (chosen on valid, on synth)
MODEL_TRAIN_DEFAULTS: dict[str, dict] = {}


class TrainingError(RuntimeError):
    """A model that cannot be trained on the current data (the message says why)."""


# -- devices --------------------------------------------------------------------------------
def gpus() -> list:
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def describe_device() -> str:
    """One line saying where training runs: CPU, one GPU (mixed precision), or several."""
    n = len(gpus())
    if n > 1:
        return f"{n} GPUs: MirroredStrategy data parallelism, mixed precision (float16 compute)"
    if n == 1:
        return "1 GPU: mixed precision (float16 compute, float32 weights and outputs)"
    return f"CPU only ({os.cpu_count()} cores): float32, no distribution strategy"


def get_strategy():
    """The ``tf.distribute`` strategy for this machine; sets mixed precision on a GPU.

    More than one GPU: ``MirroredStrategy`` (one replica per GPU, gradients all-reduced).
    One GPU or CPU: the default strategy. Build and compile models inside
    ``strategy.scope()``.
    """
    import keras
    import tensorflow as tf

    n = len(gpus())
    if n:
        keras.mixed_precision.set_global_policy("mixed_float16")
    else:
        keras.mixed_precision.set_global_policy("float32")
    if n > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


# -- shapes and layouts -----------------------------------------------------------------------
def chunk_length(spec: model_zoo.ModelSpec, params: dict, chunk_seconds: float | None = None) -> int:
    """Excerpt length in frames (mel models) or samples (waveform model)."""
    seconds = chunk_seconds or spec.chunk_seconds
    if spec.layout == "wave":
        return int(round(seconds * params["sr"]))
    frames = int(seconds * params["sr"] / params["hop_length"])
    multiple = max(16, spec.frame_multiple)
    return max(multiple, frames // multiple * multiple)


def to_layout(batch: np.ndarray, layout: str) -> np.ndarray:
    """Chunks ``(n, n_mels, frames)`` or ``(n, samples)`` to the model's input layout."""
    if layout == "mel2d":
        return batch[..., None]
    if layout == "mel1d":
        return np.ascontiguousarray(np.swapaxes(batch, 1, 2))
    if layout == "wave":
        return batch[..., None]
    raise ValueError(f"unknown layout {layout!r}")


def input_shape_for(spec: model_zoo.ModelSpec, n_bins: int | None, length: int) -> tuple:
    if spec.layout == "mel2d":
        return (n_bins, length, 1)
    if spec.layout == "mel1d":
        return (length, n_bins)
    return (length, 1)


def chunk_starts(total: int, length: int, max_chunks: int | None = None) -> np.ndarray:
    """Start positions of consecutive, non-overlapping chunks covering a clip.

    A clip shorter than one chunk gives one chunk (it is padded). With ``max_chunks``,
    that many evenly spaced chunks are kept.
    """
    n = max(1, total // length)
    starts = np.arange(n) * length
    if max_chunks and n > max_chunks:
        starts = starts[np.linspace(0, n - 1, max_chunks).round().astype(int)]
    return starts


def crop(clip: np.ndarray, start: int, length: int) -> np.ndarray:
    """``clip[..., start:start + length]``, zero-padded at the end when the clip is short."""
    piece = clip[..., start:start + length]
    if piece.shape[-1] < length:
        pad = [(0, 0)] * (piece.ndim - 1) + [(0, length - piece.shape[-1])]
        piece = np.pad(piece, pad)
    return piece


# -- normalisation ----------------------------------------------------------------------------
@dataclass
class Normaliser:
    """Standardise features with statistics of the training split only.

    Log-mel: a mean and standard deviation per mel band. Waveform: one scale for all samples.
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray, kind: str, rows=None) -> "Normaliser":
        """Statistics of ``X[rows]`` (default: all rows), accumulated clip by clip so no
        copy of the training features is made."""
        rows = np.arange(len(X)) if rows is None else np.asarray(rows)
        total = total_sq = 0.0
        count = 0
        for r in rows:
            clip = np.asarray(X[r], dtype=np.float64)
            axis = None if kind == "waveform" else -1
            total = total + clip.sum(axis=axis)
            total_sq = total_sq + (clip ** 2).sum(axis=axis)
            count += clip.shape[-1]
        mean = np.atleast_1d(total / max(count, 1))
        std = np.sqrt(np.maximum(np.atleast_1d(total_sq / max(count, 1)) - mean ** 2, 0))
        if kind == "waveform":  # scale only: a waveform's mean is ~0 and must stay there
            return cls(np.zeros(1, np.float32), (std + 1e-8).astype(np.float32))
        return cls(mean.astype(np.float32), (std + 1e-3).astype(np.float32))

    def __call__(self, batch: np.ndarray, inplace: bool = False) -> np.ndarray:
        """Standardised ``batch`` (a float32 copy, or ``batch`` itself with ``inplace``)."""
        if inplace and batch.dtype == np.float32:
            out = batch
        else:
            out = np.array(batch, dtype=np.float32)
        if batch.ndim == 3 and len(self.mean) == batch.shape[1]:  # (n, n_mels, frames)
            out -= self.mean[:, None]
            out *= (1.0 / self.std)[:, None]
        else:
            out -= self.mean[0]
            out *= 1.0 / self.std[0]
        return out

    def to_json(self) -> dict:
        return {"mean": self.mean.round(5).tolist(), "std": self.std.round(5).tolist()}

    @classmethod
    def from_json(cls, d: dict) -> "Normaliser":
        return cls(np.asarray(d["mean"], np.float32), np.asarray(d["std"], np.float32))


# -- augmentation -------------------------------------------------------------------------------
AUGMENTATIONS = ("gain", "noise", "mask")


def augment_batch(batch: np.ndarray, kind: str, rng: np.random.Generator,
                  ops=AUGMENTATIONS, p: float = 0.5) -> np.ndarray:
    """Randomly augment a batch of raw (not yet standardised) chunks, each op with chance ``p``.

    * ``gain``: louder or softer by up to 6 dB;
    * ``noise``: white noise mixed in at 10-30 dB below the chunk's mean power;
    * ``mask``: SpecAugment-style masks, one band of up to 12 mel bins and one span of up to
      12 frames set to the chunk's minimum (for waveforms: a span of silence).

    The random crop that cuts each chunk from its clip is the time shift.
    """
    out = batch.copy()
    n = len(out)
    if "gain" in ops:
        g = rng.uniform(-6, 6, n) * (rng.random(n) < p)
        if kind == "waveform":
            out *= (10 ** (g / 20))[:, None].astype(out.dtype)
        else:
            out += g[:, None, None].astype(out.dtype)
    if "noise" in ops:
        hit = rng.random(n) < p
        snr = rng.uniform(10, 30, n)
        for i in np.flatnonzero(hit):
            if kind == "waveform":
                power = float(np.mean(out[i] ** 2)) + 1e-12
                out[i] += rng.normal(0, math.sqrt(power / 10 ** (snr[i] / 10)), out.shape[1:]).astype(out.dtype)
            else:
                lin = 10 ** (out[i] / 10)
                noise = lin.mean() / 10 ** (snr[i] / 10)
                out[i] = 10 * np.log10(lin + noise * rng.uniform(0.5, 1.5, lin.shape))
    if "mask" in ops:
        for i in np.flatnonzero(rng.random(n) < p):
            floor = out[i].min()
            if kind == "waveform":
                w = int(rng.integers(1, max(2, out.shape[-1] // 10)))
                s = int(rng.integers(0, max(1, out.shape[-1] - w)))
                out[i, s:s + w] = 0.0
                continue
            bins, frames = out.shape[1], out.shape[2]
            f = int(rng.integers(1, min(12, bins) + 1))
            f0 = int(rng.integers(0, bins - f + 1))
            out[i, f0:f0 + f, :] = floor
            t = int(rng.integers(1, min(12, frames) + 1))
            t0 = int(rng.integers(0, frames - t + 1))
            out[i, :, t0:t0 + t] = floor
    return out


# -- tf.data pipelines --------------------------------------------------------------------------
def _signature(spec, n_bins, length, n_classes, multilabel):
    import tensorflow as tf

    x_shape = (None,) + input_shape_for(spec, n_bins, length)
    y = (tf.TensorSpec((None, n_classes), tf.float32) if multilabel
         else tf.TensorSpec((None,), tf.int32))
    return (tf.TensorSpec(x_shape, tf.float32), y)


def train_dataset(X: np.ndarray, y: np.ndarray, spec, length: int, norm: Normaliser,
                  batch_size: int, crops_per_track: int, seed: int, augment=True,
                  kind: str = "logmel", n_classes: int | None = None, rows=None):
    """An endless ``tf.data.Dataset`` of (chunks, labels) batches of random crops.

    Each pass visits every training clip (``X[rows]``, default all) ``crops_per_track``
    times in a shuffled order and cuts a random excerpt of ``length`` frames (or samples)
    from it; ``y`` is aligned with ``X``. Only the batch being built is copied out of ``X``
    (the cached features), so memory stays flat.
    """
    import tensorflow as tf

    ops = AUGMENTATIONS if augment is True else tuple(augment or ())
    multilabel = y.ndim == 2
    n_bins = X.shape[1] if X.ndim == 3 else None
    rows = np.arange(len(X)) if rows is None else np.asarray(rows)

    def gen():
        rng = np.random.default_rng(seed)
        order_base = np.repeat(rows, crops_per_track)
        while True:
            order = rng.permutation(order_base)
            for b in range(0, len(order) - batch_size + 1 if len(order) >= batch_size else 1,
                           batch_size):
                idx = order[b:b + batch_size]
                offsets = rng.integers(0, max(1, X.shape[-1] - length + 1), len(idx))
                batch = np.zeros((len(idx),) + X.shape[1:-1] + (length,), np.float32)
                for j, (i, o) in enumerate(zip(idx, offsets)):
                    piece = X[i, ..., o:o + length]
                    batch[j, ..., :piece.shape[-1]] = piece
                if ops:
                    batch = augment_batch(batch, kind, rng, ops)
                yield to_layout(norm(batch, inplace=True), spec.layout), y[idx]

    sig = _signature(spec, n_bins, length, n_classes or 0, multilabel)
    return tf.data.Dataset.from_generator(gen, output_signature=sig).prefetch(2)


def eval_dataset(X: np.ndarray, y: np.ndarray, spec, length: int, norm: Normaliser,
                 batch_size: int, max_chunks: int | None = None, n_classes: int | None = None,
                 rows=None):
    """A finite ``tf.data.Dataset`` of consecutive chunks of each clip ``X[rows]`` (default
    all; ``y`` aligned with ``X``), for validation."""
    import tensorflow as tf

    multilabel = y.ndim == 2
    n_bins = X.shape[1] if X.ndim == 3 else None
    rows = np.arange(len(X)) if rows is None else np.asarray(rows)
    pairs = [(i, s) for i in rows for s in chunk_starts(X.shape[-1], length, max_chunks)]

    def gen():
        for b in range(0, len(pairs), batch_size):
            part = pairs[b:b + batch_size]
            batch = np.stack([crop(X[i], s, length) for i, s in part]).astype(np.float32)
            yield to_layout(norm(batch), spec.layout), y[[i for i, _ in part]]

    sig = _signature(spec, n_bins, length, n_classes or 0, multilabel)
    return tf.data.Dataset.from_generator(gen, output_signature=sig).prefetch(2)


def numpy_chunks(X: np.ndarray, spec, length: int, norm: Normaliser,
                 max_chunks: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All consecutive chunks of every clip as one model-ready array, and each chunk's clip
    index (used for prediction; the notebooks' data sets are small enough)."""
    pieces, owner = [], []
    for i in range(len(X)):
        for s in chunk_starts(X.shape[-1], length, max_chunks):
            pieces.append(crop(X[i], s, length))
            owner.append(i)
    if not pieces:
        shape = input_shape_for(spec, X.shape[1] if X.ndim == 3 else None, length)
        return np.zeros((0,) + shape, np.float32), np.zeros(0, int)
    return to_layout(norm(np.stack(pieces).astype(np.float32)), spec.layout), np.asarray(owner)


# -- callbacks ----------------------------------------------------------------------------------
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
                   epoch_lines: int | None = None):
    """EarlyStopping on validation loss (best weights restored), ReduceLROnPlateau, a
    ModelCheckpoint in ``.keras`` format, an optional wall-clock budget, and (with
    ``epoch_lines`` = the number of epochs) one printed line per epoch."""
    import keras

    cbs = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                         restore_best_weights=True),
           keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                             patience=max(1, patience // 2), min_lr=1e-5)]
    if checkpoint is not None:
        cbs.append(keras.callbacks.ModelCheckpoint(str(checkpoint), monitor="val_loss",
                                                   save_best_only=True))
    if time_budget_s:
        cbs.append(_time_budget_callback(time_budget_s))
    if epoch_lines:
        cbs.append(_epoch_line_callback(epoch_lines))
    return cbs


# -- labels -------------------------------------------------------------------------------------


def choose_target(table: pd.DataFrame, target: str = "auto") -> str:
    """``genre`` (softmax) when the dataset has genres, else ``tags`` (sigmoid)."""
    if target == "auto":
        if has_genres(table):
            return "genre"
        if has_tags(table):
            return "tags"
        raise TrainingError("this dataset has neither genre labels nor tags to train on")
    if target == "genre" and not has_genres(table):
        raise TrainingError("this dataset has no genre labels (it is tagged only); "
                            "train with target='tags' instead")
    if target == "tags" and not has_tags(table):
        raise TrainingError("this dataset has no tags")
    if target not in ("genre", "tags"):
        raise ValueError(f"target must be 'auto', 'genre' or 'tags', not {target!r}")
    return target


def top_tags(table: pd.DataFrame, n: int) -> list[str]:
    counts = pd.Series([t for ts in table.loc[table["split"] == "train", "tags"] for t in ts])
    return counts.value_counts().head(n).index.sort_values().tolist()


def encode_labels(table: pd.DataFrame, classes: list[str], target: str) -> np.ndarray:
    if target == "genre":
        index = {c: i for i, c in enumerate(classes)}
        return np.array([index[g] for g in table["genre"]], dtype=np.int32)
    Y = np.zeros((len(table), len(classes)), np.float32)
    index = {c: i for i, c in enumerate(classes)}
    for r, tags in enumerate(table["tags"]):
        for t in tags:
            if t in index:
                Y[r, index[t]] = 1.0
    return Y


def tag_metrics(Y: np.ndarray, P: np.ndarray) -> dict:
    """Macro ROC-AUC and PR-AUC over the tags that occur (and are absent somewhere) in ``Y``."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    ok = (Y.sum(0) > 0) & (Y.sum(0) < len(Y))
    if not ok.any():
        return {"n": int(len(Y))}
    return {"roc_auc": float(roc_auc_score(Y[:, ok], P[:, ok], average="macro")),
            "pr_auc": float(average_precision_score(Y[:, ok], P[:, ok], average="macro")),
            "n": int(len(Y)), "n_tags_scored": int(ok.sum())}


# -- feature subsets and summaries --------------------------------------------------------------
def subset(fs: features.FeatureSet, which) -> features.FeatureSet:
    """The rows of a FeatureSet for a split name (``"test"``), a boolean mask or positions."""
    return fs.subset(which)


def summary_table(trained, split: str = "test") -> pd.DataFrame:
    """One row per trained model: its ``split`` metrics recorded at training time (track level,
    by mean probability and by vote), parameters, epochs and training seconds."""
    rows = []
    for t in trained:
        m = (t.meta.get("metrics") or {}).get(split) or {}
        row = {"model": t.name, "architecture": t.meta.get("label", t.meta.get("arch"))}
        for k in ("accuracy", "f1_macro", "accuracy_vote", "chunk_accuracy", "top3_accuracy",
                  "roc_auc", "pr_auc"):
            if k in m:
                row[k] = round(float(m[k]), 4)
        row.update({"parameters": t.meta.get("n_params"), "epochs": t.meta.get("epochs_run"),
                    "train_s": t.meta.get("train_seconds"), "split": split})
        rows.append(row)
    return pd.DataFrame(rows)


def comparison(settings: Settings | None = None, names=None, metric: str = "accuracy",
               columns=("f1_macro",)) -> pd.DataFrame:
    """Test-split results of this run beside the published figures, labelled by origin.

    Deep models (rows written by :func:`train`) are limited to ``names`` when given; the
    classical baselines' rows (notebook 03) are always kept, named ``<model> on <features>``.
    """
    settings = settings or get_settings()
    res = evaluation.load_results(settings, split="test")
    if len(res):
        deep = res["arch"].notna() if "arch" in res else pd.Series(False, index=res.index)
        if names is not None:
            res = res[~deep | res["model"].isin(list(names))]
            deep = deep[res.index]
        if "features" in res:
            bare = pd.Series([isinstance(f, str) and not str(m).endswith(f)
                              for m, f in zip(res["model"], res["features"])], index=res.index)
            named = ~deep & bare
            res.loc[named, "model"] = res.loc[named, "model"] + " on " + res.loc[named, "features"]
        if metric in res:  # rows of other kinds (e.g. clustering scores) have no such metric
            keep = res[metric].notna()
            res, deep = res[keep], deep[keep]
        res = res.assign(_deep=deep).sort_values(["_deep", metric] if metric in res else ["_deep"],
                                                 ascending=False).drop(columns="_deep")
    columns = tuple(c for c in columns if c != metric)
    return evaluation.comparison_table(res, settings.dataset, metric=metric, columns=columns)


def saved_models(settings: Settings | None = None) -> list[str]:
    """Names of the models saved (with a sidecar) for the current run."""
    settings = settings or get_settings()
    folder = settings.models_dir
    if not folder.exists():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if (folder / f"{p.stem}.keras").exists())


# -- the trained model ------------------------------------------------------------------------
@dataclass
class Trained:
    """A trained model with everything needed to feed it: see :func:`load_or_train`."""

    model: object
    name: str
    classes: list
    history: dict | None
    path: Path
    meta: dict = field(default_factory=dict)
    settings: Settings | None = None

    @property
    def spec(self) -> model_zoo.ModelSpec:
        return model_zoo.spec(self.meta["arch"])

    @property
    def chunk(self) -> int:
        """Excerpt length in frames (mel models) or samples (waveform)."""
        return int(self.meta["chunk_length"])

    @property
    def input_shape(self) -> tuple:
        return tuple(self.meta["input_shape"])

    @property
    def target(self) -> str:
        return self.meta.get("target", "genre")

    @property
    def normaliser(self) -> Normaliser:
        return Normaliser.from_json(self.meta["normaliser"])

    def features(self, table: pd.DataFrame | None = None, progress: bool = True) -> features.FeatureSet:
        """The cached features this model reads (``logmel`` or ``waveform``) for ``table``
        (default: the whole current dataset)."""
        from .datasets import load_table

        settings = self.settings or get_settings()
        if table is None:
            table = load_table(settings)
        return features.extract(table, self.meta["feature_kind"], settings, progress=progress,
                                **self.meta["feature_params"])

    def _check(self, fs: features.FeatureSet):
        if fs.kind != self.meta["feature_kind"]:
            raise ValueError(f"{self.name} reads {self.meta['feature_kind']!r} features, "
                             f"got a {fs.kind!r} FeatureSet; use trained.features(table)")
        for k, v in self.meta["feature_params"].items():
            if fs.params.get(k) != v and not (v is None and fs.params.get(k) is None):
                raise ValueError(f"{self.name} was trained on {fs.kind} with {k}={v!r}, "
                                 f"but this FeatureSet has {k}={fs.params.get(k)!r}")

    def chunks(self, fs: features.FeatureSet, max_chunks: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Model-ready inputs for every clip of ``fs`` (consecutive chunks) and each chunk's
        track id."""
        self._check(fs)
        X, owner = numpy_chunks(fs.X, self.spec, self.chunk, self.normaliser, max_chunks)
        return X, fs.table["track_id"].to_numpy()[owner]

    def prepare(self, fs: features.FeatureSet) -> np.ndarray:
        """Model-ready inputs for the whole clips of ``fs``: their consecutive chunks, in
        clip order (see :meth:`chunks` for the track id of each)."""
        return self.chunks(fs)[0]

    def predict_chunks(self, fs: features.FeatureSet, batch_size: int = 64):
        X, ids = self.chunks(fs)
        proba = self.model.predict(X, batch_size=batch_size, verbose=0) if len(X) else np.zeros((0, len(self.classes)))
        return np.asarray(proba, dtype=np.float32), ids

    def predict_tracks(self, fs: features.FeatureSet, batch_size: int = 64) -> pd.DataFrame:
        """One row per track: ``mean`` (mean-probability prediction), ``vote`` (majority of
        chunk predictions) and the mean probability of each class."""
        proba, ids = self.predict_chunks(fs, batch_size)
        return evaluation.aggregate_tracks(ids, proba, self.classes)

    def predict_file(self, path, seconds: float | None = None) -> pd.Series:
        """Mean class probabilities for one audio file (loaded, featurised, chunked, averaged);
        the clip is cropped or padded to ``seconds`` when given."""
        from . import audio

        params = self.meta["feature_params"]
        y = audio.load(path, sr=params["sr"], duration=seconds)
        feat = features.compute(self.meta["feature_kind"], y, **params)
        X, _ = numpy_chunks(feat[None], self.spec, self.chunk, self.normaliser)
        proba = np.asarray(self.model.predict_on_batch(X), dtype=np.float32)
        return pd.Series(proba.mean(0), index=self.classes, name=str(path))

    def evaluate(self, fs: features.FeatureSet, split: str | None = None) -> dict:
        """Track-level metrics on ``fs`` (or on one of its splits).

        Genres: accuracy, F1 (macro, weighted) and top-k of the mean-probability prediction,
        plus ``accuracy_vote`` / ``f1_macro_vote`` of the majority vote and ``chunk_accuracy``.
        Tags: macro ROC-AUC and PR-AUC of the mean probabilities.
        """
        if split is not None:
            fs = subset(fs, split)
        proba, ids = self.predict_chunks(fs)
        tracks = evaluation.aggregate_tracks(ids, proba, self.classes)
        table = fs.table.set_index("track_id").loc[tracks.index]
        if self.target == "tags":
            Y = encode_labels(table.reset_index(), self.classes, "tags")
            return tag_metrics(Y, tracks[self.classes].to_numpy())
        truth = table["genre"].to_numpy()
        out = evaluation.classification_metrics(truth, tracks["mean"].to_numpy(),
                                                tracks[self.classes].to_numpy(), self.classes)
        vote = evaluation.classification_metrics(truth, tracks["vote"].to_numpy())
        out["accuracy_vote"] = vote["accuracy"]
        out["f1_macro_vote"] = vote["f1_macro"]
        chunk_truth = fs.table.set_index("track_id").loc[ids, "genre"].to_numpy()
        out["chunk_accuracy"] = float(np.mean(np.array(self.classes)[proba.argmax(1)] == chunk_truth))
        return out

    def summary_row(self) -> dict:
        """Valid and test metrics recorded when the model was trained."""
        row = {"model": self.name, "arch": self.meta.get("arch")}
        for split in ("valid", "test"):
            for k, v in (self.meta.get("metrics", {}).get(split) or {}).items():
                row[f"{split}_{k}"] = v
        return row

    def __repr__(self) -> str:
        return (f"Trained({self.name!r}, {self.meta.get('arch')}, input {self.input_shape}, "
                f"{len(self.classes)} classes, {self.path})")


# -- load or train ----------------------------------------------------------------------------
def paths_for(name: str, settings: Settings) -> tuple[Path, Path]:
    base = settings.models_dir / name
    return base.with_suffix(".keras"), base.with_suffix(".json")


def _split_hyper(arch: str, hyper: dict) -> tuple[dict, dict]:
    build_keys = model_zoo.builder_params(arch) - {"head"}
    train = {**TRAIN_DEFAULTS, **MODEL_TRAIN_DEFAULTS.get(arch, {})}
    model_hyper, train_hyper = {}, dict(train)
    for k, v in hyper.items():
        if k in build_keys:
            model_hyper[k] = v
        elif k in TRAIN_DEFAULTS:
            train_hyper[k] = v
        else:
            raise TypeError(f"{arch}: unknown hyper-parameter {k!r}; model takes "
                            f"{sorted(build_keys)}, training takes {sorted(TRAIN_DEFAULTS)}")
    return model_hyper, train_hyper


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def load(name: str, settings: Settings | None = None) -> Trained:
    """Load a saved model and its sidecar (``FileNotFoundError`` when either is missing)."""
    import keras

    settings = settings or get_settings()
    model_path, meta_path = paths_for(name, settings)
    if not (model_path.exists() and meta_path.exists()):
        raise FileNotFoundError(f"no saved model {name!r} under {settings.models_dir}")
    meta = json.loads(meta_path.read_text())
    model = keras.saving.load_model(model_path, compile=False)
    return Trained(model, name, list(meta["classes"]), meta.get("history"), model_path, meta, settings)


def load_or_train(name: str, settings: Settings | None = None, force: bool = False,
                  arch: str | None = None, **hyper) -> Trained:
    """The model called ``name``: loaded from ``models/<run name>/<name>.keras`` when it was
    saved before with the same hyper-parameters, otherwise trained now and saved.

    ``arch`` is the builder (default: ``name``), so variants can be kept apart, e.g.
    ``load_or_train("crnn1d_gru", arch="crnn1d", rnn="gru")``. ``hyper`` mixes model
    hyper-parameters (passed to the builder) and training ones (``lr``, ``epochs``,
    ``batch_size``, ``crops_per_track``, ``patience``, ``augment``, ``chunk_seconds``,
    ``time_budget_s``, ``target``); epochs and batch size default to the profile's.

    In the full profile training also stops after the epoch in which 300 s of wall time ran
    out (``time_budget_s``; ``None`` in the ci profile), so ``make run`` stays within minutes
    per model on a small CPU; the sidecar records whether that happened
    (``time_budget_hit``), since a stop by the clock depends on the machine's speed.
    Changing a default in the code does not retrain saved models: pass ``force=True``.
    """
    settings = settings or get_settings()
    arch = arch or name
    model_zoo.spec(arch)  # a clear error for unknown names, before anything else
    model_hyper, train_hyper = _split_hyper(arch, hyper)
    model_path, meta_path = paths_for(name, settings)
    if not force and model_path.exists() and meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
            asked = _jsonable({"arch": arch, "model": model_hyper, "train": hyper})
            if meta.get("version") != SIDECAR_VERSION:
                print(f"{name}: saved with an older sidecar format; retraining")
            elif meta.get("request") != asked:
                print(f"{name}: saved with other hyper-parameters ({meta.get('request')}); retraining")
            else:
                trained = load(name, settings)
                print(f"loaded {name} from {model_path} (trained {meta.get('trained_at')}, "
                      f"{meta.get('epochs_run')} epochs)")
                return trained
        except (ValueError, OSError, KeyError) as exc:
            print(f"{name}: saved model unreadable ({type(exc).__name__}: {exc}); retraining")
    return train(name, settings, arch=arch, model_hyper=model_hyper, train_hyper=train_hyper,
                 request=_jsonable({"arch": arch, "model": model_hyper, "train": hyper}))


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_text(text)
    os.replace(tmp, path)


def train(name: str, settings: Settings, arch: str, model_hyper: dict, train_hyper: dict,
          request: dict | None = None) -> Trained:
    """Train model ``arch`` on the current dataset's cached features and save it as ``name``.

    Fitting uses the train split; early stopping, the learning-rate schedule and the
    checkpoint watch the valid split; test is touched once, at the end, for the results row.
    """
    import keras

    from . import seed_everything
    from .datasets import load_table

    spec = model_zoo.spec(arch)
    prof = settings.profile
    h = dict(train_hyper)
    epochs = int(h["epochs"] or prof.epochs)
    batch_size = int(h["batch_size"] or prof.batch_size)
    crops = int(h["crops_per_track"] or 2)
    verbose = h["verbose"] if h["verbose"] is not None else 0
    time_budget = h["time_budget_s"] if h["time_budget_s"] is not None else (None if prof.is_ci else 300)

    table = load_table(settings)
    target = choose_target(table, h["target"])
    if target == "genre":
        table = table[table["genre"].notna()].reset_index(drop=True)
        classes = sorted(table.loc[table["split"] == "train", "genre"].unique().tolist())
        table = table[table["genre"].isin(classes)].reset_index(drop=True)
    else:
        classes = top_tags(table, int(h["n_tags"]))
    if len(classes) < 2:
        raise TrainingError(f"need at least 2 classes in the train split, found {classes}")

    kind = spec.feature_kind
    fparams = {"sr": WAVEFORM_SR} if kind == "waveform" else {}
    fs = features.extract(table, kind, settings, **fparams)
    Y = encode_labels(fs.table, classes, target)
    split = fs.table["split"].to_numpy()
    tr, va, te = (split == "train"), (split == "valid"), (split == "test")
    if not tr.any() or not va.any():
        raise TrainingError("training needs tracks in both the train and the valid split")
    params = fs.params
    length = chunk_length(spec, params, h["chunk_seconds"])
    n_bins = fs.X.shape[1] if fs.X.ndim == 3 else None
    norm = Normaliser.fit(fs.X, kind, rows=np.flatnonzero(tr))
    shape = input_shape_for(spec, n_bins, length)

    seed_everything(settings.seed)
    strategy = get_strategy()
    replicas = strategy.num_replicas_in_sync
    global_batch = batch_size * replicas
    head = "softmax" if target == "genre" else "sigmoid"
    with strategy.scope():
        model = model_zoo.build(arch, shape, len(classes), head=head, **model_hyper)
        loss = "sparse_categorical_crossentropy" if target == "genre" else "binary_crossentropy"
        metrics = ["accuracy"] if target == "genre" else [keras.metrics.AUC(name="auc", multi_label=True)]
        model.compile(optimizer=keras.optimizers.Adam(h["lr"]), loss=loss, metrics=metrics)

    n_cls = len(classes) if target == "tags" else None
    # rows index the cached array directly: no copy of the train or valid features is made
    train_ds = train_dataset(fs.X, Y, spec, length, norm, global_batch, crops, settings.seed,
                             h["augment"], kind, n_cls, rows=np.flatnonzero(tr))
    valid_ds = eval_dataset(fs.X, Y, spec, length, norm, 2 * global_batch,
                            h["valid_chunks_per_track"], n_cls, rows=np.flatnonzero(va))
    steps = max(1, (int(tr.sum()) * crops) // global_batch)
    n_valid_chunks = sum(len(chunk_starts(fs.X.shape[-1], length, h["valid_chunks_per_track"]))
                         for _ in range(int(va.sum())))
    valid_steps = max(1, math.ceil(n_valid_chunks / (2 * global_batch)))

    settings.models_dir.mkdir(parents=True, exist_ok=True)
    model_path, meta_path = paths_for(name, settings)
    ckpt = model_path.with_name(f"{name}.checkpoint.keras")
    callbacks = make_callbacks(ckpt, int(h["patience"]), time_budget,
                               epoch_lines=None if (prof.is_ci or verbose) else epochs)
    print(f"training {name} ({arch}, {model.count_params():,} parameters) on {settings.dataset}: "
          f"{int(tr.sum())} train / {int(va.sum())} valid tracks, chunks of {length} "
          f"{'samples' if kind == 'waveform' else 'frames'}, up to {epochs} epochs x {steps} "
          f"steps of {global_batch}; {describe_device()}", flush=True)
    start = time.perf_counter()
    hist = model.fit(train_ds, validation_data=valid_ds, epochs=epochs, steps_per_epoch=steps,
                     validation_steps=valid_steps, shuffle=False, callbacks=callbacks,
                     verbose=verbose)
    wall = time.perf_counter() - start
    budget_hit = any(getattr(cb, "hit", False) for cb in callbacks)
    history = {k: [round(float(v), 5) for v in vals] for k, vals in hist.history.items()}

    label = spec.label
    if "rnn" in model_hyper:  # e.g. crnn1d with rnn="gru": say so in tables
        for cell in ("LSTM", "GRU"):
            label = label.replace(cell, str(model_hyper["rnn"]).upper())
    meta = {"version": SIDECAR_VERSION, "name": name, "arch": arch, "label": label,
            "classes": classes, "target": target, "head": head,
            "feature_kind": kind, "feature_params": _jsonable(params),
            "layout": spec.layout, "chunk_length": length,
            "chunk_seconds": length / (params["sr"] if kind == "waveform" else params["sr"] / params["hop_length"]),
            "input_shape": list(shape), "normaliser": norm.to_json(),
            "model_hyper": _jsonable(model_hyper), "train_hyper": _jsonable(h),
            "request": request, "epochs_run": len(history.get("loss", [])),
            "time_budget_hit": budget_hit, "train_seconds": round(wall, 1),
            "dataset": settings.dataset, "profile": prof.name, "seed": settings.seed,
            "device": describe_device(), "trained_at": time.strftime("%Y-%m-%d %H:%M:%S"),
            "history": history, "n_params": int(model.count_params())}
    trained = Trained(model, name, classes, history, model_path, meta, settings)
    metrics = {}
    for split_name in ("valid", "test"):
        if (split == split_name).any():
            metrics[split_name] = trained.evaluate(fs, split_name)
            row = evaluation.result_row(name, split_name, metrics[split_name], settings,
                                        wall_time_s=wall, arch=arch, label=label,
                                        aggregation="mean probability over chunks",
                                        epochs_run=meta["epochs_run"])
            evaluation.save_result(row, settings)
    meta["metrics"] = _jsonable(metrics)

    tmp = model_path.with_name(f".{name}.{os.getpid()}.tmp.keras")
    model.save(tmp)
    os.replace(tmp, model_path)
    _atomic_write_text(meta_path, json.dumps(meta, indent=1))
    ckpt.unlink(missing_ok=True)
    shown = ", ".join(f"{s} {k} {v:.3f}" for s, m in metrics.items() for k, v in m.items()
                      if k in ("accuracy", "f1_macro", "roc_auc"))
    print(f"trained {name} in {wall:.0f} s ({meta['epochs_run']} epochs"
          f"{', time budget reached' if budget_hit else ''}); track level: {shown}", flush=True)
    return trained


__all__ = ["describe_device", "get_strategy", "load_or_train", "load", "train", "Trained",
           "subset", "summary_table", "saved_models", "comparison",
           "Normaliser", "train_dataset", "eval_dataset", "augment_batch", "chunk_starts",
           "make_callbacks", "has_genres", "choose_target", "TrainingError"]
