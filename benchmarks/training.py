"""Training and inference benchmark for the deep track.

For the 2D CNN and the CRNN (``crnn1d``), on the same synthetic data (the current dataset's
cached log-mel features, train split), measured side by side in one run:

1. **training samples/s, project pipeline**: ``pipeline.train_dataset``, a generator that crops
   random 3 s chunks straight out of the cached feature array (one row at a time) and is
   prefetched by ``tf.data``; fed to ``model.fit`` (the model standardises its input in its
   ``normalise`` layer, as in training);
2. **training samples/s, in-memory NumPy**: the older curricula's way: cut every clip into all
   its chunks up front (a second full copy of the data in memory), then ``model.fit(X, y)``;
3. **inference real-time factor**: seconds of audio classified per second of wall time for one
   30 s clip, audio loading and feature extraction included (load, log-mel, chunk, predict,
   average).

The two training modes alternate (A B A B ...) and the best of ``--repeats`` is kept for each,
so a neighbour's load spike hurts both alike. Models are freshly built (speed does not depend on
the weights). Prints the ratios. Run: ``python benchmarks/training.py [--steps 30] [--repeats 3]``
(about two minutes on 2 CPU cores; uses the GPU, with mixed precision, when one is present).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genre_lib import quiet  # noqa: E402

quiet.install()  # before anything imports TensorFlow: its start-up lines stay out of the output

import numpy as np  # noqa: E402

from genre_lib import audio, devices, features, models, pipeline, training  # noqa: E402
from genre_lib.config import get_settings  # noqa: E402


def fit_pipeline(model, X, y, rows, spec, length, batch, steps, seed):
    ds = pipeline.train_dataset(X, y, spec, length, batch, crops_per_track=2, seed=seed,
                                augment=False, rows=rows)
    start = time.perf_counter()
    model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    return steps * batch / (time.perf_counter() - start)


def fit_numpy(model, Xc, yc, batch, steps, seed):
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(Xc))[:steps * batch]
    start = time.perf_counter()
    model.fit(Xc[idx], yc[idx], batch_size=batch, epochs=1, verbose=0, shuffle=True)
    return len(idx) / (time.perf_counter() - start)


def realtime_factor(model, spec, length, path, seconds, params, repeats=5):
    """Seconds of audio per wall-clock second: load + log-mel + chunk + predict + average."""
    def once():
        y = audio.load(path, sr=params["sr"], duration=seconds)
        S = features.compute(y, "logmel", **params)
        X, _ = pipeline.numpy_chunks(S[None], spec, length)
        return np.asarray(model.predict_on_batch(X)).mean(0)

    once()  # warm-up: graph tracing, numba
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        once()
        times.append(time.perf_counter() - start)
    return seconds / float(np.median(times)), float(np.median(times))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["cnn2d", "crnn1d"])
    ap.add_argument("--steps", type=int, default=30, help="training steps per measurement")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args(argv)

    import keras

    settings = get_settings()
    print(f"dataset {settings.dataset}, profile {settings.profile.name}; {devices.describe_device()}")
    devices.get_strategy()  # mixed precision on a GPU
    task = training.task(target="genre", settings=settings)
    fs = features.extract(task.table, "logmel", progress=False, settings=settings)
    tr = (fs.table["split"] == "train").to_numpy()
    X, rows = fs.X, np.flatnonzero(tr)  # the pipeline reads the cached array in place
    y = pipeline.encode_labels(fs.table, task.classes, "genre")
    norm = pipeline.Normaliser.fit(X, "logmel", rows=rows)
    clip_path = fs.table.loc[~tr, "path"].iloc[0]
    clip_seconds = 30.0
    print(f"{len(rows)} training clips of {X.shape[-1]} frames; {args.steps} steps of {args.batch} per "
          f"measurement, best of {args.repeats}; inference on {Path(clip_path).name} "
          f"({clip_seconds:.0f} s, padded if shorter)")

    lines = []
    for name in args.models:
        spec = models.spec(name)
        length = pipeline.chunk_length(spec, fs.params)
        shape = pipeline.input_shape_for(spec, X.shape[1], length)
        keras.utils.set_random_seed(settings.seed)
        model = models.build(name, shape, task.n_outputs, normalise=(norm.mean, norm.variance))
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")

        start = time.perf_counter()
        Xc, owner = pipeline.numpy_chunks(X, spec, length, rows=rows)  # the in-memory copy
        yc = y[owner]
        prep = time.perf_counter() - start
        # warm both paths (tracing) before timing
        fit_pipeline(model, X, y, rows, spec, length, args.batch, 2, 0)
        fit_numpy(model, Xc, yc, args.batch, 2, 0)
        pipe, nump = [], []
        for r in range(args.repeats):
            pipe.append(fit_pipeline(model, X, y, rows, spec, length, args.batch, args.steps, r + 1))
            nump.append(fit_numpy(model, Xc, yc, args.batch, args.steps, r + 1))
        p, n = max(pipe), max(nump)
        rtf, secs = realtime_factor(model, spec, length, clip_path, clip_seconds, fs.params)
        batch_mb = args.batch * int(np.prod(shape)) * 4 / 2**20
        lines.append((name, p, n, prep, Xc.nbytes / 2**20, batch_mb, rtf, secs))
        print(f"\n{name}: {model.count_params():,} parameters, chunks of {length} frames")
        runs = {key: ", ".join(f"{v:.1f}" for v in vals) for key, vals in (("pipe", pipe), ("nump", nump))}
        print(f"  training, project tf.data pipeline : {p:8.1f} samples/s  (runs: {runs['pipe']})")
        print(f"  training, in-memory NumPy fit      : {n:8.1f} samples/s  (runs: {runs['nump']})")
        print(f"  NumPy way first builds a {Xc.nbytes / 2**20:.0f} MiB copy of all chunks ({prep:.1f} s); "
              f"the pipeline holds ~{3 * batch_mb:.0f} MiB of batches (current + 2 prefetched)")
        print(f"  inference on a {clip_seconds:.0f} s clip: {secs * 1000:.0f} ms -> "
              f"real-time factor {rtf:.0f}x")
        del Xc, yc

    print("\nratios (measured side by side in this run)")
    for name, p, n, _prep, copy_mb, batch_mb, rtf, _ in lines:
        print(f"  {name:8s} training throughput, pipeline / NumPy: {p / n:5.2f}x   "
              f"memory, NumPy copy / pipeline batches: {copy_mb / (3 * batch_mb):5.1f}x   "
              f"inference real-time factor: {rtf:6.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
