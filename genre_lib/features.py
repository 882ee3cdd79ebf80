"""Features: log-mel spectrograms, MFCCs, their summary statistics, and the feature cache.

The cache stores one pickled entry per (dataset, track set, feature kind, every parameter,
format version). Entries are written atomically (temporary file, then rename) and carry a
length and CRC-32, so a truncated or corrupt entry is detected, reported and rebuilt.
Extraction runs in parallel (joblib) with a progress bar; tracks that cannot be read are
skipped and listed, and progress is checkpointed so an interrupted run resumes where it
stopped.

Notebook: 01_eda.ipynb (what a mel spectrogram and an MFCC are), 03_baseline_mfcc_svm.ipynb.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import struct
import time
import warnings
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from . import audio
from .config import Settings, get_settings

FORMAT_VERSION = 2
MAGIC = b"GENRECACHE2\n"
_HEADER = struct.Struct("<QI")  # payload length, CRC-32

MEL_DEFAULTS = dict(sr=22050, n_fft=2048, hop_length=512, n_mels=128, fmin=0.0, fmax=None)
MFCC_DEFAULTS = dict(MEL_DEFAULTS, n_mfcc=20)
SUMMARY_STATS = ("mean", "std", "skew", "kurtosis", "min", "max", "median")


# -- the signal-processing core --------------------------------------------------------------
@lru_cache(maxsize=16)
def mel_basis(sr: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None):
    """The (n_mels, 1 + n_fft // 2) Slaney mel filterbank that librosa uses, computed once."""
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax,
                               dtype=np.float32)


