"""The GPU path on a CPU: what `devices.get_strategy` selects on one GPU (the ``mixed_float16``
policy: float16 compute, float32 weights) must train, save and reload correctly, and must not
reach the networks that need float32.

The GPU is faked by making ``devices.gpus`` report one; Keras runs float16 kernels on the CPU
as well (slowly), so the same code path runs. On a real GPU machine, ``scripts/gpu_check.sh``.
"""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from genre_lib import devices, models, musicnn, training  # noqa: E402


@pytest.fixture
def one_fake_gpu(monkeypatch):
    monkeypatch.setattr(devices, "gpus", lambda: ["/physical_device:GPU:0 (fake)"])
    yield
    keras.config.set_dtype_policy("float32")


def test_one_gpu_selects_mixed_precision(one_fake_gpu):
    strategy = devices.get_strategy()
    assert keras.config.dtype_policy().name == "mixed_float16"
    assert strategy.num_replicas_in_sync == 1
    assert devices.describe_device() == ("1 GPU (/physical_device:GPU:0 (fake)): mixed precision on "
                                         "(float16 compute, float32 weights)")


def test_mixed_precision_training_keeps_the_output_and_loss_float32(one_fake_gpu, ci_settings,
                                                                     tmp_path):
    settings = ci_settings.with_(work_dir=tmp_path)
    trained = training.load_or_train("mixed_check", arch="cnn1d_mel", epochs=1, settings=settings)
    model = trained.model
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv1D)]
    assert convs and all(layer.compute_dtype == "float16" for layer in convs)
    assert all(w.dtype == "float32" for w in model.weights)          # float32 master weights
    head = model.get_layer("predictions")
    assert head.compute_dtype == "float32" and model.outputs[0].dtype == "float32"
    losses = trained.history["loss"]
    assert all(np.isfinite(losses)), losses                            # loss scaling worked
    # saved in mixed precision, loaded back (by plain Keras, under the float32 policy): the
    # same predictions on the same test chunks
    X = trained.prepare(trained.features().subset("test"))[:16]
    keras.config.set_dtype_policy("float32")
    loaded = models.load("mixed_check", settings=settings)
    a = trained.predict(X)
    b = loaded.predict(X)
    assert a.dtype == np.float32 and np.allclose(a.sum(1), 1, atol=1e-3)
    assert np.abs(a - b).max() < 2e-3, np.abs(a - b).max()


def test_musicnn_stays_float32_under_mixed_precision(one_fake_gpu):
    devices.get_strategy()
    assert keras.config.dtype_policy().name == "mixed_float16"
    model = musicnn.load_pretrained("MSD_musicnn")
    assert {layer.compute_dtype for layer in model.layers} == {"float32"}
    assert keras.config.dtype_policy().name == "mixed_float16"    # the global policy is restored
    notes, arrays = musicnn.reference_arrays()
    loud = next(c for c in notes["clips"] if np.abs(arrays[f"{c}/audio"]).max() > 32000)
    y = arrays[f"{loud}/audio"].astype(np.float32) / 32768.0
    out = musicnn.features(y, notes["sr"], model="MSD_musicnn", layers=("predictions",))
    assert np.abs(out["predictions"] - arrays[f"{loud}/MSD_musicnn/taggram"]).max() <= 1e-4
