"""Figures of the data's structure and of the classical baselines: tag statistics, correlation
heatmaps, the PCA explained-variance curve, 2-D projections coloured by label, and the
baseline comparison bars.

Notebook: 02_correlation_and_projections.ipynb, 03_baseline_mfcc_svm.ipynb.
"""
from __future__ import annotations

import numpy as np

from .basics import get_ax

__all__ = ["tag_frequency", "tags_per_clip_hist", "correlation_heatmap", "explained_variance",
           "projection", "projection_grid", "baseline_bars", "label_palette"]


def tag_frequency(freq, top: int = 30, ax=None, title: str | None = None):
    """Horizontal bars: tracks per tag for the ``top`` most frequent tags (a Series).

    Notebook: 02_correlation_and_projections.ipynb, 09_multilabel_tagging.ipynb.
    """
    shown = freq.head(top)[::-1]
    ax = get_ax(ax, figsize=(6, max(2.5, 0.22 * len(shown) + 1)))
    ax.barh(range(len(shown)), shown.to_numpy(), color="C0")
    ax.set_yticks(range(len(shown)), [str(t) for t in shown.index], fontsize=8)
    ax.set_xlabel("tracks with the tag")
    ax.set_title(title or f"tag frequency (top {len(shown)} of {len(freq)})")
    return ax


def tags_per_clip_hist(counts, ax=None, title: str = "tags per clip"):
    """Histogram of the number of tags per clip, one bar per count.

    Notebook: 02_correlation_and_projections.ipynb.
    """
    counts = np.asarray(counts, dtype=int)
    ax = get_ax(ax, figsize=(5, 3))
    edges = np.arange(counts.min() if len(counts) else 0, (counts.max() if len(counts) else 0) + 2) - 0.5
    ax.hist(counts, bins=edges, color="C1", rwidth=0.85)
    ax.set_xlabel("number of tags")
    ax.set_ylabel("clips")
    ax.set_title(f"{title} (mean {counts.mean():.1f})" if len(counts) else title)
    return ax


def correlation_heatmap(corr, ax=None, title: str | None = None, annotate: bool | None = None,
                        vmin: float = -1.0, vmax: float = 1.0, cmap: str = "RdBu_r",
                        max_ticks: int = 40):
    """A correlation matrix (a DataFrame) as a heatmap; cells annotated when it is small.

    Tick labels are thinned to at most ``max_ticks`` per axis so large matrices (the 140
    MFCC statistics) stay readable.

    Notebook: 02_correlation_and_projections.ipynb, 09_multilabel_tagging.ipynb.
    """
    M = corr.to_numpy(dtype=float)
    rows, cols = [str(r) for r in corr.index], [str(c) for c in corr.columns]
    size_w = min(12, max(4.5, 0.3 * len(cols) + 2))
    size_h = min(11, max(3.5, 0.3 * len(rows) + 1.5))
    ax = get_ax(ax, figsize=(size_w, size_h))
    im = ax.imshow(M, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    step_r = max(1, int(np.ceil(len(rows) / max_ticks)))
    step_c = max(1, int(np.ceil(len(cols) / max_ticks)))
    ax.set_yticks(range(0, len(rows), step_r), rows[::step_r], fontsize=7)
    ax.set_xticks(range(0, len(cols), step_c), cols[::step_c], fontsize=7, rotation=60, ha="right")
    if annotate is None:
        annotate = M.size <= 400
    if annotate:
        for i in range(M.shape[0]):
            for j in range(M.shape[1]):
                if np.isfinite(M[i, j]):
                    ax.text(j, i, f"{M[i, j]:.2f}", ha="center", va="center", fontsize=6,
                            color="white" if abs(M[i, j]) > 0.6 * max(abs(vmin), abs(vmax)) else "black")
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.02, label="Pearson r")
    if title:
        ax.set_title(title)
    return ax


def explained_variance(ratios, share: float = 0.9, ax=None, title: str | None = None):
    """Per-component and cumulative explained variance, with the ``share`` threshold marked.

    Notebook: 02_correlation_and_projections.ipynb.
    """
    ratios = np.asarray(ratios, dtype=float)
    cum = np.cumsum(ratios)
    k = int(min(np.searchsorted(cum, share - 1e-12) + 1, len(ratios)))
    ax = get_ax(ax, figsize=(6, 3.2))
    x = np.arange(1, len(ratios) + 1)
    ax.bar(x, ratios, color="C0", alpha=0.6, label="per component")
    ax.plot(x, cum, color="C3", lw=1.5, label="cumulative")
    ax.axhline(share, color="grey", ls="--", lw=0.8)
    ax.axvline(k, color="grey", ls=":", lw=0.8)
    ax.annotate(f"{k} components reach {share:.0%}", (k, share), xytext=(6, -14),
                textcoords="offset points", fontsize=8)
    ax.set_xlabel("principal component")
    ax.set_ylabel("explained variance ratio")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="center right", fontsize=8)
    ax.set_title(title or "PCA: explained variance")
    return ax


