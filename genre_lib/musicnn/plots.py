"""Figures of the transfer-learning notebook: the taggram and the learning curve.

Each takes ``ax=None`` (a new figure) and returns the Axes; save with
:func:`genre_lib.plotting.save`.

Notebook: 10_transfer_learning.ipynb.
"""
from __future__ import annotations

import numpy as np


def taggram(probs: np.ndarray, tags, seconds_per_patch: float = 3.0, ax=None,
            title: str | None = None, cmap: str = "viridis"):
    """Tag probabilities over time (patches along x, one row per tag, every tag named)."""
    import matplotlib.pyplot as plt

    probs = np.asarray(probs)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.5 * len(probs) + 3.0), 0.17 * len(tags) + 1.2))
    extent = (0, len(probs) * seconds_per_patch, len(tags) - 0.5, -0.5)
    im = ax.imshow(probs.T, aspect="auto", interpolation="nearest", cmap=cmap, vmin=0, vmax=1,
                   extent=extent)
    ax.set_yticks(range(len(tags)))
    ax.set_yticklabels(tags, fontsize=7)
    ax.set_xlabel("time (s)")
    ax.figure.colorbar(im, ax=ax, fraction=0.04, pad=0.02, label="tag probability")
    if title:
        ax.set_title(title)
    return ax


def learning_curve(frame, x: str = "clips per genre", y: str = "test accuracy",
                   by: str = "system", chance: float | None = None, ax=None,
                   title: str | None = None):
    """One line per system: ``y`` against ``x`` (a log-scaled axis of training-set sizes)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.6))
    for i, (name, part) in enumerate(frame.groupby(by, sort=False)):
        part = part.sort_values(x)
        ax.plot(part[x], part[y], marker="o", color=f"C{i}", label=name)
    if chance is not None:
        ax.axhline(chance, color="grey", linestyle=":", label="chance")
    ax.set_xscale("log")
    ticks = sorted(frame[x].unique())
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t) for t in ticks])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax
