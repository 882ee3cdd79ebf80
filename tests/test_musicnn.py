"""The Keras 3 port of musicnn against the original network (genre_lib/musicnn/reference/).

The reference arrays were made by ``scripts/musicnn_reference.py``, which runs musicnn
0.1.0's own graph and checkpoints (legacy Keras, in a subprocess) on three clips, one quiet
and two at full scale, with the log-mel compression in float32. Regenerate them with
``python scripts/musicnn_reference.py``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genre_lib import features, musicnn
from genre_lib.spectral import mel_power

DATA = musicnn.weights.REFERENCE_DIR
TOL = 1e-4


@pytest.fixture(scope="module")
def reference():
    notes, arrays = musicnn.reference_arrays()
    return arrays, notes


def _signal(arrays, clip):
    return arrays[f"{clip}/audio"].astype(np.float32) / 32768.0


def test_reference_is_small_and_has_loud_clips(reference):
    arrays, notes = reference
    assert (DATA / "reference.npz").stat().st_size < 2_000_000
    assert set(notes["models"]) == {"MSD_musicnn", "MTT_musicnn"}
    loud = [c for c in notes["clips"] if np.abs(_signal(arrays, c)).max() > 0.99]
    assert len(loud) >= 2
    # the trap the reference documents: musicnn 0.1.0's float16 arithmetic overflows on them
    for clip in loud:
        info = notes["extractor_float16"]["MSD_musicnn"][clip]
        assert info["logmel_nonfinite"] > 0


def test_preprocessing_matches_musicnn(reference):
    arrays, notes = reference
    for clip in notes["clips"]:
        got = musicnn.clip_patches(_signal(arrays, clip), notes["sr"])
        want = arrays[f"{clip}/logmel"]
        assert got.shape == want.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("model", ["MSD_musicnn", "MTT_musicnn"])
def test_port_matches_original(reference, model):
    arrays, notes = reference
    layers = ("predictions", "penultimate", "max_pool", "mean_pool", *musicnn.FRAME_LAYERS)
    worst = {}
    for clip in notes["clips"]:
        out = musicnn.features(_signal(arrays, clip), notes["sr"], model=model, layers=layers)
        for layer in layers:
            name = "taggram" if layer == "predictions" else layer
            want = arrays[f"{clip}/{model}/{name}"]
            assert out[layer].shape == want.shape, (clip, layer)
            worst[name] = max(worst.get(name, 0.0), float(np.max(np.abs(out[layer] - want))))
    print(model, {k: f"{v:.2e}" for k, v in worst.items()})
    assert worst["taggram"] <= TOL
    assert worst["penultimate"] <= TOL
    # the other stored layers agree as closely, relative to their scale
    for name in ("max_pool", "mean_pool", *musicnn.FRAME_LAYERS):
        assert worst[name] <= 10 * TOL, (name, worst[name])


def test_full_scale_clip_gives_finite_outputs():
    t = np.arange(4 * musicnn.SR) / musicnn.SR
    y = np.sign(np.sin(2 * np.pi * 220 * t)).astype(np.float32)   # a square wave at full scale
    S = mel_power(y, **musicnn.MEL_PARAMS)                           # the spectral core's mel
    assert musicnn.float16_overflow(S)["nonfinite_bins"] > 0       # where float16 would fail
    out = musicnn.features(y, musicnn.SR, layers=("predictions", "penultimate", "max_pool"))
    for arr in out.values():
        assert np.all(np.isfinite(arr))
    assert np.all((out["predictions"] >= 0) & (out["predictions"] <= 1))


def test_checkpoint_fills_every_layer_with_weights():
    model = musicnn.build_musicnn()
    variables = musicnn.read_checkpoint("MSD_musicnn")
    n_checkpoint = sum(int(np.prod(v.shape)) for v in variables.values())
    assert model.count_params() == n_checkpoint
    assigned = musicnn.assign(model, "MSD_musicnn")
    weighted = {layer.name for layer in model.layers if layer.weights}
    assert weighted == set(assigned)
    for name in musicnn.FEATURE_LAYERS:
        model.get_layer(name)          # every feature layer exists by name
    assert len(musicnn.TAGS["MSD_musicnn"]) == len(musicnn.TAGS["MTT_musicnn"]) == 50


def test_patching_and_windows():
    spec = np.arange(500 * 96, dtype=np.float32).reshape(500, 96)
    p = musicnn.patches(spec)
    assert p.shape == (2, musicnn.PATCH_FRAMES, 96)            # the trailing 126 frames are dropped
    np.testing.assert_array_equal(p[1, 0], spec[musicnn.PATCH_FRAMES])
    short = musicnn.patches(spec[:50])                         # shorter than a patch: repeated
    assert short.shape == (1, musicnn.PATCH_FRAMES, 96)
    np.testing.assert_array_equal(short[0, 50], spec[0])
    assert musicnn.patches(spec, hop=100).shape[0] == 4
    y = np.arange(48000 * 9, dtype=np.float32)                   # the middle 7 s of 9 s
    with_window = musicnn.clip_patches(y / y.max(), 48000, window_seconds=7.0)
    assert len(with_window) == 2
    np.testing.assert_array_equal(with_window, musicnn.clip_patches(y[48000:8 * 48000] / y.max(), 48000))
    assert musicnn.PATCH_FRAMES == 187


def test_variable_length_model_and_feature_model():
    model = musicnn.load_pretrained("MTT_musicnn", n_frames=None)
    x = np.random.default_rng(0).random((1, 250, 96)).astype(np.float32)
    assert model(x, training=False).shape == (1, 50)
    fm = musicnn.feature_model(model, ["cnn3", "penultimate"])
    out = fm(x, training=False)
    assert tuple(out["cnn3"].shape) == (1, 250, 64) and tuple(out["penultimate"].shape) == (1, 200)
    with pytest.raises(KeyError):
        musicnn.feature_model(model, ["no_such_layer"])


def test_log_mel_is_the_spectral_core_with_musicnn_parameters(reference):
    arrays, notes = reference
    y = musicnn.preprocessing.to_16k(_signal(arrays, notes["clips"][0]), notes["sr"])
    core = mel_power(y, **musicnn.MEL_PARAMS)                    # (96, frames): bands first
    assert core.shape[0] == 96 and core.dtype == np.float32
    np.testing.assert_array_equal(musicnn.log_mel(y, musicnn.SR),
                                  np.log10(np.float32(10000) * core + np.float32(1)).T)


def _private_table(ci_table, tmp_path, n=3):
    """``n`` tracks of different genres whose audio files are private copies (safe to change)."""
    import shutil

    t = ci_table.groupby("genre").head(1).head(n).reset_index(drop=True)
    t["path"] = [str(shutil.copy(p, tmp_path / f"{i}.wav")) for i, p in enumerate(t["path"])]
    t.attrs = dict(ci_table.attrs)
    return t


@pytest.fixture
def private(ci_settings, tmp_path):
    """The ci settings with a feature store of this test's own."""
    return ci_settings.with_(data_dir=tmp_path / "data")


