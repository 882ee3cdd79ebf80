"""What changes when the same seed trains on another machine: ``make variation``.

The same model (default ``cnn2d`` for 160 steps on the current dataset, full profile) is
trained with the same seed in a fresh process under settings that stand for other machines:

* ``as is``: this machine, TensorFlow's defaults (twice: the same machine must agree to the bit);
* ``1 thread``: one intra-op thread instead of one per core (a smaller laptop);
* ``AVX2 only``: oneDNN limited to AVX2 (``ONEDNN_MAX_CPU_ISA=AVX2``, a CPU without AVX-512);
* ``no oneDNN``: TensorFlow's Eigen kernels (``TF_ENABLE_ONEDNN_OPTS=0``; other builds, macOS).

For each it prints the largest weight difference to ``as is``, the validation and test
accuracy, and whether TensorFlow logged anything (the oneDNN ``DT_BOOL`` notice appears on
CPUs without AVX-512). Trainings go to a temporary folder; nothing of the regular run changes.

Usage: ``python scripts/machine_variation.py [--model cnn2d] [--steps 160]``
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HOME = Path(__file__).resolve().parent.parent

TRAIN = """
import json, sys
from pathlib import Path
import numpy as np
import genre_lib as gl
settings = gl.start(device=False)
import tensorflow as tf
if int(sys.argv[3]):
    tf.config.threading.set_intra_op_parallelism_threads(int(sys.argv[3]))
from genre_lib import training
settings = settings.with_(work_dir=Path(sys.argv[1]))
t = training.load_or_train("variation", arch=sys.argv[2], steps=int(sys.argv[4]), force=True,
                           settings=settings)
np.savez(Path(sys.argv[1]) / "w.npz", *[np.asarray(w) for w in t.model.weights])
m = t.meta["metrics"]
print("RESULT " + json.dumps({"valid": m["valid"]["accuracy"], "test": m["test"]["accuracy"],
                              "epochs": t.meta["epochs_run"]}))
"""

CONFIGS = {"as is": ({}, 0), "as is, again": ({}, 0), "1 thread": ({}, 1),
           "AVX2 only": ({"ONEDNN_MAX_CPU_ISA": "AVX2"}, 0),
           "no oneDNN": ({"TF_ENABLE_ONEDNN_OPTS": "0"}, 0)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cnn2d")
    parser.add_argument("--steps", type=int, default=160)
    args = parser.parse_args(argv)
    rows, base = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for label, (env, threads) in CONFIGS.items():
            work = Path(tmp) / label.replace(" ", "_").replace(",", "")
            work.mkdir()
            proc = subprocess.run([sys.executable, "-c", TRAIN, str(work), args.model, str(threads),
                                   str(args.steps)], cwd=HOME, env={**os.environ, **env},
                                  capture_output=True, text=True)
            lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
            if proc.returncode or not lines:
                raise SystemExit(f"{label}: training failed\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
            result = json.loads(lines[-1][7:])
            with np.load(work / "w.npz") as f:
                weights = [f[k] for k in f.files]
            base = base or weights
            diff = max(float(np.abs(a - b).max()) for a, b in zip(weights, base))
            logged = [x for x in proc.stderr.splitlines() if x.strip()]
            rows.append((label, diff, result, logged))
    print(f"\n{args.model}, {args.steps} steps, seed from GENRE_SEED, {os.cpu_count()} cores")
    print(f"{'':14s}{'max |dw| to as is':>19s}{'valid acc':>11s}{'test acc':>10s}{'epochs':>8s}  stderr")
    for label, diff, r, logged in rows:
        note = "; ".join(x[-90:] for x in logged[:2]) if logged else "-"
        print(f"{label:14s}{diff:19.3g}{r['valid']:11.3f}{r['test']:10.3f}{r['epochs']:8d}  {note}")


if __name__ == "__main__":
    main()
