"""The classical baselines (genre_lib.baselines) and the metrics they report (genre_lib.evaluation)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from genre_lib import baselines, evaluation
from genre_lib.config import get_settings
from genre_lib.datasets import DatasetError


def _table_and_X(n_per=(12, 4, 4), classes=("rock", "jazz", "metal"), dims=12, seed=0, sep=4.0):
    """Gaussian classes with a train/valid/test split; ``sep`` sets how far apart they are."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=sep, size=(len(classes), dims))
    rows, X = [], []
    for split, n in zip(("train", "valid", "test"), n_per):
        for ci, c in enumerate(classes):
            for i in range(n):
                rows.append({"track_id": f"{c}.{split}.{i}", "path": "", "genre": c, "split": split,
                             "tags": []})
                X.append(centres[ci] + rng.normal(size=dims))
    return pd.DataFrame(rows), np.array(X, dtype=np.float32)


def test_splits_from_features_cuts_by_split_and_refuses_bad_labels():
    table, X = _table_and_X()
    sp = baselines.splits_from_features(X, table, "toy")
    assert (len(sp.y_train), len(sp.y_valid), len(sp.y_test)) == (36, 12, 12)
    assert sp.classes == ["jazz", "metal", "rock"] and sp.n_features == 12
    assert np.array_equal(sp.X_test, X[(table["split"] == "test").to_numpy()])
    assert all(t.split(".")[1] == "test" for t in sp.ids_test)
    images = np.zeros((len(table), 4, 3))
    assert baselines.splits_from_features(images, table, "img").n_features == 12  # flattened
    with pytest.raises(ValueError, match="need a 'genre' column"):
        baselines.splits_from_features(X, table.assign(genre=None), "tags only")
    odd = table.copy()
    odd.loc[odd.index[-1], "genre"] = "polka"
    with pytest.raises(ValueError, match="polka"):
        baselines.splits_from_features(X, odd, "toy")
    with pytest.raises(ValueError, match="rows"):
        baselines.splits_from_features(X[:-1], table, "toy")


def test_selection_uses_train_and_valid_only():
    table, X = _table_and_X()
    sp = baselines.splits_from_features(X, table, "toy")
    sp.X_test = np.full_like(sp.X_test, np.nan)  # selection must never look at test
    spec = baselines.default_models(fast=True)["svc_rbf"]
    sel = baselines.select_on_valid(spec, sp, seed=0)
    assert len(sel.grid_scores) == 15  # 5 values of C x 3 of gamma
    assert sel.valid_accuracy == sel.grid_scores["valid_accuracy"].max()
    first_best = sel.grid_scores["valid_accuracy"].idxmax()  # ties go to grid order
    assert sel.params["C"] == sel.grid_scores.loc[first_best, "C"]
    assert sel.search_s >= sel.fit_s > 0


def test_model_scores_rank_like_predictions():
    from sklearn.svm import SVC

    table, X = _table_and_X(sep=1.0)
    sp = baselines.splits_from_features(X, table, "toy")
    y = np.array([sp.classes.index(c) for c in sp.y_train])
    model = baselines._pipe(SVC()).fit(sp.X_train, y)
    s = baselines.model_scores(model, sp.X_test)
    assert s.shape == (12, 3) and np.allclose(s.sum(1), 1)
    assert np.array_equal(s.argmax(1), model.predict(sp.X_test))
    two = baselines._pipe(SVC()).fit(sp.X_train[y < 2], y[y < 2])
    s2 = baselines.model_scores(two, sp.X_test)
    assert s2.shape == (12, 2) and np.array_equal(s2.argmax(1), two.predict(sp.X_test))