def _counting(monkeypatch):
    """The tracks computed from now on (their paths), counted in this process (jobs=1)."""
    calls, real = [], features._work
    monkeypatch.setattr(features, "_work", lambda path, *a: calls.append(path) or real(path, *a))
    return calls


def test_clip_features_come_from_the_store(private, ci_table, tmp_path, monkeypatch):
    table = _private_table(ci_table, tmp_path)
    calls = _counting(monkeypatch)
    first = musicnn.clip_features(table, layers=("penultimate", "cnn1"),
                                  progress=False, jobs=1, settings=private)
    assert not first.from_cache and len(first.table) == 3 and len(calls) == 3
    assert first.cache_path.parent == private.cache_dir / "synth" and first.cache_path.is_dir()
    assert first.X["penultimate"].shape == (len(first.track), 200)
    assert list(first.X) == ["cnn1", "penultimate"] and np.all(first.seconds_per_track > 0)
    for i, path in enumerate(table["path"]):               # the store holds what features() gives
        one = musicnn.features(path, layers=("penultimate", "cnn1"))
        np.testing.assert_array_equal(first.X["cnn1"][first.track == i], one["cnn1"])
    calls.clear()
    again = musicnn.clip_features(table, layers=("cnn1", "penultimate"),
                                  progress=False, jobs=1, settings=private)
    assert again.from_cache and not calls and again.cache_path == first.cache_path
    np.testing.assert_array_equal(again.X["cnn1"], first.X["cnn1"])
    np.testing.assert_array_equal(again.seconds_per_track, first.seconds_per_track)
    assert again.clips("penultimate").shape == (3, 200)
    assert again.clips("cnn1", how="mean_std").shape == (3, 128)
    # a damaged shard is reported and rebuilt (first.X reads the store: keep a copy first)
    before = first.X["penultimate"]
    shard = next(first.cache_path.glob("shard-*.npy"))
    shard.write_bytes(shard.read_bytes()[:-100])
    with pytest.warns(UserWarning, match="rebuilt"):
        third = musicnn.clip_features(table, layers=("penultimate", "cnn1"),
                                      progress=False, jobs=1, settings=private)
    assert not third.from_cache and len(calls) == 3
    np.testing.assert_allclose(third.X["penultimate"], before, atol=1e-5)
    # another window is another entry
    mid = musicnn.clip_features(table, layers=("penultimate",), window_seconds=3.0,
                                progress=False, jobs=1, settings=private)
    assert mid.cache_path != first.cache_path and len(mid.track) == 3


