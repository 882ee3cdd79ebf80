"""Metrics, track-level aggregation, results rows, tables, and the published figures to
compare with.

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

    Notebook: 03_baseline_mfcc_svm.ipynb.
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

    Notebook: 03_baseline_mfcc_svm.ipynb (one vector per track), 04-06 (chunked models).
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
def aggregate_tracks(track_ids, proba: np.ndarray, classes) -> pd.DataFrame:
    """Combine chunk-level probabilities into one prediction per track.

    Returns a DataFrame indexed by track id with the mean-probability prediction (``mean``),
    the majority vote of chunk predictions (``vote``, ties broken by mean probability) and
    the mean probabilities themselves (one column per class).
    """
    classes = list(classes)
    proba = np.asarray(proba, dtype=float)
    frame = pd.DataFrame(proba, columns=classes)
    frame["track_id"] = list(track_ids)
    mean = frame.groupby("track_id", sort=False)[classes].mean()
    votes = pd.get_dummies(pd.Series(np.array(classes)[proba.argmax(1)]), dtype=float)
    votes = votes.reindex(columns=classes, fill_value=0.0)
    votes["track_id"] = list(track_ids)
    counts = votes.groupby("track_id", sort=False)[classes].sum()
    tie_break = counts.to_numpy() + 1e-6 * mean.loc[counts.index].to_numpy()
    out = mean.copy()
    out.insert(0, "mean", np.array(classes)[mean.to_numpy().argmax(1)])
    out.insert(1, "vote", np.array(classes)[tie_break.argmax(1)])
    return out


# -- results rows -------------------------------------------------------------------------------
def result_row(model: str, split: str, metrics: dict, settings: Settings | None = None,
               wall_time_s: float | None = None, **extra) -> dict:
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


def save_result(row: dict, settings: Settings | None = None) -> Path:
    """Write a results row to ``results/<run name>/<model>__<split>.json`` (replacing it).

    Notebook: 08_embedding_clustering.ipynb, 10_transfer_learning.ipynb.
    """
    settings = settings or get_settings()
    settings.results_dir.mkdir(parents=True, exist_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in row["model"])
    path = settings.results_dir / f"{safe}__{row['split']}.json"
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps(row, indent=1, default=str))
    tmp.replace(path)
    return path


def load_results(settings: Settings | None = None, split: str | None = None) -> pd.DataFrame:
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
    """One row per trained model (``training.Trained``): its ``split`` metrics recorded at
    training time (track level, by mean probability and by vote), parameters, epochs and
    training seconds.

    Notebook: 04_cnn.ipynb, 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb.
    """
    rows = []
    for t in trained:
        m = (t.meta.get("metrics") or {}).get(split) or {}
        row = {"model": t.name, "architecture": t.meta.get("label", t.meta.get("arch"))}
        row.update({k: round(float(m[k]), 4) for k in SUMMARY_METRICS if k in m})
        row.update({"parameters": t.meta.get("n_params"), "epochs": t.meta.get("epochs_run"),
                    "train_s": t.meta.get("train_seconds"), "split": split})
        rows.append(row)
    return pd.DataFrame(rows)


def comparison(settings: Settings | None = None, names=None, metric: str = "accuracy",
               columns=("f1_macro",)) -> pd.DataFrame:
    """Test-split results of this run beside the published figures, labelled by origin, with
    each model's validation score (``valid_<metric>``) beside its test score.

    Deep models (rows with an ``arch``, written by ``training.train``) are limited to
    ``names`` when given; the classical baselines' rows (notebook 03) are always kept, named
    ``<model> on <features>``. Our rows are ordered by their **validation** score (deep models
    first, then the baselines; rows without one last), never by the test score: the test
    column is the report, not the choice.

    Notebook: 04_cnn.ipynb, 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb.
    """
    settings = settings or get_settings()
    every = load_results(settings)
    valid_col = f"valid_{metric}"
    res = every[every["split"] == "test"].copy() if len(every) else every
    if len(res):
        valid_rows = every[every["split"] == "valid"]
        valid_of = (valid_rows.drop_duplicates("model", keep="last").set_index("model")[metric]
                    if metric in valid_rows and len(valid_rows) else pd.Series(dtype=float))
        if valid_col not in res:  # baselines record it in their test row; deep models in a valid row
            res[valid_col] = np.nan
        res[valid_col] = pd.to_numeric(res[valid_col], errors="coerce").fillna(res["model"].map(valid_of))
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
        res = (res.assign(_deep=deep.astype(int))
               .sort_values(["_deep", valid_col], ascending=False, na_position="last", kind="stable")
               .drop(columns="_deep"))
    columns = tuple(c for c in (valid_col, *columns) if c != metric)
    table = comparison_table(res, settings.dataset, metric=metric, columns=columns)
    order = ["system", valid_col, metric]  # validation first: it set the order
    return table[[c for c in order if c in table] + [c for c in table if c not in order]]


# -- choosing on validation, reporting test once ------------------------------------------------------
def binomial_sd(p: float, n: int) -> float:
    """The standard deviation of an accuracy measured on ``n`` independent tracks when the
    model's true accuracy is ``p``: ``sqrt(p (1 - p) / n)``, as a share (multiply by ``n`` for
    tracks). NaN when ``n`` is not positive or ``p`` is missing.

    Notebook: 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb.
    """
    if p is None or n is None or not n > 0 or not np.isfinite(p):
        return float("nan")
    p = float(p)
    return float(np.sqrt(p * (1 - p) / n))


def in_tracks(gap: float, n: int) -> int:
    """A difference of two accuracies measured on the same ``n`` tracks, as a whole number of
    tracks (``round(gap * n)``): 0.0125 on 80 tracks is one track.

    Notebook: 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb.
    """
    return int(round(float(gap) * int(n)))


def _recorded(t, split: str, metric: str) -> tuple[float, int | None]:
    """A trained model's recorded ``metric`` on ``split`` and the number of tracks it was
    measured on (NaN and None when not recorded)."""
    m = (t.meta.get("metrics") or {}).get(split) or {}
    value = m.get(metric)
    n = m.get("n")
    return (float(value) if value is not None else float("nan")), (int(n) if n is not None else None)


def validation_ranking(trained, metric: str = "accuracy", columns=("f1_macro",)) -> pd.DataFrame:
    """Trained models ranked by their **validation** score, with the test score beside it as
    the final report.

    The first row is the model chosen on validation. Ties on validation go to the model with
    fewer parameters, then to the name; the test score never takes part in the order. Models
    without a recorded validation ``metric`` (e.g. taggers in a table of genre classifiers)
    are left out.

    Columns: ``model``, ``architecture``, ``valid_<metric>``, ``test_<metric>``, ``test_<c>``
    for each of ``columns``, ``n_valid`` and ``n_test`` (tracks scored), ``valid_minus_test``,
    and, for accuracy, ``gap_tracks`` (that gap as test tracks) and ``test_vs_chosen_tracks``
    (each model's test score minus the chosen model's, in test tracks; one track or less is
    no difference); then ``parameters``, ``epochs`` and ``train_s``.

    Notebook: 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb.
    """
    v_col, t_col = f"valid_{metric}", f"test_{metric}"
    rows = []
    for t in trained:
        valid, n_valid = _recorded(t, "valid", metric)
        if not np.isfinite(valid):
            continue
        test, n_test = _recorded(t, "test", metric)
        row = {"model": t.name, "architecture": t.meta.get("label", t.meta.get("arch")),
               v_col: round(valid, 4), t_col: round(test, 4)}
        for c in columns:
            if c != metric:
                row[f"test_{c}"] = round(_recorded(t, "test", c)[0], 4)
        row.update({"n_valid": n_valid, "n_test": n_test, "valid_minus_test": round(valid - test, 4),
                    "parameters": t.meta.get("n_params"), "epochs": t.meta.get("epochs_run"),
                    "train_s": t.meta.get("train_seconds")})
        rows.append(row)
    base = ["model", "architecture", v_col, t_col, *[f"test_{c}" for c in columns if c != metric],
            "n_valid", "n_test", "valid_minus_test"]
    if not rows:
        return pd.DataFrame(columns=[*base, "parameters", "epochs", "train_s"])
    frame = pd.DataFrame(rows)
    frame["_params"] = pd.to_numeric(frame["parameters"], errors="coerce").fillna(np.inf)
    frame = (frame.sort_values([v_col, "_params", "model"], ascending=[False, True, True], kind="stable")
             .drop(columns="_params").reset_index(drop=True))
    if metric == "accuracy":
        n = pd.to_numeric(frame["n_test"], errors="coerce")
        gap = (frame["valid_minus_test"] * n).round()
        vs_chosen = ((frame[t_col] - frame.loc[0, t_col]) * n).round()
        frame.insert(len(base), "gap_tracks", gap.astype("Int64"))
        frame.insert(len(base) + 1, "test_vs_chosen_tracks", vs_chosen.astype("Int64"))
    return frame


def describe_ranking(ranking: pd.DataFrame, metric: str = "accuracy") -> str:
    """A few lines on a :func:`validation_ranking`: the model chosen on validation and its
    test score (the one reported), each other model's test difference from it in tracks
    (flagged when it is one track or less), and what one test track and the binomial standard
    deviation of the chosen model's test accuracy (:func:`binomial_sd`) are worth.

    Notebook: 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb.
    """
    if not len(ranking):
        return f"no model has a validation {metric} to rank by"
    v_col, t_col = f"valid_{metric}", f"test_{metric}"
    top = ranking.iloc[0]
    lines = [f"chosen on validation: {top['model']} (validation {metric} {top[v_col]:.4f}); "
             f"its test {metric}, the number to report: {top[t_col]:.4f}"]
    tied = ranking[(ranking[v_col] == top[v_col]) & (ranking.index > 0)]
    if len(tied):
        lines.append(f"  tied on validation with {', '.join(tied['model'])}: "
                     "ties go to fewer parameters, then the name")
    if metric != "accuracy" or pd.isna(top.get("n_test")):
        lines.append(f"  (differences in {metric} are not counts of tracks, so none are given)")
        return "\n".join(lines)
    n = int(top["n_test"])
    for _, row in ranking.iloc[1:].iterrows():
        k = row["test_vs_chosen_tracks"]
        if pd.isna(k):
            continue
        k = int(k)
        word = "above" if k > 0 else "below"
        size = ("the same test score as" if k == 0 else
                f"{abs(k)} test track{'s' if abs(k) != 1 else ''} {word}")
        note = ": one track or less, no difference at all" if abs(k) <= 1 else ""
        lines.append(f"  {row['model']}: {size} the chosen model{note}")
    sd = binomial_sd(top[t_col], n)
    lines.append(f"one test track is {1 / n:.4f} of accuracy ({n} test tracks); the binomial sd of "
                 f"the chosen model's test accuracy, sqrt(p(1-p)/n), is {sd:.4f} = {sd * n:.1f} tracks")
    return "\n".join(lines)


def split_gap(t, metric: str = "accuracy") -> dict:
    """One trained model's validation-minus-test gap beside the binomial noise of both splits.

    Returns ``valid``, ``test``, ``n_valid``, ``n_test``, ``gap`` (valid - test), ``gap_tracks``
    (as test tracks), ``sd_valid`` and ``sd_test`` (:func:`binomial_sd` of each score on its
    split), ``sd_gap`` (the two combined as independent, ``sqrt(sd_valid**2 + sd_test**2)``),
    ``z`` (gap / sd_gap) and ``within_noise`` (``|gap| <= 2 sd_gap``). The noise model leaves
    out that the validation split also stopped the training, which biases its score upwards.

    Notebook: 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb.
    """
    valid, n_valid = _recorded(t, "valid", metric)
    test, n_test = _recorded(t, "test", metric)
    gap = valid - test
    out = {"model": t.name, "metric": metric, "valid": valid, "test": test, "n_valid": n_valid,
           "n_test": n_test, "gap": gap}
    if metric != "accuracy" or not (n_valid and n_test) or not np.isfinite(gap):
        return {**out, "gap_tracks": None, "sd_valid": float("nan"), "sd_test": float("nan"),
                "sd_gap": float("nan"), "z": float("nan"), "within_noise": None}
    sd_valid, sd_test = binomial_sd(valid, n_valid), binomial_sd(test, n_test)
    sd_gap = float(np.hypot(sd_valid, sd_test))
    z = gap / sd_gap if sd_gap > 0 else (0.0 if gap == 0 else float("inf") * np.sign(gap))
    return {**out, "gap_tracks": in_tracks(gap, n_test), "sd_valid": sd_valid, "sd_test": sd_test,
            "sd_gap": sd_gap, "z": float(z), "within_noise": bool(abs(gap) <= 2 * sd_gap)}


def describe_split_gap(t, metric: str = "accuracy") -> str:
    """:func:`split_gap` in words: both scores, the gap in test tracks, the binomial standard
    deviations for the split sizes, and whether the gap lies within two standard deviations.

    Notebook: 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb.
    """
    g = split_gap(t, metric)
    if not np.isfinite(g["gap"]):
        return f"{g['model']}: no validation and test {metric} recorded for both splits"
    lines = [f"{g['model']}: validation {metric} {g['valid']:.4f} on {g['n_valid']} tracks, "
             f"test {metric} {g['test']:.4f} on {g['n_test']} tracks; gap {g['gap']:+.4f}"]
    if g["within_noise"] is None:
        lines.append(f"  (no binomial noise model for {metric})")
        return "\n".join(lines)
    lines[0] += f" = {g['gap_tracks']:+d} test track(s)"
    lines.append(f"  one test track is {1 / g['n_test']:.4f}; binomial sd sqrt(p(1-p)/n): validation "
                 f"{g['sd_valid']:.4f}, test {g['sd_test']:.4f} ({g['sd_test'] * g['n_test']:.1f} of "
                 f"{g['n_test']} test tracks); of the gap {g['sd_gap']:.4f}")
    verdict = ("within two standard deviations: noise alone could explain it"
               if g["within_noise"] else "beyond two standard deviations: more than noise")
    lines.append(f"  the gap is {g['z']:.2f} standard deviations, {verdict}")
    return "\n".join(lines)
