"""Every builder: named layers, the embedding/predictions contract, both heads, one step;
the registry of model specs; and the normalisation layer that makes a model self-contained."""
from __future__ import annotations

import re

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from genre_lib import models  # noqa: E402

# small inputs so the whole file runs in seconds; every layout the builders accept
SHAPES = {"mel2d": (16, 32, 1), "mel1d": (64, 16), "wave": (2048, 1)}
N_CLASSES = 5


def _auto_named(layer) -> bool:
    """Whether Keras made the layer's name up (``dense``, ``conv2d_3`` ...)."""
    from keras.src.utils.naming import to_snake_case

    return re.fullmatch(re.escape(to_snake_case(type(layer).__name__)) + r"(_\d+)?", layer.name) is not None


@pytest.mark.parametrize("name", sorted(models.BUILDERS))
def test_builder_contract_and_one_training_step(name):
    shape = SHAPES[models.spec(name).layout]
    model = models.build(name, shape, N_CLASSES)
    assert isinstance(model, keras.Model)
    assert not model.compiled  # uncompiled: the caller chooses loss and optimiser
    assert tuple(model.input_shape[1:]) == shape
    assert model.output_shape == (None, N_CLASSES)
    unnamed = [layer.name for layer in model.layers if _auto_named(layer)]
    assert not unnamed, f"{name}: layers left with automatic names: {unnamed}"
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.name for d in dense[-2:]] == ["embedding", "predictions"]
    assert model.get_layer("predictions").activation.__name__ == "softmax"
    assert model.layers[-1].name == "predictions"

    rng = np.random.default_rng(0)
    X = rng.normal(size=(8,) + shape).astype("float32")
    y = np.arange(8) % N_CLASSES
    # eager: one step on a tiny batch is quicker than tracing a graph for it
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", run_eagerly=True)
    before = [w.copy() for w in model.get_layer("predictions").get_weights()]
    loss = float(model.train_on_batch(X, y))
    after = model.get_layer("predictions").get_weights()
    assert np.isfinite(loss)
    assert any(not np.allclose(a, b) for a, b in zip(before, after)), "one step changed nothing"
    proba = np.asarray(model(X, training=False))
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-4)


@pytest.mark.parametrize("name", ["cnn2d", "crnn1d", "cnn1d_waveform"])
def test_sigmoid_head_for_tags(name):
    shape = SHAPES[models.spec(name).layout]
    model = models.build(name, shape, 7, head="sigmoid")
    assert model.get_layer("predictions").activation.__name__ == "sigmoid"
    out = np.asarray(model(np.zeros((2,) + shape, "float32"), training=False))
    assert out.shape == (2, 7) and ((out > 0) & (out < 1)).all()
    assert not np.allclose(out.sum(1), 1.0)  # independent probabilities, not a distribution


@pytest.mark.parametrize("name,n", [("cnn2d", 4), ("crnn2d", 4), ("parallel_cnn_rnn", 5),
                                    ("short_chunk_resnet", 7)])
def test_2d_conv_blocks_numbered_in_order(name, n):
    model = models.build(name, SHAPES["mel2d"], 3)
    assert models.conv_layer_names(model) == [f"block{i}_conv" for i in range(1, n + 1)]
    first, last = model.get_layer("block1_conv"), model.get_layer(f"block{n}_conv")
    assert first.kernel.shape[2] == 1  # the first block reads the one-channel image
    assert len(last.output.shape) == 4


def test_crnn1d_follows_the_fma_study():
    model = models.build("crnn1d", (128, 128), 8)
    convs = [model.get_layer(f"block{i}_conv") for i in (1, 2, 3)]
    assert [(c.filters, c.kernel_size) for c in convs] == [(56, (5,))] * 3
    assert all(c.kernel_regularizer is not None for c in convs)
    assert isinstance(model.get_layer("rnn"), keras.layers.LSTM)
    assert model.get_layer("rnn").units == 96
    assert model.get_layer("embedding").units == 64
    gru = models.build("crnn1d", (128, 128), 8, rnn="gru")
    assert isinstance(gru.get_layer("rnn"), keras.layers.GRU)


def test_parallel_cnn_rnn_has_both_branches():
    model = models.build("parallel_cnn_rnn", (128, 128, 1), 8)
    assert [model.get_layer(f"block{i}_conv").filters for i in range(1, 6)] == [16, 32, 64, 64, 64]
    bigru = model.get_layer("bigru")
    assert isinstance(bigru, keras.layers.Bidirectional) and bigru.forward_layer.units == 64
    concat = model.get_layer("cnn_rnn_concat")
    assert len(concat.input) == 2


def test_bad_arguments_fail_clearly():
    with pytest.raises(ValueError, match="head"):
        models.build("cnn2d", SHAPES["mel2d"], 3, head="relu")
    with pytest.raises(ValueError, match="rank 3"):
        models.build("cnn2d", (32, 64), 3)
    with pytest.raises(TypeError, match="no hyper-parameter"):
        models.build("cnn2d", SHAPES["mel2d"], 3, units=3)
    with pytest.raises(KeyError, match="unknown model"):
        models.spec("vgg99")
    with pytest.raises(ValueError, match="multiple"):
        models.build("chunk_cnn1d", (50, 32), 3)
    with pytest.raises(ValueError, match="rnn"):
        models.build("lstm_mel", SHAPES["mel1d"], 3, rnn="transformer")


