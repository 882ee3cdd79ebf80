"""Multi-label tagging: how to score a tagger the way the tagging literature does, and how to
catch one that only looks good.

A tagger outputs one independent probability per tag (sigmoid outputs trained with binary
cross-entropy), so a clip may carry any number of tags. It is scored by ranking metrics that
need no threshold:

* **ROC-AUC**: the chance that a random clip with the tag is scored above a random clip
  without it. Its chance level is 0.5 for every tag, however rare.
* **PR-AUC** (average precision): the area under the precision-recall curve. A random
  ranking has precision equal to the tag's prevalence at every recall, so its chance level is
  the prevalence: 0.05 for a tag on 5 % of the clips. Rare tags make PR-AUC low and honest.

Both are averaged over tags (*macro*: every tag counts the same) or computed over all
(clip, tag) pairs at once (*micro*: frequent tags dominate). Where a decision is needed,
a threshold per tag is chosen on the validation split (never on test) and precision, recall
and F1 follow. :func:`degenerate_report` flags predictors whose scores do not depend on the
clip (constant outputs, or every tag predicted for every clip: recall 1.0 with a useless
ranking).

Notebook: 09_multilabel_tagging.ipynb.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

POOLING = ("mean", "max")


def ensure_tags(table: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """The table with a usable ``tags`` column, and a note when one had to be made.

    A dataset without tags but with genres (GTZAN) is tagged with its genre, one tag per clip:
    a single-label problem posed as a multi-label one, which keeps every cell of the tagging
    notebook meaningful (and shows that a sigmoid tagger learns a genre task too).

    Notebook: 09_multilabel_tagging.ipynb.
    """
    from .datasets import has_genres, has_tags

    if has_tags(table):
        return table, None
    if not has_genres(table):
        raise ValueError("this dataset has neither tags nor genres to tag")
    out = table.assign(tags=[[g] if isinstance(g, str) else [] for g in table["genre"]])
    out.attrs = dict(table.attrs)
    return out, ("this dataset has no tags, so each clip is tagged with its genre (one tag per "
                 "clip): the tagging machinery on a single-label task")


def _scorable(Y: np.ndarray) -> np.ndarray:
    """Tags that are present on some clips and absent on others (AUC is undefined otherwise)."""
    Y = np.asarray(Y)
    positives = Y.sum(0)
    return (positives > 0) & (positives < len(Y))


def prevalence(Y: np.ndarray, tags) -> pd.Series:
    """The share of clips that carry each tag: PR-AUC's chance level for that tag.

    Notebook: 09_multilabel_tagging.ipynb.
    """
    return pd.Series(np.asarray(Y, dtype=float).mean(0), index=list(tags), name="prevalence")


def ranking_metrics(Y: np.ndarray, P: np.ndarray) -> dict:
    """Macro and micro ROC-AUC and PR-AUC over the tags that can be scored.

    Args:
        Y: (clips, tags) 0/1 truth.
        P: (clips, tags) scores (probabilities).

    Returns:
        ``roc_auc``, ``pr_auc`` (macro), ``roc_auc_micro``, ``pr_auc_micro``, the macro PR-AUC of a
        random ranking (``pr_auc_chance``: the mean prevalence), ``n`` clips and
        ``n_tags_scored``.

    Notebook: 09_multilabel_tagging.ipynb.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    Y, P = np.asarray(Y), np.asarray(P, dtype=float)
    ok = _scorable(Y)
    if not ok.any():  # too few clips to score any tag: say so with NaN, do not fail
        nan = float("nan")
        return {"roc_auc": nan, "pr_auc": nan, "roc_auc_micro": nan, "pr_auc_micro": nan,
                "pr_auc_chance": nan, "n": int(len(Y)), "n_tags_scored": 0}
    Ys, Ps = Y[:, ok], P[:, ok]
    return {"roc_auc": float(roc_auc_score(Ys, Ps, average="macro")),
            "pr_auc": float(average_precision_score(Ys, Ps, average="macro")),
            "roc_auc_micro": float(roc_auc_score(Ys, Ps, average="micro")),
            "pr_auc_micro": float(average_precision_score(Ys, Ps, average="micro")),
            "pr_auc_chance": float(Ys.mean(0).mean()),
            "n": int(len(Y)), "n_tags_scored": int(ok.sum())}


