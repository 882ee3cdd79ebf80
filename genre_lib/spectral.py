"""The signal-processing core of the features: mel filterbank, log-mel spectrogram, MFCCs,
summary statistics and small spectrogram images, as pure functions of a signal with explicit
parameters. :mod:`genre_lib.features` re-exports all of them and adds the feature store.

Notebook: 01_eda.ipynb (what a mel spectrogram and an MFCC are), 03_baseline_mfcc_svm.ipynb.
"""
from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np

from .config import Settings

# the built-in defaults: those of a default Settings() (see Settings.mel_params)
MEL_DEFAULTS = dict(sr=Settings.sample_rate, n_fft=Settings.n_fft, hop_length=Settings.hop_length,
                    n_mels=Settings.n_mels, fmin=0.0, fmax=None)
MFCC_DEFAULTS = dict(MEL_DEFAULTS, n_mfcc=20)
SUMMARY_STATS = ("mean", "std", "skew", "kurtosis", "min", "max", "median")
IMAGE_SHAPE = (32, 32)
_M = MEL_DEFAULTS


# -- the signal-processing core --------------------------------------------------------------
@lru_cache(maxsize=16)
def mel_basis(sr: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None):
    """The (n_mels, 1 + n_fft // 2) Slaney mel filterbank that librosa uses, computed once:
    librosa's defaults ``htk=False`` (linear below 1 kHz, logarithmic above) and
    ``norm="slaney"`` (each triangle scaled to unit area).

    Notebook: 01_eda.ipynb.
    """
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax,
                               dtype=np.float32)


def mel_power(y: np.ndarray, sr: int = _M["sr"], n_fft: int = _M["n_fft"],
              hop_length: int = _M["hop_length"], n_mels: int = _M["n_mels"], fmin: float = 0.0,
              fmax: float | None = None) -> np.ndarray:
    """Mel power spectrogram, shape (n_mels, frames), float32, equal to
    ``librosa.feature.melspectrogram`` with these settings. The package's one mel: the log-mel
    features take it in dB, musicnn's input takes it at 16 kHz with 96 bands and compresses it
    as ``log10(10000 S + 1)`` (``genre_lib.musicnn.MEL_PARAMS``).

    Notebook: 10_transfer_learning.ipynb.
    """
    import librosa

    spec = librosa.stft(np.asarray(y, dtype=np.float32), n_fft=n_fft, hop_length=hop_length,
                        center=True, pad_mode="constant")
    power = spec.real ** 2 + spec.imag ** 2
    return mel_basis(sr, n_fft, n_mels, fmin, fmax) @ power


def power_to_db(S: np.ndarray, top_db: float | None = 80.0, amin: float = 1e-10) -> np.ndarray:
    """``10 log10(S)`` relative to 1.0, floored ``top_db`` below the peak (as librosa does)."""
    log = 10.0 * np.log10(np.maximum(amin, S))
    if top_db is not None:
        log = np.maximum(log, log.max() - top_db)
    return log.astype(np.float32)


def logmel(y: np.ndarray, sr: int = _M["sr"], n_fft: int = _M["n_fft"],
           hop_length: int = _M["hop_length"], n_mels: int = _M["n_mels"], fmin: float = 0.0,
           fmax: float | None = None, top_db: float | None = 80.0) -> np.ndarray:
    """Log-mel spectrogram in dB, shape (n_mels, frames).

    Equal to ``librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, ...))``.

    Notebook: 01_eda.ipynb.
    """
    return power_to_db(mel_power(y, sr, n_fft, hop_length, n_mels, fmin, fmax), top_db)


def mfcc_from_logmel(S_db: np.ndarray, n_mfcc: int = 20) -> np.ndarray:
    """MFCCs (n_mfcc, frames): the orthonormal DCT-II of a log-mel spectrogram, as librosa does.

    Notebook: 01_eda.ipynb.
    """
    from scipy.fft import dct

    return dct(S_db, axis=-2, type=2, norm="ortho")[..., :n_mfcc, :].astype(np.float32)


def mfcc(y: np.ndarray, sr: int = _M["sr"], n_mfcc: int = 20, **mel) -> np.ndarray:
    """MFCCs of a signal, equal to ``librosa.feature.mfcc(y=y, sr=sr, n_mfcc=n_mfcc)``."""
    return mfcc_from_logmel(logmel(y, sr, **mel), n_mfcc)


