"""Tests for genre_lib.interpret: activation maximisation, activation maps, saliency, Grad-CAM.

The models here are small functional Keras models built in the test with the naming contract
of genre_lib.models (block{i}_conv -> block{i}_bn -> block{i}_relu, "embedding",
"predictions"), so these tests do not depend on any saved model. One of them is trained for a
few seconds to tell "tonal" inputs (horizontal lines: steady pitches) from "percussive" ones
(vertical lines: broadband clicks), so its filters and classes mean something.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from genre_lib import interpret  # noqa: E402

SHAPE = (24, 32, 1)  # (mel bins, frames, channel)


def small_cnn(shape=SHAPE, n_classes=2, filters=(8, 16), seed=0):
    from keras import layers

    keras.utils.set_random_seed(seed)
    inp = keras.Input(shape, name="logmel")
    x = inp
    for i, f in enumerate(filters, start=1):
        x = layers.Conv2D(f, 3, padding="same", use_bias=False, name=f"block{i}_conv")(x)
        x = layers.BatchNormalization(name=f"block{i}_bn")(x)
        x = layers.Activation("relu", name=f"block{i}_relu")(x)
        x = layers.MaxPooling2D(2, padding="same", name=f"block{i}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    x = layers.Dense(16, activation="relu", name="embedding")(x)
    out = layers.Dense(n_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="small_cnn")


def stripes(n, kind, rng, shape=SHAPE):
    """Standardised toy log-mels: 'tonal' has a few bright rows, 'percussive' bright columns."""
    F, T, _ = shape
    X = 0.3 * rng.standard_normal((n, F, T))
    for x in X:
        if kind == "tonal":
            x[rng.choice(F, 3, replace=False), :] += 2.0
        else:
            x[:, rng.choice(T, 4, replace=False)] += 2.0
    return ((X - X.mean()) / X.std()).astype(np.float32)[..., None]


@pytest.fixture(scope="module")
def trained():
    """A small CNN trained to tell tonal from percussive stripes (class 0 tonal, 1 percussive)."""
    rng = np.random.default_rng(0)
    X = np.concatenate([stripes(96, "tonal", rng), stripes(96, "percussive", rng)])
    y = np.repeat([0, 1], 96)
    model = small_cnn()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(X, y, epochs=4, batch_size=32, verbose=0, shuffle=True)
    Xt = np.concatenate([stripes(16, "tonal", rng), stripes(16, "percussive", rng)])
    yt = np.repeat([0, 1], 16)
    acc = float((model.predict(Xt, verbose=0).argmax(1) == yt).mean())
    assert acc >= 0.9, f"the toy model did not learn the toy task (accuracy {acc:.2f})"
    return model, Xt, yt


# -- naming and small helpers ------------------------------------------------------------------------
def test_conv_layers_in_block_order_and_response_layer():
    m = small_cnn(filters=(4, 4, 4, 4, 4, 4, 4, 4, 4, 4))  # block10 must come after block9
    names = interpret.conv_layers(m)
    assert names == [f"block{i}_conv" for i in range(1, 11)]
    assert interpret.first_and_last_conv(m) == ("block1_conv", "block10_conv")
    assert interpret.response_layer(m, "block10_conv") == "block10_relu"


def test_model_without_convolutions_is_a_clear_error():
    inp = keras.Input((8,), name="x")
    out = keras.layers.Dense(2, activation="softmax", name="predictions")(inp)
    with pytest.raises(ValueError, match="no convolution layer"):
        interpret.first_and_last_conv(keras.Model(inp, out))


def test_input_range_is_percentiles_and_rejects_constant_input():
    X = np.linspace(-5, 5, 1001)
    lo, hi = interpret.input_range(X, q=(10, 90))
    assert lo == pytest.approx(-4.0) and hi == pytest.approx(4.0)
    with pytest.raises(ValueError):
        interpret.input_range(np.zeros(10))


def test_inputs_without_channel_or_batch_axis_are_accepted_and_wrong_shapes_rejected():
    m = small_cnn()
    x = np.zeros(SHAPE[:2], np.float32)
    assert interpret.unit_activation(m, "block1_relu", [0, 1], x).shape == (1, 2)
    assert interpret.unit_activation(m, "block1_relu", [0], np.zeros((3, *SHAPE[:2]))).shape == (3, 1)
    with pytest.raises(ValueError, match="do not fit"):
        interpret.unit_activation(m, "block1_relu", [0], np.zeros((3, 10, 10)))


def test_linear_model_gives_logits_and_leaves_the_original_alone(trained):
    model, X, _ = trained
    lin = interpret.linear_model(model)
    probs = model.predict(X[:4], verbose=0)
    logits = lin.predict(X[:4], verbose=0)
    assert model.get_layer("predictions").activation is keras.activations.softmax
    np.testing.assert_allclose(np.exp(logits) / np.exp(logits).sum(1, keepdims=True), probs,
                               rtol=1e-4, atol=1e-6)
    assert not np.allclose(logits, probs)


# -- activation maximisation ---------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["first", "last"])
def test_optimised_input_drives_filter_far_above_random_input(trained, which):
    """The optimised image is not blank or noise, because it lifts the filter's mean
    activation far above what random inputs (and real inputs) give."""
    model, X, _ = trained
    conv = interpret.first_and_last_conv(model)[0 if which == "first" else 1]
    layer = interpret.response_layer(model, conv)
    rng = interpret.input_range(X)
    units = [0, 1, 2, 3]
    res = interpret.maximise(model, layer, units, rng, steps=40, progress=False)
    assert res.backend == "tf-keras-vis"
    assert res.images.shape == (4, *SHAPE)
    assert res.images.min() >= rng[0] - 1e-5 and res.images.max() <= rng[1] + 1e-5
    gain = interpret.activation_gain(model, res, reference=X, n_random=8)
    # every filter: at least 5 random-input standard deviations above, and 1.5x the best
    # activation any random input or real input produced
    assert (gain["z"] > 5).all(), gain
    best_other = np.maximum(gain["random_mean"] + 3 * gain["random_std"], gain["real_max"])
    assert (gain["optimised"] > 1.5 * np.maximum(best_other, 1e-3)).all(), gain
    # not the faint starting noise: every image moved far from its seed (a first-layer filter
    # that sums its inputs may rightly end as a flat, loud image: a level detector)
    seed = interpret.seed_inputs(SHAPE, len(units), rng, seed=0)
    moved = np.abs(res.images - seed).reshape(len(units), -1).mean(axis=1)
    assert (moved > 0.1 * (rng[1] - rng[0])).all(), moved


def test_class_images_show_what_each_class_learned(trained):
    """The 'ideal tonal' input is smoother along time (horizontal lines) than the 'ideal
    percussive' one, which is smoother along frequency (vertical lines)."""
    model, X, _ = trained
    res = interpret.maximise(model, "predictions", [0, 1], interpret.input_range(X), steps=50,
                             progress=False)
    assert (res.end > res.start + 1.0).all(), res
    stats = interpret.image_stats(res.images)
    tonal, perc = stats.iloc[0], stats.iloc[1]
    assert tonal["smooth_t"] > tonal["smooth_f"] + 0.1, stats
    assert perc["smooth_f"] > perc["smooth_t"] + 0.1, stats
    probs = model.predict(res.images, verbose=0)
    assert probs[0, 0] > 0.9 and probs[1, 1] > 0.9