def test_one_changed_file_recomputes_one_track(private, ci_table, tmp_path, monkeypatch):
    import soundfile as sf

    table = _private_table(ci_table, tmp_path)
    first = musicnn.clip_features(table, progress=False, jobs=1, settings=private)
    changed = table["path"].iloc[1]
    y, rate = sf.read(changed)
    sf.write(changed, 0.5 * y, rate, subtype="PCM_16")      # the same clip, quieter: new bytes
    calls = _counting(monkeypatch)
    second = musicnn.clip_features(table, progress=False, jobs=1, settings=private)
    assert calls == [changed] and not second.from_cache and second.cache_path == first.cache_path
    before, after = first.X["penultimate"], second.X["penultimate"]
    same = first.track != 1
    np.testing.assert_array_equal(after[same], before[same])
    assert not np.allclose(after[~same], before[~same], atol=1e-3)


def test_an_unreadable_file_is_skipped_and_reported(private, ci_table, tmp_path, capsys):
    table = _private_table(ci_table, tmp_path)
    Path(table["path"].iloc[2]).write_bytes(b"not audio at all" * 50)
    bad = table["track_id"].iloc[2]
    pf = musicnn.clip_features(table, progress=False, jobs=1, settings=private)
    out = capsys.readouterr().out
    assert set(pf.skipped) == {bad} and bad not in pf.table["track_id"].tolist()
    assert len(pf.table) == 2 and set(pf.track) == {0, 1} and "skipped 1 of 3" in out and bad in out
    again = musicnn.clip_features(table, progress=False, jobs=1, settings=private)
    assert again.from_cache and set(again.skipped) == {bad}
    assert "remembered from an earlier run" in capsys.readouterr().out


def test_the_key_holds_the_model_the_layers_and_the_preprocessing(ci_settings):
    def folder(**params):
        p = features.resolve_params("musicnn", params, settings=ci_settings)
        return features.store_folder("synth", "musicnn", p, 6.0, 0.0, settings=ci_settings)

    base = folder(layers=("penultimate", "cnn1"))
    assert base == folder(layers=["cnn1", "penultimate"])        # any order: one entry
    others = [folder(layers=("penultimate",)), folder(layers=("penultimate", "cnn1"), model="MTT_musicnn"),
              folder(layers=("penultimate", "cnn1"), patch_hop=93),
              folder(layers=("penultimate", "cnn1"), frame_pool="mean_max"),
              folder(layers=("penultimate", "cnn1"), window_seconds=3.0)]
    assert len({base, *others}) == 1 + len(others)
    p = features.resolve_params("musicnn", {}, settings=ci_settings)
    assert {k: p[k] for k in ("sr", "n_fft", "hop_length", "n_mels", "compression", "patch_frames")} == {
        "sr": 16000, "n_fft": 512, "hop_length": 256, "n_mels": 96, "compression": 10000.0,
        "patch_frames": 187}                                        # in the key, fixed by training
    with pytest.raises(ValueError, match="fixed by its training"):
        features.resolve_params("musicnn", {"n_mels": 128}, settings=ci_settings)
    with pytest.raises(ValueError, match="unknown feature layer"):
        features.resolve_params("musicnn", {"layers": ("nope",)}, settings=ci_settings)


@pytest.mark.parametrize("seconds,params", [(6.0, {}), (30.0, {"patch_hop": 93, "frame_pool": "mean_max"}),
                                            (2.0, {"window_seconds": 7.0}), (12.0, {"window_seconds": 7.0})])
def test_row_shape_is_known_before_computing(ci_settings, seconds, params):
    p = features.resolve_params("musicnn", params, settings=ci_settings)
    y = np.random.default_rng(0).standard_normal(int(round(seconds * 16000))).astype(np.float32) * 0.1
    row = features.compute(y, "musicnn", **params, settings=ci_settings)
    assert features.row_shape("musicnn", p, seconds) == row.shape and row.dtype == np.float32


def test_top_model_reproduces_penultimate_from_pools(reference):
    import keras

    from genre_lib.musicnn import transfer

    arrays, notes = reference
    top = transfer.top_model(10, "MSD_musicnn")
    penult = keras.Model(top.input, top.get_layer("penultimate").output)
    for clip in notes["clips"]:
        key = f"{clip}/MSD_musicnn"
        pools = transfer.interleave_pools(arrays[f"{key}/max_pool"], arrays[f"{key}/mean_pool"])
        got = np.asarray(penult(pools, training=False))
        assert np.max(np.abs(got - arrays[f"{key}/penultimate"])) <= TOL
    assert top.output_shape == (None, 10)


def test_train_subset_keeps_k_per_genre_and_no_other_split(ci_table):
    from genre_lib.musicnn import transfer

    keep = transfer.train_subset(ci_table, 2, seed=1)
    kept = ci_table[keep]
    assert set(kept["split"]) == {"train"}
    assert kept["genre"].value_counts().max() == 2
    assert kept["genre"].nunique() == ci_table["genre"].nunique()
    np.testing.assert_array_equal(keep, transfer.train_subset(ci_table, 2, seed=1))
    assert transfer.train_subset(ci_table, None, seed=1).sum() == (ci_table["split"] == "train").sum()
