"""The same seed gives the same model: one small model trained twice, each time in a fresh
process (as two students, or two `make run`s, on one machine), has bit-identical weights and
scores; so does a second training in the same process (a notebook cell run twice)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

TRAIN = """
import json, sys
from pathlib import Path
import numpy as np
import genre_lib as gl
from genre_lib import training
settings = gl.get_settings(profile="ci", data_dir=Path(sys.argv[2]), work_dir=Path(sys.argv[1]))
trained = training.load_or_train("seed_check", settings=settings, arch="cnn1d_mel", epochs=2)
again = training.load_or_train("seed_check", settings=settings, arch="cnn1d_mel", epochs=2, force=True)
np.savez(Path(sys.argv[1]) / "weights.npz", *[np.asarray(w) for w in trained.model.weights])
np.savez(Path(sys.argv[1]) / "again.npz", *[np.asarray(w) for w in again.model.weights])
(Path(sys.argv[1]) / "metrics.json").write_text(json.dumps(trained.meta["metrics"]))
(Path(sys.argv[1]) / "again.json").write_text(json.dumps(again.meta["metrics"]))
"""


def test_same_seed_same_weights_in_fresh_processes(ci_settings, ci_table, tmp_path):
    runs = []
    for i in (1, 2):
        work = tmp_path / f"run{i}"
        work.mkdir()
        env = {**os.environ, "GENRE_SEED": str(ci_settings.seed)}
        subprocess.run([sys.executable, "-c", TRAIN, str(work), str(ci_settings.data_dir)],
                       check=True, env=env, capture_output=True)
        with np.load(work / "weights.npz") as f, np.load(work / "again.npz") as g:
            weights, again = [f[k] for k in f.files], [g[k] for k in g.files]
        assert all(np.array_equal(a, b) for a, b in zip(weights, again))  # same process, twice
        metrics = json.loads((work / "metrics.json").read_text())
        assert json.loads((work / "again.json").read_text()) == metrics
        runs.append((weights, metrics))
    (w1, m1), (w2, m2) = runs
    assert len(w1) == len(w2) and all(np.array_equal(a, b) for a, b in zip(w1, w2))
    assert m1 == m2