def test_tf_keras_vis_and_tape_backends_agree(trained):
    model, X, _ = trained
    rng = interpret.input_range(X)
    a = interpret.maximise(model, "block2_relu", [1, 5], rng, steps=15, backend="tf-keras-vis",
                           progress=False)
    b = interpret.maximise(model, "block2_relu", [1, 5], rng, steps=15, backend="tape",
                           progress=False)
    assert (a.backend, b.backend) == ("tf-keras-vis", "tape")
    np.testing.assert_allclose(a.images, b.images, atol=1e-3)


def test_broken_tf_keras_vis_falls_back_to_the_tape(trained, monkeypatch):
    import tf_keras_vis.activation_maximization as am

    class Broken:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("simulated incompatibility")

    monkeypatch.setattr(am, "ActivationMaximization", Broken)
    model, X, _ = trained
    with pytest.warns(UserWarning, match="simulated incompatibility"):
        res = interpret.maximise(model, "block1_relu", [0], interpret.input_range(X), steps=10,
                                 progress=False)
    assert res.backend == "tape" and res.end[0] > res.start[0]


def test_unknown_backend_is_rejected(trained):
    model, X, _ = trained
    with pytest.raises(ValueError, match="backend"):
        interpret.saliency(model, X[:1], 0, backend="keras-vis")


