"""Saved models are self-contained and bound to their sidecar: a plain Keras load maps raw
chunks to the same probabilities as genre_lib, and every way the pair can disagree (edited
or reordered sidecar, wrong class count, other feature parameters, a JSON list, a corrupt or
swapped model file, a crash between the two writes) is refused with a one-line error. The
model is the session's ``small_model`` (tests/conftest.py), shared with tests/test_predict.py
and tests/test_serve.py; every test that changes the pair works on a private copy."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from genre_lib import models, pipeline, training  # noqa: E402
from genre_lib.models import saving  # noqa: E402


@pytest.fixture
def pair(small_model, ci_settings, tmp_path):
    """A private copy of the saved pair: (settings that find it, model path, sidecar path);
    the pair's name is ``small_model.name``."""
    settings = ci_settings.with_(work_dir=tmp_path)
    settings.models_dir.mkdir(parents=True)
    for src in models.paths_for(small_model.name, settings=ci_settings):
        shutil.copy2(src, settings.models_dir / src.name)
    model_path, meta_path = models.paths_for(small_model.name, settings=settings)
    return settings, model_path, meta_path


def _edit_sidecar(meta_path, change, keep_checksum: bool = False):
    meta = json.loads(meta_path.read_text())
    change(meta)
    if keep_checksum:  # a careful forger: the checksum matches, the content is still wrong
        meta[saving.CHECKSUM_KEY] = saving.content_checksum(meta)
    meta_path.write_text(json.dumps(meta))


def _refused(settings, name, match):
    with pytest.raises(saving.SavedModelError, match=match) as info:
        models.load(name, settings=settings)
    message = str(info.value)
    assert "\n" not in message and f"{name}.keras" in message and f"{name}.json" in message
    return message


def test_plain_keras_file_maps_raw_chunks_to_the_same_probabilities(small_model, ci_table, tmp_path):
    fs = small_model.features(ci_table, progress=False)
    rows = np.flatnonzero((fs.table["split"] == "test").to_numpy())[:3]
    starts = pipeline.chunk_starts(fs.X.shape[-1], small_model.chunk)
    raw = np.stack([pipeline.crop(np.asarray(fs.X[int(r)]), int(s), small_model.chunk)
                    for r in rows for s in starts])            # (n, n_mels, frames), in dB
    X = np.ascontiguousarray(np.swapaxes(raw, 1, 2))          # the model's (frames, n_mels)
    np.save(tmp_path / "x.npy", X)
    script = ("import sys, numpy as np, keras\n"
              "m = keras.saving.load_model(sys.argv[1])\n"
              "np.save(sys.argv[3], m.predict(np.load(sys.argv[2]), verbose=0))\n"
              "assert not any(k.startswith('genre_lib') for k in sys.modules)\n")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    subprocess.run([sys.executable, "-c", script, str(small_model.path), str(tmp_path / "x.npy"),
                    str(tmp_path / "p.npy")], check=True, env=env, capture_output=True)
    plain = np.load(tmp_path / "p.npy")
    X, ids = small_model.chunks(fs, rows=rows)
    ours = small_model.predict(X)
    assert list(ids) == [t for t in fs.table["track_id"].to_numpy()[rows] for _ in starts]
    np.testing.assert_allclose(plain, ours, atol=1e-5)
    np.testing.assert_allclose(small_model.predict(small_model.inputs(raw)), ours, atol=1e-6)


def test_an_intact_pair_loads(pair, small_model):
    settings, model_path, _ = pair
    again = models.load(small_model.name, settings=settings)
    assert again.path == model_path and again.meta[saving.MODEL_HASH_KEY] == saving.file_sha256(model_path)


def test_an_edited_or_reordered_sidecar_is_refused(pair, small_model):
    settings, _, meta_path = pair
    _edit_sidecar(meta_path, lambda m: m["classes"].reverse())
    _refused(settings, small_model.name, "changed after it was saved")