def mel_power(y: np.ndarray, sr: int = 22050, n_fft: int = 2048, hop_length: int = 512,
              n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Mel power spectrogram, equal to ``librosa.feature.melspectrogram`` with these settings."""
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


def logmel(y: np.ndarray, sr: int = 22050, n_fft: int = 2048, hop_length: int = 512,
           n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None,
           top_db: float | None = 80.0) -> np.ndarray:
    """Log-mel spectrogram in dB, shape (n_mels, frames).

    Equal to ``librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, ...))``.
    """
    return power_to_db(mel_power(y, sr, n_fft, hop_length, n_mels, fmin, fmax), top_db)


def mfcc_from_logmel(S_db: np.ndarray, n_mfcc: int = 20) -> np.ndarray:
    """MFCCs (n_mfcc, frames): the orthonormal DCT-II of a log-mel spectrogram, as librosa does."""
    from scipy.fft import dct

    return dct(S_db, axis=-2, type=2, norm="ortho")[..., :n_mfcc, :].astype(np.float32)


def mfcc(y: np.ndarray, sr: int = 22050, n_mfcc: int = 20, **mel) -> np.ndarray:
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


# -- feature kinds: what the cache can hold ---------------------------------------------------
def _k_logmel(y, p):
    return logmel(y, p["sr"], p["n_fft"], p["hop_length"], p["n_mels"], p["fmin"], p["fmax"])


def _k_mfcc(y, p):
    return mfcc_from_logmel(_k_logmel(y, p), p["n_mfcc"])


def _k_mfcc_stats(y, p):
    return summarise(_k_mfcc(y, p))[0]


def _k_waveform(y, p):
    return y.astype(np.float32)


SIGNAL_STATS = ("variance", "rms_std", "zero_crossing_rate", "spectral_centroid_hz")


def _k_signal_stats(y, p):
    """Sample variance, loudness variation, noisiness and brightness of one signal."""
    import librosa

    rms = librosa.feature.rms(y=y)[0]
    zcr = librosa.feature.zero_crossing_rate(y)[0]
    centroid = librosa.feature.spectral_centroid(y=y, sr=p["sr"])[0]
    return np.array([y.var(), rms.std(), zcr.mean(), centroid.mean()], dtype=np.float32)


KINDS = {
    "logmel": (_k_logmel, MEL_DEFAULTS),
    "mfcc": (_k_mfcc, MFCC_DEFAULTS),
    "mfcc_stats": (_k_mfcc_stats, MFCC_DEFAULTS),
    "waveform": (_k_waveform, dict(sr=22050)),
    "signal_stats": (_k_signal_stats, dict(sr=22050)),
}


def compute(kind: str, y: np.ndarray, **params) -> np.ndarray:
    """Compute feature ``kind`` for one signal (no cache)."""
    func, defaults = KINDS[kind]
    return func(y, {**defaults, **params})


# -- the cache ----------------------------------------------------------------------------------
class CacheError(Exception):
    """A cache entry that cannot be used (truncated, corrupt, or from another format)."""


def write_entry(path: Path, payload) -> None:
    """Pickle ``payload`` to ``path`` atomically, with a length and checksum header.

    Arrays travel as pickle protocol 5 out-of-band buffers stored after the pickle stream, so
    :func:`read_entry` rebuilds them directly on the bytes read from disk, without a copy.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffers: list = []
    blob = pickle.dumps(payload, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    table = struct.pack(f"<QQ{len(raws)}Q", len(blob), len(raws), *(r.nbytes for r in raws))
    parts = [table, blob, *raws]
    crc = 0
    for part in parts:
        crc = zlib.crc32(part, crc)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(MAGIC)
        fh.write(_HEADER.pack(sum(memoryview(p).nbytes for p in parts), crc))
        for part in parts:
            fh.write(part)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_entry(path: Path):
    """Read an entry written by :func:`write_entry`; raise :class:`CacheError` if it is bad."""
    path = Path(path)
    size = path.stat().st_size
    data = bytearray(size)  # writable, so the arrays rebuilt on it are writable too
    with open(path, "rb") as fh:
        got = fh.readinto(data)
    view = memoryview(data)[:got]
    head = len(MAGIC) + _HEADER.size
    if got < head or view[: len(MAGIC)] != MAGIC:
        raise CacheError(f"{path}: not a feature-cache file (bad header)")
    length, crc = _HEADER.unpack_from(view, len(MAGIC))
    body = view[head:]
    if len(body) != length:
        raise CacheError(f"{path}: truncated ({len(body)} of {length} payload bytes)")
    if zlib.crc32(body) != crc:
        raise CacheError(f"{path}: checksum mismatch (corrupt)")
    try:
        blob_len, n = struct.unpack_from("<QQ", body, 0)
        sizes = struct.unpack_from(f"<{n}Q", body, 16)
        offset = 16 + 8 * n
        blob = body[offset: offset + blob_len]
        offset += blob_len
        buffers = []
        for nbytes in sizes:
            buffers.append(body[offset: offset + nbytes])
            offset += nbytes
        return pickle.loads(blob, buffers=buffers)
    except Exception as exc:
        raise CacheError(f"{path}: cannot unpickle ({exc})") from None


def track_fingerprint(table: pd.DataFrame) -> str:
    """A hash of the track set: ids, file names, sizes and modification times."""
    h = hashlib.sha1()
    for tid, p in zip(table["track_id"], table["path"]):
        try:
            st = os.stat(p)
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        h.update(f"{tid}\t{Path(p).name}\t{stamp}\n".encode())
    return h.hexdigest()


def cache_key(dataset: str, kind: str, params: dict, fingerprint: str) -> str:
    desc = json.dumps({"format": FORMAT_VERSION, "dataset": dataset, "kind": kind,
                       "params": params, "tracks": fingerprint}, sort_keys=True, default=str)
    return hashlib.sha1(desc.encode()).hexdigest()[:20]


@dataclass
class FeatureSet:
    """Features for the tracks of a table that could be read, aligned row by row.

    ``X[i]`` belongs to ``table.iloc[i]``; ``skipped`` maps unreadable track ids to reasons.
    """

    kind: str
    params: dict
    table: pd.DataFrame
    X: np.ndarray
    skipped: dict = field(default_factory=dict)
    cache_path: Path | None = None
    from_cache: bool = False
    seconds_computing: float = 0.0

    def split(self, name: str) -> tuple[np.ndarray, pd.DataFrame]:
        """(X, table) for one split: 'train', 'valid' or 'test'."""
        mask = (self.table["split"] == name).to_numpy()
        return self.X[mask], self.table[mask].reset_index(drop=True)

    def subset(self, which) -> "FeatureSet":
        """The rows for a split name (``"test"``), a boolean mask or positions, as a FeatureSet."""
        if isinstance(which, str):
            mask = (self.table["split"] == which).to_numpy()
        else:
            which = np.asarray(which)
            mask = which if which.dtype == bool else np.isin(np.arange(len(self.table)), which)
        table = self.table[mask].reset_index(drop=True)
        table.attrs = dict(self.table.attrs)
        return FeatureSet(self.kind, self.params, table, self.X[mask], self.skipped,
                          self.cache_path, self.from_cache, self.seconds_computing)

    def labels(self, column: str = "genre") -> np.ndarray:
        return self.table[column].to_numpy()

    def __repr__(self) -> str:
        return (f"FeatureSet({self.kind}, X{tuple(self.X.shape)}, {len(self.skipped)} skipped, "
                f"{'from cache' if self.from_cache else 'computed'})")


def _work(path: str, kind: str, params: dict, seconds, offset: float):
    """Worker: one track to one feature array, or the reason it failed."""
    try:
        y = audio.load(path, sr=params["sr"], duration=seconds, offset=offset)
        return compute(kind, y, **params), None
    except audio.AudioError as exc:
        return None, exc.reason
    except Exception as exc:  # a feature bug must not lose the batch; report it per track
        return None, f"feature extraction failed: {type(exc).__name__}: {exc}"


def default_seconds(table: pd.DataFrame, settings: Settings) -> float | None:
    """Clip length to crop or pad every track to, so features stack into one array."""
    if settings.dataset == "synth":
        return settings.profile.synth_seconds
    native = table.attrs.get("clip_seconds")
    if settings.profile.clip_seconds is not None:
        return min(settings.profile.clip_seconds, native or np.inf)
    return native


def extract(table: pd.DataFrame, kind: str = "logmel", settings: Settings | None = None,
            seconds: float | None = None, offset: float = 0.0, jobs: int | None = None,
            progress: bool = True, use_cache: bool = True, checkpoint_every: int = 64,
            **params) -> FeatureSet:
    """Features of ``kind`` for every track of ``table``, from the cache when possible.

    ``params`` override the kind's defaults (e.g. ``n_mels=96``). Every track is cropped or
    padded to ``seconds`` (default: the profile's clip length), so ``X`` is one array.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    if kind not in KINDS:
        raise ValueError(f"unknown feature kind {kind!r}; choose from {sorted(KINDS)}")
    settings = settings or get_settings()
    unknown = set(params) - set(KINDS[kind][1])
    if unknown:
        raise TypeError(f"feature {kind!r} takes no parameter(s) {sorted(unknown)}")
    params = {**KINDS[kind][1], **params}
    if seconds is None:
        seconds = default_seconds(table, settings)
    table = table.reset_index(drop=True)
    dataset = table.attrs.get("dataset", settings.dataset)
    key_params = dict(params, seconds=seconds, offset=offset)
    key = cache_key(dataset, kind, key_params, track_fingerprint(table))
    path = settings.cache_dir / dataset / f"{kind}-{key}.pkl"
    partial = path.with_suffix(".partial")

    if use_cache and path.exists():
        try:
            entry = read_entry(path)
            return _assemble(kind, params, table, entry, path, from_cache=True)
        except CacheError as exc:
            warnings.warn(f"feature cache entry rebuilt: {exc}", stacklevel=2)
            path.unlink(missing_ok=True)

    done: dict = {}
    skipped: dict = {}
    if use_cache and partial.exists():
        try:
            entry = read_entry(partial)
            done, skipped = entry["done"], entry["skipped"]
        except (CacheError, KeyError, TypeError) as exc:
            warnings.warn(f"discarding unreadable checkpoint: {exc}", stacklevel=2)
    todo = [(t, p) for t, p in zip(table["track_id"], table["path"])
            if t not in done and t not in skipped]
    start = time.perf_counter()
    if todo:
        n_jobs = jobs or settings.jobs
        runner = Parallel(n_jobs=n_jobs, return_as="generator", batch_size="auto")
        results = runner(delayed(_work)(p, kind, params, seconds, offset) for _, p in todo)
        bar = tqdm(total=len(table), initial=len(done) + len(skipped), disable=not progress,
                   desc=f"{kind} features", unit="track")
        since = 0
        try:
            for (tid, _), (arr, reason) in zip(todo, results):
                if arr is None:
                    skipped[tid] = reason
                else:
                    done[tid] = arr
                bar.update(1)
                since += 1
                if use_cache and since >= checkpoint_every:
                    write_entry(partial, {"done": done, "skipped": skipped})
                    since = 0
        except BaseException:
            if use_cache and since:
                write_entry(partial, {"done": done, "skipped": skipped})
            raise
        finally:
            bar.close()
    elapsed = time.perf_counter() - start
    entry = {"format": FORMAT_VERSION, "kind": kind, "params": key_params,
             "track_ids": [t for t in table["track_id"] if t in done],
             "skipped": skipped}
    entry["X"] = (np.stack([done[t] for t in entry["track_ids"]]) if entry["track_ids"]
                  else np.zeros((0,), np.float32))
    if use_cache:
        write_entry(path, entry)
        partial.unlink(missing_ok=True)
    if skipped:
        print(f"skipped {len(skipped)} of {len(table)} track(s) that could not be read:")
        for tid, reason in sorted(skipped.items()):
            print(f"  {tid}: {reason}")
    fs = _assemble(kind, params, table, entry, path if use_cache else None, from_cache=False)
    fs.seconds_computing = elapsed
    return fs


def _assemble(kind, params, table, entry, path, from_cache) -> FeatureSet:
    index = {t: i for i, t in enumerate(table["track_id"])}
    missing = [t for t in entry["track_ids"] if t not in index]
    if missing:
        raise CacheError(f"{path}: entry names tracks not in the table ({missing[:3]} ...)")
    rows = table.iloc[[index[t] for t in entry["track_ids"]]].reset_index(drop=True)
    rows.attrs = dict(table.attrs)
    return FeatureSet(kind, params, rows, entry["X"], dict(entry["skipped"]), path, from_cache)


def summary_frame(fs: FeatureSet) -> pd.DataFrame:
    """An ``mfcc_stats`` FeatureSet as a DataFrame with named columns, indexed by track id."""
    if fs.kind != "mfcc_stats":
        raise ValueError("summary_frame needs kind='mfcc_stats'")
    return pd.DataFrame(fs.X, columns=summary_names(fs.params["n_mfcc"]),
                        index=fs.table["track_id"].to_numpy())
