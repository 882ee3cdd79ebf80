"""A trained model: the self-contained ``.keras`` file, its sidecar, and how to feed it.

:class:`Trained` wraps a model loaded with :func:`load` (or just trained): it knows the
features the model reads (kind and parameters, recorded in the sidecar), cuts clips into the
consecutive chunks the model judges them by, and predicts and scores whole tracks. The model
itself needs none of this to run: it maps raw chunks in its input layout to probabilities,
standardising them in its ``normalise`` layer.

Notebook: 04_cnn.ipynb (predicting tracks), 07_filter_visualisation.ipynb and
08_embedding_clustering.ipynb (a saved model loaded by name).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import evaluation, features, pipeline
from ..config import Settings, get_settings
from ..pipeline import Normaliser
from .registry import ModelSpec, spec
from .saving import load_pair, refuse, saved_names

SIDECAR_VERSION = 3  # 2: normalisation inside the model; 3: trained for a step budget (steps_run)


@dataclass
class Trained:
    """A trained model with its sidecar: see :func:`load_or_train`.

    ``model`` is self-contained: it maps raw chunks in its input layout (log-mel in dB, or
    samples) to probabilities, standardising them in its ``normalise`` layer.
    """

    model: object
    name: str
    classes: list
    history: dict | None
    path: Path
    meta: dict = field(default_factory=dict)
    settings: Settings | None = None

    @property
    def spec(self) -> ModelSpec:
        return spec(self.meta["arch"])

    @property
    def layout(self) -> str:
        return self.meta["layout"]

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
    def statistics(self) -> Normaliser:
        """The training split's normalisation statistics, read from the model's layer.

        Notebook: 04_cnn.ipynb.
        """
        cfg = self.model.get_layer("normalise").get_config()
        mean = np.ravel(np.asarray(cfg["mean"], np.float32))
        return Normaliser(mean, np.sqrt(np.ravel(np.asarray(cfg["variance"], np.float32))))

    def inputs(self, raw: np.ndarray) -> np.ndarray:
        """Model inputs from raw chunks ``(n, n_mels, frames)`` or ``(n, samples)``: only
        the layout changes."""
        return pipeline.to_layout(np.asarray(raw, np.float32), self.layout)

    def features(self, table: pd.DataFrame | None = None, progress: bool = True) -> features.FeatureSet:
        """The cached features this model reads (``logmel`` or ``waveform``, with the
        recorded parameters) for ``table`` (default: the whole current dataset)."""
        from ..datasets import load_table

        settings = self.settings or get_settings()
        if table is None:
            table = load_table(settings=settings)
        return features.extract(table, self.meta["feature_kind"], progress=progress,
                                **self.meta["feature_params"], settings=settings)

    def _check(self, fs: features.FeatureSet):
        if fs.kind != self.meta["feature_kind"]:
            raise ValueError(f"{self.name} reads {self.meta['feature_kind']!r} features, "
                             f"got a {fs.kind!r} FeatureSet; use trained.features(table)")
        for k, v in self.meta["feature_params"].items():
            if fs.params.get(k) != v and not (v is None and fs.params.get(k) is None):
                raise ValueError(f"{self.name} was trained on {fs.kind} with {k}={v!r}, "
                                 f"but this FeatureSet has {k}={fs.params.get(k)!r}")

    def chunks(self, fs: features.FeatureSet, max_chunks: int | None = None,
               rows=None) -> tuple[np.ndarray, np.ndarray]:
        """Model inputs for every clip of ``fs`` (or its ``rows``): consecutive raw chunks in
        the model's layout, and each chunk's track id (``X, ids``; :meth:`predict` then gives
        the chunks' probabilities).

        Notebook: 04_cnn.ipynb (the chunks of one track; the aggregation exercise),
        07_filter_visualisation.ipynb.
        """
        self._check(fs)
        X, owner = pipeline.numpy_chunks(fs.X, self.layout, self.chunk, max_chunks, rows)
        return X, fs.table["track_id"].to_numpy()[owner]

    def prepare(self, fs: features.FeatureSet) -> np.ndarray:
        """Model inputs for the whole clips of ``fs``: their consecutive chunks, in clip
        order (see :meth:`chunks` for the track id of each)."""
        return self.chunks(fs)[0]

    # Predictions, one type per level: chunks -> np.ndarray (n_chunks, n_classes); tracks of
    # a FeatureSet -> pd.DataFrame, one row per track; one audio file -> pd.Series.
    def predict(self, X: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Chunk level: class probabilities, a float32 ``np.ndarray`` ``(n_chunks, n_classes)``,
        for model inputs ``X`` (raw chunks in the model's layout, as :meth:`chunks` or
        :meth:`inputs` give them).

        Notebook: 04_cnn.ipynb.
        """
        if not len(X):
            return np.zeros((0, len(self.classes)), np.float32)
        return np.asarray(self.model.predict(X, batch_size=batch_size, verbose=0), np.float32)

    def predict_tracks(self, fs: features.FeatureSet, batch_size: int = 64, rows=None) -> pd.DataFrame:
        """Track level: a ``pd.DataFrame`` indexed by track id, one row per track of ``fs`` (or
        its ``rows``): ``mean`` (the mean-probability prediction), ``vote`` (the majority of
        chunk predictions) and the mean probability of each class
        (:func:`genre_lib.evaluation.aggregate_tracks` of the chunk predictions).

        Notebook: 04_cnn.ipynb.
        """
        X, ids = self.chunks(fs, rows=rows)
        return evaluation.aggregate_tracks(ids, self.predict(X, batch_size), self.classes)

    def predict_file(self, path, seconds: float | None = None,
                     window: float | None = None) -> pd.Series:
        """File level: a ``pd.Series`` of class probabilities (indexed by class, named by the
        path) for one audio file of any length, in any format
        :func:`genre_lib.audio.load` reads: loaded at the model's rate, featurised, cut into
        consecutive chunks, each chunk predicted, and the chunk probabilities averaged
        (:func:`genre_lib.evaluation.aggregate_tracks`, as for a test track).

        ``seconds`` crops or pads the clip from its start; ``window`` analyses only that many
        seconds from the middle of the file (the whole file when it is shorter) and takes
        precedence over ``seconds``. The Series' ``attrs`` say what was analysed: ``vote``
        (the majority of chunk predictions), ``chunks``, ``offset`` and ``seconds`` (the part
        analysed), ``duration`` (the file's length; the analysed length when ``seconds``
        crops it) and ``level_dbfs`` (the RMS level of the part analysed, dB below full scale;
        -inf for digital silence). Unusable files raise :class:`genre_lib.audio.AudioError`.

        Notebook: 12_serving.ipynb.
        """
        from .. import audio

        sr = int(self.meta["feature_params"]["sr"])
        offset, duration, total = 0.0, seconds, None
        if window is not None:
            offset, duration, total = self._middle_window(path, window)
        y = audio.load(path, sr=sr, duration=duration, offset=offset)
        proba = self._signal_chunks(y)
        track = evaluation.aggregate_tracks([str(path)] * len(proba), proba, self.classes).iloc[0]
        out = pd.Series(track[self.classes].to_numpy(np.float64), index=self.classes, name=str(path))
        rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if len(y) else 0.0
        out.attrs.update(vote=str(track["vote"]), chunks=len(proba), offset=round(offset, 3),
                         seconds=len(y) / sr, duration=len(y) / sr if total is None else total,
                         level_dbfs=round(20 * np.log10(rms), 1) if rms > 0 else float("-inf"))
        return out

    @staticmethod
    def _middle_window(path, window: float) -> tuple[float, float | None, float]:
        """``(offset, duration, file length)`` in seconds of the middle ``window`` of a file
        (:func:`genre_lib.pipeline.middle_span`; duration None: the whole file, which is no
        longer than the window)."""
        from .. import audio

        if not window > 0:
            raise ValueError(f"window must be a positive number of seconds, not {window!r}")
        total = audio.info(path)["seconds"]
        if total <= window:
            return 0.0, None, total
        offset, duration = pipeline.middle_span(total, float(window))
        return offset, duration, total

    def _signal_chunks(self, y: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Probabilities ``(n_chunks, n_classes)`` of the consecutive chunks of one signal,
        predicted in batches (``predict_on_batch`` skips ``predict``'s per-call set-up)."""
        feat = features.compute(y, self.meta["feature_kind"], **self.meta["feature_params"])
        X, _ = pipeline.numpy_chunks(feat[None], self.layout, self.chunk)
        parts = [self.model.predict_on_batch(X[i:i + batch_size]) for i in range(0, len(X), batch_size)]
        return np.concatenate([np.asarray(p, np.float32) for p in parts])

    def evaluate(self, fs: features.FeatureSet, split: str | None = None) -> dict:
        """Track-level metrics on ``fs`` (or on one of its splits).

        Genres: accuracy, F1 (macro, weighted) and top-k of the mean-probability prediction,
        plus ``accuracy_vote`` / ``f1_macro_vote`` of the majority vote and ``chunk_accuracy``.
        Tags: macro ROC-AUC and PR-AUC of the mean probabilities.
        """
        rows = None if split is None else np.flatnonzero((fs.table["split"] == split).to_numpy())
        X, ids = self.chunks(fs, rows=rows)
        proba = self.predict(X)
        tracks = evaluation.aggregate_tracks(ids, proba, self.classes)
        by_id = fs.table.set_index("track_id")
        table = by_id.loc[tracks.index]
        if self.target == "tags":
            Y = pipeline.encode_labels(table.reset_index(), self.classes, "tags")
            return evaluation.tag_metrics(Y, tracks[self.classes].to_numpy())
        truth = table["genre"].to_numpy()
        out = evaluation.classification_metrics(truth, tracks["mean"].to_numpy(),
                                                tracks[self.classes].to_numpy(), self.classes)
        vote = evaluation.classification_metrics(truth, tracks["vote"].to_numpy())
        out["accuracy_vote"] = vote["accuracy"]
        out["f1_macro_vote"] = vote["f1_macro"]
        chunk_truth = by_id.loc[ids, "genre"].to_numpy()
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


# -- saving and loading ---------------------------------------------------------------------------
def paths_for(name: str, *, settings: Settings | None = None) -> tuple[Path, Path]:
    """``models/<run name>/<name>.keras`` and its sidecar ``<name>.json``.

    Notebook: 12_serving.ipynb.
    """
    settings = settings or get_settings()
    base = settings.models_dir / name
    return base.with_suffix(".keras"), base.with_suffix(".json")


def saved_models(*, settings: Settings | None = None) -> list[str]:
    """Names of the models saved (with a sidecar) for the current run.

    Notebook: 05_crnn.ipynb.
    """
    return saved_names((settings or get_settings()).models_dir)


def load(name: str, *, settings: Settings | None = None) -> Trained:
    """Load a saved model and its sidecar, checked against each other.

    ``FileNotFoundError`` when either file is missing; :class:`SavedModelError` (a
    ``ValueError``, one line naming both files) when the sidecar is not a JSON object, is
    of an older format or was edited, the model file is corrupt or is not the one the
    sidecar was written for, or the two disagree on classes, input shape or features.
    """
    settings = settings or get_settings()
    model_path, meta_path = paths_for(name, settings=settings)
    if not (model_path.exists() and meta_path.exists()):
        raise FileNotFoundError(f"no saved model {name!r} under {settings.models_dir}")
    model, meta = load_pair(model_path, meta_path, SIDECAR_VERSION)
    _check_features(model, meta, model_path, meta_path)
    return Trained(model, name, list(meta["classes"]), meta.get("history"), model_path, meta, settings)


def load_all(*, settings: Settings | None = None) -> list[Trained]:
    """Every model saved for the current run that loads and passes its checks, by name; each
    one that does not is named with the reason (``load_or_train`` trains it again).

    Notebook: 06_parallel_cnn_rnn.ipynb (the table of every model trained in this run).
    """
    out = []
    for name in saved_models(settings=settings):
        try:
            out.append(load(name, settings=settings))
        except (ValueError, OSError, KeyError) as exc:
            print(f"skipped {name}: {exc}")
    return out


def _check_features(model, meta: dict, model_path: Path, meta_path: Path) -> None:
    """The sidecar's feature parameters and chunk length give the model's input shape, and
    the model standardises its own input."""
    bins = pipeline.n_bins(meta["feature_kind"], meta["feature_params"])
    expected = list(pipeline.input_shape_for(meta["layout"], bins, int(meta["chunk_length"])))
    if expected != list(meta["input_shape"]):
        raise refuse(model_path, meta_path, f"the sidecar's feature parameters give inputs of "
                     f"shape {tuple(expected)}, the model reads {tuple(meta['input_shape'])}")
    if "normalise" not in {layer.name for layer in model.layers}:
        raise refuse(model_path, meta_path, "the model has no 'normalise' layer (it would read "
                     "standardised chunks, which this code no longer feeds)")


__all__ = ["SIDECAR_VERSION", "Trained", "paths_for", "saved_models", "load", "load_all"]
