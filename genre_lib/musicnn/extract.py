"""Features and taggrams from the musicnn port: per 3 s patch, pooled per clip, cached.

:func:`features` turns one signal or file into per-patch vectors of the layers asked for;
:func:`taggram` is the special case of the output layer (tag probabilities over time).
:func:`clip_features` does it for every track of a dataset table and keeps the result in a
plain-NumPy ``.npz`` cache under ``settings.cache_dir`` (written atomically; nothing read
from it can run code; a damaged entry is reported and rebuilt; every parameter, the track
set and the format version are in its key, so a changed parameter never returns stale
arrays).

Layers whose output is a sequence of frames (``timbral``, ``temporal``, ``cnn1`` ...
``cnn3``) become one vector per patch by averaging over the patch's frames
(``frame_pool="mean"``), or by the mean and the maximum side by side (``"mean_max"``).

Notebook: 10_transfer_learning.ipynb.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from . import preprocessing as pre
from .port import FEATURE_LAYERS, FRAME_LAYERS

FORMAT_VERSION = 1
FRAME_POOLS = ("mean", "max", "mean_max")


@lru_cache(maxsize=4)
def _extractor(name: str, layers: tuple[str, ...]):
    """A feature model for ``name``'s trained weights and ``layers``, built once per process."""
    from .port import feature_model
    from .weights import load_pretrained

    return feature_model(load_pretrained(name), layers)


def _pool_frames(arr: np.ndarray, how: str) -> np.ndarray:
    if how == "mean":
        return arr.mean(axis=1)
    if how == "max":
        return arr.max(axis=1)
    return np.concatenate([arr.mean(axis=1), arr.max(axis=1)], axis=1)


def run_patches(patches: np.ndarray, model: str = "MSD_musicnn", layers=("penultimate",),
                frame_pool: str = "mean", batch_size: int = 64) -> dict[str, np.ndarray]:
    """The trained port on log-mel ``patches`` (n, 187, 96): ``{layer: (n, dim)}``, float32."""
    layers = _check_layers(layers)
    if frame_pool not in FRAME_POOLS:
        raise ValueError(f"frame_pool must be one of {FRAME_POOLS}, not {frame_pool!r}")
    net = _extractor(model, layers)
    parts: dict[str, list] = {name: [] for name in layers}
    for start in range(0, len(patches), batch_size):
        batch = np.asarray(patches[start:start + batch_size], dtype=np.float32)
        out = net(batch, training=False)
        for name in layers:
            arr = np.asarray(out[name], dtype=np.float32)
            parts[name].append(_pool_frames(arr, frame_pool) if name in FRAME_LAYERS else arr)
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def _check_layers(layers) -> tuple[str, ...]:
    layers = (layers,) if isinstance(layers, str) else tuple(layers)
    unknown = [n for n in layers if n not in FEATURE_LAYERS]
    if unknown or not layers:
        raise ValueError(f"unknown feature layer(s) {unknown}; choose from {FEATURE_LAYERS}")
    return layers


def _signal(y_or_path, sr: int | None) -> tuple[np.ndarray, int]:
    if isinstance(y_or_path, (str, os.PathLike)):
        from ..audio import load

        return load(y_or_path, sr=pre.SR), pre.SR
    if sr is None:
        raise ValueError("give the sample rate `sr` of the signal")
    return np.asarray(y_or_path, dtype=np.float32), int(sr)


def features(y_or_path, sr: int | None = None, model: str = "MSD_musicnn", layers=("penultimate",),
             hop: int | None = None, window_seconds: float | None = None,
             frame_pool: str = "mean") -> dict[str, np.ndarray]:
    """Per-patch features of one clip: ``{layer: (n_patches, dim)}``.

    ``y_or_path`` is a file (loaded at 16 kHz) or a mono signal at ``sr`` Hz. Patches are
    3 s (187 frames), every ``hop`` frames (default: no overlap); ``window_seconds`` keeps
    only the middle of the clip first. ``layers`` are names from ``FEATURE_LAYERS``.

    Notebook: 10_transfer_learning.ipynb.
    """
    y, rate = _signal(y_or_path, sr)
    patches = pre.clip_patches(y, rate, hop=hop, window_seconds=window_seconds)
    return run_patches(patches, model, layers, frame_pool)


