"""Features: log-mel spectrograms, MFCCs, summary statistics, small log-mel images and musicnn's
per-patch layer outputs, and :func:`extract`, which fills and reads the feature store
(:mod:`genre_lib.store`).

Every parameter's default comes from the settings (``settings.mel_params``,
``settings.sample_rate``). :func:`extract` answers from the store what it holds for the same
dataset, kind and parameters and unchanged audio files, and computes the rest in parallel:
local worker processes, or a Dask cluster when ``GENRE_SCHEDULER`` names one. New rows are
added shard by shard, so an interrupted run resumes where it stopped. Tracks that cannot be
read are skipped and listed; only failures about a file's content are remembered, so a file
that was merely unreadable for a moment (no permission, an I/O error) is tried again.

Notebook: 01_eda.ipynb (what a mel spectrogram and an MFCC are), 03_baseline_mfcc_svm.ipynb.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import audio, parallel, store
from .config import Settings, get_settings
from .spectral import (  # noqa: F401  (re-exported: features is where notebooks find them)
    _M,
    CQT_DEFAULTS,
    IMAGE_SHAPE,
    MEL_DEFAULTS,
    MFCC_DEFAULTS,
    SUMMARY_STATS,
    block_mean,
    chroma,
    cqt_db,
    logmel,
    mel_basis,
    mel_power,
    mfcc,
    mfcc_from_logmel,
    power_to_db,
    spectrogram_image,
    summarise,
    summary_names,
    tempogram,
)
from .store import CacheError, ShardedArray, read_entry, write_entry  # noqa: F401  (re-exported)


# -- feature kinds: what the store can hold ---------------------------------------------------
def _k_logmel(y, p):
    return logmel(y, p["sr"], p["n_fft"], p["hop_length"], p["n_mels"], p["fmin"], p["fmax"])


def _k_mfcc(y, p):
    return mfcc_from_logmel(_k_logmel(y, p), p["n_mfcc"])


def _k_mfcc_stats(y, p):
    return summarise(_k_mfcc(y, p))[0]


def _k_logmel_32x32(y, p):
    return spectrogram_image(_k_logmel(y, p), IMAGE_SHAPE).reshape(-1)


def _k_cqt(y, p):
    return cqt_db(y, p["sr"], p["hop_length"], p["fmin_cqt"], p["n_bins"], p["bins_per_octave"])


def _k_chroma(y, p):
    return chroma(y, p["sr"], p["n_fft"], p["hop_length"])


def _k_tempogram(y, p):
    return tempogram(y, p["sr"], p["hop_length"], p["win_length"])


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


@dataclass(frozen=True)
class Kind:
    """A feature kind: its function, its parameters (defaults from the settings, plus
    ``extra``), whether one track gives a small vector (``X`` then lives in memory), and the
    shape of one track's features for ``n`` samples of audio."""

    func: Callable
    params: tuple
    per_track: bool
    shape: Callable
    extra: dict = field(default_factory=dict)
    defaults: Callable | None = None   # () -> every default, where they come not from the settings
    check: Callable | None = None      # params -> params checked (before anything is computed)


def _musicnn(name: str) -> Callable:
    """A function of musicnn's kind (:mod:`genre_lib.musicnn.extract`), imported on first use:
    musicnn's table-level code imports this module."""
    def call(*args):
        from .musicnn import extract

        return getattr(extract, name)(*args)

    return call


def _frames(p: dict, n: int) -> int:
    return 1 + n // p["hop_length"]  # a centred STFT