# -- activation maps, saliency, Grad-CAM -----------------------------------------------------------------
def test_activation_maps_follow_the_layers(trained):
    model, X, _ = trained
    maps = interpret.activation_maps(model, X[0])
    assert list(maps) == ["block1_conv", "block2_conv"]
    assert maps["block1_conv"].shape == (24, 32, 8)
    assert maps["block2_conv"].shape == (12, 16, 16)
    relu = interpret.activation_maps(model, X[0], layers=["block2_relu"])["block2_relu"]
    assert relu.min() >= 0


def test_saliency_matches_finite_differences(trained):
    model, X, y = trained
    x = X[:1]
    sal_tfkv = interpret.saliency(model, x, 0)
    sal_tape = interpret.saliency(model, x, 0, backend="tape")
    np.testing.assert_allclose(sal_tfkv, sal_tape, atol=1e-5)
    assert sal_tape.shape == (1, 24, 32) and sal_tape.min() >= 0 and sal_tape.max() <= 1
    # raw gradient from central differences at the three most salient bins
    lin = interpret.linear_model(model)
    grads = []
    top = np.argsort(sal_tape[0].ravel())[::-1][:3]
    eps = 1e-2
    for flat in top:
        i, j = np.unravel_index(flat, (24, 32))
        up, down = x.copy(), x.copy()
        up[0, i, j, 0] += eps
        down[0, i, j, 0] -= eps
        grads.append((lin.predict(up, verbose=0)[0, 0] - lin.predict(down, verbose=0)[0, 0]) / (2 * eps))
    grads = np.abs(grads)
    # the normalised map orders these bins like the finite differences do
    assert grads[0] >= 0.8 * grads.max()


def test_smoothgrad_is_seeded(trained):
    model, X, _ = trained
    a = interpret.saliency(model, X[:2], [0, 1], smooth_samples=4, seed=3)
    b = interpret.saliency(model, X[:2], [0, 1], smooth_samples=4, seed=3)
    np.testing.assert_array_equal(a, b)


def test_gradcam_backends_agree_and_shapes(trained):
    model, X, y = trained
    cams = interpret.gradcam(model, X[[0, -1]], list(y[[0, -1]]))
    cams_tape = interpret.gradcam(model, X[[0, -1]], list(y[[0, -1]]), backend="tape")
    assert cams.shape == (2, 24, 32)
    np.testing.assert_allclose(cams, cams_tape, atol=1e-4)
    assert cams.min() >= 0 and cams.max() <= 1 + 1e-6


def test_gradcam_defaults_to_the_last_convolution_layer(trained):
    """Without ``layer``, Grad-CAM reads the last convolution layer's own output."""
    model, X, y = trained
    _, last = interpret.first_and_last_conv(model)
    assert last == "block2_conv"
    A, _ = interpret.gradcam_parts(model, X[:1], int(y[0]))
    assert A.shape[1:] == tuple(model.get_layer(last).output.shape[1:])
    np.testing.assert_allclose(interpret.gradcam(model, X[:2], list(y[:2]), backend="tape"),
                               interpret.gradcam(model, X[:2], list(y[:2]), layer=last,
                                                 backend="tape"))


