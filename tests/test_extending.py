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
        train={"steps": 1, "epoch_chunks": 64, "batch_size": 64}))  # one step of training
    yield spec
    models.unregister_model("toy")


def test_a_registered_model_trains_through_load_or_train(toy_model, ci_settings, ci_table):
    t = training.load_or_train("toy", settings=ci_settings)
    assert int(t.model.optimizer.iterations.numpy()) == 1  # one epoch of one step
    assert t.meta["arch"] == "toy" and t.meta["label"] == "toy CNN"
    assert t.meta["feature_params"]["n_mels"] == 32 and t.input_shape == (32, t.chunk, 1)
    assert t.model.layers[1].name == "normalise" and t.model.get_layer("block1_conv")
    assert t.classes == training.task(ci_table, settings=ci_settings).classes
    assert set(t.meta["metrics"]) == {"valid", "test"}
    rows = evaluation.load_results(split="test", settings=ci_settings)
    assert rows.loc[rows["model"] == "toy", "label"].tolist() == ["toy CNN"]
    again = training.load_or_train("toy", settings=ci_settings)  # saved: loaded, not trained again
    assert again.path == t.path and "epochs_run" in again.meta
    width = training.load_or_train("toy_wide", arch="toy", width=6, settings=ci_settings)
    assert width.model.get_layer("block1_conv").filters == 6


# -- adding a dataset ----------------------------------------------------------------------------
def write_toy_clips(root, per_genre=6, seconds=4.0, sr=22050):
    """Two "genres" anyone can hear apart: low hums and high whistles, with some noise."""
    import numpy as np

    from genre_lib import audio

    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    for genre, base in (("hum", 110.0), ("whistle", 2500.0)):
        for i in range(per_genre):
            f = base * (1 + 0.1 * rng.random())
            y = 0.4 * np.sin(2 * np.pi * f * t) + 0.05 * rng.normal(size=t.size)
            audio.write_wav(root / genre / f"{genre}.{i:02d}.wav", y.astype(np.float32), sr)


def load_toy_table(settings):
    """The loader a new dataset needs: one row per clip, the table contract's columns."""
    import pandas as pd

    from genre_lib import datasets

    root = settings.data_dir / "toy"
    rows = [{"track_id": p.stem, "path": str(p.resolve()), "genre": p.parent.name, "tags": []}
            for p in sorted(root.glob("*/*.wav"))]
    table = pd.DataFrame(rows)
    table["split"] = datasets.stratified_split(table["genre"], seed=settings.seed)
    return table


@pytest.fixture
def toy_dataset(ci_settings):
    from genre_lib import datasets

    write_toy_clips(ci_settings.data_dir / "toy")
    datasets.register(datasets.DatasetSpec("toy", load_toy_table, clip_seconds=4.0))
    yield ci_settings.with_(dataset="toy")
    datasets.unregister("toy")


def test_a_registered_dataset_trains_the_registered_model(toy_dataset, toy_model):
    from genre_lib import datasets, features
    from genre_lib.config import get_settings

    settings = toy_dataset
    assert get_settings(dataset="toy", data_dir=settings.data_dir).dataset == "toy"
    table = datasets.load_table(settings=settings)
    assert datasets.labels(table) == ["hum", "whistle"]
    assert set(table["split"]) == {"train", "valid", "test"}
    assert features.default_seconds(table, settings=settings) == pytest.approx(4.0)
    t = training.load_or_train("toy", settings=settings)
    assert t.meta["dataset"] == "toy" and t.classes == ["hum", "whistle"]
    assert int(t.model.optimizer.iterations.numpy()) == 1
    assert t.path.parent == settings.models_dir and settings.run_name == "toy-ci"