_MEL_KEYS = tuple(MEL_DEFAULTS)
KINDS = {
    "logmel": Kind(_k_logmel, _MEL_KEYS, False, lambda p, n: (p["n_mels"], _frames(p, n))),
    "mfcc": Kind(_k_mfcc, _MEL_KEYS + ("n_mfcc",), False, lambda p, n: (p["n_mfcc"], _frames(p, n)),
                 {"n_mfcc": 20}),
    "mfcc_stats": Kind(_k_mfcc_stats, _MEL_KEYS + ("n_mfcc",), True,
                       lambda p, n: (len(SUMMARY_STATS) * p["n_mfcc"],), {"n_mfcc": 20}),
    "logmel_32x32": Kind(_k_logmel_32x32, _MEL_KEYS, True, lambda p, n: (IMAGE_SHAPE[0] * IMAGE_SHAPE[1],)),
    "waveform": Kind(_k_waveform, ("sr",), False, lambda p, n: (n,)),
    # music's own representations (notebook 01 sets them beside log-mel)
    "cqt": Kind(_k_cqt, ("sr", "hop_length", "fmin_cqt", "n_bins", "bins_per_octave"), False,
                lambda p, n: (p["n_bins"], _frames(p, n)),
                {"fmin_cqt": CQT_DEFAULTS["fmin"], "n_bins": CQT_DEFAULTS["n_bins"],
                 "bins_per_octave": CQT_DEFAULTS["bins_per_octave"]}),
    "chroma": Kind(_k_chroma, ("sr", "n_fft", "hop_length"), False, lambda p, n: (12, _frames(p, n))),
    "tempogram": Kind(_k_tempogram, ("sr", "hop_length", "win_length"), False,
                      lambda p, n: (p["win_length"], _frames(p, n)), {"win_length": 128}),
    "signal_stats": Kind(_k_signal_stats, ("sr",), True, lambda p, n: (len(SIGNAL_STATS),)),
    # per-patch outputs of musicnn's layers: one flat row per track (musicnn.extract.row_layout)
    "musicnn": Kind(_musicnn("track_row"), ("model", "layers", "frame_pool", "patch_hop",
                                            "window_seconds", "sr", "n_fft", "hop_length", "n_mels",
                                            "compression", "patch_frames"), False,
                    _musicnn("track_row_shape"), defaults=_musicnn("default_params"),
                    check=_musicnn("check_params")),
}


def kind_defaults(kind: str, *, settings: Settings | None = None) -> dict:
    """The default parameters of ``kind`` under ``settings`` (``mel_params``, ``sample_rate``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown feature kind {kind!r}; choose from {sorted(KINDS)}")
    spec = KINDS[kind]
    if spec.defaults is not None:
        return dict(spec.defaults())
    settings = settings or get_settings()
    known = dict(settings.mel_params, sr=settings.sample_rate)
    return {k: spec.extra[k] if k in spec.extra else known[k] for k in spec.params}


def resolve_params(kind: str, params: dict | None = None, *, settings: Settings | None = None) -> dict:
    """``kind``'s defaults overridden by ``params``; an unknown parameter is a TypeError."""
    defaults = kind_defaults(kind, settings=settings)
    unknown = set(params or {}) - set(defaults)
    if unknown:
        raise TypeError(f"feature {kind!r} takes no parameter(s) {sorted(unknown)}")
    merged = {**defaults, **(params or {})}
    check = KINDS[kind].check
    return check(merged) if check is not None else merged


def compute(y: np.ndarray, kind: str = "logmel", *, settings: Settings | None = None,
            **params) -> np.ndarray:
    """Feature ``kind`` of one signal ``y`` (no store); defaults from ``settings``.

    Notebook: 12_serving.ipynb.
    """
    return KINDS[kind].func(y, resolve_params(kind, params, settings=settings))


def row_shape(kind: str, params: dict, seconds: float | None) -> tuple | None:
    """The shape of one track's features for clips of ``seconds`` (None when unknown)."""
    if seconds is None:
        return None
    return tuple(KINDS[kind].shape(params, int(round(seconds * params["sr"]))))


