"""Scaling the feature store: memory, throughput and reload time at 1x and 10x the clips.

A synthetic data set of ``--clips`` (default 400) and ``factor`` times as many (default 4,000)
30 s clips is written as WAV files: short clips of the ``synth`` generator, tiled to 30 s, each
copy shifted in time and level so every file differs; the log-mel features are computed for
real. Each measurement runs in a fresh process, and the script prints side by side:

* extraction with the local pool at 1x and 10x: clips/s and the peak resident memory of all
  its processes (target: 10x / 1x <= 1.3);
* training through the store (a small ``cnn2d``; one random crop per clip and epoch; a
  ``tf.data`` generator that reads one row at a time from the store): one epoch at 10x against
  ``factor`` epochs at 1x, so both cover the same number of samples; samples/s over all of
  them (target: 10x / 1x >= 0.9) and peak memory (target: 10x / 1x <= 1.3);
* at 1x, in one process, epochs through the store against epochs through today's in-memory
  array, alternated (target: store / memory >= 0.9);
* the warm reload per clip in a new process at both sizes: opening the store, and reading
  every row;
* extraction throughput at 1x with the local pool and with a two-worker Dask ``LocalCluster``,
  alternated in one process.

Run: ``python benchmarks/scale.py [--clips 400] [--factor 10] [--seconds 30] [--keep DIR]``.
About 5-10 minutes on 2 cores; it needs about 6 GB of temporary disk at the defaults.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genre_lib import quiet  # noqa: E402

quiet.install()  # before anything imports TensorFlow: its start-up lines stay out of the output

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from genre_lib import audio, features  # noqa: E402
from genre_lib.config import get_settings  # noqa: E402
from genre_lib.datasets import synth  # noqa: E402

SR = 22050
MiB = 2**20


# -- the data set -----------------------------------------------------------------------------------
def make_audio(folder: Path, n: int, unique: int, seconds: float, base_seconds: float) -> pd.DataFrame:
    """``n`` WAV files of ``seconds``: ``unique`` rendered clips of ``base_seconds``, tiled;
    copy k of a clip is rotated by k * 0.37 s and scaled by 0.97**k, so no two files match."""
    from tqdm.auto import tqdm

    genres = list(synth.GENRE_NAMES)
    bases = [synth.render_clip(genres[i % len(genres)], base_seconds, [7, i])[0] for i in range(unique)]
    length = int(round(seconds * SR))
    rows = []
    for i in tqdm(range(n), desc="writing clips", unit="clip", mininterval=2):
        base, copy = bases[i % unique], i // unique
        y = np.roll(np.resize(base, length), int(copy * 0.37 * SR)) * 0.97 ** copy
        path = folder / f"{i // 1000:02d}" / f"clip{i:05d}.wav"
        audio.write_wav(path, y.astype(np.float32), SR)
        rows.append(dict(track_id=f"clip{i:05d}", path=str(path), genre=genres[i % unique % len(genres)],
                         split="train"))
    return pd.DataFrame(rows)


def read_table(csv: Path) -> pd.DataFrame:
    table = pd.read_csv(csv, dtype=str)
    table["tags"] = [[] for _ in range(len(table))]
    table.attrs["dataset"] = "bench"
    return table


# -- measuring -----------------------------------------------------------------------------------------
class PeakRSS:
    """The largest resident memory seen while the block runs (of this process, and of its
    child processes with ``tree``), sampled every 20 ms."""

    def __init__(self, tree: bool = False):
        import psutil

        self.me, self.tree, self.peak = psutil.Process(), tree, 0
        self._stop = threading.Event()

    def _sample(self) -> int:
        procs = [self.me] + (self.me.children(recursive=True) if self.tree else [])
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except Exception:  # a worker that just ended
                pass
        return total

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(0.02)

    def __enter__(self):
        self.peak = self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def phase_extract(args, table, settings) -> dict:
    """Fill a new store with the local pool; peak memory of all its processes."""
    # start-up and numba, not timed
    features.extract(table.head(4), "logmel", seconds=args.seconds, progress=False,
                     use_cache=False, settings=settings)
    with PeakRSS(tree=True) as rss:
        start = time.perf_counter()
        fs = features.extract(table, "logmel", seconds=args.seconds,
                              progress=sys.stderr.isatty(), settings=settings)
        elapsed = time.perf_counter() - start
    size = sum(p.stat().st_size for p in fs.cache_path.glob("shard-*.npy"))
    return {"clips_per_s": len(table) / elapsed, "seconds": elapsed, "peak_rss": rss.peak,
            "store_bytes": size, "row_shape": list(fs.X.shape[1:]), "skipped": len(fs.skipped)}


def phase_engines(args, table, settings) -> dict:
    """In one process, alternated: the local pool and a two-worker Dask LocalCluster, each
    filling a new store."""
    from genre_lib import parallel

    client, closers = parallel.connect("local:2")
    for scheduler in (None, client):  # start-up and numba, not timed
        features.extract(table.head(4), "logmel", seconds=args.seconds, progress=False,
                         use_cache=False, scheduler=scheduler, settings=settings)
    best = {"local": 0.0, "dask": 0.0}
    for r in range(args.repeats):
        for name, scheduler in (("local", None), ("dask", client)):
            fresh = settings.with_(data_dir=Path(args.data) / f"{name}-{r}")
            start = time.perf_counter()
            fs = features.extract(table, "logmel", seconds=args.seconds, progress=False,
                                  scheduler=scheduler, settings=fresh)
            best[name] = max(best[name], len(fs.X) / (time.perf_counter() - start))
            shutil.rmtree(fresh.data_dir, ignore_errors=True)
    for thing in closers:
        thing.close()
    return best


def phase_reload(args, table, settings) -> dict:
    """A new process opens the store (index and checks), then reads every row."""
    start = time.perf_counter()
    fs = features.extract(table, "logmel", seconds=args.seconds, progress=False, settings=settings)
    opened = time.perf_counter() - start
    assert fs.from_cache
    for i in range(len(fs.X)):
        fs.X[i]
    read = time.perf_counter() - start
    return {"open_ms_per_clip": 1e3 * opened / len(table), "read_ms_per_clip": 1e3 * read / len(table)}


def _epoch_data(X, y, length, batch, seed, mean, std):
    """The benchmark's own minimal tf.data pipeline: shuffled clips, one random crop each,
    read one row at a time (the store's access pattern), standardised, batched."""
    import tensorflow as tf

    if len(X) < batch:
        raise ValueError(f"{len(X)} clips cannot fill a batch of {batch}")

    def gen():
        rng = np.random.default_rng(seed)
        while True:  # endless; an epoch is steps_per_epoch batches
            order = rng.permutation(len(X))
            for b in range(0, len(order) - batch + 1, batch):
                idx = order[b:b + batch]
                out = np.empty((batch, X.shape[1], length), np.float32)
                for j, i in enumerate(idx):
                    o = int(rng.integers(0, X.shape[-1] - length + 1))
                    out[j] = X[int(i), :, o:o + length]
                yield ((out - mean) / std)[..., None], y[idx]

    sig = (tf.TensorSpec((None, X.shape[1], length, 1), tf.float32), tf.TensorSpec((None,), tf.int32))
    return tf.data.Dataset.from_generator(gen, output_signature=sig).prefetch(2)


def _rows_per_s(X, length: int, seed: int) -> float:
    """Random crops read one row at a time, nothing else: the data path's own speed."""
    rng = np.random.default_rng(seed)
    out = np.empty((X.shape[1], length), np.float32)
    start = time.perf_counter()
    for i in rng.permutation(len(X)):
        o = int(rng.integers(0, X.shape[-1] - length + 1))
        out[:] = X[int(i), :, o:o + length]
    return len(X) / (time.perf_counter() - start)


def phase_train(args, table, settings) -> dict:
    """Epochs of a small cnn2d; ``--source store``, ``memory`` or ``both`` (alternated)."""
    import keras

    from genre_lib import models

    fs = features.extract(table, "logmel", seconds=args.seconds, progress=False, settings=settings)
    args.batch = min(args.batch, len(fs.X))  # a tiny trial run still gives whole batches
    classes = sorted(set(fs.table["genre"]))
    y = np.array([classes.index(g) for g in fs.table["genre"]], np.int32)
    sample = np.stack([fs.X[i] for i in range(0, len(fs.X), max(1, len(fs.X) // 16))])
    mean, std = float(sample.mean()), float(sample.std() + 1e-3)
    keras.utils.set_random_seed(0)
    model = models.build("cnn2d", (fs.X.shape[1], args.chunk, 1), len(classes))
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    model.fit(_epoch_data(fs.X, y, args.chunk, args.batch, 99, mean, std), epochs=1, steps_per_epoch=2,
              shuffle=False, verbose=0)  # tracing, outside the timing
    sources = {"store": fs.X}
    if args.source in ("memory", "both"):
        sources["memory"] = np.asarray(fs.X)  # today's path: the whole array in memory
    if args.source == "memory":
        del sources["store"]
    steps = len(fs.X) // args.batch
    out = {k: {"runs": [], "cpu_runs": [], "peak_rss": 0, "rows_per_s": 0.0} for k in sources}
    for r in range(args.repeats):
        order = list(sources.items())
        for name, X in order if r % 2 == 0 else order[::-1]:  # A B, B A, ...: no order effect
            out[name]["rows_per_s"] = max(out[name]["rows_per_s"], _rows_per_s(X, args.chunk, r))
            with PeakRSS() as rss:
                start, cpu = time.perf_counter(), time.process_time()
                model.fit(_epoch_data(X, y, args.chunk, args.batch, r, mean, std), epochs=1,
                          steps_per_epoch=steps, shuffle=False, verbose=0)
                out[name]["runs"].append(steps * args.batch / (time.perf_counter() - start))
                out[name]["cpu_runs"].append(steps * args.batch / (time.process_time() - cpu))
            out[name]["peak_rss"] = max(out[name]["peak_rss"], rss.peak)
    for v in out.values():
        v["samples_per_s"] = max(v["runs"])
        # all the epochs together: at 1x the driver runs `factor` epochs, so the 1x and 10x
        # figures cover the same number of samples (a 12-step epoch alone pays its start-up
        # cost on few steps and is noisy)
        v["samples_per_s_total"] = len(v["runs"]) / sum(1 / x for x in v["runs"])
    return out


PHASES = {"extract": phase_extract, "engines": phase_engines, "reload": phase_reload,
          "train": phase_train}


# -- the driver ------------------------------------------------------------------------------------------
def run_phase(args, name: str, csv: Path, store_dir: Path, **extra) -> dict:
    """Run one measurement in a fresh process and return what it reports."""
    cmd = [sys.executable, __file__, "--phase", name, "--table", str(csv), "--data", str(store_dir),
           "--work", args.work, "--seconds", str(args.seconds), "--chunk", str(args.chunk),
           "--batch", str(args.batch), "--repeats", str(extra.pop("repeats", 1))]
    for key, value in extra.items():
        cmd += [f"--{key}", str(value)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"phase {name} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def _verdict(value: float, target: float, at_most: bool) -> str:
    ok = value <= target if at_most else value >= target
    return f"{'<=' if at_most else '>='} {target:<4} {'PASS' if ok else 'MISS'}"


def report(args, n1: int, n10: int, r: dict) -> None:
    x1, x10, t1, t10 = r["x1"], r["x10"], r["train1"]["store"], r["train10"]["store"]
    row_mb = float(np.prod(x1["row_shape"])) * 4 / 1e6
    print(f"\n{n1} and {n10} clips of {args.seconds:g} s; log-mel {tuple(x1['row_shape'])} = "
          f"{row_mb:.2f} MB per clip; {os.cpu_count()} cores; every measurement in a fresh process")
    rows = [
        ("extraction, local pool: clips/s", x1["clips_per_s"], x10["clips_per_s"], None),
        ("extraction: peak RSS, all processes, MiB", x1["peak_rss"] / MiB, x10["peak_rss"] / MiB, 1.3),
        ("training through the store: samples/s", t1["samples_per_s_total"], t10["samples_per_s_total"],
         ">=0.9"),
        ("training epoch: peak RSS, MiB", t1["peak_rss"] / MiB, t10["peak_rss"] / MiB, 1.3),
        ("warm reload, open the store: ms/clip", r["reload1"]["open_ms_per_clip"],
         r["reload10"]["open_ms_per_clip"], None),
        ("warm reload, read every row: ms/clip", r["reload1"]["read_ms_per_clip"],
         r["reload10"]["read_ms_per_clip"], None),
        ("store on disk, MB", x1["store_bytes"] / 1e6, x10["store_bytes"] / 1e6, None),
    ]
    print(f"{'':44s}{'1x':>10s}{'10x':>11s}{'10x/1x':>9s}   target")
    for label, a, b, target in rows:
        ratio = b / a if a else float("nan")
        at_least = isinstance(target, str)  # ">=0.9": a floor; a number: a ceiling
        tail = _verdict(ratio, float(target[2:]) if at_least else target, not at_least) if target else ""
        print(f"{label:44s}{a:10.2f}{b:11.2f}{ratio:8.2f}x   {tail}")
    print(f"(the in-memory cache of before would hold {n10 * row_mb:,.0f} MB at 10x before training starts)")
    both, engines = r["compare"], r["engines"]
    st, mem = both["store"], both["memory"]
    ratio = float(np.median(np.divide(st["runs"], mem["runs"])))  # paired epochs: load drifts
    cpu = float(np.median(np.divide(st["cpu_runs"], mem["cpu_runs"])))
    print(f"\nat 1x, side by side in one process ({args.repeats} epochs each, alternated):")
    print(f"  training throughput, store / in-memory array : {ratio:5.2f}x  {_verdict(ratio, 0.9, False)}"
          f"  (median of paired epochs; best {st['samples_per_s']:.1f} vs {mem['samples_per_s']:.1f}"
          f" samples/s)")
    print(f"  the same per CPU-second of this process      : {cpu:5.2f}x  {_verdict(cpu, 0.9, False)}"
          f"  (steadier when other work shares the cores)")
    print(f"  the data path alone, store / in-memory array : {st['rows_per_s'] / mem['rows_per_s']:5.2f}x"
          f"  ({st['rows_per_s']:,.0f} vs {mem['rows_per_s']:,.0f} random crops/s)")
    d_ratio = engines["dask"] / engines["local"]
    print(f"  extraction, local pool ({get_settings().jobs} processes) vs Dask LocalCluster (2 workers): "
          f"{engines['local']:.2f} vs {engines['dask']:.2f} clips/s")
    print(f"    (Dask / local {d_ratio:.2f}x; best of 2 runs each, alternated)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=400, help="clips at 1x")
    ap.add_argument("--factor", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=30.0, help="length of every clip")
    ap.add_argument("--base-seconds", type=float, default=3.0, help="rendered length, then tiled")
    ap.add_argument("--chunk", type=int, default=128, help="training crop, frames")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5, help="alternated epochs in the 1x comparison")
    ap.add_argument("--keep", help="work in this folder and keep it (default: a temporary one)")
    ap.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    ap.add_argument("--table", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    ap.add_argument("--source", default="store", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.phase:
        settings = get_settings(dataset="synth", profile="full", data_dir=Path(args.data))
        result = PHASES[args.phase](args, read_table(Path(args.table)), settings)
        print("RESULT " + json.dumps(result), flush=True)
        return 0

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="genre-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    args.work = str(work)
    n1, n10 = args.clips, args.clips * args.factor
    start = time.perf_counter()
    try:
        if not (work / "10x.csv").exists():
            big = make_audio(work / "audio", n10, n1, args.seconds, args.base_seconds)
            big.head(n1).to_csv(work / "1x.csv", index=False)
            big.to_csv(work / "10x.csv", index=False)
        one, ten = work / "1x.csv", work / "10x.csv"
        for d in ("store1", "store10", "engines"):
            shutil.rmtree(work / d, ignore_errors=True)  # every run extracts from scratch
        r = {}
        steps = [("x1", "extract", one, "store1", {}), ("x10", "extract", ten, "store10", {}),
                 ("engines", "engines", one, "engines", {"repeats": 2}),
                 ("reload1", "reload", one, "store1", {}), ("reload10", "reload", ten, "store10", {}),
                 ("train1", "train", one, "store1", {"repeats": args.factor}),
                 ("train10", "train", ten, "store10", {}),
                 ("compare", "train", one, "store1", {"source": "both", "repeats": args.repeats})]
        for key, phase, csv, store_dir, extra in steps:
            print(f"[{time.perf_counter() - start:6.0f} s] {phase} {key} ...", flush=True)
            r[key] = run_phase(args, phase, csv, work / store_dir, **extra)
        report(args, n1, n10, r)
        print(f"\ntotal {time.perf_counter() - start:.0f} s")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