def label_palette(labels) -> dict:
    """A stable colour per label (sorted), from tab10 or tab20; ``other`` is grey."""
    import matplotlib

    names = sorted({str(x) for x in labels})
    cmap = matplotlib.colormaps["tab10" if len(names) <= 10 else "tab20"]
    palette, i = {}, 0
    for name in names:
        if name in ("other", "(no tag)", "(no label)"):
            palette[name] = (0.7, 0.7, 0.7, 1.0)
        else:
            palette[name] = cmap(i % cmap.N)
            i += 1
    return palette


def projection(Z, labels, ax=None, title: str | None = None, palette: dict | None = None,
               legend: bool = True, s: float = 14):
    """A 2-D map, one dot per track, coloured by label."""
    Z = np.asarray(Z)
    labels = np.asarray([str(x) for x in labels], dtype=object)
    palette = palette or label_palette(labels)
    ax = get_ax(ax, figsize=(5, 4.5))
    for name, colour in palette.items():
        mask = labels == name
        if mask.any():
            ax.scatter(Z[mask, 0], Z[mask, 1], s=s, color=colour, label=name, alpha=0.85,
                       edgecolors="none")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    if legend:
        ax.legend(fontsize=7, markerscale=1.2, loc="best", frameon=False)
    return ax


def projection_grid(maps: dict, labels, scores=None, title: str | None = None):
    """Every ``{(input, method): Z}`` map in a grid (rows: inputs, columns: methods), one
    shared legend; with ``scores`` (from ``analysis.projection_scores``) each panel's title
    carries its k-NN agreement.

    Notebook: 02_correlation_and_projections.ipynb.
    """
    import matplotlib.pyplot as plt

    inputs = list(dict.fromkeys(k[0] for k in maps))
    methods = list(dict.fromkeys(k[1] for k in maps))
    palette = label_palette(labels)
    fig, axes = plt.subplots(len(inputs), len(methods), figsize=(3.6 * len(methods), 3.4 * len(inputs)),
                             squeeze=False)
    knn_col = None
    if scores is not None:
        knn_col = next((c for c in scores.columns if c.endswith("NN agreement")), None)
    for i, name in enumerate(inputs):
        for j, method in enumerate(methods):
            ax = axes[i, j]
            if (name, method) not in maps:
                ax.axis("off")
                continue
            sub = f"{method.upper() if method != 'tsne' else 't-SNE'} of {name}"
            if knn_col is not None:
                hit = scores[(scores["input"] == name) & (scores["method"] == method)]
                if len(hit):
                    sub += f"\n{knn_col}: {hit[knn_col].iloc[0]:.2f}"
            projection(maps[(name, method)], labels, ax=ax, title=sub, palette=palette, legend=False)
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=n) for n, c in palette.items()]
    fig.legend(handles=handles, loc="center right", fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 0.86, 1))
    return fig


def baseline_bars(table, metrics=("valid_accuracy", "accuracy", "f1_macro"), ax=None,
                  title: str | None = None, chance: float | None = None):
    """Grouped horizontal bars per model and feature set for the given metric columns of a
    baselines table (``genre_lib.baselines.run_all(...).table`` rows, possibly concatenated).

    Notebook: 03_baseline_mfcc_svm.ipynb.
    """
    import pandas as pd

    frame = pd.DataFrame(table).copy()
    frame["name"] = frame["model"] + (" | " + frame["features"] if "features" in frame else "")
    metrics = [m for m in metrics if m in frame.columns]
    ax = get_ax(ax, figsize=(7, max(2.5, 0.32 * len(frame) * max(1, len(metrics)) / 2 + 1)))
    h = 0.8 / max(len(metrics), 1)
    y = np.arange(len(frame))
    for i, m in enumerate(metrics):
        ax.barh(y + i * h - 0.4 + h / 2, frame[m].to_numpy(dtype=float), height=h,
                label=m.replace("_", " "), color=f"C{i}")
    ax.set_yticks(y, frame["name"], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    if chance is not None:
        ax.axvline(chance, color="grey", ls="--", lw=0.8, label="chance")
    ax.set_xlabel("score")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title or "classical baselines")
    return ax