# -- feature sets -----------------------------------------------------------------------------------
@dataclass
class FeatureSet:
    """Features for the tracks of a table that could be read, aligned row by row.

    ``X[i]`` belongs to ``table.iloc[i]``. ``X`` is a :class:`~genre_lib.store.ShardedArray`
    (rows read from memory-mapped shards on demand) for logmel, mfcc, waveform and musicnn
    (read it through :class:`genre_lib.musicnn.PatchFeatures`), and an
    in-memory array for the per-track kinds (mfcc_stats, signal_stats, logmel_32x32).
    ``skipped`` maps the track ids left out to reasons; ``transient`` holds those of them that
    failed for a passing reason (not remembered; the next run tries them again).
    """

    kind: str
    params: dict
    table: pd.DataFrame
    X: np.ndarray | ShardedArray
    skipped: dict = field(default_factory=dict)
    cache_path: Path | None = None
    from_cache: bool = False
    seconds_computing: float = 0.0
    transient: dict = field(default_factory=dict)

    def _rows(self, which) -> np.ndarray:
        if isinstance(which, str):
            return np.flatnonzero((self.table["split"] == which).to_numpy())
        which = np.asarray(which)
        return np.flatnonzero(which) if which.dtype == bool else which.astype(int)

    def split(self, name: str) -> tuple[np.ndarray | ShardedArray, pd.DataFrame]:
        """(X, table) for one split: 'train', 'valid' or 'test'."""
        part = self.subset(name)
        return part.X, part.table

    def subset(self, which) -> FeatureSet:
        """The rows for a split name (``"test"``), a boolean mask or positions, as a FeatureSet
        (a sharded ``X`` stays on disk: only the selection is kept)."""
        rows = self._rows(which)
        table = self.table.iloc[rows].reset_index(drop=True)
        table.attrs = dict(self.table.attrs)
        X = self.X.take(rows) if isinstance(self.X, ShardedArray) else self.X[rows]
        return FeatureSet(self.kind, self.params, table, X, self.skipped, self.cache_path,
                          self.from_cache, self.seconds_computing, self.transient)

    def labels(self, column: str = "genre") -> np.ndarray:
        return self.table[column].to_numpy()

    def __repr__(self) -> str:
        return (f"FeatureSet({self.kind}, X{tuple(self.X.shape)}, {len(self.skipped)} skipped, "
                f"{'from cache' if self.from_cache else 'computed'})")


# -- the worker -----------------------------------------------------------------------------------
_blas: list = []


def _one_blas_thread():
    """One BLAS thread while features are computed: every engine (this process, local
    workers, Dask workers) then gives bit-identical arrays, whatever its thread settings."""
    if not _blas:
        from threadpoolctl import ThreadpoolController

        _blas.append(ThreadpoolController())
    return _blas[0].limit(limits=1, user_api="blas")


def _work(path: str, kind: str, params: dict, seconds, offset: float):
    """Worker: one track to (features, None, False), or (None, reason, transient)."""
    try:
        with _one_blas_thread():
            y = audio.load(path, sr=params["sr"], duration=seconds, offset=offset)
            return KINDS[kind].func(y, params), None, False
    except audio.AudioError as exc:
        return None, exc.reason, bool(getattr(exc, "transient", False))
    except Exception as exc:  # access, or a bug in feature code: not the file's content
        return None, f"feature extraction failed: {type(exc).__name__}: {exc}", True


# -- extraction ----------------------------------------------------------------------------------
def default_seconds(table: pd.DataFrame, *, settings: Settings | None = None) -> float | None:
    """Clip length to crop or pad every track to, so features stack into one array.

    The table's native length (``table.attrs["clip_seconds"]``, else the one the dataset's
    declaration gives), capped by the profile's ``clip_seconds`` where the declaration allows.

    Notebook: 01_eda.ipynb
    """
    from .datasets.registry import get_spec  # imports no features: no circle

    settings = settings or get_settings()
    return get_spec(settings.dataset).default_seconds(table.attrs.get("clip_seconds"), settings=settings)


