#!/usr/bin/env python
"""Regenerate the musicnn reference arrays that tests/test_musicnn.py checks the port against.

    python scripts/musicnn_reference.py            # writes genre_lib/musicnn/reference/reference.npz + .json

The original network must run in its own process: musicnn 0.1.0 is TensorFlow 1 code that
needs legacy Keras (the ``tf-keras`` package, selected with ``TF_USE_LEGACY_KERAS=1``) and
switches eager execution off for the whole process when imported. This script therefore
does its own work in two parts:

1. **here** (the ordinary environment): make a few clips without downloading anything (two
   synthetic-dataset renders, one quiet and one normalised to full scale, and a full-scale
   test signal), quantise them to 16-bit at 16 kHz, and hand them to
2. **a worker subprocess** (this same file with ``--worker``, ``TF_USE_LEGACY_KERAS=1``):
   builds musicnn's own graph (``musicnn.models.define_model``), restores its own shipped
   checkpoints with its own ``Saver``, and feeds it the log-mel patches computed with
   musicnn's own librosa call and formula, except that the formula runs in float32 (musicnn's
   float16 cast overflows under NumPy 2; see ``genre_lib/musicnn/preprocessing.py``). It also
   runs musicnn's unchanged ``extractor`` on WAV copies of the clips and records how many of
   its outputs are not finite, which documents the overflow.

The arrays are stored in float32 (the test compares to 1e-4); the clips as int16.
Requirements beyond the package's: ``tf-keras`` matching TensorFlow, and ``musicnn==0.1.0``
installed with ``--no-deps`` (``make setup`` installs both).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE.parent / "genre_lib" / "musicnn" / "reference"
MODELS = ("MSD_musicnn", "MTT_musicnn")
SR = 16000
N_FFT, HOP, N_MELS, N_FRAMES = 512, 256, 96, 187
# per-patch outputs stored for every clip and model; frame layers are stored averaged
# over the frames of each patch (their full maps would make the file too large)
POOLED = ("max_pool", "mean_pool", "penultimate")
FRAME = ("timbral", "temporal", "cnn1", "cnn2", "cnn3")


# -- part 1: the clips (ordinary environment) -------------------------------------------------
def make_clips(seed: int = 7) -> dict[str, np.ndarray]:
    """Three int16 clips at 16 kHz: quiet, loud (full scale) and a full-scale test signal."""
    sys.path.insert(0, str(HERE.parent))
    from genre_lib.audio import resample
    from genre_lib.datasets.synth import SR as SYNTH_SR
    from genre_lib.datasets.synth import render_clip

    def to_int16(y, peak):
        y = np.asarray(y, dtype=np.float64)
        y = y / max(np.abs(y).max(), 1e-9) * peak
        return np.round(y * 32767).astype(np.int16)

    classical, _ = render_clip("classical", 6.0, [seed, 0])
    rock, _ = render_clip("rock", 6.0, [seed, 1])
    t = np.arange(int(3.2 * SR)) / SR
    rng = np.random.default_rng(seed)
    chord = sum(np.sign(np.sin(2 * np.pi * f * t)) for f in (110.0, 138.6, 164.8)) / 3
    bursts = rng.standard_normal(len(t)) * (np.sin(2 * np.pi * 2 * t) > 0.6)
    return {
        # quiet enough that musicnn's float16 arithmetic does not overflow
        "synth_classical_quiet": to_int16(resample(classical, SYNTH_SR, SR), 0.02),
        # a synthetic rock clip at full scale: float16 overflows on most frames
        "synth_rock_loud": to_int16(resample(rock, SYNTH_SR, SR), 1.0),
        # a square-wave chord and noise bursts at full scale (3.2 s: one patch)
        "test_signal_full_scale": to_int16(0.6 * chord + 0.4 * bursts, 1.0),
    }


def run_worker(clips: dict[str, np.ndarray]) -> tuple[dict, dict]:
    """Run the original network in a subprocess with legacy Keras; returns (arrays, notes)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "clips.npz", Path(tmp) / "out.npz"
        np.savez(src, **clips)
        env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
        subprocess.run([sys.executable, __file__, "--worker", str(src), str(dst)], env=env,
                       check=True)
        with np.load(dst, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        notes = json.loads((Path(tmp) / "out.json").read_text())
    return arrays, notes


# -- part 2: the original network (worker subprocess, legacy Keras) ---------------------------
def musicnn_logmel(y: np.ndarray) -> np.ndarray:
    """musicnn 0.1.0's ``batch_data`` spectrogram, with the compression in float32."""
    import librosa

    S = librosa.feature.melspectrogram(y=y, sr=SR, hop_length=HOP, n_fft=N_FFT, n_mels=N_MELS).T
    S = S.astype(np.float32)        # musicnn casts to float16 here
    return np.log10(10000 * S + 1)


def musicnn_batches(rep: np.ndarray) -> np.ndarray:
    """Non-overlapping patches of N_FRAMES, as musicnn's ``batch_data`` cuts them."""
    return np.stack([rep[s:s + N_FRAMES] for s in range(0, rep.shape[0] - N_FRAMES + 1, N_FRAMES)])


def original_outputs(model: str, batches: dict[str, np.ndarray]) -> dict[str, dict]:
    """The original graph and checkpoint of ``model`` run on each clip's patches."""
    import tensorflow as tf
    from musicnn import configuration, models

    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, N_FRAMES, configuration.N_MELS])
        training = tf.compat.v1.placeholder(tf.bool)
        y, *layers = models.define_model(x, training, model, 50)
        fetch = dict(zip(("timbral", "temporal", "cnn1", "cnn2", "cnn3", "mean_pool", "max_pool",
                          "penultimate"), layers), taggram=tf.nn.sigmoid(y))
    out = {}
    with tf.compat.v1.Session() as sess:
        tf.compat.v1.train.Saver().restore(sess, str(Path(models.__file__).parent / model) + "/")
        for clip, batch in batches.items():
            got = sess.run(fetch, feed_dict={x: batch, training: False})
            for name in FRAME:   # (patches, frames, channels[, 1]) -> mean over frames
                got[name] = got[name].reshape(len(batch), N_FRAMES, -1).mean(axis=1)
            out[clip] = {k: np.asarray(v, dtype=np.float32) for k, v in got.items()}
    return out