def test_run_all_easy_problem_table_and_results(tmp_path):
    settings = get_settings(dataset="synth", profile="ci", work_dir=tmp_path, data_dir=tmp_path)
    table, X = _table_and_X(sep=4.0)
    sp = baselines.splits_from_features(X, table, "toy")
    run = baselines.run_all(sp, progress=False, settings=settings)
    t = run.table.set_index("model")
    assert list(t.index) == ["svc_rbf", "knn", "logreg", "tree", "forest", "xgboost"]
    for col in ("valid_accuracy", "accuracy", "top2_accuracy", "f1_macro", "f1_weighted",
                "fit_s", "predict_s", "search_s", "params"):
        assert col in t.columns
    assert "top3_accuracy" not in t.columns or t["top3_accuracy"].isna().all()  # 3 classes: no top-3
    # well separated classes: the margin and linear models get (almost) everything right
    assert t.loc["svc_rbf", "accuracy"] >= 0.9 and t.loc["logreg", "accuracy"] >= 0.9
    assert (t["top2_accuracy"] >= t["accuracy"]).all()
    assert run.best_on_valid() in t.index
    assert t.loc[run.best_on_valid(), "valid_accuracy"] == t["valid_accuracy"].max()
    # predictions are decoded back to the genre names
    assert set(run.predictions["xgboost"]["y_pred"]) <= set(sp.classes)
    saved = evaluation.load_results(split="test", settings=settings)
    assert len(saved) == 6 and set(saved["features"]) == {"toy"}
    row = json.loads(run.result_paths[0].read_text())
    assert row["split"] == "test" and row["selected_on"] == "valid" and "valid_accuracy" in row
    assert json.loads(row["params"]).keys() == {"C", "gamma"}
    with pytest.raises(ValueError, match="unknown baseline"):
        baselines.run_all(sp, models=["svm"], save=False, progress=False, settings=settings)


def test_run_all_chance_level_on_noise(tmp_path):
    settings = get_settings(dataset="synth", profile="ci", work_dir=tmp_path, data_dir=tmp_path)
    table, X = _table_and_X(n_per=(20, 10, 30), sep=0.0, seed=5)
    sp = baselines.splits_from_features(X, table, "noise")
    run = baselines.run_all(sp, models=["svc_rbf", "knn"], save=False, progress=False, settings=settings)
    assert (run.table["accuracy"] < 0.6).all()  # chance is 1/3: nothing to learn


def _write_fma_features(path, ids):
    """A miniature features.csv in the official layout: 3 header rows, then a track_id row."""
    cols = [("chroma_cens", "mean", "01"), ("chroma_cens", "std", "01"),
            ("mfcc", "mean", "01"), ("mfcc", "mean", "02"), ("mfcc", "std", "01"),
            ("zcr", "mean", "01")]
    lines = ["feature," + ",".join(c[0] for c in cols),
             "statistics," + ",".join(c[1] for c in cols),
             "number," + ",".join(c[2] for c in cols),
             "track_id" + "," * len(cols)]
    rng = np.random.default_rng(0)
    for i in ids:
        lines.append(f"{i}," + ",".join(f"{v:.6e}" for v in rng.normal(size=len(cols))))
    path.write_text("\n".join(lines) + "\n")


