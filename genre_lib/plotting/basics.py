"""Basic figures: waveforms, spectrograms, class balance, confusion matrices, histories.

Notebook: 01_eda.ipynb.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["get_ax", "save", "waveform", "spectrogram", "spectrogram_grid", "class_balance",
           "confusion_matrix", "history", "by_label", "mean_spectrum_by_label",
           "mel_filterbank", "specshow", "TIME_LABEL"]

TIME_LABEL = "time (s)"
# axis labels, with units, for librosa.display's axis kinds (librosa's own say "Time", "Hz")
_AXIS_LABELS = {"time": TIME_LABEL, "s": TIME_LABEL, "ms": "time (ms)", "frames": "frame",
                "mel": "frequency (Hz, mel scale)", "linear": "frequency (Hz)",
                "hz": "frequency (Hz)", "fft": "frequency (Hz)", "log": "frequency (Hz, log scale)",
                "fft_note": "pitch (note)", "cqt_hz": "frequency (Hz)", "cqt_note": "pitch (note)",
                "chroma": "pitch class", "tempo": "tempo (BPM)"}


def get_ax(ax=None, figsize=(8, 3)):
    """The given Axes, or a new figure's."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def save(fig_or_ax, name: str, *, settings=None) -> Path:
    """Save a figure as ``figures/<run name>/<name>.png`` and return the path.

    Notebook: 01_eda.ipynb, 02_correlation_and_projections.ipynb, 03_baseline_mfcc_svm.ipynb,
        04_cnn.ipynb, 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb, 07_filter_visualisation.ipynb,
        08_embedding_clustering.ipynb, 09_multilabel_tagging.ipynb, 10_transfer_learning.ipynb,
        11_hyperparameter_search.ipynb.
    """
    from ..config import get_settings

    settings = settings or get_settings()
    fig = getattr(fig_or_ax, "figure", fig_or_ax)
    if hasattr(fig_or_ax, "flat"):  # an array of Axes
        fig = fig_or_ax.flat[0].figure
    path = settings.figure_path(name)
    fig.savefig(path, bbox_inches="tight")
    return path


def waveform(y: np.ndarray, sr: int = 22050, ax=None, title: str | None = None, color="C0"):
    """A waveform against time in seconds (min/max envelope for long signals).

    Notebook: 01_eda.ipynb.
    """
    ax = get_ax(ax)
    n = len(y)
    if n > 20000:  # draw the envelope, not 600,000 points
        width = n // 4000
        frames = y[: width * 4000].reshape(4000, width)
        t = (np.arange(4000) * width + width / 2) / sr
        ax.fill_between(t, frames.min(1), frames.max(1), color=color, lw=0)
    else:
        ax.plot(np.arange(n) / sr, y, color=color, lw=0.6)
    ax.set_xlim(0, n / sr)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("amplitude")
    if title:
        ax.set_title(title)
    return ax


def specshow(ax, S: np.ndarray, sr: int = 22050, hop_length: int = 512, x_axis: str | None = "time",
             y_axis: str | None = "mel", **kwargs):
    """``librosa.display.specshow`` with the time axis in seconds and labels that carry units
    ("time (s)", "frequency (Hz, mel scale)"); returns the image (for a colour bar)."""
    import librosa.display

    if x_axis == "time":  # librosa's "time" switches to m:ss past a minute; keep seconds
        x_axis = "s"
    img = librosa.display.specshow(np.asarray(S), sr=sr, hop_length=hop_length, x_axis=x_axis,
                                   y_axis=y_axis, ax=ax, **kwargs)
    ax.set_xlabel(_AXIS_LABELS.get(x_axis, "") if x_axis else "")
    ax.set_ylabel(_AXIS_LABELS.get(y_axis, "") if y_axis else "")
    return img


