"""Figures of the deep track: a clip cut into chunks with each chunk's prediction, several
training histories on one plot, and models compared side by side.

Notebook: 04_cnn.ipynb, 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb.
"""
from __future__ import annotations

import numpy as np

from .basics import get_ax, spectrogram

__all__ = ["chunk_predictions", "histories", "model_comparison", "reliability"]


def reliability(table, ax=None, title: str | None = None):
    """A reliability diagram from :func:`genre_lib.evaluation.reliability`: each confidence
    bin's accuracy (bars, labelled with their counts) against the diagonal of a calibrated
    model; bars below the diagonal are over-confident.

    Notebook: 12_serving.ipynb.
    """
    ax = get_ax(ax, figsize=(4.5, 4))
    used = table[table["count"] > 0]
    width = float(table["to"].iloc[0] - table["from"].iloc[0])
    ax.bar(used["from"], used["accuracy"], width=width, align="edge", edgecolor="k", alpha=0.7,
           label="accuracy in the bin")
    for _, r in used.iterrows():
        ax.text(r["from"] + width / 2, min(r["accuracy"], 0.95) + 0.02, str(int(r["count"])),
                ha="center", fontsize=7)
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="calibrated")
    ax.set_xlabel("confidence (probability of the chosen class)")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(title or f"reliability (ECE {table.attrs.get('ece', float('nan')):.3f})")
    return ax


def chunk_predictions(S_db: np.ndarray, length: int, proba: np.ndarray, classes, truth=None,
                      sr: int = 22050, hop_length: int = 512, ax=None, title: str | None = None):
    """A log-mel spectrogram cut into consecutive chunks of ``length`` frames, each labelled
    with the class the model gave it (and that class's probability); the title gives the
    track-level answers by mean probability and by majority vote.

    ``proba`` has one row per chunk (``len(proba)`` chunks from the start of the clip).

    Notebook: 04_cnn.ipynb.
    """
    classes = list(classes)
    proba = np.asarray(proba)
    ax = spectrogram(S_db, sr, hop_length, ax=ax, colorbar=False)
    ax.figure.set_size_inches(max(8, 0.9 * len(proba) + 2), 3.6)
    sec = length * hop_length / sr
    top = ax.get_ylim()[1]
    for i, p in enumerate(proba):
        k = int(np.argmax(p))
        right = truth is None or classes[k] == truth
        ax.axvline((i + 1) * sec, color="white", lw=1, alpha=0.8)
        ax.text((i + 0.5) * sec, top * 0.93, f"{classes[k]}\n{p[k]:.2f}", ha="center", va="top",
                fontsize=7, color="white",
                bbox=dict(boxstyle="round,pad=0.2", lw=0, alpha=0.75,
                          facecolor="tab:green" if right else "tab:red"))
    mean = classes[int(proba.mean(0).argmax())]
    votes = np.bincount(proba.argmax(1), minlength=len(classes))
    vote = classes[int(np.argmax(votes + 1e-6 * proba.mean(0)))]
    head = f"true: {truth}   " if truth is not None else ""
    ax.set_title(title or f"{head}mean probability -> {mean}   majority vote -> {vote}")
    return ax


def histories(items, metric: str = "val_accuracy", ax=None, title: str | None = None):
    """One curve per model of ``metric`` against the epoch; ``items`` maps a name to a Keras
    history dict (or is a list of objects with ``.name`` and ``.history``).

    Notebook: 04_cnn.ipynb, 05_crnn.ipynb.
    """
    if not isinstance(items, dict):
        items = {t.name: t.history for t in items}
    ax = get_ax(ax, figsize=(6.5, 3.4))
    for name, hist in items.items():
        if hist and metric in hist:
            ax.plot(np.arange(1, len(hist[metric]) + 1), hist[metric], marker=".", label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric.replace("_", " "))
    ax.legend(fontsize=8)
    ax.set_title(title or f"{metric.replace('_', ' ')} (per chunk) during training")
    return ax


def model_comparison(frame, metrics=("accuracy", "f1_macro"), label: str = "system",
                     chance: float | None = None, ax=None, title: str | None = None):
    """Horizontal bars, one group per row of ``frame`` (a results table), one bar per metric,
    with an optional dashed line at chance level.

    Notebook: 04_cnn.ipynb, 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb.
    """
    metrics = [m for m in metrics if m in frame.columns]
    frame = frame.dropna(subset=metrics[:1])
    ax = get_ax(ax, figsize=(7, 0.45 * len(frame) * max(1, len(metrics)) + 1.2))
    y = np.arange(len(frame))
    h = 0.8 / max(1, len(metrics))
    for j, m in enumerate(metrics):
        vals = frame[m].astype(float).to_numpy()
        bars = ax.barh(y + j * h, vals, height=h, label=m.replace("_", " "))
        for b, v in zip(bars, vals):
            if np.isfinite(v):
                ax.text(v + 0.01, b.get_y() + b.get_height() / 2, f"{v:.2f}", va="center", fontsize=7)
    ax.set_yticks(y + h * (len(metrics) - 1) / 2, frame[label].astype(str))
    ax.invert_yaxis()
    ax.set_xlim(0, 1.08)
    ax.set_xlabel("score (0 to 1)")
    if chance is not None:
        ax.axvline(chance, color="grey", ls="--", lw=1, label=f"chance ({chance:.2f})")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(title or "test split, track level")
    return ax
