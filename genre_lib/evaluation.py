"""Metrics, track-level aggregation, results rows, tables, and the published figures to
compare with. :func:`pool_by_track` is the package's one pooling of chunk values (predictions,
embeddings, patch features) into tracks.

Validation and test scores are kept apart by construction: every results row names its split,
and :func:`comparison_table` / :func:`comparison` label published figures as published.

Models are chosen on the validation split and the test split is reported once:
:func:`validation_ranking` orders trained models by their validation score and shows the test
score beside it, :func:`describe_ranking` and :func:`describe_split_gap` turn score differences
into numbers of tracks and set them beside the binomial noise of a small split
(:func:`binomial_sd`).

Notebook: 03_baseline_mfcc_svm.ipynb (metrics and results rows), 04-06 (track-level results,
:func:`summary_table` and :func:`comparison`), 05_crnn.ipynb and 06_parallel_cnn_rnn.ipynb
(choosing on validation).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .config import Settings, get_settings
from .published import PUBLISHED, published  # noqa: F401  (the published figures, held apart)
from .ranking import (  # noqa: F401  (choosing on validation, held apart)
    binomial_sd,
    describe_ranking,
    describe_split_gap,
    in_tracks,
    rank_on_validation,
    split_gap,
    validation_ranking,
)
from .store.files import atomic_write


# -- metrics ------------------------------------------------------------------------------------
def top_k_accuracy(y_true, proba: np.ndarray, classes, k: int = 3) -> float:
    """Share of items whose true label is among the ``k`` most probable classes.

    Notebook: 03_baseline_mfcc_svm.ipynb.
    """
    classes = list(classes)
    index = {c: i for i, c in enumerate(classes)}
    true_idx = np.array([index[c] for c in y_true])
    top = np.argsort(-np.asarray(proba), axis=1)[:, :k]
    return float(np.mean([t in row for t, row in zip(true_idx, top)]))


def classification_metrics(y_true, y_pred, proba: np.ndarray | None = None, classes=None) -> dict:
    """Accuracy, F1 macro and weighted, and top-2/top-3 accuracy when probabilities are given."""
    from sklearn.metrics import accuracy_score, f1_score

    out = {"accuracy": float(accuracy_score(y_true, y_pred)),
           "f1_macro": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
           "f1_weighted": float(f1_score(y_true, y_pred, average="weighted", zero_division=0)),
           "n": int(len(y_true))}
    if proba is not None and classes is not None:
        for k in (2, 3):
            if len(classes) > k:
                out[f"top{k}_accuracy"] = top_k_accuracy(y_true, proba, classes, k)
    return out


def report_table(y_true, y_pred, labels=None) -> pd.DataFrame:
    """Per-class precision, recall, F1 and support as a DataFrame (sklearn's report).

    Notebook: 03_baseline_mfcc_svm.ipynb.
    """
    from sklearn.metrics import classification_report

    rep = classification_report(y_true, y_pred, labels=labels, output_dict=True, zero_division=0)
    return pd.DataFrame(rep).T.round(3)


def confusion_frame(y_true, y_pred, labels=None, normalize: bool = True) -> pd.DataFrame:
    """The confusion matrix as a labelled DataFrame (rows: true, columns: predicted).

    With ``normalize`` every row sums to 1 (the share of each true class predicted as each
    class; the diagonal is the per-class recall). Uses ``sklearn.metrics.confusion_matrix``.

    Notebook: none directly; used by :func:`most_confused`.
    """
    from sklearn.metrics import confusion_matrix

    labels = list(labels) if labels is not None else sorted(set(y_true) | set(y_pred), key=str)
    M = confusion_matrix(list(y_true), list(y_pred), labels=labels).astype(float)
    if normalize:
        M = M / np.maximum(M.sum(1, keepdims=True), 1)
    frame = pd.DataFrame(M, index=pd.Index(labels, name="true"),
                         columns=pd.Index(labels, name="predicted"))
    return frame if normalize else frame.astype(int)


def most_confused(y_true, y_pred, labels=None, n: int = 5) -> pd.DataFrame:
    """The ``n`` most frequent mistakes: true class, predicted class, count and share of the
    true class's items that went that way.

    Notebook: 03_baseline_mfcc_svm.ipynb.
    """
    counts = confusion_frame(y_true, y_pred, labels, normalize=False)
    shares = confusion_frame(y_true, y_pred, labels, normalize=True)
    rows = [(t, p, int(counts.loc[t, p]), float(shares.loc[t, p]))
            for t in counts.index for p in counts.columns if t != p and counts.loc[t, p] > 0]
    frame = pd.DataFrame(rows, columns=["true", "predicted", "count", "share of true class"])
    frame = frame.sort_values(["count", "share of true class"], ascending=False, kind="stable")
    return frame.head(n).reset_index(drop=True).round(3)


def track_metrics(track_ids, y_true, proba: np.ndarray, classes, method: str = "mean") -> dict:
    """Track-level metrics from chunk-level probabilities.

    ``y_true`` holds each chunk's label (all chunks of a track share it); chunks are combined
    per track with :func:`aggregate_tracks` (``method`` ``'mean'`` probability or ``'vote'``)
    and scored with :func:`classification_metrics` (top-k from the mean probabilities).

    Notebook: 10_transfer_learning.ipynb (one vector per track).
    """
    if method not in ("mean", "vote"):
        raise ValueError("method must be 'mean' or 'vote'")
    classes = list(classes)
    truth = pd.Series(list(y_true), index=list(track_ids))
    clash = truth.groupby(level=0).nunique()
    if (clash > 1).any():
        raise ValueError(f"track(s) {list(clash.index[clash > 1][:3])} have chunks with different labels")
    agg = aggregate_tracks(track_ids, proba, classes)
    y_track = truth.groupby(level=0).first().loc[agg.index]
    return classification_metrics(list(y_track), list(agg[method]), agg[classes].to_numpy(), classes)


def tag_metrics(Y: np.ndarray, P: np.ndarray) -> dict:
    """Macro ROC-AUC and PR-AUC over the tags that occur (and are absent somewhere) in ``Y``.

    ``Y`` is the 0/1 tag matrix (tracks x tags), ``P`` the predicted probabilities; the
    result also says how many tracks (``n``) and tags (``n_tags_scored``) were scored.

    Notebook: 12_serving.ipynb.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    ok = (Y.sum(0) > 0) & (Y.sum(0) < len(Y))
    if not ok.any():
        return {"n": int(len(Y))}
    return {"roc_auc": float(roc_auc_score(Y[:, ok], P[:, ok], average="macro")),
            "pr_auc": float(average_precision_score(Y[:, ok], P[:, ok], average="macro")),
            "n": int(len(Y)), "n_tags_scored": int(ok.sum())}


# -- track-level aggregation ----------------------------------------------------------------------
POOLS = ("mean", "max", "vote", "mean_std")


def reliability(confidence, correct, bins: int = 10) -> pd.DataFrame:
    """Calibration of a classifier's confidence: the answers (``confidence`` = the probability
    of the class it chose, ``correct`` = whether that class was right) grouped into ``bins``
    equal-width confidence bins, with each bin's mean confidence, accuracy and count. A
    calibrated model's accuracy equals its confidence in every bin; ``attrs["ece"]`` is the
    expected calibration error, the count-weighted mean of the absolute gap between a bin's
    accuracy and its confidence (Guo et al. 2017).

    Notebook: 12_serving.ipynb.
    """
    conf = np.asarray(confidence, np.float64)
    ok = np.asarray(correct, bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        sel = which == b
        rows.append({"from": edges[b], "to": edges[b + 1], "count": int(sel.sum()),
                     "confidence": float(conf[sel].mean()) if sel.any() else np.nan,
                     "accuracy": float(ok[sel].mean()) if sel.any() else np.nan})
    table = pd.DataFrame(rows)
    used = table["count"] > 0
    gaps = (table.loc[used, "accuracy"] - table.loc[used, "confidence"]).abs()
    table.attrs["ece"] = float((gaps * table.loc[used, "count"]).sum() / max(1, len(conf)))
    return table


def abstain_threshold(confidence, correct, target: float = 0.9) -> dict:
    """The lowest confidence from which a classifier should answer, chosen on a split
    (validation, never test): the smallest threshold whose answered tracks (confidence at or
    above it) are at least ``target`` accurate. Returns ``threshold`` (0 when every answer may
    be given; above the highest confidence when no threshold reaches the target), the
    ``coverage`` (share answered) and ``accuracy`` of the answered tracks on that split.

    Notebook: 12_serving.ipynb.
    """
    conf = np.asarray(confidence, np.float64)
    ok = np.asarray(correct, bool)
    if not len(conf):
        raise ValueError("no tracks to choose an abstention threshold on")
    for t in np.concatenate([[0.0], np.unique(conf)]):
        answered = conf >= t
        if answered.any() and ok[answered].mean() >= target:
            return {"threshold": float(t), "coverage": float(answered.mean()),
                    "accuracy": float(ok[answered].mean()), "target": target}
    return {"threshold": float(np.nextafter(conf.max(), 2.0)), "coverage": 0.0,
            "accuracy": float("nan"), "target": target}


def pool_by_track(values, owners, how: str = "mean", *, columns=None, order=None) -> pd.DataFrame:
    """Chunk values pooled into one row per track: the package's one pooling of chunks.

    Args:
        values: ``(n_chunks, k)`` per-chunk values (class probabilities, tag scores,
            embedding vectors, patch features), or a DataFrame of them.
        owners: the track id of each chunk.
        how: ``"mean"`` or ``"max"`` over each track's chunks; ``"vote"``: each chunk votes
            for its largest column (the first on ties) and the winning column of each track
            gets 1.0, the others 0.0, ties between columns with equally many votes going to
            the larger mean value; ``"mean_std"``: the mean and the standard deviation
            (``ddof=0``) side by side, under the column levels ``"mean"`` and ``"std"``.
        columns: the column labels (default: the DataFrame's, or ``0 .. k-1``).
        order: the track ids to return, in that order (a track without chunks is an error).

    Returns:
        A DataFrame indexed by ``track_id``, one row per track in the order the tracks first
        appear in ``owners`` (or in ``order``), one column per value column (two per column
        for ``mean_std``), as pandas' group reductions compute them (a mean is float64, a
        maximum keeps the dtype of ``values``, a vote is float64).
    """
    if how not in POOLS:
        raise ValueError(f"how must be one of {POOLS}, not {how!r}")
    frame = pd.DataFrame(values if isinstance(values, pd.DataFrame) else np.asarray(values))
    frame = frame.set_axis(list(frame.columns) if columns is None else list(columns), axis=1)
    frame.index = pd.Index(list(owners), name="track_id")
    groups = frame.groupby(level=0, sort=False)
    if how == "max":
        out = groups.max()
    elif how == "mean_std":
        out = pd.concat({"mean": groups.mean(), "std": groups.std(ddof=0)}, axis=1)
    else:
        out = groups.mean()
    if how == "vote":
        winner = np.asarray(frame.to_numpy()).argmax(1)
        counts = (pd.DataFrame(np.eye(frame.shape[1])[winner], index=frame.index)
                  .groupby(level=0, sort=False).sum())
        best = (counts.to_numpy() + 1e-6 * out.to_numpy()).argmax(1)
        out = pd.DataFrame(np.eye(frame.shape[1])[best], index=out.index, columns=out.columns)
    if order is not None:
        missing = [t for t in order if t not in out.index]
        if missing:
            raise ValueError(f"no chunks for track(s) {missing[:3]}")
        out = out.loc[list(order)]
    return out


def aggregate_tracks(track_ids, proba: np.ndarray, classes) -> pd.DataFrame:
    """Combine chunk-level probabilities into one prediction per track
    (:func:`pool_by_track`).

    Returns a DataFrame indexed by track id with the mean-probability prediction (``mean``),
    the majority vote of chunk predictions (``vote``, ties broken by mean probability) and
    the mean probabilities themselves (one column per class).
    """
    classes = list(classes)
    proba = np.asarray(proba, dtype=float)
    out = pool_by_track(proba, track_ids, "mean", columns=classes)
    votes = pool_by_track(proba, track_ids, "vote", columns=classes)
    out.insert(0, "mean", np.array(classes)[out.to_numpy().argmax(1)])
    out.insert(1, "vote", np.array(classes)[votes.to_numpy().argmax(1)])
    return out


# -- results rows -------------------------------------------------------------------------------
def result_row(model: str, split: str, metrics: dict, wall_time_s: float | None = None, *,
               settings: Settings | None = None, **extra) -> dict:
    """One experiment's result: dataset, model, split, metrics, seed, wall time, versions.

    Notebook: 08_embedding_clustering.ipynb, 10_transfer_learning.ipynb.
    """
    from . import versions

    settings = settings or get_settings()
    if split not in ("train", "valid", "test"):
        raise ValueError(f"split must be train, valid or test, not {split!r}")
    row = {"dataset": settings.dataset, "profile": settings.profile.name, "model": model,
           "split": split, **{k: (round(v, 4) if isinstance(v, float) else v)
                              for k, v in metrics.items()},
           "seed": settings.seed, "wall_time_s": None if wall_time_s is None else round(wall_time_s, 2),
           "timestamp": time.strftime("%Y-%m-%d %H:%M:%S"),
           "versions": json.dumps(versions(), sort_keys=True)}
    row.update(extra)
    return row


def save_result(row: dict, *, settings: Settings | None = None) -> Path:
    """Write a results row to ``results/<run name>/<model>__<split>.json``, replacing it
    atomically (:func:`genre_lib.store.files.atomic_write`).

    Notebook: 08_embedding_clustering.ipynb, 10_transfer_learning.ipynb.
    """
    settings = settings or get_settings()
    settings.results_dir.mkdir(parents=True, exist_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in row["model"])
    path = settings.results_dir / f"{safe}__{row['split']}.json"
    text = json.dumps(row, indent=1, default=str)
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))
    return path