def taggram(y_or_path, sr: int | None = None, model: str = "MSD_musicnn", hop: int | None = None):
    """Tag probabilities over time, (n_patches, 50), and the tag names.

    Notebook: 10_transfer_learning.ipynb.
    """
    from .weights import TAGS

    probs = features(y_or_path, sr, model, ("predictions",), hop)["predictions"]
    return probs, list(TAGS[model])


# -- a whole table ------------------------------------------------------------------------------
@dataclass
class PatchFeatures:
    """Per-patch features of the readable tracks of a table.

    ``X[layer]`` has one row per patch; ``track[i]`` is the row of ``table`` that patch ``i``
    came from. ``seconds_per_track`` is the wall time spent on each track (loading,
    spectrogram and network) when it was computed; it is kept in the cache so a cached run
    still reports the cost of computing.
    """

    model: str
    params: dict
    table: pd.DataFrame
    X: dict[str, np.ndarray]
    track: np.ndarray
    seconds_per_track: np.ndarray
    skipped: dict = field(default_factory=dict)
    cache_path: Path | None = None
    from_cache: bool = False

    def clips(self, layer: str = "penultimate", how: str = "mean") -> np.ndarray:
        """One row per track: the patches of each track pooled by ``how`` (``mean``,
        ``max``, or ``mean_std``: the mean and the standard deviation side by side)."""
        X = self.X[layer]
        n = len(self.table)
        counts = np.bincount(self.track, minlength=n).astype(np.float64)[:, None]
        mean = np.zeros((n, X.shape[1]))
        np.add.at(mean, self.track, X)
        mean /= np.maximum(counts, 1)
        if how == "mean":
            return mean.astype(np.float32)
        if how == "max":
            out = np.full((n, X.shape[1]), -np.inf)
            np.maximum.at(out, self.track, X)
            return out.astype(np.float32)
        if how == "mean_std":
            sq = np.zeros_like(mean)
            np.add.at(sq, self.track, (X - mean[self.track]) ** 2)
            return np.concatenate([mean, np.sqrt(sq / np.maximum(counts, 1))], 1).astype(np.float32)
        raise ValueError(f"how must be 'mean', 'max' or 'mean_std', not {how!r}")

    def patches_of(self, split: str) -> np.ndarray:
        """Boolean mask over patches: those from tracks of ``split``."""
        return (self.table["split"].to_numpy() == split)[self.track]

    @property
    def layers(self) -> list[str]:
        return list(self.X)

    def __repr__(self) -> str:
        dims = ", ".join(f"{k} {v.shape[1]}" for k, v in self.X.items())
        return (f"PatchFeatures({self.model}: {len(self.table)} tracks, {len(self.track)} patches; "
                f"{dims}; {len(self.skipped)} skipped; "
                f"{'from cache' if self.from_cache else 'computed'})")


def _fingerprint(table: pd.DataFrame) -> str:
    """Hash of the track set: ids, file names, sizes and modification times."""
    h = hashlib.sha1()
    for tid, p in zip(table["track_id"], table["path"]):
        try:
            st = os.stat(p)
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        h.update(f"{tid}\t{Path(p).name}\t{stamp}\n".encode())
    return h.hexdigest()


def _default_seconds(table: pd.DataFrame, settings) -> float | None:
    """The clip length the dataset's declaration and the profile give (None: native)."""
    from ..datasets.registry import get_spec

    return get_spec(settings.dataset).default_seconds(settings, table.attrs.get("clip_seconds"))


