"""The input musicnn expects: 16 kHz audio, a 96-band log-compressed mel spectrogram, 3 s patches.

musicnn (Pons and Serra 2019, "musicnn: pre-trained convolutional neural networks for music
audio tagging") was trained on mel power spectrograms of 16 kHz audio (512-sample FFT, hop
256, 96 Slaney mel bands, librosa's filterbank) compressed as ``log10(10000 * S + 1)``, cut
into patches of 187 frames (3 s). The mel power is the package's one spectral core
(:func:`genre_lib.spectral.mel_power`, bands first) with :data:`MEL_PARAMS`; these functions
add the compression and turn it frame-major, ``(frames, 96)``, as the network reads it.

One deliberate difference from musicnn 0.1.0's own code: its batching step casts the mel
power to float16 before the logarithm. Under NumPy 2's promotion rules ``10000 * S`` then
stays float16, whose largest value is 65504, so any bin with power above about 6.55
overflows to ``inf`` and the network returns NaN or infinite outputs for loud music,
silently. The published features were computed without that overflow; computing the same
formula in float32, as here, reproduces them. :func:`float16_overflow` shows the trap.

Notebook: 10_transfer_learning.ipynb.
"""
from __future__ import annotations

import numpy as np

SR = 16000          # sample rate the networks were trained at (Hz)
N_FFT = 512         # STFT window (samples): 32 ms
HOP = 256           # STFT hop (samples): 16 ms
N_MELS = 96         # mel bands
PATCH_SECONDS = 3.0
# frames in a 3 s patch, as librosa.time_to_frames(3, sr=16000, hop_length=256, n_fft=512) + 1
PATCH_FRAMES = int(np.floor((PATCH_SECONDS * SR - N_FFT // 2) / HOP)) + 1   # 187
COMPRESSION = 10000.0   # the log compression is log10(COMPRESSION * S + 1)
# the spectral core's parameters for musicnn's mel power: genre_lib.spectral.mel_power(y16, **MEL_PARAMS)
MEL_PARAMS = dict(sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)


def to_16k(y: np.ndarray, sr: int) -> np.ndarray:
    """``y`` as float32 at 16 kHz (soxr resampling, as librosa's default; no-op at 16 kHz)."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"expected a mono signal (1-D), got shape {y.shape}")
    if sr == SR:
        return y
    from ..audio import resample

    return resample(y, sr, SR).astype(np.float32)


def compress(S: np.ndarray) -> np.ndarray:
    """musicnn's log compression ``log10(10000 * S + 1)``, computed in float32."""
    S = np.asarray(S, dtype=np.float32)
    return np.log10(np.float32(COMPRESSION) * S + np.float32(1.0)).astype(np.float32)


def log_mel(y: np.ndarray, sr: int = SR) -> np.ndarray:
    """The log-compressed mel spectrogram musicnn reads, shape (frames, 96), float32: the
    spectral core's mel power (:func:`genre_lib.spectral.mel_power`, bands first) with
    :data:`MEL_PARAMS`, compressed, then transposed to frames first as the network reads it.

    Notebook: none directly; used by :func:`clip_patches`.
    """
    from ..spectral import mel_power

    return np.ascontiguousarray(compress(mel_power(to_16k(y, sr), **MEL_PARAMS)).T)


def float16_overflow(S: np.ndarray) -> dict:
    """What musicnn 0.1.0's float16 cast does to mel power ``S`` under NumPy 2.

    Returns the number of bins, how many of them become infinite, the largest power, and
    the power above which ``10000 * S`` overflows float16 (65504 / 10000, about 6.55).
    Shown in the notebook so the trap is visible; nothing in the package computes in float16.

    Notebook: 10_transfer_learning.ipynb.
    """
    S = np.asarray(S, dtype=np.float32)
    with np.errstate(over="ignore"):
        half = np.log10(np.float16(COMPRESSION) * S.astype(np.float16) + np.float16(1.0))
    limit = float(np.finfo(np.float16).max) / COMPRESSION
    return {"bins": int(S.size), "nonfinite_bins": int((~np.isfinite(half)).sum()),
            "max_power": float(S.max()) if S.size else 0.0, "overflow_above_power": limit}


def patches(spec: np.ndarray, length: int = PATCH_FRAMES, hop: int | None = None) -> np.ndarray:
    """Cut a (frames, 96) spectrogram into patches, shape (n_patches, length, 96), with the
    package's one cutter (:func:`genre_lib.pipeline.cut_chunks`, ``pad="repeat"``).

    Like musicnn, a patch every ``hop`` frames (default ``length``: no overlap) and a trailing
    part shorter than a patch dropped. A clip shorter than one patch is repeated until it
    fills one (musicnn's training used repeat-padding), where musicnn 0.1.0 itself would fail.
    """
    from ..pipeline import cut_chunks

    spec = np.asarray(spec, dtype=np.float32)
    if spec.ndim != 2 or len(spec) == 0:
        raise ValueError(f"expected a non-empty (frames, bands) spectrogram, got shape {spec.shape}")
    return cut_chunks(spec, length, hop=hop, pad="repeat", axis=0)


def clip_patches(y: np.ndarray, sr: int, hop: int | None = None,
                 window_seconds: float | None = None) -> np.ndarray:
    """Signal to patches in one call: optional middle window
    (:func:`genre_lib.pipeline.middle_window`), 16 kHz, log-mel, patches.

    Notebook: none directly; used by :func:`genre_lib.musicnn.features` and
    ``transfer.table_patches``.
    """
    if window_seconds is not None:
        from ..pipeline import middle_window

        y = middle_window(np.asarray(y), int(round(window_seconds * sr)))
    return patches(log_mel(y, sr), hop=hop)


def patch_seconds(n_patches: int, hop: int | None = None) -> np.ndarray:
    """Start time (s) of each patch, for the time axis of a taggram."""
    return np.arange(n_patches) * (hop or PATCH_FRAMES) * HOP / SR
