"""Choosing on validation and reporting test once: trained models ranked by their validation
score with the test score beside it, and score differences turned into numbers of tracks and
set beside the binomial noise of a small split. Re-exported by :mod:`genre_lib.evaluation`.

:func:`rank_on_validation` is the package's one ordering of models by validation score (one
tie-break rule), used by :func:`validation_ranking`, :func:`genre_lib.evaluation.comparison`
and :func:`genre_lib.serve.ranked_models`.

Notebook: 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def binomial_sd(p: float, n: int) -> float:
    """The standard deviation of an accuracy measured on ``n`` independent tracks when the
    model's true accuracy is ``p``: ``sqrt(p (1 - p) / n)``, as a share (multiply by ``n`` for
    tracks). NaN when ``n`` is not positive or ``p`` is missing.

    Notebook: none directly; used by :func:`describe_ranking` and :func:`split_gap`.
    """
    if p is None or n is None or not n > 0 or not np.isfinite(p):
        return float("nan")
    p = float(p)
    return float(np.sqrt(p * (1 - p) / n))


def in_tracks(gap: float, n: int) -> int:
    """A difference of two accuracies measured on the same ``n`` tracks, as a whole number of
    tracks (``round(gap * n)``): 0.0125 on 80 tracks is one track.

    Notebook: none directly; used by :func:`split_gap`.
    """
    return int(round(float(gap) * int(n)))


def _recorded(t, split: str, metric: str) -> tuple[float, int | None]:
    """A trained model's recorded ``metric`` on ``split`` and the number of tracks it was
    measured on (NaN and None when not recorded)."""
    m = (t.meta.get("metrics") or {}).get(split) or {}
    value = m.get(metric)
    n = m.get("n")
    return (float(value) if value is not None else float("nan")), (int(n) if n is not None else None)


def rank_on_validation(frame: pd.DataFrame, score: str, *, params: str | None = None,
                       name: str = "model", group: str | None = None) -> pd.DataFrame:
    """The rows of ``frame`` (one per model) best first, by the one rule of the package:

    1. a higher validation ``score`` first; rows without one (NaN) last;
    2. ties on the score go to fewer parameters (column ``params``; a missing count counts
       as more than any);
    3. then to the ``name`` in alphabetical order.

    The test score never takes part. With ``group``, rows are first ordered by that column
    (ascending: e.g. 0 for genre classifiers before 1 for taggers) and ranked within it.
    Returns a copy with the index reset to 0..n-1.
    """
    counts = (pd.to_numeric(frame[params], errors="coerce").fillna(np.inf).to_numpy()
              if params and params in frame else np.inf)
    keys = pd.DataFrame({"group": frame[group].to_numpy() if group else 0,
                         "score": pd.to_numeric(frame[score], errors="coerce").to_numpy(),
                         "params": counts, "name": frame[name].astype(str).to_numpy()},
                        index=pd.RangeIndex(len(frame)))
    order = keys.sort_values(["group", "score", "params", "name"],
                             ascending=[True, False, True, True], na_position="last").index
    return frame.iloc[order].reset_index(drop=True)


def validation_ranking(trained, metric: str = "accuracy", columns=("f1_macro",)) -> pd.DataFrame:
    """Trained models ranked by their **validation** score, with the test score beside it as
    the final report.

    The first row is the model chosen on validation (:func:`rank_on_validation`: ties on
    validation go to the model with fewer parameters, then to the name; the test score never
    takes part in the order). Models without a recorded validation ``metric`` (e.g. taggers in
    a table of genre classifiers) are left out.

    Columns: ``model``, ``architecture``, ``valid_<metric>``, ``test_<metric>``, ``test_<c>``
    for each of ``columns``, ``n_valid`` and ``n_test`` (tracks scored), ``valid_minus_test``,
    and, for accuracy, ``gap_tracks`` (that gap as test tracks) and ``test_vs_chosen_tracks``
    (each model's test score minus the chosen model's, in test tracks; one track or less is
    no difference); then ``parameters``, ``steps`` (optimiser steps run), ``epochs``,
    ``capped`` (True when the wall-clock safety cap cut the training short: that model is not
    the one its seed gives on another machine) and ``train_s``.

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
                    "parameters": t.meta.get("n_params"), "steps": t.meta.get("steps_run"),
                    "epochs": t.meta.get("epochs_run"),
                    "capped": bool(t.meta.get("time_budget_hit", False)),
                    "train_s": t.meta.get("train_seconds")})
        rows.append(row)
    base = ["model", "architecture", v_col, t_col, *[f"test_{c}" for c in columns if c != metric],
            "n_valid", "n_test", "valid_minus_test"]
    if not rows:
        return pd.DataFrame(columns=[*base, "parameters", "steps", "epochs", "capped", "train_s"])
    frame = rank_on_validation(pd.DataFrame(rows), v_col, params="parameters")
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

    Notebook: none directly; used by :func:`describe_split_gap`.
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