def _save(path: Path, arrays: dict, meta: dict) -> None:
    """Write an ``.npz`` atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _load(path: Path, table: pd.DataFrame, layers) -> tuple[dict, dict] | None:
    """The arrays and metadata of a cache entry, or None (with a warning) if it is damaged."""
    try:
        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["meta"]))
            arrays = {k: f[k] for k in f.files if k != "meta"}
        ids = meta["track_ids"]
        if set(ids) - set(table["track_id"].astype(str)) or any(f"X/{n}" not in arrays for n in layers):
            raise ValueError("entry does not match the table or the layers")
        if len(arrays["track"]) != len(arrays[f"X/{layers[0]}"]):
            raise ValueError("patch counts disagree")
        return arrays, meta
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        warnings.warn(f"musicnn feature cache entry {path.name} rebuilt: {exc}", stacklevel=3)
        path.unlink(missing_ok=True)
        return None


def _compute(table: pd.DataFrame, params: dict, layers, progress: bool) -> tuple[dict, dict]:
    """Features of every readable track; returns (arrays, metadata) in the cache's layout."""
    from tqdm.auto import tqdm

    from ..audio import AudioError, load

    parts: dict[str, list] = {n: [] for n in layers}
    track, seconds, ids, skipped = [], [], [], {}
    rows = list(zip(table["track_id"].astype(str), table["path"]))
    for tid, path in tqdm(rows, desc=f"{params['model']} features", unit="track", disable=not progress):
        t0 = time.perf_counter()
        try:
            y = load(path, sr=pre.SR, duration=params["seconds"], offset=params["offset"])
        except AudioError as exc:
            skipped[tid] = exc.reason
            continue
        patches = pre.clip_patches(y, pre.SR, params["hop"], params["window_seconds"])
        out = run_patches(patches, params["model"], layers, params["frame_pool"])
        for n in layers:
            parts[n].append(out[n])
        track.extend([len(ids)] * len(patches))
        ids.append(tid)
        seconds.append(time.perf_counter() - t0)
    if skipped:
        print(f"skipped {len(skipped)} of {len(rows)} track(s) that could not be read:")
        for tid, reason in sorted(skipped.items()):
            print(f"  {tid}: {reason}")
    arrays = {f"X/{n}": (np.concatenate(parts[n]) if ids else np.zeros((0, 0), np.float32))
              for n in layers}
    arrays["track"] = np.asarray(track, dtype=np.int64)
    arrays["seconds_per_track"] = np.asarray(seconds, dtype=np.float64)
    return arrays, {"track_ids": ids, "skipped": skipped}


def clip_features(table: pd.DataFrame, settings=None, model: str = "MSD_musicnn",
                  layers=("penultimate",), window_seconds: float | None = None,
                  seconds: float | None = None, offset: float = 0.0, hop: int | None = None,
                  frame_pool: str = "mean", use_cache: bool = True,
                  progress: bool = True) -> PatchFeatures:
    """Per-patch features of every track of ``table``, from the cache when possible.

    Every track is loaded at 16 kHz, cropped or padded to ``seconds`` (default: the length
    the dataset and profile give, as for every other feature), optionally cut to its middle
    ``window_seconds``, and cut into 3 s patches. Pool them per clip with
    :meth:`PatchFeatures.clips`. Unreadable tracks are skipped and reported.

    Notebook: 10_transfer_learning.ipynb.
    """
    from ..config import get_settings

    settings = settings or get_settings()
    layers = _check_layers(layers)
    if seconds is None:
        seconds = _default_seconds(table, settings)
    table = table.reset_index(drop=True)
    params = {"model": model, "seconds": seconds, "offset": offset, "hop": hop,
              "window_seconds": window_seconds, "frame_pool": frame_pool}
    dataset = table.attrs.get("dataset", settings.dataset)
    desc = json.dumps({"format": FORMAT_VERSION, "dataset": dataset, "layers": layers,
                       "preprocessing": [pre.SR, pre.N_FFT, pre.HOP, pre.N_MELS, pre.PATCH_FRAMES],
                       "tracks": _fingerprint(table), **params}, sort_keys=True, default=str)
    key = hashlib.sha1(desc.encode()).hexdigest()[:20]
    path = settings.cache_dir / dataset / f"musicnn-{model}-{key}.npz"
    found = _load(path, table, layers) if use_cache and path.exists() else None
    if found is None:
        arrays, meta = _compute(table, params, layers, progress)
        if use_cache:
            _save(path, arrays, meta)
    else:
        arrays, meta = found
    index = {t: i for i, t in enumerate(table["track_id"].astype(str))}
    rows = table.iloc[[index[t] for t in meta["track_ids"]]].reset_index(drop=True)
    rows.attrs = dict(table.attrs)
    return PatchFeatures(model, params, rows, {n: arrays[f"X/{n}"] for n in layers},
                         arrays["track"], arrays["seconds_per_track"], dict(meta["skipped"]),
                         path if use_cache else None, from_cache=found is not None)