def test_gradcam_points_at_the_evidence(trained):
    """A percussive click placed in the left half only: the percussive class's Grad-CAM puts
    more weight on the left half of the clip."""
    model, X, _ = trained
    x = np.full((1, *SHAPE), -0.3, np.float32)
    x[0, :, [4, 9], 0] = 2.5
    cam = interpret.gradcam(model, x, 1, layer="block2_conv")[0]
    assert cam[:, :16].sum() > 2 * cam[:, 16:].sum()


def test_tf_keras_vis_check_reports_agreement(trained):
    model, X, _ = trained
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = interpret.tf_keras_vis_check(model, X[:2])
    assert list(table["method"]) == ["Saliency", "Gradcam"]
    assert table["ok"].all() and (table["max_abs_diff"] < 1e-3).all()


def test_works_with_the_project_cnn2d_builder():
    """The contract's 2D model: first and last conv found, maps and Grad-CAM shaped like the input."""
    from genre_lib import models

    m = models.build_cnn2d((32, 40, 1), 3)
    first, last = interpret.first_and_last_conv(m)
    assert (first, last) == ("block1_conv", f"block{len(interpret.conv_layers(m))}_conv")
    x = np.random.default_rng(0).standard_normal((2, 32, 40, 1)).astype(np.float32)
    assert interpret.gradcam(m, x, [0, 2]).shape == (2, 32, 40)
    res = interpret.maximise(m, interpret.response_layer(m, last), [0, 1], (-2.0, 2.0), steps=15,
                             progress=False)
    assert (res.end > res.start).all()


# -- choosing real clips ----------------------------------------------------------------------------------
def test_pick_tracks_prefers_named_genres_and_falls_back_to_tags():
    import pandas as pd

    table = pd.DataFrame({"track_id": [f"t{i}" for i in range(8)],
                          "genre": ["jazz", "rock", "rock", "pop", "classical", "jazz", "pop", "rock"],
                          "split": ["test"] * 6 + ["train"] * 2,
                          "tags": [["a"], ["b"], [], ["a", "c"], ["c"], ["b"], ["a"], ["a"]]},
                         index=range(10, 18))
    rows = interpret.pick_tracks(table, n=3, prefer=("rock", "classical", "metal"))
    assert [table.iloc[r]["genre"] for r in rows] == ["rock", "classical", "jazz"]
    assert all(table.iloc[r]["split"] == "test" for r in rows)
    tags_only = table.assign(genre=None)
    rows = interpret.pick_tracks(tags_only, n=4)
    firsts = [(table.iloc[r]["tags"] or ["(no tag)"])[0] for r in rows]
    assert len(set(firsts)) == len(firsts) == 4


def test_excerpts_are_raw_chunks_of_the_clip_in_the_model_layout():
    """Models standardise their own input, so an excerpt is the raw dB chunk, laid out for the
    model by ``trained.inputs``."""
    from types import SimpleNamespace

    import pandas as pd

    from genre_lib import pipeline
    from genre_lib.features import FeatureSet

    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 6, 40)).astype(np.float32) * 10 - 40
    fs = FeatureSet("logmel", {}, pd.DataFrame({"track_id": ["a", "b", "c"]}), X)
    stub = SimpleNamespace(chunk=16, inputs=lambda raw: pipeline.to_layout(raw, "mel2d"))
    inputs, raw = interpret.excerpts(stub, fs, [2, 0])       # chunks start at 0, 16; middle: 16
    assert inputs.shape == (2, 6, 16, 1) and raw.shape == (2, 6, 16)
    np.testing.assert_allclose(raw[0], X[2, :, 16:32])
    np.testing.assert_allclose(inputs[1, ..., 0], X[0, :, 16:32])
    first, _ = interpret.excerpts(stub, fs, [1], which="first")
    np.testing.assert_allclose(first[0, ..., 0], X[1, :, :16])