def per_tag_table(Y: np.ndarray, P: np.ndarray, tags) -> pd.DataFrame:
    """One row per tag: prevalence, ROC-AUC and PR-AUC, and PR-AUC's chance level (the
    prevalence) and lift over it. Tags present on every clip or on none get NaN scores.

    Notebook: 09_multilabel_tagging.ipynb.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    Y, P = np.asarray(Y), np.asarray(P, dtype=float)
    ok = _scorable(Y)
    rows = []
    for j, tag in enumerate(tags):
        roc = float(roc_auc_score(Y[:, j], P[:, j])) if ok[j] else np.nan
        pr = float(average_precision_score(Y[:, j], P[:, j])) if ok[j] else np.nan
        prev = float(Y[:, j].mean())
        rows.append({"tag": tag, "prevalence": prev, "roc_auc": roc, "pr_auc": pr,
                     "pr_auc_chance": prev, "pr_auc_lift": pr / prev if prev > 0 else np.nan})
    return pd.DataFrame(rows).set_index("tag")


def best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The threshold on scores ``p`` that maximises F1 for one tag with truth ``y``.

    Candidates are the midpoints between distinct scores; ties go to the higher threshold.
    A tag with no positive clips gets 0.5.

    Notebook: 09_multilabel_tagging.ipynb.
    """
    y = np.asarray(y).astype(bool)
    p = np.asarray(p, dtype=float)
    if not y.any():
        return 0.5
    levels = np.unique(p)
    cands = np.concatenate([[levels[0] - 1e-6], (levels[:-1] + levels[1:]) / 2])
    best, best_f1 = 0.5, -1.0
    for t in cands:
        pred = p > t
        tp = float(np.sum(pred & y))
        f1 = 2 * tp / (pred.sum() + y.sum()) if (pred.sum() + y.sum()) else 0.0
        if f1 >= best_f1:
            best, best_f1 = float(t), f1
    return best


def choose_thresholds(Y_valid: np.ndarray, P_valid: np.ndarray, tags) -> pd.Series:
    """One F1-maximising threshold per tag, chosen on the validation split.

    Notebook: 09_multilabel_tagging.ipynb.
    """
    Y_valid, P_valid = np.asarray(Y_valid), np.asarray(P_valid, dtype=float)
    return pd.Series([best_threshold(Y_valid[:, j], P_valid[:, j]) for j in range(len(tags))],
                     index=list(tags), name="threshold")


def threshold_metrics(Y: np.ndarray, P: np.ndarray, thresholds, tags) -> pd.DataFrame:
    """Precision, recall and F1 per tag at the given thresholds, plus ``macro`` and
    ``micro`` rows.

    Notebook: 09_multilabel_tagging.ipynb.
    """
    Y = np.asarray(Y).astype(bool)
    pred = np.asarray(P, dtype=float) > np.asarray(thresholds, dtype=float)[None, :]
    tp = (pred & Y).sum(0).astype(float)
    fp = (pred & ~Y).sum(0).astype(float)
    fn = (~pred & Y).sum(0).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    table = pd.DataFrame({"precision": precision, "recall": recall, "f1": f1,
                          "support": Y.sum(0)}, index=list(tags))
    micro_p = tp.sum() / max(tp.sum() + fp.sum(), 1)
    micro_r = tp.sum() / max(tp.sum() + fn.sum(), 1)
    micro_f = 2 * micro_p * micro_r / (micro_p + micro_r) if micro_p + micro_r else 0.0
    table.loc["macro"] = [precision.mean(), recall.mean(), f1.mean(), Y.sum()]
    table.loc["micro"] = [micro_p, micro_r, micro_f, Y.sum()]
    return table


