"""The training module: chunking, normalisation, augmentation, the tf.data pipelines, and
load_or_train's save / load / retrain cycle on the ci-profile synthetic data."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("tensorflow")

from genre_lib import evaluation, models, training  # noqa: E402


# -- pure helpers ---------------------------------------------------------------------------------
def test_chunk_starts_cover_the_clip_without_overlap():
    np.testing.assert_array_equal(training.chunk_starts(1292, 128), np.arange(10) * 128)
    np.testing.assert_array_equal(training.chunk_starts(100, 128), [0])  # short clip: one, padded
    picked = training.chunk_starts(1292, 128, max_chunks=4)
    assert len(picked) == 4 and picked[0] == 0 and picked[-1] == 9 * 128


def test_crop_pads_short_clips_with_zeros():
    clip = np.ones((3, 5), np.float32)
    out = training.crop(clip, 2, 6)
    assert out.shape == (3, 6)
    np.testing.assert_array_equal(out[:, :3], 1)
    np.testing.assert_array_equal(out[:, 3:], 0)


def test_layouts_match_the_builders():
    batch = np.arange(2 * 4 * 6, dtype=np.float32).reshape(2, 4, 6)  # (n, mels, frames)
    assert training.to_layout(batch, "mel2d").shape == (2, 4, 6, 1)
    mel1d = training.to_layout(batch, "mel1d")
    assert mel1d.shape == (2, 6, 4) and mel1d[0, 5, 3] == batch[0, 3, 5]
    assert training.to_layout(np.zeros((2, 100)), "wave").shape == (2, 100, 1)
    spec = models.spec("cnn2d")
    params = {"sr": 22050, "hop_length": 512}
    assert training.chunk_length(spec, params) == 128  # 3 s of frames, a multiple of 16
    assert training.chunk_length(models.spec("cnn1d_waveform"), {"sr": 11025}) == 33075


def test_normaliser_uses_train_statistics_per_band():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=np.arange(8)[None, :, None] * 10, scale=3, size=(20, 8, 50)).astype(np.float32)
    norm = training.Normaliser.fit(X, "logmel")
    Z = norm(X)
    np.testing.assert_allclose(Z.mean(axis=(0, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(Z.std(axis=(0, 2)), 1, atol=1e-3)
    again = training.Normaliser.from_json(json.loads(json.dumps(norm.to_json())))
    np.testing.assert_allclose(again(X), Z, atol=1e-3)
    wave = training.Normaliser.fit(rng.normal(scale=0.1, size=(4, 1000)), "waveform")
    assert abs(float(wave(rng.normal(scale=0.1, size=(4, 1000))).std()) - 1) < 0.05


def test_augmentation_changes_a_copy_and_keeps_shapes():
    rng = np.random.default_rng(1)
    batch = rng.uniform(-60, 0, size=(6, 32, 40)).astype(np.float32)
    keep = batch.copy()
    for ops in (("gain",), ("noise",), ("mask",)):
        out = training.augment_batch(batch, "logmel", np.random.default_rng(2), ops, p=1.0)
        assert out.shape == batch.shape and np.isfinite(out).all()
        assert not np.allclose(out, batch), ops
    np.testing.assert_array_equal(batch, keep)  # the input is never modified
    masked = training.augment_batch(batch, "logmel", np.random.default_rng(3), ("mask",), p=1.0)
    assert ((masked == batch.min(axis=(1, 2), keepdims=True)).sum(axis=(1, 2)) >= 32).all()
    gained = training.augment_batch(batch, "logmel", np.random.default_rng(4), ("gain",), p=1.0)
    shift = (gained - batch).reshape(6, -1)
    assert np.allclose(shift, shift[:, :1], atol=1e-4) and (np.abs(shift[:, 0]) <= 6).all()
    wave = rng.normal(size=(3, 500)).astype(np.float32)
    assert training.augment_batch(wave, "waveform", rng, p=1.0).shape == wave.shape


def _identity_norm(n_bins):
    return training.Normaliser(np.zeros(n_bins, np.float32), np.ones(n_bins, np.float32))


def test_train_pipeline_crops_and_labels_stay_aligned():
    # every clip is filled with its own index, so each crop says which clip it came from
    n, bins, frames, length = 12, 8, 100, 32
    X = np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None], (n, bins, frames)).copy()
    y = (np.arange(n) % 3).astype(np.int32)
    ds = training.train_dataset(X, y, models.spec("cnn2d"), length, _identity_norm(bins),
                                batch_size=4, crops_per_track=2, seed=0, augment=False)
    seen = []
    for xb, yb in ds.take(6):  # exactly one pass: 12 clips x 2 crops / 4
        xb, yb = xb.numpy(), yb.numpy()
        assert xb.shape == (4, bins, length, 1)
        owner = xb[:, 0, 0, 0].astype(int)
        assert (xb == owner[:, None, None, None]).all()
        np.testing.assert_array_equal(yb, y[owner])
        seen.extend(owner)
    assert sorted(seen) == sorted(list(range(n)) * 2)  # each clip twice per pass


def test_eval_pipeline_visits_consecutive_chunks_in_order():
    X = np.arange(2 * 3 * 64, dtype=np.float32).reshape(2, 3, 64)
    y = np.array([0, 1], np.int32)
    ds = training.eval_dataset(X, y, models.spec("crnn1d"), 16, _identity_norm(3), batch_size=3)
    xs, ys = zip(*[(a.numpy(), b.numpy()) for a, b in ds])
    xs, ys = np.concatenate(xs), np.concatenate(ys)
    assert xs.shape == (8, 16, 3)  # 2 clips x 4 chunks, layout (frames, mels)
    np.testing.assert_array_equal(ys, [0] * 4 + [1] * 4)
    np.testing.assert_array_equal(xs[5], X[1, :, 16:32].T)


def test_choose_target():
    genres = pd.DataFrame({"genre": ["a", "b"], "tags": [[], []], "split": ["train", "valid"]})
    tags = pd.DataFrame({"genre": [None, None], "tags": [["x"], ["y"]], "split": ["train", "valid"]})
    assert training.choose_target(genres) == "genre"
    assert training.choose_target(tags) == "tags"
    with pytest.raises(training.TrainingError, match="no genre labels"):
        training.choose_target(tags, "genre")
    with pytest.raises(training.TrainingError, match="neither"):
        training.choose_target(genres.assign(genre=None))


def test_describe_device_is_one_line():
    text = training.describe_device()
    assert isinstance(text, str) and "\n" not in text
    assert ("CPU" in text) or ("GPU" in text)


# -- load_or_train on the ci data -------------------------------------------------------------
@pytest.fixture(scope="module")
def trained_cnn2d(ci_settings, ci_table):
    return training.load_or_train("cnn2d", ci_settings, epochs=1)


def test_load_or_train_saves_model_sidecar_and_both_results(trained_cnn2d, ci_settings, ci_table):
    t = trained_cnn2d
    assert t.path == ci_settings.models_dir / "cnn2d.keras" and t.path.exists()
    meta = json.loads(t.path.with_suffix(".json").read_text())
    assert meta["classes"] == sorted(ci_table["genre"].unique()) == t.classes
    assert meta["feature_kind"] == "logmel" and meta["input_shape"] == [128, 128, 1]
    assert set(meta["metrics"]) == {"valid", "test"}
    assert len(t.history["loss"]) == 1 and "val_loss" in t.history
    rows = evaluation.load_results(ci_settings)
    mine = rows[rows["model"] == "cnn2d"]
    assert sorted(mine["split"]) == ["test", "valid"]
    test_row = mine[mine["split"] == "test"].iloc[0]
    assert test_row["accuracy"] == pytest.approx(meta["metrics"]["test"]["accuracy"], abs=1e-4)
    assert test_row["n"] == int((ci_table["split"] == "test").sum())


def test_prepare_and_predict_tracks(trained_cnn2d, ci_table):
    t = trained_cnn2d
    fs = t.features(ci_table, progress=False)
    X = t.prepare(fs)
    per_clip = len(training.chunk_starts(fs.X.shape[-1], t.chunk))
    assert X.shape == (len(fs.table) * per_clip,) + t.input_shape
    assert abs(float(X.mean())) < 0.5  # standardised with the train statistics
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
    again = training.load_or_train("cnn2d", ci_settings, epochs=1)
    assert "loaded cnn2d" in capsys.readouterr().out
    assert trained_cnn2d.path.stat().st_mtime_ns == stamp
    X = np.random.default_rng(0).normal(size=(3,) + again.input_shape).astype(np.float32)
    np.testing.assert_allclose(again.model.predict(X, verbose=0),
                               trained_cnn2d.model.predict(X, verbose=0), rtol=1e-4, atol=1e-5)


def test_corrupt_sidecar_or_new_hyper_retrains(trained_cnn2d, ci_settings, capsys):
    sidecar = trained_cnn2d.path.with_suffix(".json")
    sidecar.write_text("{not json")
    again = training.load_or_train("cnn2d", ci_settings, epochs=1)
    assert "retraining" in capsys.readouterr().out
    assert json.loads(sidecar.read_text())["name"] == "cnn2d"
    assert again.meta["epochs_run"] == 1


def test_variant_name_tags_target_and_bad_hyper(ci_settings):
    with pytest.raises(TypeError, match="unknown hyper-parameter"):
        training.load_or_train("cnn2d", ci_settings, nonsense=1)
    with pytest.raises(KeyError, match="unknown model"):
        training.load_or_train("vgg99", ci_settings)
    t = training.load_or_train("crnn1d_gru_tags", ci_settings, arch="crnn1d", rnn="gru",
                               target="tags", n_tags=6, epochs=1)
    assert t.meta["head"] == "sigmoid" and len(t.classes) == 6
    assert t.model.get_layer("rnn").__class__.__name__ == "GRU"
    assert {"roc_auc", "pr_auc"} <= set(t.meta["metrics"]["test"])
    assert 0.0 <= t.meta["metrics"]["test"]["roc_auc"] <= 1.0


def test_predict_file_matches_the_feature_path(trained_cnn2d, ci_table):
    t = trained_cnn2d
    fs = t.features(ci_table, progress=False)
    one = training.subset(fs, [0])
    from_file = t.predict_file(one.table["path"][0], seconds=t.settings.profile.synth_seconds)
    from_cache = t.predict_tracks(one).iloc[0][t.classes].astype(float)
    np.testing.assert_allclose(from_file.to_numpy(), from_cache.to_numpy(), atol=1e-4)


def test_comparison_keeps_origins_apart(trained_cnn2d, ci_settings):
    baseline = evaluation.result_row("svc_rbf on mfcc_stats", "test", {"accuracy": 0.5, "f1_macro": 0.4},
                                     ci_settings, features="mfcc_stats")
    evaluation.save_result(baseline, ci_settings)
    table = training.comparison(ci_settings, names=["cnn2d"])
    assert set(table["system"]) >= {"cnn2d", "svc_rbf on mfcc_stats"}
    assert (table["origin"] == "measured here (test split)").all()  # synth has no published rows
    summary = training.summary_table([trained_cnn2d], "valid")
    assert summary.loc[0, "model"] == "cnn2d" and summary.loc[0, "split"] == "valid"
    assert summary.loc[0, "accuracy"] == pytest.approx(trained_cnn2d.meta["metrics"]["valid"]["accuracy"], abs=1e-4)


def test_pipeline_reads_rows_in_place_and_normaliser_matches_a_copy():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(10, 4, 40)).astype(np.float32)
    rows = np.array([1, 4, 7])
    a = training.Normaliser.fit(X, "logmel", rows=rows)
    b = training.Normaliser.fit(X[rows], "logmel")
    np.testing.assert_allclose(a.mean, X[rows].mean(axis=(0, 2)), atol=1e-5)
    np.testing.assert_allclose(a.std, b.std, atol=1e-5)
    y = np.arange(10, dtype=np.int32)
    ds = training.train_dataset(X, y, models.spec("crnn1d"), 16, a, batch_size=3,
                                crops_per_track=1, seed=0, augment=False, rows=rows)
    _, yb = next(iter(ds))
    assert sorted(yb.numpy().tolist()) == rows.tolist()
