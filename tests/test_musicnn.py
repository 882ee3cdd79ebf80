"""The Keras 3 port of musicnn against the original network (genre_lib/musicnn/reference/).

The reference arrays were made by ``scripts/musicnn_reference.py``, which runs musicnn
0.1.0's own graph and checkpoints (legacy Keras, in a subprocess) on three clips, one quiet
and two at full scale, with the log-mel compression in float32. Regenerate them with
``python scripts/musicnn_reference.py``.
"""
from __future__ import annotations

import numpy as np
import pytest

from genre_lib import musicnn

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
    S = musicnn.mel_power(y, musicnn.SR)
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
    y = np.arange(100.0)
    np.testing.assert_array_equal(musicnn.middle_window(y, 10, 2.0), y[40:60])
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


def test_clip_features_cache(ci_settings, ci_table):
    table = ci_table.groupby("genre").head(1).head(3)
    first = musicnn.clip_features(table, ci_settings, layers=("penultimate", "cnn1"), progress=False)
    assert not first.from_cache and len(first.table) == 3
    assert first.X["penultimate"].shape == (len(first.track), 200)
    again = musicnn.clip_features(table, ci_settings, layers=("penultimate", "cnn1"), progress=False)
    assert again.from_cache
    np.testing.assert_array_equal(again.X["cnn1"], first.X["cnn1"])
    assert again.clips("penultimate").shape == (3, 200)
    assert again.clips("cnn1", how="mean_std").shape == (3, 128)
    # a damaged entry is reported and rebuilt
    first.cache_path.write_bytes(b"not a zip")
    with pytest.warns(UserWarning, match="rebuilt"):
        third = musicnn.clip_features(table, ci_settings, layers=("penultimate", "cnn1"),
                                      progress=False)
    assert not third.from_cache
    np.testing.assert_allclose(third.X["penultimate"], first.X["penultimate"], atol=1e-5)
    # another window is another entry
    mid = musicnn.clip_features(table, ci_settings, layers=("penultimate",), window_seconds=3.0,
                                progress=False)
    assert mid.cache_path != first.cache_path and len(mid.track) == 3


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