def test_load_fma_precomputed(tmp_path):
    settings = get_settings(dataset="fma_small", data_dir=tmp_path, work_dir=tmp_path)
    assert baselines.load_fma_precomputed(settings=settings) is None  # absent: None, no error
    meta = tmp_path / "fma_metadata"
    meta.mkdir()
    ids = list(range(2, 2 + 30))
    _write_fma_features(meta / "features.csv", ids)
    frame = baselines.load_fma_precomputed(settings=settings)
    assert frame.shape == (30, 6)
    assert list(frame.index[:2]) == ["000002", "000003"] and frame.index.name == "track_id"
    assert list(frame.columns[:3]) == ["chroma_cens_mean_01", "chroma_cens_std_01", "mfcc_mean_01"]

    genres = ["Rock", "Pop", "Folk"]
    split = (["train"] * 6 + ["valid"] * 2 + ["test"] * 2) * 3
    table = pd.DataFrame({"track_id": [f"{i:06d}" for i in ids], "path": "",
                          "genre": [genres[k // 10] for k in range(30)], "split": split,
                          "tags": [[] for _ in ids]})
    table.loc[len(table)] = {"track_id": "999999", "path": "", "genre": "Rock", "split": "train",
                             "tags": []}
    sp = baselines.precomputed_splits(table, frame, "mfcc")
    assert sp.n_features == 3 and len(sp.y_train) == 18  # the unknown track is left out
    mfcc_cols = [c for c in frame.columns if c.startswith("mfcc_")]
    assert np.allclose(sp.X_train[0], frame.loc["000002", mfcc_cols].to_numpy())
    assert baselines.precomputed_splits(table, frame, "all").n_features == 6
    (meta / "features.csv").write_text("not,a\nfeatures,file\n")
    with pytest.raises(DatasetError, match="features.csv"):
        baselines.load_fma_precomputed(settings=settings)


def test_evaluation_confusion_and_track_metrics():
    y_true = ["a", "a", "a", "b", "b", "c"]
    y_pred = ["a", "b", "b", "b", "b", "a"]
    cf = evaluation.confusion_frame(y_true, y_pred)
    assert np.allclose(cf.sum(axis=1), 1) and cf.loc["a", "b"] == pytest.approx(2 / 3)
    counts = evaluation.confusion_frame(y_true, y_pred, normalize=False)
    assert counts.loc["c", "a"] == 1 and counts.to_numpy().sum() == 6
    worst = evaluation.most_confused(y_true, y_pred, n=2)
    assert tuple(worst.loc[0, ["true", "predicted", "count"]]) == ("a", "b", 2)

    classes = ["x", "y"]
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.45, 0.55], [0.2, 0.8]])
    ids = ["t1", "t1", "t1", "t2"]
    m = evaluation.track_metrics(ids, ["x", "x", "x", "y"], proba, classes, method="mean")
    assert m["n"] == 2 and m["accuracy"] == 1.0  # t1: mean 0.583 for x
    m = evaluation.track_metrics(ids, ["x", "x", "x", "y"], proba, classes, method="vote")
    assert m["accuracy"] == 0.5  # t1: two of three chunks vote y
    with pytest.raises(ValueError, match="different labels"):
        evaluation.track_metrics(ids, ["x", "y", "x", "y"], proba, classes)


def test_comparison_table_extra_columns_and_no_published_rows():
    res = pd.DataFrame([{"model": "svc_rbf on mfcc_stats", "split": "test", "accuracy": 0.7,
                         "f1_macro": 0.65},
                        {"model": "svc_rbf on mfcc_stats", "split": "valid", "accuracy": 0.9,
                         "f1_macro": 0.9}])
    synth = evaluation.comparison_table(res, "synth", columns=("f1_macro",))
    assert len(synth) == 1 and synth.loc[0, "f1_macro"] == 0.65
    assert synth.loc[0, "origin"] == "measured here (test split)"
    fma = evaluation.comparison_table(res, "fma_small", columns=("f1_macro",))
    assert (fma["origin"].str.startswith("published")).sum() == 3
    assert fma["f1_macro"].isna().sum() == 3
    assert 0.4638 in set(fma["accuracy"])


def test_fma_features_path_follows_the_table(tmp_path):
    settings = get_settings(dataset="fma_small", data_dir=tmp_path / "empty", work_dir=tmp_path)
    elsewhere = tmp_path / "somewhere" / "features.csv"
    elsewhere.parent.mkdir()
    _write_fma_features(elsewhere, [2, 3, 4])
    table = pd.DataFrame({"track_id": ["000002"]})
    assert baselines.fma_features_path(settings=settings) is None
    table.attrs["features_csv"] = str(elsewhere)
    assert baselines.fma_features_path(table, settings=settings) == elsewhere
    assert baselines.load_fma_precomputed(table, settings=settings).shape == (3, 6)


def test_fma_features_path_ignores_other_attrs(tmp_path):
    settings = get_settings(dataset="gtzan", data_dir=tmp_path, work_dir=tmp_path)
    table = pd.DataFrame({"track_id": ["blues.00000"]})
    table.attrs["features_csv"] = {"30s": str(tmp_path / "features_30_sec.csv")}  # not FMA's
    assert baselines.fma_features_path(table, settings=settings) is None
    assert baselines.load_fma_precomputed(table, settings=settings) is None
