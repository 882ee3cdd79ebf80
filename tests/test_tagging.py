"""Tagging metrics, thresholds chosen on validation, pooling and the degenerate-predictor check."""
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from genre_lib import tagging


def _data(n=200, tags=4, seed=0):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, tags)) < np.array([0.5, 0.2, 0.1, 0.05])[:tags]).astype(int)
    informative = np.clip(Y * 0.6 + rng.random((n, tags)) * 0.5, 0, 1)
    return Y, informative, rng


def test_ranking_metrics_match_sklearn_and_chance_is_prevalence():
    Y, P, rng = _data()
    m = tagging.ranking_metrics(Y, P)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(Y, P, average="macro"))
    assert m["pr_auc_micro"] == pytest.approx(average_precision_score(Y, P, average="micro"))
    assert m["pr_auc_chance"] == pytest.approx(Y.mean(0).mean())
    # a random ranking's PR-AUC sits near the prevalence, its ROC-AUC near 0.5
    Y_big, _, rng = _data(n=5000, seed=1)
    table = tagging.per_tag_table(Y_big, rng.random(Y_big.shape), list("abcd"))
    assert np.all(np.abs(table["roc_auc"] - 0.5) < 0.05)
    assert np.all(np.abs(table["pr_auc"] - table["prevalence"]) < 0.03)


def test_constant_tags_are_left_out_of_the_scores():
    Y, P, _ = _data()
    Y[:, 0] = 1
    assert tagging.ranking_metrics(Y, P)["n_tags_scored"] == 3
    assert np.isnan(tagging.per_tag_table(Y, P, list("abcd")).loc["a", "roc_auc"])


def test_clip_predictions_pool_with_the_one_pooling():
    """Mean and max pooling per clip go through evaluation.pool_by_track, in float32."""
    from types import SimpleNamespace

    from genre_lib.evaluation import pool_by_track

    table = pd.DataFrame({"track_id": ["x", "y"], "split": "test", "tags": [["a"], ["b"]]})
    part = SimpleNamespace(table=table)
    ids = ["x", "x", "y", "y", "y"]
    proba = np.array([[0.1, 0.9], [0.3, 0.1], [0.2, 0.2], [0.8, 0.2], [0.2, 0.2]])
    fs = SimpleNamespace(subset=lambda split: part)
    trained = SimpleNamespace(classes=["a", "b"], chunks=lambda p: ("X", ids), predict=lambda X: proba)
    out = tagging.clip_predictions(trained, fs, "test")
    assert out["track_id"] == ["x", "y"]
    np.testing.assert_array_equal(out["mean"][0], [[1, 0], [0, 1]])
    np.testing.assert_array_equal(out["mean"][1], pool_by_track(proba.astype(np.float32), ids).to_numpy())
    np.testing.assert_allclose(out["mean"][1][0], [0.2, 0.5], atol=1e-6)
    np.testing.assert_allclose(out["max"][1][1], [0.8, 0.2], atol=1e-6)
    assert out["max"][1].dtype == np.float32
    with pytest.raises(ValueError, match="pooling"):
        tagging.clip_predictions(trained, fs, "test", pooling=("median",))


def test_threshold_is_chosen_for_f1_and_metrics_follow():
    y = np.array([0, 0, 1, 1, 1, 0])
    p = np.array([0.1, 0.35, 0.4, 0.8, 0.9, 0.2])
    t = tagging.best_threshold(y, p)
    assert 0.35 <= t < 0.4  # all three positives above, every negative below
    table = tagging.threshold_metrics(y[:, None], p[:, None], [t], ["tag"])
    assert table.loc["tag", "f1"] == pytest.approx(1.0)
    assert table.loc["micro", "recall"] == pytest.approx(1.0)


def test_degenerate_check_fires_on_a_degenerate_keras_model():
    """A model whose output ignores its input (zero kernel, large bias): every tag on for
    every clip, recall 1.0, a useless ranking. The check must flag all of its tags."""
    import keras

    Y, P_good, rng = _data(n=64)
    inputs = keras.Input((8,))
    out = keras.layers.Dense(4, activation="sigmoid", kernel_initializer="zeros",
                             bias_initializer=keras.initializers.Constant(3.0))(inputs)
    model = keras.Model(inputs, out)
    P_bad = np.asarray(model.predict(rng.normal(size=(64, 8)), verbose=0))
    report = tagging.degenerate_report(P_bad, list("abcd"), Y)
    assert list(report.index) == list("abcd")
    assert all("always on" in r and "constant" in r for r in report["reason"])
    assert tagging.is_degenerate(P_bad, Y=Y)
    # recall is 1.0 at the default threshold, though the ranking carries no information
    table = tagging.threshold_metrics(Y, P_bad, [0.5] * 4, list("abcd"))
    assert table.loc["micro", "recall"] == pytest.approx(1.0)
    # an informative predictor is not flagged
    assert len(tagging.degenerate_report(P_good, list("abcd"), Y)) == 0
    assert not tagging.is_degenerate(P_good, Y=Y)


def test_cooccurrence_diagonal_is_recall():
    Y = np.array([[1, 0], [1, 1], [0, 1], [1, 0]])
    Q = np.array([[1, 0], [0, 1], [0, 1], [1, 1]])
    m = tagging.cooccurrence(Y, Q, ["a", "b"])
    assert m.loc["a", "a"] == pytest.approx(2 / 3)
    assert m.loc["b", "b"] == pytest.approx(1.0)
    assert m.loc["a", "b"] == pytest.approx(2 / 3)
