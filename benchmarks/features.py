"""Feature extraction: the project's pipeline against the naive loop, and the warm cache.

On the same 200 synthetic 30 s clips (20 per genre of the full-profile `synth` set):

1. naive: per file, ``librosa.load`` then ``librosa.feature.melspectrogram`` and
   ``librosa.power_to_db`` in one process (what the older curricula do);
2. project: ``genre_lib.features.extract(..., use_cache=False)``: parallel workers, the mel
   filterbank built once, float32 throughout;
3. warm reload: the same call answered from the feature store, every row then read from its
   memory-mapped shards (``np.asarray(fs.X)``), so the timing includes the data, not just the index.

Prints clips/s for each and the ratios (targets on 2 cores: project >= 1.6x naive, warm reload
>= 50x recomputation). Then where the project's time goes: one process times each stage of
every clip (decoding, resampling, the STFT, the mel product, the logarithm), the store's
writing is the rest of a one-process extraction, and the workers' overhead (start-up, transfer,
imbalance) is the parallel time less a perfect split of the one-process time. The bound is
decoding plus one STFT and one mel product per clip, spread over the workers; the project's
rate is printed as a share of it. Run: ``python benchmarks/features.py [--clips 200] [--repeats 2]``.
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
from timing import best_of  # noqa: E402  (benchmarks/timing.py)

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
    fs = features.extract(sample, "logmel", progress=False, settings=settings)
    np.asarray(fs.X)
    return fs


def stages(paths, settings):
    """Seconds per stage, summed over ``paths``, as ``features`` computes log-mel in one
    process: decode (soundfile, to mono float32), resample (to the settings' rate, none when
    the file has it already), STFT power, mel product, dB."""
    import soundfile as sf

    from genre_lib import audio, spectral

    m = settings.mel_params
    basis = spectral.mel_basis(m["sr"], m["n_fft"], m["n_mels"], m["fmin"], m["fmax"])
    t = dict.fromkeys(("decode", "resample", "stft", "mel product", "log (dB)"), 0.0)
    for p in paths:
        t0 = time.perf_counter()
        y, sr = sf.read(p, dtype="float32", always_2d=True)
        y = y.mean(axis=1)
        t1 = time.perf_counter()
        if sr != m["sr"]:
            y = audio.resample(y, sr, m["sr"])
        t2 = time.perf_counter()
        spec = librosa.stft(y, n_fft=m["n_fft"], hop_length=m["hop_length"], center=True,
                            pad_mode="constant")
        power = spec.real ** 2 + spec.imag ** 2
        t3 = time.perf_counter()
        mel = basis @ power
        t4 = time.perf_counter()
        spectral.power_to_db(mel)
        t5 = time.perf_counter()
        for key, a, b in zip(t, (t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5)):
            t[key] += b - a
    return t


def breakdown(sample, bench, t_proj, repeats):
    """Print where the project's extraction spends its time, and its rate against the bound."""
    n, jobs = len(sample), bench.jobs
    t_stage = min((stages(sample["path"], bench) for _ in range(repeats)),
                  key=lambda t: sum(t.values()))
    t_one, _ = best_of(repeats, lambda: features.extract(
        sample, "logmel", progress=False, use_cache=False, settings=bench.with_(jobs=1)))
    compute = sum(t_stage.values())
    rows = [(k, v) for k, v in t_stage.items()]
    rows.append(("store: shards, records, stamps", max(0.0, t_one - compute)))
    print(f"\nwhere the time goes, one process over {n} clips (s; per clip in ms):")
    for name, secs in rows:
        print(f"  {name:32s} {secs:7.2f}  {1000 * secs / n:7.1f} ms  {secs / t_one:6.1%}")
    print(f"  {'one-process extraction':32s} {t_one:7.2f}")
    print(f"  {jobs} workers: {t_proj:.2f} s against {t_one / jobs:.2f} s for a perfect split of the "
          f"one-process time; the difference, {max(0.0, t_proj - t_one / jobs):.2f} s, is process "
          "start-up, transfer and imbalance")
    bound_s = (t_stage["decode"] + t_stage["stft"] + t_stage["mel product"]) / max(1, jobs)
    bound = n / bound_s
    print(f"bound (decode + STFT + mel product per clip, over {jobs} workers): {bound:.1f} clips/s; "
          f"project extract {n / t_proj:.1f} clips/s = {bound_s / t_proj:.0%} of the bound")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=2, help="best of N timings")
    args = ap.parse_args(argv)
    settings = get_settings(dataset="synth", profile="full")
    table = load_table(settings=settings)
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
        features.extract(sample.head(2), "logmel", progress=False, use_cache=False, settings=bench)

        t_naive, ref = best_of(args.repeats, lambda: naive(sample["path"]))
        t_proj, fs = best_of(args.repeats, lambda: features.extract(
            sample, "logmel", progress=False, use_cache=False, settings=bench))
        features.extract(sample, "logmel", progress=False, settings=bench)  # fill the cache
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
    with tempfile.TemporaryDirectory() as tmp:
        breakdown(sample, settings.with_(data_dir=Path(tmp)), t_proj, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
