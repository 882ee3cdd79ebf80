"""Choosing on validation and reporting test once (issue 15): the validation ranking, score
gaps counted in tracks, the binomial noise of a small split, and the comparison table's order.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from genre_lib import evaluation
from genre_lib.config import get_settings


def trained(name, valid, test, n=80, params=1000, **test_extra):
    meta = {"label": name.upper(), "n_params": params, "epochs_run": 3, "train_seconds": 1.0,
            "metrics": {"valid": {"accuracy": valid, "n": n},
                        "test": {"accuracy": test, "n": n, **test_extra}}}
    return SimpleNamespace(name=name, meta=meta)


def test_binomial_sd_and_tracks():
    assert evaluation.binomial_sd(0.8, 80) == pytest.approx(math.sqrt(0.8 * 0.2 / 80))
    assert evaluation.binomial_sd(1.0, 80) == 0.0
    assert np.isnan(evaluation.binomial_sd(0.5, 0)) and np.isnan(evaluation.binomial_sd(float("nan"), 80))
    assert evaluation.in_tracks(0.0125, 80) == 1 and evaluation.in_tracks(-0.0375, 80) == -3


def test_ranking_orders_by_validation_never_by_test():
    models = [trained("a", 0.80, 0.95), trained("b", 0.90, 0.70), trained("c", 0.85, 0.8125)]
    r = evaluation.validation_ranking(models)
    assert list(r["model"]) == ["b", "c", "a"]          # by validation; test would give a, c, b
    assert list(r.columns[:4]) == ["model", "architecture", "valid_accuracy", "test_accuracy"]
    assert r.loc[0, "valid_minus_test"] == pytest.approx(0.20) and r.loc[0, "gap_tracks"] == 16
    assert list(r["test_vs_chosen_tracks"]) == [0, 9, 20]  # (test - chosen's test) x 80 tracks
    assert list(r["n_test"]) == [80, 80, 80]


def test_ranking_ties_go_to_the_smaller_model_and_unscored_models_are_left_out():
    models = [trained("big", 0.9, 0.9, params=5000), trained("small", 0.9, 0.8, params=100),
              SimpleNamespace(name="tagger", meta={"metrics": {"valid": {"roc_auc": 0.8, "n": 80}}})]
    r = evaluation.validation_ranking(models)
    assert list(r["model"]) == ["small", "big"]
    text = evaluation.describe_ranking(r)
    assert text.startswith("chosen on validation: small")
    assert "tied on validation with big" in text
    assert "big: 8 test tracks above the chosen model" in text
    assert evaluation.validation_ranking([]).empty
    assert "no model" in evaluation.describe_ranking(evaluation.validation_ranking([]))


def test_describe_ranking_counts_tracks_and_flags_one_track_gaps():
    r = evaluation.validation_ranking([trained("a", 0.9, 0.8), trained("b", 0.85, 0.7875),
                                       trained("c", 0.8, 0.75)])
    text = evaluation.describe_ranking(r)
    assert "its test accuracy, the number to report: 0.8000" in text
    assert "b: 1 test track below the chosen model: one track or less, no difference at all" in text
    assert "c: 4 test tracks below the chosen model\n" in text  # more than one track: no flag
    sd = math.sqrt(0.8 * 0.2 / 80)
    assert f"one test track is {1 / 80:.4f}" in text and f"{sd:.4f} = {sd * 80:.1f} tracks" in text


def test_ranking_for_a_metric_that_is_not_a_count_of_tracks():
    t = SimpleNamespace(name="tagger", meta={"metrics": {"valid": {"roc_auc": 0.8, "n": 80},
                                                         "test": {"roc_auc": 0.75, "n": 80}}})
    r = evaluation.validation_ranking([t], "roc_auc", columns=())
    assert "gap_tracks" not in r and r.loc[0, "test_roc_auc"] == 0.75
    assert "not counts of tracks" in evaluation.describe_ranking(r, "roc_auc")


def test_split_gap_against_binomial_noise():
    g = evaluation.split_gap(trained("cnn2d", 0.90, 0.7875))
    assert g["gap_tracks"] == 9
    sd_gap = math.hypot(math.sqrt(0.9 * 0.1 / 80), math.sqrt(0.7875 * 0.2125 / 80))
    assert g["sd_gap"] == pytest.approx(sd_gap) and g["z"] == pytest.approx(0.1125 / sd_gap)
    assert g["within_noise"] is True                    # 1.98 sd: just inside two
    far = evaluation.split_gap(trained("x", 0.95, 0.70))
    assert far["within_noise"] is False
    text = evaluation.describe_split_gap(trained("cnn2d", 0.90, 0.7875))
    assert "gap +0.1125 = +9 test track(s)" in text and "within two standard deviations" in text
    assert "beyond two standard deviations" in evaluation.describe_split_gap(trained("x", 0.95, 0.70))
    missing = SimpleNamespace(name="m", meta={"metrics": {"test": {"accuracy": 0.5, "n": 10}}})
    assert "no validation and test" in evaluation.describe_split_gap(missing)


def _save_runs(runs, settings):
    """Results rows of deep models: (model, valid accuracy, test accuracy) each."""
    for model, valid, test in runs:
        for split, acc in (("valid", valid), ("test", test)):
            row = evaluation.result_row(model, split, {"accuracy": acc}, arch="cnn2d", settings=settings)
            evaluation.save_result(row, settings=settings)


def test_comparison_orders_our_rows_by_validation(tmp_path):
    s = get_settings(work_dir=tmp_path, profile="ci", dataset="synth")
    _save_runs((("m1", 0.6, 0.9), ("m2", 0.8, 0.5), ("m3", 0.7, 0.7)), s)
    evaluation.save_result(evaluation.result_row("svc", "test", {"accuracy": 0.99}, features="mfcc_stats",
                                                 valid_accuracy=0.5, settings=s), settings=s)
    table = evaluation.comparison(columns=(), settings=s)
    assert list(table["system"]) == ["m2", "m3", "m1", "svc on mfcc_stats"]  # deep first, by validation
    assert list(table["valid_accuracy"]) == [0.8, 0.7, 0.6, 0.5]


# -- the one ranking rule --------------------------------------------------------------------
def test_rank_on_validation_breaks_ties_by_parameters_then_name():
    import pandas as pd

    from genre_lib.ranking import rank_on_validation

    frame = pd.DataFrame({"model": ["d", "c", "b", "a", "e"], "valid": [0.8, 0.9, 0.9, 0.9, np.nan],
                          "n": [10, 500, 100, None, 1]}, index=[7, 7, 3, 2, 1])
    ranked = rank_on_validation(frame, "valid", params="n")
    assert list(ranked["model"]) == ["b", "c", "a", "d", "e"]  # fewer parameters; unknown last; NaN last
    assert list(ranked.index) == [0, 1, 2, 3, 4]
    assert list(rank_on_validation(frame, "valid")["model"]) == ["a", "b", "c", "d", "e"]  # then the name
    grouped = rank_on_validation(frame.assign(g=[1, 0, 1, 1, 0]), "valid", params="n", group="g")
    assert list(grouped["model"]) == ["c", "e", "b", "a", "d"]


def test_comparison_breaks_validation_ties_by_name(tmp_path):
    s = get_settings(work_dir=tmp_path, profile="ci", dataset="synth")
    _save_runs((("zeta", 0.7, 0.9), ("alpha", 0.7, 0.5), ("mid", 0.8, 0.1)), s)
    assert list(evaluation.comparison(columns=(), settings=s)["system"]) == ["mid", "alpha", "zeta"]


# -- the one pooling of chunks into tracks ------------------------------------------------------
def test_pool_by_track_mean_max_in_first_appearance_order():
    values = np.array([[0.1, 0.9], [0.3, 0.1], [0.2, 0.2], [0.8, 0.2], [0.2, 0.2]], np.float32)
    owners = ["y", "y", "x", "x", "x"]
    mean = evaluation.pool_by_track(values, owners, "mean")
    assert list(mean.index) == ["y", "x"] and mean.index.name == "track_id"
    assert list(mean.columns) == [0, 1] and mean.to_numpy().dtype == np.float64
    np.testing.assert_allclose(mean.loc["y"], [0.2, 0.5], atol=1e-6)
    mx = evaluation.pool_by_track(values, owners, "max", columns=["a", "b"])
    np.testing.assert_allclose(mx.loc["x", ["a", "b"]], [0.8, 0.2])
    assert mx.to_numpy().dtype == np.float32
    ordered = evaluation.pool_by_track(values, owners, order=["x", "y"])
    assert list(ordered.index) == ["x", "y"]
    with pytest.raises(ValueError, match="no chunks"):
        evaluation.pool_by_track(values, owners, order=["x", "w"])
    with pytest.raises(ValueError, match="how"):
        evaluation.pool_by_track(values, owners, "median")


def test_pool_by_track_vote_and_its_ties():
    values = np.array([[0.9, 0.1, 0.0], [0.4, 0.6, 0.0], [0.45, 0.55, 0.0],   # t1: 2 votes b, 1 a
                       [0.6, 0.4, 0.0], [0.45, 0.55, 0.0],                    # t2: 1-1, mean says a
                       [0.5, 0.5, 0.0],                                       # t3: a tie in a chunk: first
                       [0.4, 0.6, 0.0], [0.55, 0.45, 0.0]])                   # t4: 1-1, mean says b
    owners = ["t1", "t1", "t1", "t2", "t2", "t3", "t4", "t4"]
    vote = evaluation.pool_by_track(values, owners, "vote", columns=list("abc"))
    np.testing.assert_array_equal(vote.to_numpy(), [[0, 1, 0], [1, 0, 0], [1, 0, 0], [0, 1, 0]])
    agg = evaluation.aggregate_tracks(owners, values, list("abc"))
    assert list(agg["vote"]) == ["b", "a", "a", "b"] and list(agg["mean"]) == ["a", "a", "a", "b"]


def test_pool_by_track_mean_std():
    values = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 0.0]])
    out = evaluation.pool_by_track(values, ["a", "a", "b"], "mean_std")
    np.testing.assert_allclose(out["mean"].to_numpy(), [[2, 10], [5, 0]])
    np.testing.assert_allclose(out["std"].to_numpy(), [[1, 0], [0, 0]])  # ddof=0
    assert out.to_numpy().shape == (2, 4)                                  # means, then stds


def test_reliability_bins_and_ece_of_a_calibrated_and_an_overconfident_model():
    from genre_lib.evaluation import reliability

    rng = np.random.default_rng(0)
    conf = rng.uniform(0.1, 1.0, 20000)
    calibrated = reliability(conf, rng.uniform(size=conf.size) < conf)
    assert calibrated.attrs["ece"] < 0.02 and calibrated["count"].sum() == conf.size
    over = reliability(conf, rng.uniform(size=conf.size) < conf - 0.3)  # 0.3 less right than sure
    assert 0.25 < over.attrs["ece"] < 0.35
    used = over.dropna()
    assert (used["accuracy"] <= used["confidence"]).all()


def test_the_abstention_threshold_is_the_lowest_that_reaches_the_target():
    from genre_lib.evaluation import abstain_threshold

    conf = np.array([0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    correct = np.array([0, 0, 1, 0, 1, 1, 1, 1], bool)
    assert abstain_threshold(conf, correct, target=0.8)["threshold"] == 0.4  # 5 of 6 right from 0.4
    chosen = abstain_threshold(conf, correct, target=0.9)
    assert chosen["threshold"] == 0.6 and chosen["coverage"] == 0.5 and chosen["accuracy"] == 1.0
    assert abstain_threshold(conf, np.ones(8, bool))["threshold"] == 0.0  # always right: answer all
    never = abstain_threshold(conf, np.zeros(8, bool))
    assert never["coverage"] == 0.0 and never["threshold"] > 0.9
