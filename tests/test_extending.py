"""Extending the curriculum through its public registries alone, as docs/extending.md shows:
a new model is one declaration, and ``load_or_train`` then trains, saves and scores it on
the current (synth, ci) data like any built-in model."""
from __future__ import annotations

import pytest

pytest.importorskip("tensorflow")

from genre_lib import evaluation, models, training  # noqa: E402


# -- adding a model ------------------------------------------------------------------------------
def build_toy(input_shape, n_classes, head="softmax", width: int = 4):
    """One named conv block, global pooling, the ``embedding`` and ``predictions`` layers."""
    import keras

    inputs = keras.Input(input_shape, name="logmel")
    x = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name="block1_conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    x = keras.layers.Dense(8, activation="relu", name="embedding")(x)
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation=head, name="predictions")(x))


@pytest.fixture
def toy_model():
    spec = models.register_model(models.ModelSpec(
        "toy", build_toy, layout="mel2d", label="toy CNN", feature_params={"n_mels": 32},
        train={"epochs": 1, "crops_per_track": 1, "batch_size": 64}))  # one step of training
    yield spec
    models.unregister_model("toy")


def test_a_registered_model_trains_through_load_or_train(toy_model, ci_settings, ci_table):
    t = training.load_or_train("toy", ci_settings)
    assert int(t.model.optimizer.iterations.numpy()) == 1  # one epoch of one step
    assert t.meta["arch"] == "toy" and t.meta["label"] == "toy CNN"
    assert t.meta["feature_params"]["n_mels"] == 32 and t.input_shape == (32, t.chunk, 1)
    assert t.model.layers[1].name == "normalise" and t.model.get_layer("block1_conv")
    assert t.classes == training.task(ci_settings, ci_table).classes
    assert set(t.meta["metrics"]) == {"valid", "test"}
    rows = evaluation.load_results(ci_settings, split="test")
    assert rows.loc[rows["model"] == "toy", "label"].tolist() == ["toy CNN"]
    again = training.load_or_train("toy", ci_settings)  # saved: loaded, not trained again
    assert again.path == t.path and "epochs_run" in again.meta
    width = training.load_or_train("toy_wide", ci_settings, arch="toy", width=6)
    assert width.model.get_layer("block1_conv").filters == 6


# -- adding a dataset ----------------------------------------------------------------------------
# (reserved: a toy dataset registered through the public dataset registry, then a model
# trained on it with load_or_train, goes here)