def store_folder(dataset: str, kind: str, params: dict, seconds: float | None, offset: float, *,
                 settings: Settings | None = None) -> Path:
    """The store entry for a dataset, kind and every parameter (the track set is not part of
    the key: the entry's index knows which tracks it holds, and for which audio file)."""
    settings = settings or get_settings()
    desc = json.dumps({"format": store.FORMAT, "dataset": dataset, "kind": kind,
                       "params": dict(params, seconds=seconds, offset=offset)},
                      sort_keys=True, default=str)
    return settings.cache_dir / dataset / f"{kind}-{hashlib.sha1(desc.encode()).hexdigest()[:16]}"


def extract(table: pd.DataFrame, kind: str = "logmel", seconds: float | None = None, offset: float = 0.0,
            jobs: int | None = None, progress: bool = True, use_cache: bool = True,
            shard_rows: int | None = None, scheduler=None, *, settings: Settings | None = None,
            **params) -> FeatureSet:
    """Features of ``kind`` for every track of ``table``, from the feature store when possible.

    ``params`` override the kind's defaults, which come from the settings (e.g. ``n_mels=96``).
    Every track is cropped or padded to ``seconds`` (default: the profile's clip length), so
    all rows have one shape. Tracks missing from the store, or whose audio file changed, are
    computed by ``jobs`` local processes (default ``settings.jobs``), or on a Dask cluster
    when ``scheduler`` (or ``GENRE_SCHEDULER``) names one: ``tcp://host:8786``, ``local:2``,
    or a ``distributed.Client``. ``shard_rows`` caps the rows per shard (default: 64 MiB).

    Notebook: 01_eda.ipynb, 02_correlation_and_projections.ipynb, 03_baseline_mfcc_svm.ipynb,
    04_cnn.ipynb, 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb, 08_embedding_clustering.ipynb,
    10_transfer_learning.ipynb (``mfcc_stats``; ``musicnn`` through ``musicnn.clip_features``).
    """
    settings = settings or get_settings()
    params = resolve_params(kind, params, settings=settings)
    if seconds is None:
        seconds = default_seconds(table, settings=settings)
    seconds = None if seconds is None else float(seconds)
    attrs = dict(table.attrs)
    table = table.reset_index(drop=True)
    table.attrs = attrs
    ids = [str(t) for t in table["track_id"]]
    if len(set(ids)) != len(ids):
        raise ValueError("the table lists a track id more than once")
    paths = [str(p) for p in table["path"]]
    stamps = dict(zip(ids, store.file_stamps(paths)))
    shape = row_shape(kind, params, seconds)
    entry = None
    if use_cache:
        dataset = attrs.get("dataset", settings.dataset)
        entry = _open_entry(store_folder(dataset, kind, params, seconds, float(offset), settings=settings),
                            kind, params, seconds, offset, shape, progress)
    todo, cached = _plan(ids, paths, stamps, entry)
    start = time.perf_counter()
    memory, skipped, transient = _compute(todo, stamps, entry, (kind, params, seconds, float(offset)),
                                          jobs or settings.jobs,
                                          scheduler or os.environ.get("GENRE_SCHEDULER"),
                                          shard_rows, progress, len(ids))
    if entry is not None:
        entry.close()
    fs = _assemble(kind, params, table, ids, entry, memory, {**cached, **skipped}, transient, shape)
    fs.from_cache, fs.seconds_computing = not todo, time.perf_counter() - start
    _report(len(ids), skipped, cached, transient)
    return fs


def _open_entry(folder, kind, params, seconds, offset, shape, progress) -> store.Entry:
    store.clean_orphans(folder.parent)  # leftovers of the old caches (pickles, musicnn .npz)
    description = {"kind": kind, "params": params, "seconds": seconds, "offset": offset,
                   "row_shape": shape, "dtype": store.DTYPE.str}
    entry = store.Entry(folder, shape, description).open(progress)
    if entry.removed:
        print(f"feature store: removed {len(entry.removed)} leftover file(s) of an interrupted run "
              f"in {folder}")
    return entry


