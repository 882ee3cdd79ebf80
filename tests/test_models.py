"""Every builder: named layers, the embedding/predictions contract, both heads, one step."""
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
