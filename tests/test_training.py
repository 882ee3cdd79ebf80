"""The training module: the task, devices, and load_or_train's train / save / load / retrain
cycle on the ci-profile synthetic data (the pipeline has tests/test_pipeline.py, saved-model
checks tests/test_saved_models.py)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("tensorflow")

from genre_lib import evaluation, pipeline, training  # noqa: E402


# -- the task ------------------------------------------------------------------------------------
def test_choose_target():
    genres = pd.DataFrame({"genre": ["a", "b"], "tags": [[], []], "split": ["train", "valid"]})
    tags = pd.DataFrame({"genre": [None, None], "tags": [["x"], ["y"]], "split": ["train", "valid"]})
    assert training.choose_target(genres) == "genre"
    assert training.choose_target(tags) == "tags"
    with pytest.raises(training.TrainingError, match="no genre labels"):
        training.choose_target(tags, "genre")
    with pytest.raises(training.TrainingError, match="neither"):
        training.choose_target(genres.assign(genre=None))


def test_task_counts_the_classes_of_the_train_split(ci_settings, ci_table):
    task = training.task(ci_table, settings=ci_settings)
    train_genres = sorted(ci_table.loc[ci_table["split"] == "train", "genre"].unique())
    assert task.target == "genre" and task.classes == train_genres
    assert task.n_classes == task.n_outputs == len(train_genres)
    assert task.chance == pytest.approx(1 / len(train_genres))
    assert (task.metric, task.metrics, task.fit_metric) == ("accuracy", ("accuracy", "f1_macro"), "accuracy")
    assert (task.head, task.loss) == ("softmax", "sparse_categorical_crossentropy")
    assert repr(task).startswith("Task(target='genre'") and "\n" not in repr(task)
    assert "chance level" in str(task)
    # a genre absent from the train split is not a class, and its tracks are left out
    odd = ci_table.copy()
    odd.loc[odd.index[odd["split"] == "test"][:1], "genre"] = "polka"
    task = training.task(odd, settings=ci_settings)
    assert "polka" not in task.classes and (task.table["genre"] != "polka").all()
    tags = training.task(ci_table, target="tags", n_tags=5, settings=ci_settings)
    assert tags.n_outputs == 5 and tags.metric == "roc_auc" and tags.chance is None
    assert tags.head == "sigmoid" and "tags" in str(tags)
    one = ci_table.assign(genre=np.where(ci_table["split"] == "train", "rock", ci_table["genre"]))
    with pytest.raises(training.TrainingError, match="at least 2 classes"):
        training.task(one, settings=ci_settings)


def test_training_exports_only_what_it_defines():
    for name in training.__all__:
        obj = getattr(training, name)
        if callable(obj):
            assert obj.__module__ == "genre_lib.training", name
    for moved in ("chunk_starts", "crop", "to_layout", "summary_table", "gpus", "comparison"):
        with pytest.raises(AttributeError):  # no shim: these live in pipeline, evaluation, devices
            getattr(training, moved)
    assert training.WAVEFORM_SR == 11025


def test_describe_device_is_one_line():
    from genre_lib import devices

    text = devices.describe_device()
    assert isinstance(text, str) and "\n" not in text
    # the device this machine has, asked of TensorFlow itself (not through genre_lib.devices)
    import os

    import tensorflow as tf

    n_gpus = len(tf.config.list_physical_devices("GPU"))
    if n_gpus == 0:
        assert text.startswith(f"CPU only ({os.cpu_count()} cores)") and "GPU" not in text, text
    elif n_gpus == 1:
        assert text.startswith("1 GPU (") and "CPU only" not in text, text
    else:
        assert text.startswith(f"{n_gpus} GPUs (") and "CPU only" not in text, text


# -- load_or_train on the ci data -------------------------------------------------------------
@pytest.fixture(scope="module")
def trained_cnn2d(ci_settings, ci_table):
    return training.load_or_train("cnn2d", epochs=1, settings=ci_settings)


def test_load_or_train_saves_model_sidecar_and_both_results(trained_cnn2d, ci_settings, ci_table):
    t = trained_cnn2d
    assert t.path == ci_settings.models_dir / "cnn2d.keras" and t.path.exists()
    meta = json.loads(t.path.with_suffix(".json").read_text())
    assert meta["classes"] == sorted(ci_table["genre"].unique()) == t.classes
    assert meta["feature_kind"] == "logmel" and meta["input_shape"] == [128, 128, 1]
    assert set(meta["metrics"]) == {"valid", "test"}
    assert len(t.history["loss"]) == 1 and "val_loss" in t.history
    rows = evaluation.load_results(settings=ci_settings)
    mine = rows[rows["model"] == "cnn2d"]
    assert sorted(mine["split"]) == ["test", "valid"]
    test_row = mine[mine["split"] == "test"].iloc[0]
    assert test_row["accuracy"] == pytest.approx(meta["metrics"]["test"]["accuracy"], abs=1e-4)
    assert test_row["n"] == int((ci_table["split"] == "test").sum())


def test_prepare_and_predict_tracks(trained_cnn2d, ci_table):
    t = trained_cnn2d
    fs = t.features(ci_table, progress=False)
    X = t.prepare(fs)
    per_clip = len(pipeline.chunk_starts(fs.X.shape[-1], t.chunk))
    assert X.shape == (len(fs.table) * per_clip,) + t.input_shape
    # raw log-mel chunks in dB: the model standardises them in its first layer
    np.testing.assert_array_equal(X[1, ..., 0], pipeline.crop(np.asarray(fs.X[0]), t.chunk, t.chunk))
    train_rows = np.flatnonzero((fs.table["split"] == "train").to_numpy())
    fitted = pipeline.Normaliser.fit(fs.X, "logmel", rows=train_rows)
    np.testing.assert_allclose(t.statistics.mean, fitted.mean, rtol=1e-6)
    np.testing.assert_allclose(t.statistics.std, fitted.std, rtol=1e-5)
    assert t.model.layers[1].name == "normalise"
    tracks = t.predict_tracks(fs)
    assert list(tracks.index) == list(fs.table["track_id"])
    assert {"mean", "vote", *t.classes} <= set(tracks.columns)
    np.testing.assert_allclose(tracks[t.classes].sum(1), 1.0, rtol=1e-4)
    # the recorded test metrics are reproduced from the saved model
    again = t.evaluate(fs, "test")
    assert again["accuracy"] == pytest.approx(t.meta["metrics"]["test"]["accuracy"], abs=1e-6)
    with pytest.raises(ValueError, match="reads 'logmel'"):
        t.prepare(type(fs)("mfcc", fs.params, fs.table, fs.X))


def test_second_call_loads_instead_of_training(trained_cnn2d, ci_settings, capsys):
    stamp = trained_cnn2d.path.stat().st_mtime_ns
    again = training.load_or_train("cnn2d", epochs=1, settings=ci_settings)
    assert "loaded cnn2d" in capsys.readouterr().out
    assert trained_cnn2d.path.stat().st_mtime_ns == stamp
    X = np.random.default_rng(0).normal(size=(3,) + again.input_shape).astype(np.float32)
    np.testing.assert_allclose(again.model.predict(X, verbose=0),
                               trained_cnn2d.model.predict(X, verbose=0), rtol=1e-4, atol=1e-5)


def test_corrupt_sidecar_or_new_hyper_retrains(trained_cnn2d, ci_settings, capsys):
    sidecar = trained_cnn2d.path.with_suffix(".json")
    sidecar.write_text("{not json")
    again = training.load_or_train("cnn2d", epochs=1, settings=ci_settings)
    assert "retraining" in capsys.readouterr().out
    assert json.loads(sidecar.read_text())["name"] == "cnn2d"
    assert again.meta["epochs_run"] == 1


def test_variant_name_tags_target_and_bad_hyper(ci_settings):
    with pytest.raises(TypeError, match="unknown hyper-parameter"):
        training.load_or_train("cnn2d", nonsense=1, settings=ci_settings)
    with pytest.raises(KeyError, match="unknown model"):
        training.load_or_train("vgg99", settings=ci_settings)
    t = training.load_or_train("crnn1d_gru_tags", arch="crnn1d", rnn="gru",
                               target="tags", n_tags=6, epochs=1, settings=ci_settings)
    assert t.meta["head"] == "sigmoid" and len(t.classes) == 6
    assert t.model.get_layer("rnn").__class__.__name__ == "GRU"
    assert {"roc_auc", "pr_auc"} <= set(t.meta["metrics"]["test"])
    assert 0.0 <= t.meta["metrics"]["test"]["roc_auc"] <= 1.0


def test_load_or_train_trains_and_scores_on_the_table_given(ci_settings, ci_table, monkeypatch, capsys):
    from genre_lib import datasets
    from genre_lib.datasets.contract import table_digest

    keep = sorted(ci_table["genre"].unique())[:3]
    part = ci_table[ci_table["genre"].isin(keep)].reset_index(drop=True)

    def no_second_read(**kwargs):
        raise AssertionError("load_or_train read the table again")

    monkeypatch.setattr(datasets, "load_table", no_second_read)
    t = training.load_or_train("cnn1d_part", part, arch="cnn1d_mel", epochs=1, settings=ci_settings)
    assert t.classes == keep and t.meta["table_digest"] == table_digest(part)
    rows = evaluation.load_results(settings=ci_settings)
    test_row = rows[(rows["model"] == "cnn1d_part") & (rows["split"] == "test")].iloc[0]
    assert test_row["n"] == int((part["split"] == "test").sum())       # scored on the given table
    capsys.readouterr()
    training.load_or_train("cnn1d_part", part, arch="cnn1d_mel", epochs=1, settings=ci_settings)
    assert "loaded cnn1d_part" in capsys.readouterr().out                # the same table: loaded
    monkeypatch.setattr(training, "train", lambda *args, **kwargs: "retrained")
    other = training.load_or_train("cnn1d_part", ci_table, arch="cnn1d_mel", epochs=1, settings=ci_settings)
    assert other == "retrained" and "saved from another table" in capsys.readouterr().out


def test_predict_file_matches_the_feature_path(trained_cnn2d, ci_table):
    t = trained_cnn2d
    fs = t.features(ci_table, progress=False)
    one = fs.subset([0])
    from_file = t.predict_file(one.table["path"][0], seconds=t.settings.profile.synth_seconds)
    from_cache = t.predict_tracks(one).iloc[0][t.classes].astype(float)
    np.testing.assert_allclose(from_file.to_numpy(), from_cache.to_numpy(), atol=1e-4)


def test_comparison_keeps_origins_apart(trained_cnn2d, ci_settings):
    baseline = evaluation.result_row("svc_rbf on mfcc_stats", "test", {"accuracy": 0.5, "f1_macro": 0.4},
                                     features="mfcc_stats", settings=ci_settings)
    evaluation.save_result(baseline, settings=ci_settings)
    table = evaluation.comparison(names=["cnn2d"], settings=ci_settings)
    assert set(table["system"]) >= {"cnn2d", "svc_rbf on mfcc_stats"}
    assert (table["origin"] == "measured here (test split)").all()  # synth has no published rows
    summary = evaluation.summary_table([trained_cnn2d], "valid")
    assert summary.loc[0, "model"] == "cnn2d" and summary.loc[0, "split"] == "valid"
    recorded = trained_cnn2d.meta["metrics"]["valid"]["accuracy"]
    assert summary.loc[0, "accuracy"] == pytest.approx(recorded, abs=1e-4)


def test_feature_parameters_pass_through_load_or_train(ci_settings, capsys):
    t = training.load_or_train("cnn2d_m64", arch="cnn2d", n_mels=64, epochs=1, settings=ci_settings)
    assert t.meta["feature_params"]["n_mels"] == 64 and t.input_shape == (64, t.chunk, 1)
    assert t.meta["request"]["features"] == {"n_mels": 64}
    assert t.features(progress=False).X.shape[1] == 64
    capsys.readouterr()
    training.load_or_train("cnn2d_m64", arch="cnn2d", n_mels=64, epochs=1, settings=ci_settings)
    assert "loaded cnn2d_m64" in capsys.readouterr().out
    # the same request under settings with another hop length reads other features: retrain
    other = ci_settings.with_(hop_length=1024)
    again = training.load_or_train("cnn2d_m64", arch="cnn2d", n_mels=64, epochs=1, settings=other)
    assert "saved for other feature parameters" in capsys.readouterr().out
    assert again.meta["feature_params"]["hop_length"] == 1024
    assert again.input_shape == (64, 64, 1)  # 3 s at 1024 samples per frame: 64 frames
    with pytest.raises(TypeError, match="unknown hyper-parameter 'n_mfcc'"):
        training.load_or_train("cnn2d_m64", arch="cnn2d", n_mfcc=13, settings=ci_settings)