def load_results(split: str | None = None, *, settings: Settings | None = None) -> pd.DataFrame:
    """All results rows of the current run as a DataFrame (empty when none exist yet).

    Notebook: 10_transfer_learning.ipynb.
    """
    settings = settings or get_settings()
    rows = []
    for p in sorted(Path(settings.results_dir).glob("*.json")):
        try:
            rows.append(json.loads(p.read_text()))
        except ValueError:
            print(f"ignoring unreadable results file {p}")
    frame = pd.DataFrame(rows)
    if split is not None and len(frame):
        frame = frame[frame["split"] == split].reset_index(drop=True)
    return frame


def comparison_table(results: pd.DataFrame, dataset: str, metric: str = "accuracy",
                     split: str = "test", columns=(), published_from: str | None = None) -> pd.DataFrame:
    """Our ``split`` results beside the published figures, clearly labelled.

    Args:
        results: our rows, with ``model``, ``split`` and metric columns (results rows, or a
            frame built in a notebook).
        dataset: the dataset our rows were measured on.
        metric: the metric every row must have (published rows without it are left out).
        split: which of our rows to show.
        columns: further metrics to show (e.g. ``("f1_macro",)``); published rows fill them
            when the same study reports them for the same system, and leave them empty otherwise.
        published_from: whose published figures to show (default: ``dataset``'s). A notebook
            on another dataset may show, say, the FMA figures beside its own, labelled by
            their setting, never as comparable numbers.

    Returns:
        One row per system with ``system``, ``metric``, ``columns`` and ``origin`` (``measured
        here (<split> split)`` or ``published: <source>``).

    Notebook: 03_baseline_mfcc_svm.ipynb, 08_embedding_clustering.ipynb,
        09_multilabel_tagging.ipynb.
    """
    columns = [c for c in columns if c != metric]
    ours = pd.DataFrame(columns=["system", metric, *columns, "origin"])
    if len(results):
        sel = results[results["split"] == split]
        ours = pd.DataFrame({"system": sel["model"], metric: sel.get(metric),
                             **{c: sel.get(c) for c in columns},
                             "origin": f"measured here ({split} split)"})
    pub = published(published_from or dataset)
    keys = ["system", "setting", "source"]
    wide = (pub.pivot_table(index=keys, columns="metric", values="value", sort=False).reset_index()
            if len(pub) else pd.DataFrame(columns=keys))
    wide = wide[wide[metric].notna()] if metric in wide else wide.iloc[:0]
    theirs = pd.DataFrame({"system": wide["system"] + " [" + wide["setting"] + "]",
                           metric: wide.get(metric), **{c: wide.get(c) for c in columns},
                           "origin": "published: " + wide["source"]})
    if not len(theirs) or not len(ours):
        return (ours if len(ours) else theirs).reset_index(drop=True)
    return pd.concat([ours, theirs], ignore_index=True)


