"""Features and taggrams from the musicnn port, per 3 s patch; musicnn as a feature kind.

:func:`features` turns one signal or file into per-patch vectors of the layers asked for;
:func:`taggram` is the special case of the output layer (tag probabilities over time).

Layers whose output is a sequence of frames (``timbral``, ``temporal``, ``cnn1`` ...
``cnn3``) become one vector per patch by averaging over the patch's frames
(``frame_pool="mean"``), or by the mean and the maximum side by side (``"mean_max"``).

The rest of the module is the ``musicnn`` kind of the feature store
(:data:`genre_lib.features.KINDS`), which :func:`genre_lib.musicnn.clip_features` extracts for
a whole table: :func:`track_row` is one track's row, :func:`row_layout` says where each
layer's patches lie in it. A row is flat float32: for each layer in network order, its
``(patches, width)`` block, then one value, the seconds the track took (spectrogram and
network). Every track of an entry is cropped or padded to one length, so all rows have one
patch count and one shape. This module imports nothing of the store, which imports it.

Notebook: 10_transfer_learning.ipynb.
"""
from __future__ import annotations

import os
import time
from functools import lru_cache

import numpy as np

from . import preprocessing as pre
from .port import FEATURE_LAYERS, FRAME_LAYERS, FRONTEND_WIDTH, TEMPORAL_FRAMES, TIMBRAL_BANDS

FRAME_POOLS = ("mean", "max", "mean_max")


@lru_cache(maxsize=4)
def _extractor(name: str, layers: tuple[str, ...]):
    """A feature model for ``name``'s trained weights and ``layers``, built once per process
    (a worker process of the feature store too), TensorFlow imported quietly."""
    from ..quiet import import_tensorflow
    from .port import feature_model
    from .weights import load_pretrained

    import_tensorflow()
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

    Notebook: none directly; :func:`genre_lib.musicnn.plots.taggram` draws what it returns.
    """
    from .weights import TAGS

    probs = features(y_or_path, sr, model, ("predictions",), hop)["predictions"]
    return probs, list(TAGS[model])


# -- the feature kind ------------------------------------------------------------------------------
# what the trained network fixes: the store's key holds them, so a change can never return stale rows
FIXED = dict(sr=pre.SR, n_fft=pre.N_FFT, hop_length=pre.HOP, n_mels=pre.N_MELS,
             compression=pre.COMPRESSION, patch_frames=pre.PATCH_FRAMES)
MIDEND_FILTERS, BACKEND_UNITS, N_TAGS = 64, 200, 50   # the published sizes (build_musicnn's defaults)


def default_params() -> dict:
    """The ``musicnn`` kind's default parameters: the model, every feature layer, the patching,
    and the fixed input (:data:`FIXED`)."""
    return dict(model="MSD_musicnn", layers=FEATURE_LAYERS, frame_pool="mean", patch_hop=None,
                window_seconds=None, **FIXED)


def check_params(p: dict) -> dict:
    """The parameters checked, with the layers in network order (one entry for any order);
    a parameter the network cannot take is a ValueError, raised before anything is computed."""
    from .weights import MODELS

    p = dict(p)
    asked = _check_layers(p["layers"])
    p["layers"] = tuple(name for name in FEATURE_LAYERS if name in asked)
    changed = sorted(k for k, v in FIXED.items() if p[k] != v)
    if changed:
        raise ValueError(f"musicnn's input is fixed by its training ({FIXED}); cannot change {changed}")
    if p["model"] not in MODELS:
        raise ValueError(f"unknown musicnn model {p['model']!r}; choose from {', '.join(MODELS)}")
    if p["frame_pool"] not in FRAME_POOLS:
        raise ValueError(f"frame_pool must be one of {FRAME_POOLS}, not {p['frame_pool']!r}")
    for key, kind in (("patch_hop", int), ("window_seconds", float)):
        if p[key] is not None:
            p[key] = kind(p[key])
            if p[key] <= 0:
                raise ValueError(f"{key} must be positive (or None), not {p[key]}")
    return p


def layer_width(layer: str, frame_pool: str = "mean") -> int:
    """Values per patch of ``layer`` (frame layers pooled over the patch by ``frame_pool``)."""
    timbral = len(TIMBRAL_BANDS) * int(FRONTEND_WIDTH * 128)
    temporal = len(TEMPORAL_FRAMES) * int(FRONTEND_WIDTH * 32)
    per_frame = dict(timbral=timbral, temporal=temporal, cnn1=MIDEND_FILTERS, cnn2=MIDEND_FILTERS,
                     cnn3=MIDEND_FILTERS)
    if layer in per_frame:
        return per_frame[layer] * (2 if frame_pool == "mean_max" else 1)
    pools = timbral + temporal + 3 * MIDEND_FILTERS
    return dict(max_pool=pools, mean_pool=pools, penultimate=BACKEND_UNITS, predictions=N_TAGS)[layer]


def patch_count(n_samples: int, patch_hop: int | None = None, window_seconds: float | None = None) -> int:
    """Patches of a clip of ``n_samples`` at 16 kHz (after the middle window, if any)."""
    from ..pipeline import chunk_starts

    if window_seconds is not None:
        n_samples = min(n_samples, int(round(window_seconds * pre.SR)))
    return len(chunk_starts(1 + n_samples // pre.HOP, pre.PATCH_FRAMES, hop=patch_hop))


def row_layout(p: dict, patches: int) -> tuple[dict, int]:
    """Where each layer's ``(patches, width)`` block starts in a row, ``{layer: (start,
    width)}``, and the row's length (the blocks and the trailing seconds)."""
    where, at = {}, 0
    for layer in p["layers"]:
        width = layer_width(layer, p["frame_pool"])
        where[layer] = (at, width)
        at += patches * width
    return where, at + 1


def track_row_shape(p: dict, n_samples: int) -> tuple[int]:
    """The shape of one track's row for ``n_samples`` of 16 kHz audio."""
    return (row_layout(p, patch_count(n_samples, p["patch_hop"], p["window_seconds"]))[1],)


def track_row(y: np.ndarray, p: dict) -> np.ndarray:
    """One track's row of the store: every layer's per-patch features and the seconds taken.

    Runs in whichever process computes the track (this one, a local worker, a Dask worker);
    the network is loaded once per process (:func:`_extractor`), before the clock starts.
    """
    _extractor(p["model"], p["layers"])
    start = time.perf_counter()
    out = features(y, p["sr"], p["model"], p["layers"], p["patch_hop"], p["window_seconds"],
                   p["frame_pool"])
    parts = [out[layer].reshape(-1) for layer in p["layers"]]
    parts.append(np.array([time.perf_counter() - start], np.float32))
    return np.concatenate(parts).astype(np.float32, copy=False)
