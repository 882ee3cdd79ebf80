"""A training killed mid-way (a closed laptop lid, a dropped Colab session) resumes from the last
finished epoch, and ends with the very model an uninterrupted training with the same seed
gives: same weights, same history, same scores."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

TRAIN = """
import json, os, sys
from pathlib import Path
import keras
import numpy as np
import genre_lib as gl
from genre_lib import training

class Die(keras.callbacks.Callback):
    # the process ends abruptly, as a killed kernel does: nothing is cleaned up
    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == int(sys.argv[3]):
            os._exit(3)

settings = gl.get_settings(profile="ci", data_dir=Path(sys.argv[2]), work_dir=Path(sys.argv[1]))
extra = [Die()] if int(sys.argv[3]) else None
trained = training.load_or_train("resume_check", arch="cnn1d_mel", epochs=4, patience=3,
                                 callbacks=extra, settings=settings)
np.savez(Path(sys.argv[1]) / "weights.npz", *[np.asarray(w) for w in trained.model.weights])
(Path(sys.argv[1]) / "result.json").write_text(json.dumps(
    {"metrics": trained.meta["metrics"], "history": trained.meta["history"]}))
"""


def _run(work, data_dir, die_after: int, seed: int):
    env = {**os.environ, "GENRE_SEED": str(seed)}
    return subprocess.run([sys.executable, "-c", TRAIN, str(work), str(data_dir), str(die_after)],
                          env=env, capture_output=True, text=True)


def _result(work):
    with np.load(work / "weights.npz") as f:
        weights = [f[k] for k in f.files]
    return weights, json.loads((work / "result.json").read_text())


def test_killed_training_resumes_to_the_uninterrupted_model(ci_settings, ci_table, tmp_path):
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    whole.mkdir(), broken.mkdir()
    done = _run(whole, ci_settings.data_dir, 0, ci_settings.seed)
    assert done.returncode == 0, done.stderr[-2000:]

    killed = _run(broken, ci_settings.data_dir, 2, ci_settings.seed)
    assert killed.returncode == 3, killed.stderr[-2000:]  # died after its second epoch
    state = broken / "models" / "synth-ci" / "resume_check.resume.npz"
    assert state.exists() and not (state.parent / "resume_check.keras").exists()

    resumed = _run(broken, ci_settings.data_dir, 0, ci_settings.seed)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming resume_check after epoch 2 of 4" in resumed.stdout
    assert not state.exists()  # the finished model replaces the state

    (w1, r1), (w2, r2) = _result(whole), _result(broken)
    assert len(r2["history"]["loss"]) == len(r1["history"]["loss"]) == 4
    assert r1 == r2
    assert len(w1) == len(w2) and all(np.array_equal(a, b) for a, b in zip(w1, w2))


def test_a_saved_state_of_another_configuration_is_not_resumed(tmp_path):
    from genre_lib.callbacks import read_resume

    path = tmp_path / "m.resume.npz"
    meta = {"epoch": 1, "key": {"lr": 0.1}, "history": {}, "callbacks": {}, "n_best_weights": 0}
    np.savez(path, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    assert read_resume(path, {"lr": 0.1})["epoch"] == 1
    assert read_resume(path, {"lr": 0.2}) is None and not path.exists()
    path.write_bytes(b"not a numpy archive")
    assert read_resume(path, {"lr": 0.1}) is None and not path.exists()