def degenerate_report(P: np.ndarray, tags, Y: np.ndarray | None = None,
                      threshold: float = 0.5, spread: float = 1e-3) -> pd.DataFrame:
    """Tags for which the predictor does not look at the clip.

    A tag is flagged ``constant`` when its scores barely vary across clips (standard
    deviation below ``spread``), and ``always on`` when every clip scores above
    ``threshold`` (recall 1.0 whatever the clip: the trap of a model that predicts every tag
    everywhere). With the truth ``Y``, the tag's ROC-AUC is shown: near or below 0.5 means
    the ranking is no better than chance.

    Returns:
        One row per flagged tag (empty when nothing is wrong), with ``std``, ``share_on``,
        ``roc_auc`` and the reason.

    Notebook: 09_multilabel_tagging.ipynb.
    """
    from sklearn.metrics import roc_auc_score

    P = np.asarray(P, dtype=float)
    ok = _scorable(Y) if Y is not None else np.zeros(P.shape[1], bool)
    rows = []
    for j, tag in enumerate(tags):
        std, on = float(P[:, j].std()), float((P[:, j] > threshold).mean())
        reasons = [r for r, hit in (("constant", std < spread), ("always on", on == 1.0)) if hit]
        if reasons:
            roc = float(roc_auc_score(Y[:, j], P[:, j])) if ok[j] else np.nan
            rows.append({"tag": tag, "std": std, "share_on": on, "roc_auc": roc,
                         "reason": " and ".join(reasons)})
    return pd.DataFrame(rows, columns=["tag", "std", "share_on", "roc_auc", "reason"]).set_index("tag")


def is_degenerate(P: np.ndarray, share: float = 0.5, **kwargs) -> bool:
    """True when at least ``share`` of the tags are flagged by :func:`degenerate_report`.

    Notebook: none directly; a yes-or-no summary of :func:`degenerate_report`.
    """
    P = np.asarray(P)
    flagged = len(degenerate_report(P, range(P.shape[1]), **kwargs))
    return flagged >= share * P.shape[1]


def cooccurrence(Y_true: np.ndarray, Y_pred: np.ndarray, tags) -> pd.DataFrame:
    """A confusion-style matrix for tags: row ``a``, column ``b`` is the share of clips truly
    tagged ``a`` that were predicted as ``b``. The diagonal is each tag's recall; bright
    off-diagonal cells are tags the model mixes up (or that travel together).

    Notebook: 09_multilabel_tagging.ipynb.
    """
    T = np.asarray(Y_true, dtype=float)
    Q = np.asarray(Y_pred, dtype=float)
    counts = T.T @ Q
    per_tag = T.sum(0)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(per_tag > 0, counts / per_tag, np.nan)
    return pd.DataFrame(share, index=list(tags), columns=list(tags))


def clip_predictions(trained, fs, split: str, pooling=POOLING) -> dict:
    """A tagger's clip-level scores on one split, for each pooling of its chunk predictions
    (:func:`genre_lib.evaluation.pool_by_track` in float32). Mean pooling asks "how much of
    the clip has the tag"; max pooling asks "does the tag occur anywhere in it" (a short
    guitar solo is enough).

    Args:
        trained: a ``genre_lib.models.Trained`` tagger (sigmoid head).
        fs: the FeatureSet it reads (``trained.features(table)``).
        split: ``"train"``, ``"valid"`` or ``"test"``.
        pooling: which poolings to return.

    Returns:
        ``{"mean": (Y, P), "max": (Y, P), "track_id": ids}``: 0/1 truth and scores, one row per
        clip of the split, columns in ``trained.classes`` order.

    Notebook: 09_multilabel_tagging.ipynb.
    """
    from .evaluation import pool_by_track
    from .pipeline import encode_labels

    if any(how not in POOLING for how in pooling):
        raise ValueError(f"pooling must be among {POOLING}, got {tuple(pooling)!r}")
    part = fs.subset(split)
    X, ids = trained.chunks(part)
    proba = trained.predict(X)
    by_id = ensure_tags(part.table)[0].set_index("track_id")
    out = {}
    for how in pooling:
        pooled = pool_by_track(np.asarray(proba, dtype=np.float32), ids, how)
        clips = by_id.loc[pooled.index].reset_index()
        out[how] = (encode_labels(clips, trained.classes, "tags"), pooled.to_numpy())
        out["track_id"] = list(pooled.index)
    return out


def prevalence_predictor(Y_train: np.ndarray, n: int) -> np.ndarray:
    """The constant predictor every tagger must beat: each tag scored with its training
    prevalence, the same for all ``n`` clips (its PR-AUC is the chance level).

    Notebook: 09_multilabel_tagging.ipynb.
    """
    return np.tile(np.asarray(Y_train, dtype=float).mean(0), (n, 1))


__all__ = ["POOLING", "ensure_tags", "clip_predictions", "prevalence_predictor",
           "prevalence", "ranking_metrics", "per_tag_table",
           "best_threshold", "choose_thresholds", "threshold_metrics", "degenerate_report",
           "is_degenerate", "cooccurrence"]
