"""Figures of multi-label tagging: per-tag scores against their chance levels, precision-recall
curves, and predicted-vs-true tag co-occurrence.

Notebook: 09_multilabel_tagging.ipynb.
"""
from __future__ import annotations

import numpy as np

from .basics import get_ax

__all__ = ["per_tag_auc", "pr_curves", "tag_cooccurrence"]


def per_tag_auc(table, ax=None, title: str | None = None):
    """Bars of ROC-AUC and PR-AUC per tag (rows of ``tagging.per_tag_table``), with each
    metric's chance level: 0.5 for ROC-AUC, the tag's prevalence for PR-AUC.

    Notebook: 09_multilabel_tagging.ipynb.
    """
    shown = table.dropna(subset=["roc_auc"]).sort_values("prevalence", ascending=False)
    ax = get_ax(ax, figsize=(max(6, 0.5 * len(shown) + 2), 3.6))
    x = np.arange(len(shown))
    ax.bar(x - 0.2, shown["roc_auc"], 0.4, label="ROC-AUC", color="C0")
    ax.bar(x + 0.2, shown["pr_auc"], 0.4, label="PR-AUC", color="C1")
    ax.axhline(0.5, color="C0", ls=":", lw=1, label="ROC-AUC chance (0.5)")
    ax.scatter(x + 0.2, shown["prevalence"], marker="_", s=200, color="k", zorder=3,
               label="PR-AUC chance (prevalence)")
    ax.set_xticks(x, [str(t) for t in shown.index], rotation=60, ha="right", fontsize=8)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("area under the curve")
    ax.set_xlabel("tag (most frequent first)")
    ax.set_title(title or "per-tag ROC-AUC and PR-AUC")
    ax.legend(fontsize=7, loc="lower left", ncols=2)
    return ax


def pr_curves(Y, P, tags, ax=None, title: str | None = None, top: int = 5):
    """Precision-recall curves of the ``top`` most frequent tags, each with its chance line
    (precision = prevalence)."""
    from sklearn.metrics import precision_recall_curve

    Y, P = np.asarray(Y), np.asarray(P, dtype=float)
    order = np.argsort(-Y.sum(0))
    ax = get_ax(ax, figsize=(5, 4))
    shown = 0
    for j in order:
        if shown == top or Y[:, j].sum() in (0, len(Y)):
            continue
        precision, recall, _ = precision_recall_curve(Y[:, j], P[:, j])
        line, = ax.plot(recall, precision, lw=1.4, label=str(tags[j]))
        ax.axhline(Y[:, j].mean(), color=line.get_color(), ls=":", lw=0.8)
        shown += 1
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.02)
    ax.set_title(title or "precision-recall (dotted: chance = prevalence)")
    ax.legend(fontsize=7)
    return ax


def tag_cooccurrence(matrix, ax=None, title: str | None = None, cmap="Blues"):
    """Heatmap of ``tagging.cooccurrence``: rows are true tags, columns predicted tags, each
    cell the share of the row's clips predicted with the column's tag.

    Notebook: 09_multilabel_tagging.ipynb.
    """
    n = len(matrix)
    ax = get_ax(ax, figsize=(0.42 * n + 2.5, 0.38 * n + 1.8))
    im = ax.imshow(matrix.to_numpy(dtype=float), vmin=0, vmax=1, cmap=cmap)
    ax.set_xticks(range(n), [str(c) for c in matrix.columns], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), [str(r) for r in matrix.index], fontsize=8)
    ax.set_xlabel("predicted tag")
    ax.set_ylabel("true tag")
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the true tag's clips")
    ax.set_title(title or "true vs predicted tags (diagonal: recall)")
    return ax