def spectrogram(S_db: np.ndarray, sr: int = 22050, hop_length: int = 512, ax=None,
                title: str | None = None, y_axis: str | None = "mel", colorbar: bool = True,
                fmax: float | None = None, vmin=None, vmax=None, cmap="magma",
                clabel: str = "level (dB)"):
    """A (log-mel) spectrogram with a time axis in seconds, a frequency axis in Hz and a
    colour bar labelled ``clabel`` (give another for values that are not dB, e.g. MFCCs).

    Notebook: 01_eda.ipynb, 03_baseline_mfcc_svm.ipynb, 07_filter_visualisation.ipynb.
    """
    ax = get_ax(ax, figsize=(8, 3.5))
    img = specshow(ax, S_db, sr, hop_length, x_axis="time", y_axis=y_axis, fmax=fmax,
                   vmin=vmin, vmax=vmax, cmap=cmap)
    if colorbar:
        ax.figure.colorbar(img, ax=ax, pad=0.01, label=clabel)
    if title:
        ax.set_title(title)
    return ax


def spectrogram_grid(items, sr: int = 22050, hop_length: int = 512, ncols: int = 5,
                     y_axis: str = "mel", title: str | None = None):
    """A grid of spectrograms, one per ``(label, S_db)`` in ``items``; shared colour scale.

    Notebook: 01_eda.ipynb.
    """
    import matplotlib.pyplot as plt

    items = list(items)
    nrows = int(np.ceil(len(items) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.6 * nrows),
                             sharex=True, sharey=True, squeeze=False)
    vmax = max(float(S.max()) for _, S in items)
    vmin = vmax - 80
    for ax, (label, S) in zip(axes.flat, items):
        spectrogram(S, sr, hop_length, ax=ax, title=label, y_axis=y_axis, colorbar=False,
                    vmin=vmin, vmax=vmax)
        ax.label_outer()
    for ax in list(axes.flat)[len(items):]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    # one colour bar for the shared scale, added after the layout (it takes room from the grid)
    images = [ax.collections[0] for ax in axes.flat if ax.collections]
    if images:
        fig.colorbar(images[0], ax=list(axes.flat), pad=0.01, fraction=0.03, label="level (dB)")
    return fig


def class_balance(table, column: str = "genre", by: str = "split", ax=None):
    """Tracks per label, stacked by split.

    Notebook: 01_eda.ipynb, 02_correlation_and_projections.ipynb.
    """
    import pandas as pd

    ax = get_ax(ax, figsize=(8, 3.5))
    counts = pd.crosstab(table[column], table[by])
    order = [c for c in ("train", "valid", "test") if c in counts.columns]
    counts[order or list(counts.columns)].plot.bar(stacked=True, ax=ax, width=0.8)
    ax.set_ylabel("tracks")
    ax.set_xlabel(column)
    ax.set_title(f"tracks per {column} and {by}")
    ax.tick_params(axis="x", rotation=45)
    return ax


