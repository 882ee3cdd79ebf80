"""Feature extraction: the project's pipeline against the naive loop, and the warm cache.

On the same 200 synthetic 30 s clips (20 per genre of the full-profile `synth` set):

1. naive: per file, ``librosa.load`` then ``librosa.feature.melspectrogram`` and
   ``librosa.power_to_db`` in one process (what the older curricula do);
2. project: ``genre_lib.features.extract(..., use_cache=False)``: parallel workers, the mel
   filterbank built once, float32 throughout;
3. warm reload: the same call answered from the feature store, every row then read from its
   memory-mapped shards (``np.asarray(fs.X)``), so the timing includes the data, not just the index.

Prints clips/s for each and the ratios (targets on 2 cores: project >= 1.6x naive, warm reload
>= 50x recomputation). Run: ``python benchmarks/features.py [--clips 200] [--repeats 2]``.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genre_lib import quiet  # noqa: E402

quiet.install()  # before anything imports TensorFlow: its start-up lines stay out of the output

import librosa  # noqa: E402
import numpy as np  # noqa: E402

from genre_lib import features  # noqa: E402
from genre_lib.config import get_settings  # noqa: E402
from genre_lib.datasets import load_table  # noqa: E402


def naive(paths):
    out = []
    for p in paths:
        y, sr = librosa.load(p, sr=22050)
        out.append(librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr)))
    return out


def reload(sample, settings):
    """The warm path: the store's answer, with every row read out of the shards."""
    fs = features.extract(sample, "logmel", settings, progress=False)
    np.asarray(fs.X)
    return fs


def best_of(repeats, func):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=2, help="best of N timings")
    args = ap.parse_args(argv)
    settings = get_settings(dataset="synth", profile="full")
    table = load_table(settings)
    per_genre = max(1, args.clips // table["genre"].nunique())
    sample = table.groupby("genre").head(per_genre).head(args.clips).reset_index(drop=True)
    sample.attrs = dict(table.attrs)
    n = len(sample)
    print(f"{n} clips of {settings.profile.synth_seconds:.0f} s, {settings.jobs} worker(s), "
          f"best of {args.repeats}")

    with tempfile.TemporaryDirectory() as tmp:
        bench = settings.with_(data_dir=Path(tmp))  # private cache; the audio stays where it is
        # warm-up: numba compilation and imports, outside the timings
        naive(sample["path"][:2])
        features.extract(sample.head(2), "logmel", bench, progress=False, use_cache=False)

        t_naive, ref = best_of(args.repeats, lambda: naive(sample["path"]))
        t_proj, fs = best_of(args.repeats, lambda: features.extract(
            sample, "logmel", bench, progress=False, use_cache=False))
        features.extract(sample, "logmel", bench, progress=False)  # fill the cache
        t_warm, warm = best_of(args.repeats, lambda: reload(sample, bench))
        assert warm.from_cache and np.array_equal(warm.X, fs.X)
        gap = max(float(np.max(np.abs(a - b))) for a, b in zip(ref, fs.X))
        size_mb = sum(p.stat().st_size for p in warm.cache_path.glob("shard-*.npy")) / 1e6

    print(f"largest difference project vs naive: {gap:.4f} dB")
    print(f"{'naive librosa loop':28s} {n / t_naive:8.1f} clips/s  ({t_naive:.2f} s)")
    print(f"{'project extract':28s} {n / t_proj:8.1f} clips/s  ({t_proj:.2f} s)")
    print(f"{'warm cache reload':28s} {n / t_warm:8.1f} clips/s  ({t_warm:.3f} s, {size_mb:.0f} MB)")
    r1, r2 = t_naive / t_proj, t_proj / t_warm
    print(f"ratio project / naive      : {r1:6.2f}x  (target >= 1.6x)  {'PASS' if r1 >= 1.6 else 'MISS'}")
    print(f"ratio warm / recomputation : {r2:6.1f}x  (target >= 50x)   {'PASS' if r2 >= 50 else 'MISS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