# -- the registry -----------------------------------------------------------------------------
def test_registry_views_are_read_only_and_derived():
    assert list(models.SPECS) == list(models.BUILDERS) == models.names()
    assert models.BUILDERS["cnn2d"] is models.build_cnn2d is models.spec("cnn2d").builder
    with pytest.raises(TypeError):
        models.SPECS["cnn2d"] = models.spec("cnn1d_mel")
    with pytest.raises(TypeError):
        models.BUILDERS["cnn2d"] = models.build_cnn1d_mel


def test_register_and_unregister_a_model():
    def build_tiny(input_shape, n_classes, head="softmax", units: int = 4):
        inputs = keras.Input(input_shape, name="logmel")
        x = keras.layers.GlobalAveragePooling2D(name="global_pool")(inputs)
        x = keras.layers.Dense(units, activation="relu", name="embedding")(x)
        return keras.Model(inputs, keras.layers.Dense(n_classes, activation=head, name="predictions")(x))

    spec = models.register_model(models.ModelSpec("tiny_test", build_tiny, "mel2d", "tiny",
                                                  hyper={"units": 3}, train={"epochs": 1}))
    try:
        assert models.spec("tiny_test") is spec and "tiny_test" in models.BUILDERS
        assert spec.feature_kind == "logmel" and spec.hyper_defaults() == {"units": 3}
        assert models.build("tiny_test", (8, 16, 1), 2).get_layer("embedding").units == 3
        with pytest.raises(ValueError, match="registered already"):
            models.register_model(spec)
        assert models.register_model(spec, replace=True) is spec
    finally:
        models.unregister_model("tiny_test")
    assert "tiny_test" not in models.SPECS


def test_bad_specs_fail_clearly():
    with pytest.raises(ValueError, match="layout"):
        models.ModelSpec("x", models.build_cnn2d, "image")
    with pytest.raises(TypeError, match="input_shape, n_classes"):
        models.ModelSpec("x", lambda shape, k: None, "mel2d")
    with pytest.raises(TypeError, match="no hyper-parameter"):
        models.ModelSpec("x", models.build_cnn2d, "mel2d", hyper={"units": 3})
    with pytest.raises(TypeError, match="ModelSpec"):
        models.register_model("cnn2d")


def test_labels_follow_the_recurrent_cell():
    assert models.spec("crnn1d").label_for() == "CRNN: 1D conv + LSTM"
    assert models.spec("crnn1d").label_for({"rnn": "gru"}) == "CRNN: 1D conv + GRU"
    assert models.spec("crnn2d").label_for() == "CRNN: 2D conv + GRU"
    assert models.spec("cnn2d").label_for({"filters": (8,)}) == "2D CNN on log-mel"


def test_feature_parameters_come_from_the_settings_and_the_spec():
    from genre_lib.config import get_settings

    s = get_settings(profile="ci")
    assert models.spec("cnn2d").features_for(settings=s) == s.mel_params
    assert models.spec("cnn2d").features_for(n_mels=96, settings=s)["n_mels"] == 96
    assert models.spec("cnn1d_waveform").features_for(settings=s) == {"sr": s.waveform_sr}
    assert models.spec("cnn2d").input_shape(settings=s) == (s.n_mels, 128, 1)
    assert models.spec("crnn1d").input_shape(n_mels=64, settings=s) == (128, 64)
    assert models.spec("cnn1d_waveform").input_shape(settings=s) == (3 * s.waveform_sr, 1)
    with pytest.raises(TypeError, match="n_mfcc"):
        models.spec("cnn2d").features_for(n_mfcc=13, settings=s)


# -- the normalise layer ------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(models.BUILDERS))
def test_normalise_layer_standardises_raw_input_and_keeps_the_names(name):
    from genre_lib.models.registry import BAND_AXIS

    layout = models.spec(name).layout
    shape = SHAPES[layout]
    bands = ((None,) + shape)[BAND_AXIS[layout]]  # the axis counts the batch axis
    rng = np.random.default_rng(1)
    mean = rng.normal(-40, 10, bands).astype("float32")
    std = rng.uniform(2, 8, bands).astype("float32")
    keras.utils.set_random_seed(3)
    bare = models.build(name, shape, N_CLASSES)
    keras.utils.set_random_seed(3)
    model = models.build(name, shape, N_CLASSES, normalise=(mean, std ** 2))
    assert [layer.name for layer in model.layers][:2] == [model.inputs[0].name, "normalise"]
    assert {layer.name for layer in bare.layers} < {layer.name for layer in model.layers}
    for layer in bare.layers:
        for a, b in zip(layer.get_weights(), model.get_layer(layer.name).get_weights()):
            np.testing.assert_array_equal(a, b)  # same starting weights as the bare model
    broadcast = [1] * (len(shape) + 1)
    broadcast[BAND_AXIS[layout]] = bands
    raw = (rng.normal(size=(3,) + shape) * std.reshape(broadcast) + mean.reshape(broadcast)).astype("float32")
    standardised = (raw - mean.reshape(broadcast)) / std.reshape(broadcast)
    np.testing.assert_allclose(np.asarray(model(raw, training=False)),
                               np.asarray(bare(standardised, training=False)), atol=1e-5)
    # layers taken by name still connect to the model's input (as interpret and embeddings do)
    probe = keras.Model(model.inputs[0], model.get_layer("embedding").output)
    assert probe(raw).shape == (3, 64)
