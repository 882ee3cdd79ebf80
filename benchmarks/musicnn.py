"""The musicnn port's speed on this machine: features per second and the real-time factor.

On synthetic 30 s clips (rendered in memory; nothing is read from disk or downloaded):

1. preprocessing: 16 kHz log-mel spectrogram and 3 s patches (``musicnn.clip_patches``);
2. network: the trained port on the patches (``musicnn.run_patches``, penultimate layer);
3. end to end: ``musicnn.features`` on one clip, from the signal at 22,050 Hz (resampling,
   spectrogram, patches, network).

Prints patches (feature vectors) per second and the real-time factor, compute seconds per
second of audio (below 1 is faster than real time). Run:
``python benchmarks/musicnn.py [--clips 8] [--repeats 3] [--model MSD_musicnn]``.

``--store PROFILE`` times ``musicnn.clip_features`` (every layer, as notebook 10) through the
feature store instead, on the synth dataset of that profile written to a temporary folder
(or ``--data-dir``): cold (empty store), warm (all cached) and after one audio file changed,
for each ``--jobs`` value (1: the network in this process; N: N worker processes).
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
from timing import best_of  # noqa: E402  (benchmarks/timing.py)

from genre_lib import musicnn  # noqa: E402
from genre_lib.datasets.synth import GENRE_NAMES, SR, render_clip  # noqa: E402


def store_timings(profile: str, jobs: list[int], model: str, data_dir: str | None) -> None:
    """Cold, warm and one-changed-file times of clip_features in the store, per jobs value."""
    import shutil
    import tempfile

    import genre_lib as gl

    root = Path(data_dir or tempfile.mkdtemp(prefix="musicnn-bench-"))
    settings = gl.get_settings(dataset="synth", profile=profile, data_dir=root, work_dir=root / "work")
    table = gl.datasets.load_table(settings=settings)
    victim = Path(table["path"].iloc[len(table) // 2])
    original = victim.read_bytes()
    print(f"synth, profile {profile}: {len(table)} clips; store under {settings.cache_dir}")

    def run(label, n_jobs):
        start = time.perf_counter()
        pf = musicnn.clip_features(table, model=model, layers=musicnn.FEATURE_LAYERS,
                                   jobs=n_jobs, progress=False, settings=settings)
        took = time.perf_counter() - start
        print(f"  jobs={n_jobs} {label:22s} {took:8.2f} s  ({len(pf.track)} patches, "
              f"{pf.features.seconds_computing:.1f} s computing)", flush=True)

    try:
        for n_jobs in jobs:
            shutil.rmtree(settings.cache_dir / "synth", ignore_errors=True)
            run("cold (empty store)", n_jobs)
            run("warm (all cached)", n_jobs)
            changed = bytearray(original)
            changed[-2] ^= 1  # one sample's low bit: new bytes, new stamp
            victim.write_bytes(bytes(changed))
            run("one file changed", n_jobs)
            victim.write_bytes(original)
    finally:
        victim.write_bytes(original)
        if data_dir is None:
            shutil.rmtree(root, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=3, help="best of N timings")
    ap.add_argument("--model", default="MSD_musicnn", choices=musicnn.MODELS)
    ap.add_argument("--store", metavar="PROFILE", choices=("ci", "full"),
                    help="time clip_features through the feature store on this profile's synth data")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="with --store: processes")
    ap.add_argument("--data-dir", help="with --store: keep the synth data here (default: a temporary folder)")
    args = ap.parse_args(argv)
    if args.store:
        return store_timings(args.store, args.jobs, args.model, args.data_dir)
    clips = [render_clip(GENRE_NAMES[i % len(GENRE_NAMES)], args.seconds, [3, i])[0]
             for i in range(args.clips)]
    audio_s = args.clips * args.seconds
    musicnn.features(clips[0], SR, model=args.model)            # build and warm the model once

    t_pre, patches = best_of(args.repeats, lambda: [musicnn.clip_patches(y, SR) for y in clips])
    batch = np.concatenate(patches)
    t_net, _ = best_of(args.repeats, lambda: musicnn.run_patches(batch, args.model))
    t_all, _ = best_of(args.repeats, lambda: [musicnn.features(y, SR, model=args.model) for y in clips])
    n = len(batch)
    print(f"{args.clips} clips x {args.seconds:g} s = {audio_s:g} s of audio, {n} patches of 3 s, "
          f"model {args.model}, best of {args.repeats}")
    rows = [("preprocessing (22.05 kHz signal -> patches)", t_pre),
            ("network (patches -> penultimate, batches of 64)", t_net),
            ("end to end (musicnn.features per clip)", t_all)]
    for label, t in rows:
        print(f"  {label:50s} {t:7.3f} s  {n / t:8.1f} patches/s  "
              f"real-time factor {t / audio_s:.4f} ({audio_s / t:.0f}x real time)")


if __name__ == "__main__":
    main()
