"""Predicting the genre (or tags) of audio files with a saved model.

A :class:`Predictor` holds one saved model, loaded once (``models.load``: the ``.keras``
file checked against its sidecar, read by Keras in safe mode), and turns a file into a
plain result: the top class, the probability of every class, what was analysed and how
long it took. The command line's ``predict`` and the HTTP service share it.

With no model named, :func:`best_model` picks the saved model of the current run with the
best validation score (genre models by validation accuracy; taggers, when there is no genre
model, by validation ROC-AUC).

Notebook: 12_serving.ipynb.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..audio import AudioError
from ..config import Settings, get_settings

TAG_THRESHOLD = 0.5  # a tagger's tag is reported as present from this probability on
OWN_WINDOW = object()  # Predictor.result's default: the predictor's own window
SILENCE_DBFS = -60.0   # audio whose RMS level is at or below this is silence, not music
MIN_CHUNK_FRACTION = 0.5  # shorter than this share of one chunk: mostly padding, not judged


def cannot_judge(seconds: float, level_dbfs: float, chunk_seconds: float) -> str | None:
    """Why a model should not answer for audio of ``seconds`` at RMS ``level_dbfs`` (None when
    it may): too short (under half of the model's ``chunk_seconds``, so most of what the model
    would hear is padding) or silent (at or below :data:`SILENCE_DBFS`). A model always
    answers something, even for digital silence; the service says so instead.

    Notebook: none directly; :meth:`Predictor.result` (``predict``, ``serve``) calls it.
    """
    shortest = MIN_CHUNK_FRACTION * chunk_seconds
    if seconds < shortest:
        return (f"too short to judge: {seconds:.2f} s of audio, and this model needs at least "
                f"{shortest:.1f} s (half of the {chunk_seconds:g} s it hears at a time)")
    if not level_dbfs > SILENCE_DBFS:
        level = "digital silence" if level_dbfs == float("-inf") else f"{level_dbfs:.0f} dBFS"
        return (f"silent: the audio's level is {level} (at or below {SILENCE_DBFS:.0f} dBFS), "
                "so there is no music to judge")
    return None


class NoModelError(FileNotFoundError):
    """No saved model to predict with (the message says how to get one)."""


def ranked_models(*, settings: Settings | None = None) -> pd.DataFrame:
    """The saved models of the current run, best first: name, architecture, target, the
    validation metric that ranks them and its value. Genre models come before taggers, each
    ranked by :func:`genre_lib.ranking.rank_on_validation` (ties go to fewer parameters, then
    to the name; models without a validation score last). Sidecars that fail their checks
    are left out (``models.load`` would refuse them).

    Notebook: 12_serving.ipynb.
    """
    from ..models.saving import SavedModelError, read_sidecar
    from ..models.trained import SIDECAR_VERSION, paths_for, saved_models
    from ..ranking import rank_on_validation

    settings = settings or get_settings()
    rows = []
    for name in saved_models(settings=settings):
        try:
            meta = read_sidecar(*paths_for(name, settings=settings), SIDECAR_VERSION)
        except (SavedModelError, OSError):
            continue
        target = meta.get("target", "genre")
        metric = "accuracy" if target == "genre" else "roc_auc"
        score = ((meta.get("metrics") or {}).get("valid") or {}).get(metric)
        rows.append({"model": name, "arch": meta.get("arch"), "target": target,
                     "metric": f"valid_{metric}", "score": np.nan if score is None else float(score),
                     "_params": meta.get("n_params"), "_tagger": int(target != "genre")})
    frame = pd.DataFrame(rows, columns=["model", "arch", "target", "metric", "score", "_params", "_tagger"])
    if not frame.empty:
        frame = rank_on_validation(frame, "score", params="_params", group="_tagger")
    return frame.drop(columns=["_params", "_tagger"])


def best_model(*, settings: Settings | None = None) -> str:
    """The name of the saved model with the best validation score (see :func:`ranked_models`).

    Notebook: none directly; used by :meth:`Predictor.load` when no model is named.
    """
    settings = settings or get_settings()
    ranked = ranked_models(settings=settings)
    if ranked.empty:
        raise NoModelError(f"no saved model under {settings.models_dir}: train one first (notebook 04, "
                           "or python -m genre_lib run 04) or name one with --model")
    return str(ranked["model"].iloc[0])


@dataclass
class Predictor:
    """One saved model, loaded once, that predicts audio files (see :meth:`predict`).

    ``window``: analyse only that many seconds from the middle of each file (None: the
    whole file), unless a call asks otherwise. ``abstain_below``: a genre model whose top
    probability is below this says it is not sure instead of naming a genre (choose it on
    validation: :func:`genre_lib.evaluation.abstain_threshold`; None: always answer).

    Notebook: 12_serving.ipynb.
    """

    trained: object
    window: float | None = None
    abstain_below: float | None = None  # a genre model answers only from this confidence on

    @classmethod
    def load(cls, name: str | None = None, window: float | None = None,
             abstain_below: float | None = None, *, settings: Settings | None = None) -> Predictor:
        """The saved model ``name`` (default: :func:`best_model`), loaded and warmed up."""
        from ..models.trained import load

        settings = settings or get_settings()
        predictor = cls(load(name or best_model(settings=settings), settings=settings), window,
                        abstain_below)
        predictor.warm_up()
        return predictor

    @property
    def name(self) -> str:
        return self.trained.name

    def warm_up(self) -> None:
        """Predict a few short tones (file reading, features, and the model traced for one
        and for several chunks at once), so the first real requests pay no set-up cost."""
        import tempfile

        from .. import audio

        sr = int(self.trained.meta["feature_params"]["sr"])
        chunk = float(self.trained.meta.get("chunk_seconds") or 3.0)
        with tempfile.TemporaryDirectory(prefix="genre_warm_up_") as folder:
            for n in (1.5, 2.5, 4.5):
                t = np.arange(int(n * chunk * sr)) / sr
                path = audio.write_wav(Path(folder) / "tone.wav", 0.1 * np.sin(2 * np.pi * 440 * t), sr)
                self.trained.predict_file(path)

    def describe(self) -> dict:
        """What the model is: name, architecture, target, classes, chunk length, scores."""
        meta = self.trained.meta
        return {"model": self.name, "arch": meta.get("arch"), "label": meta.get("label"),
                "target": self.trained.target, "classes": list(self.trained.classes),
                "chunk_seconds": meta.get("chunk_seconds"), "dataset": meta.get("dataset"),
                "profile": meta.get("profile"), "window": self.window,
                "valid": (meta.get("metrics") or {}).get("valid")}

    def result(self, path, window=OWN_WINDOW, name: str | None = None) -> dict:
        """The service's result for one file, a ``dict`` ready for JSON: the file-level
        prediction (:meth:`genre_lib.models.Trained.predict_file`) with what was analysed and how
        long it took. It analyses ``window`` seconds from the file's middle (default:
        this predictor's window; None: the whole file). ``name`` is reported as the file's
        name. :class:`~genre_lib.audio.AudioError` when the file cannot be used.

        Keys: ``file``, ``model``, ``target``, ``verdict`` (``"ok"``; ``"too short"`` or
        ``"silent"`` when the model was not asked, see :func:`cannot_judge`; ``"not sure"`` when
        a genre model's top probability is below ``abstain_below``), ``message`` (the reason in
        words, None when ok), ``genre`` (the mean-probability prediction; None for a tagger or
        without a verdict of ok), ``vote``, ``tags`` (a tagger's tags from 0.5 on),
        ``probabilities`` (best first), ``duration_s``, ``offset_s``, ``analysed_s``,
        ``chunks``, ``window_s``, ``seconds_taken`` and ``real_time_factor`` (seconds taken
        per second of audio in the file).
        """
        from .. import audio

        window = self.window if window is OWN_WINDOW else window
        started = time.perf_counter()
        chunk = float(self.trained.meta.get("chunk_seconds") or 3.0)
        seconds = float(audio.info(path)["seconds"])
        why = cannot_judge(seconds, 0.0, chunk)  # too short: the model is not even asked
        if why is None:
            proba = self.trained.predict_file(path, window=window)
            why = cannot_judge(float(proba.attrs["seconds"]), float(proba.attrs["level_dbfs"]), chunk)
            duration, offset = float(proba.attrs["duration"]), proba.attrs["offset"]
            analysed, chunks = float(proba.attrs["seconds"]), proba.attrs["chunks"]
        else:
            proba, duration, offset, analysed, chunks = None, seconds, 0.0, seconds, 0
        taken = time.perf_counter() - started
        genre = self.trained.target == "genre"
        judged = why is None
        order = proba.sort_values(ascending=False, kind="stable") if judged else pd.Series(dtype=float)
        verdict = "ok" if judged else ("silent" if why.startswith("silent") else "too short")
        if judged and genre and self.abstain_below is not None and order.iloc[0] < self.abstain_below:
            verdict = "not sure"
            why = (f"not sure: its best guess, {order.index[0]}, has probability {order.iloc[0]:.2f}, "
                   f"below the {self.abstain_below:.2f} this model needs to answer")
        answer = verdict == "ok"
        return {
            "file": name or Path(path).name, "model": self.name, "target": self.trained.target,
            "verdict": verdict, "message": why,
            "genre": str(order.index[0]) if genre and answer else None,
            "vote": proba.attrs["vote"] if genre and answer else None,
            "tags": [str(k) for k, v in order.items() if v >= TAG_THRESHOLD] if judged and not genre else [],
            "probabilities": {str(k): round(float(v), 5) for k, v in order.items()},
            "duration_s": round(duration, 3), "offset_s": offset,
            "analysed_s": round(analysed, 3), "chunks": chunks,
            "window_s": window, "seconds_taken": round(taken, 4),
            "real_time_factor": round(taken / duration, 5) if duration > 0 else None,
        }


def format_result(result: dict, top: int = 5, width: int = 30) -> str:
    """A result as a few lines of text: the answer, then the ``top`` classes with a bar each.

    Notebook: 12_serving.ipynb.
    """
    if result.get("message") and not result["probabilities"]:
        return (f"{result['file']}: no answer, {result['message']} ({result['duration_s']:.2f} s, "
                f"{result['model']})")
    if result.get("message"):  # not sure: the probabilities are still worth showing
        lines = [f"{result['file']}: no answer, {result['message']} ({result['model']})"]
        pad = max(len(k) for k in result["probabilities"])
        for label, p in list(result["probabilities"].items())[:top]:
            lines.append(f"  {label:<{pad}}  {p:6.3f}  {'#' * int(round(p * width))}")
        return "\n".join(lines)
    best = result["genre"] if result["target"] == "genre" else ", ".join(result["tags"]) or "(no tag)"
    part = "" if result["window_s"] is None or result["analysed_s"] >= result["duration_s"] else \
        f", {result['analysed_s']:.1f} s from {result['offset_s']:.1f} s"
    lines = [f"{result['file']}: {best}  ({result['duration_s']:.1f} s{part}, {result['chunks']} chunks, "
             f"{result['seconds_taken']:.2f} s with {result['model']})"]
    pad = max(len(k) for k in result["probabilities"])
    for label, p in list(result["probabilities"].items())[:top]:
        lines.append(f"  {label:<{pad}}  {p:6.3f}  {'#' * int(round(p * width))}")
    return "\n".join(lines)


def print_predictions(paths, model: str | None = None, as_json: bool = False, top: int = 5,
                  window: float | None = None, out=None, err=None, abstain_below: float | None = None,
                  *, settings: Settings | None = None) -> int:
    """Predict every file of ``paths`` and print the results (text, or one JSON array);
    the exit status: 0, or 1 when any file could not be read (each such file gets a
    one-line reason on ``err``, and the others are still predicted).

    Notebook: none directly; ``python -m genre_lib predict`` calls it.
    """
    out, err = out or sys.stdout, err or sys.stderr
    predictor = Predictor.load(model, window=window, abstain_below=abstain_below, settings=settings)
    results, failed = [], 0
    for path in paths:
        try:
            result = predictor.result(path, name=str(path))
        except AudioError as exc:
            failed += 1
            print(f"error: {exc.path}: {exc.reason}", file=err, flush=True)
            results.append({"file": str(path), "error": exc.reason})
            continue
        results.append(result)
        if not as_json:
            print(format_result(result, top), file=out, flush=True)
    if as_json:
        print(json.dumps(results, indent=2), file=out)
    return 1 if failed else 0


__all__ = ["TAG_THRESHOLD", "SILENCE_DBFS", "MIN_CHUNK_FRACTION", "cannot_judge",
           "NoModelError", "ranked_models", "best_model", "Predictor",
           "format_result", "print_predictions"]