def test_a_sidecar_that_disagrees_with_the_model_is_refused(pair, small_model):
    settings, _, meta_path = pair
    original = meta_path.read_text()
    _edit_sidecar(meta_path, lambda m: m["classes"].append("polka"), keep_checksum=True)
    _refused(settings, small_model.name, r"outputs but the sidecar names \d+ classes")
    meta_path.write_text(original)
    _edit_sidecar(meta_path, lambda m: m["feature_params"].update(n_mels=64), keep_checksum=True)
    _refused(settings, small_model.name, "feature parameters give inputs of shape")
    meta_path.write_text(original)
    _edit_sidecar(meta_path, lambda m: m.update(version=1), keep_checksum=True)
    _refused(settings, small_model.name, "format 1")


def test_a_json_list_sidecar_gives_a_clear_error(pair, small_model, monkeypatch, capsys):
    settings, _, meta_path = pair
    meta_path.write_text("[1, 2, 3]")
    _refused(settings, small_model.name, "holds a JSON list, not an object")
    meta_path.write_text("{not json")
    _refused(settings, small_model.name, "not valid JSON")
    monkeypatch.setattr(training, "train", lambda *args, **kwargs: "retrained")
    again = training.load_or_train(small_model.name, arch="cnn1d_mel", epochs=1, settings=settings)
    assert again == "retrained"
    assert "retraining" in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped"])
def test_a_corrupt_model_file_says_it_is_corrupt(pair, small_model, damage):
    settings, model_path, _ = pair
    data = bytearray(model_path.read_bytes())
    if damage == "garbage":
        data = bytearray(b"not a keras file")
    elif damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 3] ^= 0xFF
    model_path.write_bytes(bytes(data))
    _refused(settings, small_model.name, "corrupt")


def test_a_model_file_from_another_save_does_not_match(pair, small_model):
    settings, model_path, _ = pair
    small_model.model.save(model_path)  # same weights, but not the file the sidecar was written for
    _refused(settings, small_model.name, "do not belong together")


def test_a_crash_between_the_two_writes_never_leaves_a_usable_mismatched_pair(pair, small_model,
                                                                             monkeypatch, capsys):
    settings, model_path, meta_path = pair
    name = small_model.name
    trained = models.load(name, settings=settings)
    bias = trained.model.get_layer("predictions").bias
    bias.assign(bias.numpy() + 1.0)  # a different model, as after retraining
    real_replace = os.replace

    def crash_on(suffix):
        def replace(src, dst):
            if str(dst).endswith(suffix):
                raise OSError("simulated crash")
            return real_replace(src, dst)
        return replace

    # crash before the model is renamed: the old pair is intact and still loads
    monkeypatch.setattr(saving.os, "replace", crash_on(".keras"))
    with pytest.raises(OSError, match="simulated crash"):
        saving.save_pair(trained.model, trained.meta, model_path, meta_path)
    models.load(name, settings=settings)
    # crash between the two renames: new model, old sidecar; refused, and retrained on request
    monkeypatch.setattr(saving.os, "replace", crash_on(".json"))
    with pytest.raises(OSError, match="simulated crash"):
        saving.save_pair(trained.model, trained.meta, model_path, meta_path)
    monkeypatch.setattr(saving.os, "replace", real_replace)
    assert sorted(p.name for p in settings.models_dir.iterdir()) == [f"{name}.json", f"{name}.keras"]
    _refused(settings, name, "do not belong together")
    monkeypatch.setattr(training, "train", lambda *args, **kwargs: "retrained")
    assert training.load_or_train(name, arch="cnn1d_mel", epochs=1, settings=settings) == "retrained"
    assert "do not belong together" in capsys.readouterr().out
    # a complete save makes the pair whole again
    saving.save_pair(trained.model, trained.meta, model_path, meta_path)
    assert models.load(name, settings=settings).meta["classes"] == trained.classes


def test_missing_files_are_file_not_found(pair, small_model):
    settings, model_path, meta_path = pair
    meta_path.unlink()
    with pytest.raises(FileNotFoundError, match=small_model.name):
        models.load(small_model.name, settings=settings)
    assert models.saved_models(settings=settings) == []