# -- tables of trained models ----------------------------------------------------------------------
SUMMARY_METRICS = ("accuracy", "f1_macro", "accuracy_vote", "chunk_accuracy", "top3_accuracy",
                   "roc_auc", "pr_auc")


def summary_table(trained, split: str = "test") -> pd.DataFrame:
    """One row per trained model (``models.Trained``): its ``split`` metrics recorded at
    training time (track level, by mean probability and by vote), parameters, the optimiser
    steps run of the step budget, epochs, whether the wall-clock safety cap cut the training
    short (``capped``; such a model is not the one its seed gives elsewhere) and training
    seconds.

    Notebook: 04_cnn.ipynb.
    """
    rows = []
    for t in trained:
        m = (t.meta.get("metrics") or {}).get(split) or {}
        row = {"model": t.name, "architecture": t.meta.get("label", t.meta.get("arch"))}
        row.update({k: round(float(m[k]), 4) for k in SUMMARY_METRICS if k in m})
        row.update({"parameters": t.meta.get("n_params"), "steps": t.meta.get("steps_run"),
                    "step budget": t.meta.get("step_budget"), "epochs": t.meta.get("epochs_run"),
                    "capped": bool(t.meta.get("time_budget_hit", False)),
                    "train_s": t.meta.get("train_seconds"), "split": split})
        rows.append(row)
    return pd.DataFrame(rows)