def summarise(frames: np.ndarray, prefix: str = "mfcc") -> tuple[np.ndarray, list[str]]:
    """Per-coefficient statistics over time: mean, std, skew, kurtosis, min, max, median.

    For 20 MFCCs that is the 140-value vector of the FMA baselines. Returns (vector, names),
    ordered statistic-major: all means, then all standard deviations, and so on.
    """
    from scipy import stats

    frames = np.asarray(frames, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant rows give nan skew
        parts = [frames.mean(1), frames.std(1), stats.skew(frames, axis=1),
                 stats.kurtosis(frames, axis=1), frames.min(1), frames.max(1),
                 np.median(frames, axis=1)]
    vector = np.nan_to_num(np.concatenate(parts)).astype(np.float32)
    names = [f"{prefix}{i:02d}_{s}" for s in SUMMARY_STATS for i in range(frames.shape[0])]
    return vector, names


def summary_names(n_mfcc: int = 20, prefix: str = "mfcc") -> list[str]:
    return [f"{prefix}{i:02d}_{s}" for s in SUMMARY_STATS for i in range(n_mfcc)]


def block_mean(A: np.ndarray, out: int, axis: int) -> np.ndarray:
    """``A`` shrunk (or stretched) to ``out`` cells along ``axis``: each output cell is the mean
    of the block of input cells it covers (area averaging, which keeps each band's level); with
    fewer input cells than output cells, linear interpolation.

    Notebook: 02_correlation_and_projections.ipynb.
    """
    n = A.shape[axis]
    if n >= out:
        edges = np.linspace(0, n, out + 1).round().astype(int)
        sums = np.add.reduceat(A, edges[:-1], axis=axis)
        shape = [1] * A.ndim
        shape[axis] = out
        return sums / np.diff(edges).reshape(shape)
    src = np.linspace(0, n - 1, out)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    w_shape = [1] * A.ndim
    w_shape[axis] = out
    w = (src - lo).reshape(w_shape)
    return np.take(A, lo, axis=axis) * (1 - w) + np.take(A, hi, axis=axis) * w


def spectrogram_image(S_db: np.ndarray, shape=IMAGE_SHAPE) -> np.ndarray:
    """One spectrogram (freq, time) shrunk to a ``shape`` image by area averaging (float32);
    equal to one row of ``analysis.downsample_images(X, shape, flatten=False)``.

    Notebook: none directly; the ``logmel_32x32`` feature kind (the "SVM on spectrogram images"
    input).
    """
    A = np.asarray(S_db, dtype=np.float64)[None]
    return block_mean(block_mean(A, shape[0], axis=1), shape[1], axis=2)[0].astype(np.float32)


# -- music's own representations --------------------------------------------------------------
CQT_DEFAULTS = dict(fmin=32.70319566257483, n_bins=84, bins_per_octave=12)  # C1, 7 octaves
TEMPOGRAM_LAGS = 128  # lags of the tempogram: 128 hops of 512 at 22,050 Hz = 3 s (20 BPM and up)


def cqt_db(y: np.ndarray, sr: int = _M["sr"], hop_length: int = _M["hop_length"],
           fmin: float = CQT_DEFAULTS["fmin"], n_bins: int = CQT_DEFAULTS["n_bins"],
           bins_per_octave: int = CQT_DEFAULTS["bins_per_octave"]) -> np.ndarray:
    """The constant-Q magnitude in dB (``(n_bins, frames)``, float32, 80 dB below the clip's
    peak at most): log-spaced bins, ``bins_per_octave`` per octave from ``fmin`` (default:
    semitones from C1 over 7 octaves). Shifting a note by k semitones moves its energy by k
    bins at any pitch, which a mel axis only approximates (librosa.cqt).

    Notebook: none directly; the ``cqt`` feature kind.
    """
    import librosa

    C = np.abs(librosa.cqt(np.asarray(y, np.float32), sr=sr, hop_length=hop_length, fmin=fmin,
                           n_bins=n_bins, bins_per_octave=bins_per_octave))
    return librosa.amplitude_to_db(C, ref=np.max, top_db=80.0).astype(np.float32)


def chroma(y: np.ndarray, sr: int = _M["sr"], n_fft: int = _M["n_fft"],
           hop_length: int = _M["hop_length"]) -> np.ndarray:
    """Chroma: the energy of each of the 12 pitch classes (C, C#, ..., B) per frame, octaves
    folded together, each frame scaled to a maximum of 1 (``(12, frames)``, float32;
    librosa.feature.chroma_stft). Keeps harmony, drops timbre and octave.

    Notebook: none directly; the ``chroma`` feature kind.
    """
    import librosa

    return librosa.feature.chroma_stft(y=np.asarray(y, np.float32), sr=sr, n_fft=n_fft,
                                       hop_length=hop_length).astype(np.float32)


def tempogram(y: np.ndarray, sr: int = _M["sr"], hop_length: int = _M["hop_length"],
              win_length: int = TEMPOGRAM_LAGS) -> np.ndarray:
    """The autocorrelation tempogram: for each frame, how strongly the onset strength repeats
    after each lag of 0 to ``win_length - 1`` hops (``(win_length, frames)``, float32;
    librosa.feature.tempogram). A beat period of L hops shows as a ridge at lag L, i.e. at
    60 * sr / (hop_length * L) BPM. Keeps rhythm, drops pitch and timbre.

    Notebook: none directly; the ``tempogram`` feature kind.
    """
    import librosa

    onset = librosa.onset.onset_strength(y=np.asarray(y, np.float32), sr=sr, hop_length=hop_length)
    return librosa.feature.tempogram(onset_envelope=onset, sr=sr, hop_length=hop_length,
                                     win_length=win_length).astype(np.float32)