def _plan(ids, paths, stamps, entry) -> tuple[list, dict]:
    """Which tracks to compute ([(id, path)]), and the skips remembered for unchanged files."""
    todo, cached = [], {}
    for tid, path in zip(ids, paths):
        stamp = stamps[tid]
        if entry is not None and stamp is not None:
            hit = entry.rows.get(tid)
            if hit is not None and hit[2] == stamp:
                continue
            skip = entry.skips.get(tid)
            if skip is not None and skip[0] == stamp:
                cached[tid] = skip[1]
                continue
        todo.append((tid, path))
    return todo, cached


def _compute(todo, stamps, entry, task, jobs, scheduler, shard_rows, progress, total):
    """Compute ``todo``; rows go to the store (or to memory without one). Returns
    (rows in memory, remembered skips, transient failures)."""
    from tqdm.auto import tqdm

    memory, skipped, transient = {}, {}, {}
    if not todo:
        return memory, skipped, transient
    writer = store.ShardWriter(entry, shard_rows) if entry is not None else None
    results = parallel.imap(_work, [(path, *task) for _, path in todo], jobs, scheduler)
    bar = tqdm(total=total, initial=total - len(todo), disable=not progress,
               desc=f"{task[0]} features", unit="track")
    try:
        for i, (arr, reason, passing) in results:
            tid = todo[i][0]
            stamp = stamps[tid]
            if arr is not None:
                if writer is None:
                    memory[tid] = arr
                else:
                    writer.add(tid, stamp or store.UNSTAMPED, arr)
            elif passing or stamp is None or (reason == "file not found" and stamp != "missing"):
                transient[tid] = reason  # not the file's content: never remembered
            else:
                skipped[tid] = reason
                if writer is not None:
                    writer.skip(tid, stamp, reason)
            bar.update(1)
        if writer is not None:
            writer.commit()
    except BaseException:
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.commit()  # keep the finished work: the next run resumes after it
        raise
    finally:
        results.close()
        bar.close()
    return memory, skipped, transient


def _assemble(kind, params, table, ids, entry, memory, skipped, transient, shape) -> FeatureSet:
    gone = set(skipped) | set(transient)
    keep = [i for i, t in enumerate(ids) if t not in gone]
    rows = table.iloc[keep].reset_index(drop=True)
    rows.attrs = dict(table.attrs)
    kept = [ids[i] for i in keep]
    if not kept:
        X = np.zeros((0,) + (shape or ()), np.float32)
    elif entry is not None:
        X = entry.array(kept)
        if KINDS[kind].per_track:
            X = np.asarray(X)
    else:
        X = np.stack([memory[t] for t in kept]).astype(np.float32, copy=False)
    return FeatureSet(kind, params, rows, X, {**skipped, **transient},
                      entry.folder if entry is not None else None, transient=transient)


def _report(n: int, new: dict, cached: dict, transient: dict, limit: int = 20) -> None:
    """Print the skipped tracks: new, remembered from an earlier run, and passing failures."""
    both = {**cached, **new}
    if both:
        print(f"skipped {len(both)} of {n} track(s) that could not be read:")
        for tid, reason in sorted(both.items())[:limit]:
            print(f"  {tid}: {reason}" + (" (remembered from an earlier run)" if tid in cached else ""))
        if len(both) > limit:
            print(f"  ... and {len(both) - limit} more (see FeatureSet.skipped)")
        if cached:
            print("  a remembered track is read again as soon as its file changes")
    if transient:
        print(f"could not read {len(transient)} track(s) this time (not remembered: the next run "
              f"tries them again):")
        for tid, reason in sorted(transient.items())[:limit]:
            print(f"  {tid}: {reason}")


def summary_frame(fs: FeatureSet) -> pd.DataFrame:
    """An ``mfcc_stats`` FeatureSet as a DataFrame with named columns, indexed by track id.

    Notebook: 02_correlation_and_projections.ipynb.
    """
    if fs.kind != "mfcc_stats":
        raise ValueError("summary_frame needs kind='mfcc_stats'")
    return pd.DataFrame(fs.X, columns=summary_names(fs.params["n_mfcc"]),
                        index=fs.table["track_id"].to_numpy())