def test_rows_with_valid(every: pd.DataFrame, metric: str = "accuracy") -> pd.DataFrame:
    """The test rows of ``every`` (rows of :func:`load_results`), each with ``valid_<metric>``
    filled in: the baselines record it in their test row, the deep models in a valid row of
    their own (the last one of a model counts)."""
    if not len(every):
        return every
    valid_col = f"valid_{metric}"
    res = every[every["split"] == "test"].copy()
    valid_rows = every[every["split"] == "valid"]
    valid_of = (valid_rows.drop_duplicates("model", keep="last").set_index("model")[metric]
                if metric in valid_rows and len(valid_rows) else pd.Series(dtype=float))
    if valid_col not in res:
        res[valid_col] = np.nan
    res[valid_col] = pd.to_numeric(res[valid_col], errors="coerce").fillna(res["model"].map(valid_of))
    return res


def comparison(names=None, metric: str = "accuracy", columns=("f1_macro",), *,
               settings: Settings | None = None) -> pd.DataFrame:
    """Test-split results of this run beside the published figures, labelled by origin, with
    each model's validation score (``valid_<metric>``) beside its test score.

    Deep models (rows with an ``arch``, written by ``training.train``) are limited to
    ``names`` when given; the classical baselines' rows (notebook 03) are always kept, named
    ``<model> on <features>``. Our rows are ordered by their **validation** score (deep models
    first, then the baselines, each by :func:`rank_on_validation`: rows without one last,
    ties to fewer parameters, then to the name), never by the test score: the test column is
    the report, not the choice.

    Notebook: 04_cnn.ipynb, 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb.
    """
    settings = settings or get_settings()
    valid_col = f"valid_{metric}"
    res = test_rows_with_valid(load_results(settings=settings), metric)
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
        res = (rank_on_validation(res.assign(_shallow=(~deep).astype(int)), valid_col,
                                  params="n_params", group="_shallow")
               .drop(columns="_shallow"))
    columns = tuple(c for c in (valid_col, *columns) if c != metric)
    table = comparison_table(res, settings.dataset, metric=metric, columns=columns)
    order = ["system", valid_col, metric]  # validation first: it set the order
    return table[[c for c in order if c in table] + [c for c in table if c not in order]]