def extractor_nonfinite(model: str, clips: dict[str, np.ndarray], folder: Path) -> dict:
    """musicnn's unchanged ``extractor`` on WAV copies of the clips: share of non-finite values
    in its taggram and penultimate features (the float16 overflow), per clip."""
    import soundfile as sf
    from musicnn.extractor import batch_data, extractor

    notes = {}
    for clip, pcm in clips.items():
        path = folder / f"{clip}.wav"
        sf.write(str(path), pcm, SR, subtype="PCM_16")
        with np.errstate(over="ignore"):
            half = batch_data(str(path), N_FRAMES, N_FRAMES)[0]
            taggram, _, feats = extractor(str(path), model=model, extract_features=True)
        notes[clip] = {"logmel_nonfinite": float(np.mean(~np.isfinite(half))),
                       "taggram_nonfinite": float(np.mean(~np.isfinite(taggram))),
                       "features_nonfinite": {k: float(np.mean(~np.isfinite(v))) for k, v in feats.items()},
                       "taggram": np.asarray(taggram, dtype=np.float32)}
    return notes


def worker(src: str, dst: str) -> None:
    import librosa
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()   # as musicnn's extractor does on import
    warnings.filterwarnings("ignore", category=UserWarning)   # TF1 layers' deprecation notes
    with np.load(src, allow_pickle=False) as f:
        clips = {k: f[k] for k in f.files}
    signals = {k: (v.astype(np.float32) / 32768.0) for k, v in clips.items()}
    reps = {k: musicnn_logmel(y) for k, y in signals.items()}
    batches = {k: musicnn_batches(r) for k, r in reps.items()}
    arrays = {f"{k}/logmel": b for k, b in batches.items()}
    notes = {"versions": {"tensorflow": tf.__version__, "librosa": librosa.__version__,
                          "numpy": np.__version__, "musicnn": _version("musicnn"),
                          "tf_keras": _version("tf-keras")},
             "extractor_float16": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for model in MODELS:
            for clip, outs in original_outputs(model, batches).items():
                for name, arr in outs.items():
                    arrays[f"{clip}/{model}/{name}"] = arr
            found = extractor_nonfinite(model, clips, Path(tmp))
            for clip, info in found.items():
                ref = arrays[f"{clip}/{model}/taggram"]
                got = info.pop("taggram")
                if np.all(np.isfinite(got)) and got.shape == ref.shape:
                    info["taggram_max_abs_diff_to_float32"] = float(np.max(np.abs(got - ref)))
                notes["extractor_float16"].setdefault(model, {})[clip] = info
    np.savez(dst, **arrays)
    Path(dst).with_suffix(".json").write_text(json.dumps(notes))


def _version(dist: str) -> str:
    import importlib.metadata as md

    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "not installed"


# -- putting it together ------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder for reference.npz/.json")
    parser.add_argument("--worker", nargs=2, metavar=("CLIPS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return 0
    clips = make_clips()
    arrays, notes = run_worker(clips)
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out / "reference.npz", **{f"{k}/audio": v for k, v in clips.items()},
                        **arrays)
    notes.update(sr=SR, models=list(MODELS), clips=list(clips), pooled=list(POOLED),
                 frame_layers_mean_over_frames=list(FRAME),
                 compression="log10(10000 * S + 1) in float32")
    (args.out / "reference.json").write_text(json.dumps(notes, indent=1) + "\n")
    size = (args.out / "reference.npz").stat().st_size
    print(f"wrote {args.out / 'reference.npz'} ({size / 1e6:.2f} MB) and reference.json")
    print(json.dumps(notes["extractor_float16"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
