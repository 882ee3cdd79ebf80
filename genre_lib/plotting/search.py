"""Figures of a hyper-parameter search, drawn with matplotlib from plain tables (so they
render in an executed notebook without a browser): best-so-far curves with their spread
over repeated searches, parameter importances, slice plots, parallel coordinates, scores
by training seed, and the inner/outer scores of a nested cross-validation.

The tables come from :mod:`genre_lib.search` (``best_so_far``, ``trials_frame``,
``importances``, ``seed_table``, ``nested_cv``).

Notebook: 11_hyperparameter_search.ipynb.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .basics import get_ax

__all__ = ["best_so_far", "param_importances", "search_slices", "parallel_coordinates",
           "seed_spread", "nested_scores"]

_LABELS = {"tpe": "TPE", "random": "random"}


def best_so_far(curves: pd.DataFrame, ax=None, title: str | None = None,
                ylabel: str = "best validation accuracy so far"):
    """Best score reached after each trial: a thin step line per search (seed), the mean
    over seeds in bold and a band from the worst to the best seed, one colour per sampler.

    ``curves`` has columns ``sampler``, ``seed``, ``trial`` and ``best``
    (:func:`genre_lib.search.best_so_far`).

    Notebook: 11_hyperparameter_search.ipynb.
    """
    ax = get_ax(ax, figsize=(6.5, 3.6))
    for i, (sampler, part) in enumerate(curves.groupby("sampler", sort=False)):
        color = f"C{i}"
        wide = part.pivot_table(index="trial", columns="seed", values="best", aggfunc="last")
        wide = wide.ffill()
        for seed in wide.columns:
            ax.step(wide.index, wide[seed], where="post", color=color, lw=0.8, alpha=0.35)
        n = wide.shape[1]
        label = f"{_LABELS.get(sampler, sampler)}: mean of {n} search{'es' if n > 1 else ''}"
        ax.plot(wide.index, wide.mean(axis=1), color=color, lw=2.2, marker="o", ms=3,
                drawstyle="steps-post", label=label)
        if n > 1:
            ax.fill_between(wide.index, wide.min(axis=1), wide.max(axis=1), color=color,
                            alpha=0.15, step="post", lw=0)
    ax.set_xlabel("trial")
    ax.set_ylabel(ylabel)
    if len(curves):
        ax.set_xticks(np.arange(1, int(curves["trial"].max()) + 1, max(1, int(curves["trial"].max()) // 10)))
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title or "best so far (thin: each seed; band: worst to best seed)")
    return ax


def param_importances(imp, ax=None, title: str | None = None):
    """Horizontal bars of each parameter's importance (share of the score's variance, 0-1).

    ``imp`` is a Series (one search) or a DataFrame with one column per group of trials
    (e.g. TPE, random, all). NaN importances (too few trials) are drawn as ``n/a``.

    Notebook: 11_hyperparameter_search.ipynb.
    """
    frame = imp.to_frame("importance") if isinstance(imp, pd.Series) else pd.DataFrame(imp)
    order = frame.mean(axis=1).fillna(0).sort_values().index
    frame = frame.loc[order]
    ax = get_ax(ax, figsize=(6, 0.45 * len(frame) * max(1, frame.shape[1]) + 1.2))
    y = np.arange(len(frame))
    h = 0.8 / max(1, frame.shape[1])
    for j, col in enumerate(frame.columns):
        vals = frame[col].to_numpy(float)
        ax.barh(y + j * h, np.nan_to_num(vals), height=h, label=str(col), color=f"C{j}")
        for k, v in enumerate(vals):
            ax.text((0 if np.isnan(v) else v) + 0.01, y[k] + j * h, "n/a" if np.isnan(v) else f"{v:.2f}",
                    va="center", fontsize=7)
    ax.set_yticks(y + h * (frame.shape[1] - 1) / 2, frame.index.astype(str))
    ax.set_xlim(0, 1.1)
    ax.set_xlabel("importance (share of the score's variance)")
    if frame.shape[1] > 1:
        ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title or "hyper-parameter importance (fANOVA)")
    return ax


def _positions(values: pd.Series, log: bool) -> tuple[np.ndarray, list | None, bool]:
    """Numbers to plot a parameter's values at: the values themselves, or (for strings) the
    rank of each category, whose labels are returned."""
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(float), None, log
    cats = sorted(values.astype(str).unique())
    return values.astype(str).map({c: i for i, c in enumerate(cats)}).to_numpy(float), cats, False


def search_slices(trials: pd.DataFrame, params, value: str = "value", log=(), ax=None,
                  title: str | None = None, ylabel: str = "validation accuracy"):
    """One panel per parameter: every completed trial's score against the value it tried
    (a slice plot), coloured by sampler. ``log`` names parameters drawn on a log axis.
    Returns the array of Axes (``ax`` may be one, for one parameter, or a sequence).

    Notebook: 11_hyperparameter_search.ipynb.
    """
    import matplotlib.pyplot as plt

    params = list(params)
    done = trials[pd.to_numeric(trials[value], errors="coerce").notna()]
    if ax is None:
        ncols = min(3, len(params))
        nrows = int(np.ceil(len(params) / ncols))
        _, ax = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 2.7 * nrows), squeeze=False,
                             sharey=True)
    axes = np.atleast_1d(ax).ravel()
    groups = list(done.groupby("sampler", sort=False)) if "sampler" in done else [("trials", done)]
    for a, p in zip(axes, params):
        for i, (name, part) in enumerate(groups):
            x, cats, is_log = _positions(part[p], p in log)
            jitter = 0.08 * np.random.default_rng(i).standard_normal(len(x)) if cats else 0.0
            a.scatter(x + jitter, part[value].astype(float), s=16, alpha=0.7, color=f"C{i}",
                      label=_LABELS.get(name, str(name)))
            if cats:
                a.set_xticks(range(len(cats)), cats)
        if p in log:
            from matplotlib.ticker import NullFormatter

            a.set_xscale("log")
            a.xaxis.set_minor_formatter(NullFormatter())
        a.set_xlabel(p)
    for a in axes[len(params):]:
        a.set_visible(False)
    axes[0].set_ylabel(ylabel)
    if len(groups) > 1:
        axes[0].legend(fontsize=7)
    axes[0].figure.suptitle(title or "slice plots: score against each parameter", y=1.0)
    axes[0].figure.tight_layout()
    return axes


def parallel_coordinates(trials: pd.DataFrame, params, value: str = "value", log=(), ax=None,
                         title: str | None = None, label: str = "validation accuracy"):
    """One vertical axis per parameter (scaled to 0-1; log scale for the parameters in
    ``log``; categories evenly spaced) and one line per completed trial, coloured by its
    score; the best trial is drawn thick and black. Each axis is labelled with the lowest
    value tried (below) and the highest (above).

    Notebook: 11_hyperparameter_search.ipynb.
    """
    import matplotlib as mpl

    params = list(params)
    done = trials[pd.to_numeric(trials[value], errors="coerce").notna()].reset_index(drop=True)
    ax = get_ax(ax, figsize=(1.5 * len(params) + 2.5, 3.8))
    cols, ends = [], []
    for p in params:
        x, cats, _ = _positions(done[p], False)
        if cats is None and p in log:
            x = np.log10(x)
        lo, hi = (np.nanmin(x), np.nanmax(x)) if len(x) else (0.0, 1.0)
        cols.append((x - lo) / (hi - lo) if hi > lo else np.full(len(x), 0.5))
        if cats is not None:
            ends.append((cats[0], cats[-1]))
        else:
            shown = (10 ** lo, 10 ** hi) if p in log else (lo, hi)
            ends.append(tuple(f"{v:.3g}" for v in shown))
    scores = done[value].astype(float).to_numpy()
    norm = mpl.colors.Normalize(scores.min() if len(scores) else 0, scores.max() if len(scores) else 1)
    cmap = mpl.colormaps["viridis"]
    ys = np.column_stack(cols) if cols and len(done) else np.zeros((0, len(params)))
    for k in np.argsort(scores):
        ax.plot(range(len(params)), ys[k], color=cmap(norm(scores[k])), lw=1.2, alpha=0.8)
    if len(scores):
        ax.plot(range(len(params)), ys[int(np.argmax(scores))], color="black", lw=2.5,
                label=f"best: {scores.max():.3f}")
        ax.legend(fontsize=8, loc="lower right", framealpha=0.9)
    for i, (low, high) in enumerate(ends):
        ax.axvline(i, color="0.6", lw=0.8)
        ax.text(i, -0.04, low, ha="center", va="top", fontsize=7)
        ax.text(i, 1.04, high, ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(params)), params)
    ax.set_yticks([])
    ax.set_ylim(-0.14, 1.14)
    ax.set_xlim(-0.4, len(params) - 0.6)
    bar = ax.figure.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax)
    bar.set_label(label)
    ax.set_title(title or "parallel coordinates: one line per trial")
    return ax


def seed_spread(frame: pd.DataFrame, metric: str = "accuracy", by: str = "config",
                ax=None, title: str | None = None):
    """Scores by training seed: one dot per seed, the mean ± sd as a bar, one group per
    ``by`` value (e.g. best vs default) and one colour per ``split`` (valid, test).

    Notebook: 11_hyperparameter_search.ipynb.
    """
    ax = get_ax(ax, figsize=(6, 3.4))
    configs = list(dict.fromkeys(frame[by]))
    splits = list(dict.fromkeys(frame["split"]))
    w = 0.7 / max(1, len(splits))
    for j, split in enumerate(splits):
        for i, c in enumerate(configs):
            vals = frame.loc[(frame[by] == c) & (frame["split"] == split), metric].astype(float).to_numpy()
            if not len(vals):
                continue
            x = i + (j - (len(splits) - 1) / 2) * w
            sd = vals.std(ddof=1) if len(vals) > 1 else 0.0
            ax.errorbar(x, vals.mean(), yerr=sd, fmt="s", color=f"C{j}", capsize=4, ms=6,
                        label=split if i == 0 else None)
            ax.scatter(np.full(len(vals), x + 0.12), vals, s=14, color=f"C{j}", alpha=0.6)
    ax.set_xticks(range(len(configs)), configs)
    ax.set_ylabel(f"{metric.replace('_', ' ')} (track level)")
    ax.legend(fontsize=8, title="split", title_fontsize=8)
    ax.set_title(title or "mean ± sd over training seeds (dots: each seed)")
    return ax


def nested_scores(frame: pd.DataFrame, ax=None, title: str | None = None):
    """Per outer fold of a nested cross-validation: the best inner CV score (what the search
    says of its winner) beside the winner's score on the held-out fold.

    Notebook: 11_hyperparameter_search.ipynb.
    """
    ax = get_ax(ax, figsize=(6, 3.2))
    x = frame["fold"].to_numpy()
    ax.bar(x - 0.18, frame["inner_best_cv"], width=0.36, label="inner: best CV score of the search")
    ax.bar(x + 0.18, frame["outer_accuracy"], width=0.36, label="outer: held-out fold")
    for name, col in (("inner", "inner_best_cv"), ("outer", "outer_accuracy")):
        ax.axhline(frame[col].mean(), color="C0" if name == "inner" else "C1", ls="--", lw=1)
    ax.set_xticks(x)
    ax.set_xlabel("outer fold")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title or "nested cross-validation (dashed: means)")
    return ax
