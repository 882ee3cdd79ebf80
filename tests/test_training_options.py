"""Training options added for the hyper-parameter search: the optimizer (Adam or AdamW), the
learning-rate schedule (plateau or step), a training seed apart from the data's, extra Keras
callbacks, the splits scored after training, and the CRNN's number of recurrent layers."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("tensorflow")

from genre_lib import callbacks, training  # noqa: E402
from genre_lib.models import build_crnn1d  # noqa: E402


def test_defaults_are_unchanged():
    d = training.TRAIN_DEFAULTS
    assert (d["lr"], d["patience"], d["augment"]) == (3e-3, 6, ("gain", "mask"))
    assert (d["optimizer"], d["weight_decay"], d["schedule"], d["seed"]) == ("adam", None, "plateau", None)


def test_make_optimizer():
    import keras

    adam = callbacks.make_optimizer("adam", 1e-3)
    assert type(adam) is keras.optimizers.Adam and adam.weight_decay is None
    assert float(adam.learning_rate) == pytest.approx(1e-3)
    adamw = callbacks.make_optimizer("adamw", 2e-4)
    assert isinstance(adamw, keras.optimizers.AdamW) and adamw.weight_decay == pytest.approx(0.004)
    assert callbacks.make_optimizer("adamw", 1e-3, weight_decay=0.01).weight_decay == pytest.approx(0.01)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        callbacks.make_optimizer("sgd")


def test_make_callbacks_schedules():
    import keras

    plateau = callbacks.make_callbacks(None, patience=6)
    assert [type(c) for c in plateau] == [keras.callbacks.EarlyStopping,
                                          keras.callbacks.ReduceLROnPlateau]
    assert plateau[1].patience == 3
    step = callbacks.make_callbacks(None, patience=6, schedule="step", decay_every=3)
    sched = step[1]
    assert isinstance(sched, keras.callbacks.LearningRateScheduler)
    assert [sched.schedule(e, 1.0) for e in range(7)] == [1.0, 1.0, 1.0, 0.5, 1.0, 1.0, 0.5]
    with pytest.raises(ValueError, match="schedule must be one of"):
        callbacks.make_callbacks(None, schedule="cosine")


def test_unknown_options_fail_before_any_work(ci_settings, tmp_path):
    settings = ci_settings.with_(work_dir=tmp_path)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        training.load_or_train("x", arch="crnn1d", optimizer="sgd", settings=settings)
    with pytest.raises(ValueError, match="schedule"):
        training.load_or_train("x", arch="crnn1d", schedule="cosine", settings=settings)
    assert not settings.models_dir.exists()


def test_crnn1d_rnn_layers_default_keeps_the_architecture():
    one = build_crnn1d((128, 32), 4, rnn="gru")
    names = [layer.name for layer in one.layers]
    assert "rnn" in names and "rnn1" not in names
    assert one.get_layer("rnn").units == 96
    two = build_crnn1d((128, 32), 4, rnn="gru", units=64, rnn_layers=2)
    assert two.get_layer("rnn1").return_sequences and not two.get_layer("rnn").return_sequences
    assert two.count_params() > build_crnn1d((128, 32), 4, rnn="gru", units=64).count_params()
    with pytest.raises(ValueError, match="rnn_layers"):
        build_crnn1d((128, 32), 4, rnn_layers=0)


def test_adamw_step_seed_callbacks_and_valid_only_scoring(ci_settings, tmp_path):
    import keras

    class Epochs(keras.callbacks.Callback):
        seen = []

        def on_epoch_end(self, epoch, logs=None):
            self.seen.append((epoch, float(logs["learning_rate"])))

    settings = ci_settings.with_(work_dir=tmp_path)
    rec = Epochs()
    t = training.load_or_train("opts", arch="crnn1d", rnn="gru", units=16, epochs=2,
                               lr=1e-3, optimizer="adamw", schedule="step", decay_every=1,
                               seed=7, callbacks=[rec], score_on=("valid",), settings=settings)
    assert [e for e, _ in rec.seen] == [0, 1]
    assert rec.seen[1][1] == pytest.approx(rec.seen[0][1] / 2)
    meta = json.loads(t.path.with_suffix(".json").read_text())
    assert meta["seed"] == 7 and meta["train_hyper"]["optimizer"] == "adamw"
    assert set(meta["metrics"]) == {"valid"}
    rows = sorted(p.name for p in settings.results_dir.glob("*.json"))
    assert rows == ["opts__valid.json"]
    assert json.loads((settings.results_dir / rows[0]).read_text())["seed"] == 7
    again = training.load_or_train("opts", arch="crnn1d", rnn="gru", units=16, epochs=2,
                                   lr=1e-3, optimizer="adamw", schedule="step", decay_every=1,
                                   seed=7, score_on=("valid",), settings=settings)
    assert again.meta["trained_at"] == meta["trained_at"]  # loaded, not retrained