def confusion_matrix(y_true, y_pred, labels=None, normalize: bool = True, ax=None,
                     title: str | None = None, cmap="Blues"):
    """A (row-normalised) confusion matrix as an annotated heatmap.

    Notebook: 03_baseline_mfcc_svm.ipynb.
    """
    from sklearn.metrics import confusion_matrix as cm

    labels = list(labels) if labels is not None else sorted(set(y_true) | set(y_pred))
    M = cm(y_true, y_pred, labels=labels).astype(float)
    if normalize:
        M = M / np.maximum(M.sum(1, keepdims=True), 1)
    size = max(4, 0.55 * len(labels) + 1.5)
    ax = get_ax(ax, figsize=(size, size * 0.85))
    im = ax.imshow(M, cmap=cmap, vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if M[i, j] > 0:
                ax.text(j, i, f"{M[i, j]:.2f}" if normalize else int(M[i, j]), ha="center",
                        va="center", fontsize=7, color="white" if M[i, j] > 0.6 * M.max() else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.02,
                       label="share of the true class" if normalize else "tracks")
    ax.set_title(title or ("confusion matrix (row-normalised)" if normalize else "confusion matrix"))
    return ax


def history(hist, metrics=("loss", "accuracy"), axes=None, title: str | None = None,
            steps_per_epoch: int | None = None, budget: int | None = None):
    """Training curves (train and validation) from a Keras History or its ``.history`` dict.

    With ``steps_per_epoch`` the x-axis counts optimiser steps (the unit of a training
    budget), the epoch with the lowest validation loss (the weights kept) is marked, and
    ``budget`` draws the step budget as a dashed line.

    Notebook: 04_cnn.ipynb, 06_parallel_cnn_rnn.ipynb.
    """
    import matplotlib.pyplot as plt

    h = getattr(hist, "history", hist)
    metrics = [m for m in metrics if m in h]
    if axes is None:
        _, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3), squeeze=False)
        axes = axes.flat
    n = len(h[metrics[0]]) if metrics else 0
    x = np.arange(1, n + 1) * (steps_per_epoch or 1)
    best = int(np.argmin(h["val_loss"])) if steps_per_epoch and h.get("val_loss") else None
    for ax, m in zip(axes, metrics):
        ax.plot(x, h[m], label="train")
        if f"val_{m}" in h:
            ax.plot(x, h[f"val_{m}"], label="validation")
        if best is not None:
            ax.axvline(x[best], color="0.4", lw=1, label=f"kept (step {x[best]})")
        if budget:
            ax.axvline(budget, color="0.4", lw=1, ls="--", label=f"budget ({budget} steps)")
        ax.set_xlabel("optimiser steps" if steps_per_epoch else "epoch")
        ax.set_ylabel(m)
        ax.legend(fontsize=8)
        if title:
            ax.set_title(title)
    return axes


def by_label(values, labels, ax=None, ylabel: str = "", title: str | None = None, order=None):
    """Box plot of one value per track, grouped by label and sorted by median.

    Notebook: 01_eda.ipynb.
    """
    import pandas as pd

    frame = pd.DataFrame({"v": np.asarray(values, dtype=float), "label": list(labels)})
    order = order or frame.groupby("label")["v"].median().sort_values(ascending=False).index.tolist()
    ax = get_ax(ax, figsize=(8, 3.5))
    ax.boxplot([frame.loc[frame.label == g, "v"] for g in order], showfliers=False)
    ax.set_xticks(range(1, len(order) + 1), order, rotation=45, ha="right")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


def mean_spectrum_by_label(S_db: np.ndarray, labels, sr: int = 22050, fmax: float | None = None,
                           ax=None, title: str = "time-averaged mel spectrum per label"):
    """Mean over time and tracks of log-mel spectrograms (N, n_mels, frames), one curve per label.

    The x axis is the centre frequency of each mel band, on the mel scale's own spacing.

    Notebook: 01_eda.ipynb.
    """
    import librosa

    labels = np.asarray(labels)
    n_mels = S_db.shape[1]
    centres = librosa.mel_frequencies(n_mels=n_mels + 2, fmax=fmax or sr / 2)[1:-1]
    per_track = S_db.mean(axis=2)
    ax = get_ax(ax, figsize=(8, 4))
    for i, g in enumerate(sorted(set(labels))):
        curve = per_track[labels == g]
        m = curve.mean(0)
        ax.plot(centres, m, label=g, color=f"C{i % 10}", lw=1.4)
    ax.set_xscale("symlog", linthresh=1000)
    ax.set_xlabel("mel band centre frequency (Hz)")
    ax.set_ylabel("mean level (dB)")
    ax.legend(ncol=2, fontsize=8)
    ax.set_title(title)
    return ax


def mel_filterbank(basis: np.ndarray, sr: int = 22050, every: int = 8, ax=None):
    """Every ``every``-th triangular mel filter against linear frequency.

    Notebook: 01_eda.ipynb.
    """
    n_fft = 2 * (basis.shape[1] - 1)
    freqs = np.arange(basis.shape[1]) * sr / n_fft
    ax = get_ax(ax, figsize=(8, 3))
    for row in basis[::every]:
        ax.plot(freqs, row / (row.max() + 1e-12), lw=1)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("filter weight (normalised)")
    ax.set_title(f"mel filterbank: every {every}th of {basis.shape[0]} triangular filters")
    return ax
