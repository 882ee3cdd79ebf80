"""musicnn's per-patch features for a whole dataset table, through the feature store.

:func:`clip_features` is :func:`genre_lib.features.extract` with the ``musicnn`` kind: the
rows live in the sharded, memory-mapped store under ``settings.cache_dir``, keyed by the
dataset, the model, the layers and every preprocessing parameter; each track's row carries
its audio file's stamp, so one changed file recomputes one track; unreadable tracks are
skipped and reported by the store's report; tracks are computed in this process (the
default, :data:`DEFAULT_JOBS`), by local worker processes (``jobs``, ``GENRE_JOBS``) or on a
Dask cluster (``GENRE_SCHEDULER``), each process loading the network once.
:class:`PatchFeatures` reads one layer at a time from the store, so memory holds one layer,
not every layer of every track.

Notebook: 10_transfer_learning.ipynb.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import features as feats
from .extract import layer_width, row_layout

KIND = "musicnn"
# the network runs in the calling process unless jobs= or GENRE_JOBS asks for workers: one
# process's TensorFlow already uses every core, and each worker pays for its own TensorFlow and
# model (about 5 s, 1.3 GB); measured on 2 cores in docs/transfer.md
DEFAULT_JOBS = 1


class PatchLayers(Mapping):
    """``{layer: (patches, width) float32 array}``, each read from the store's rows when asked
    for (nothing is kept: ask once and hold the array where a layer is used often)."""

    def __init__(self, rows, params: dict, patches: int):
        self._rows, self.patches = rows, patches
        self.where, _ = row_layout(params, patches)

    def __getitem__(self, layer: str) -> np.ndarray:
        start, width = self.where[layer]
        block = np.asarray(self._rows[:, start:start + self.patches * width], dtype=np.float32)
        return block.reshape(-1, width)

    def __iter__(self):
        return iter(self.where)

    def __len__(self) -> int:
        return len(self.where)

    @property
    def widths(self) -> dict[str, int]:
        """Values per patch of every layer, read from nothing."""
        return {layer: width for layer, (_, width) in self.where.items()}

    def __repr__(self) -> str:
        return f"PatchLayers({self.widths}, {self.patches} patch(es) per track)"


@dataclass
class PatchFeatures:
    """Per-patch features of the readable tracks of a table.

    ``X[layer]`` has one row per patch; ``track[i]`` is the row of ``table`` that patch ``i``
    came from. ``seconds_per_track`` is the wall time each track took (spectrogram and
    network) when it was computed; the store keeps it, so a cached run still reports the
    cost of computing. ``features`` is the store's :class:`~genre_lib.features.FeatureSet`.
    """

    model: str
    params: dict
    table: pd.DataFrame
    X: PatchLayers
    track: np.ndarray
    seconds_per_track: np.ndarray
    skipped: dict = field(default_factory=dict)
    cache_path: Path | None = None
    from_cache: bool = False
    features: feats.FeatureSet | None = None

    @classmethod
    def from_featureset(cls, fs: feats.FeatureSet) -> PatchFeatures:
        """The patches of a FeatureSet of the ``musicnn`` kind."""
        width = sum(layer_width(layer, fs.params["frame_pool"]) for layer in fs.params["layers"])
        length = fs.X.shape[1] if fs.X.ndim == 2 else 1
        patches = (length - 1) // width
        n = len(fs.table)
        seconds = (np.asarray(fs.X[:, length - 1:length], np.float64).reshape(-1) if n
                   else np.zeros(0))
        return cls(fs.params["model"], fs.params, fs.table, PatchLayers(fs.X, fs.params, patches),
                   np.repeat(np.arange(n), patches), seconds, dict(fs.skipped), fs.cache_path,
                   fs.from_cache, fs)

    def clips(self, layer: str = "penultimate", how: str = "mean") -> np.ndarray:
        """One row per track, float32: the patches of each track pooled by ``how`` (``mean``,
        ``max``, or ``mean_std``: the mean and the standard deviation side by side), with the
        package's one pooling (:func:`genre_lib.evaluation.pool_by_track`)."""
        from ..evaluation import pool_by_track

        if how not in ("mean", "max", "mean_std"):
            raise ValueError(f"how must be 'mean', 'max' or 'mean_std', not {how!r}")
        n = len(self.table)
        pooled = pool_by_track(self.X[layer], self.track, how, order=range(n))
        return pooled.to_numpy(np.float32)

    def patches_of(self, split: str) -> np.ndarray:
        """Boolean mask over patches: those from tracks of ``split``."""
        return (self.table["split"].to_numpy() == split)[self.track]

    @property
    def layers(self) -> list[str]:
        return list(self.X)

    def __repr__(self) -> str:
        dims = ", ".join(f"{k} {v}" for k, v in self.X.widths.items())
        return (f"PatchFeatures({self.model}: {len(self.table)} tracks, {len(self.track)} patches; "
                f"{dims}; {len(self.skipped)} skipped; "
                f"{'from cache' if self.from_cache else 'computed'})")


def clip_features(table: pd.DataFrame, model: str = "MSD_musicnn", layers=("penultimate",),
                  window_seconds: float | None = None, seconds: float | None = None, offset: float = 0.0,
                  hop: int | None = None, frame_pool: str = "mean", use_cache: bool = True,
                  progress: bool = True, jobs: int | None = None, scheduler=None, *,
                  settings=None) -> PatchFeatures:
    """Per-patch features of every track of ``table``, from the feature store when possible.

    Every track is loaded at 16 kHz, cropped or padded to ``seconds`` (default: the length
    the dataset and profile give, as for every other feature), optionally cut to its middle
    ``window_seconds``, and cut into 3 s patches every ``hop`` frames (default: no overlap).
    Pool them per clip with :meth:`PatchFeatures.clips`. Tracks missing from the store, or
    whose file changed, are computed by ``jobs`` processes (default :data:`DEFAULT_JOBS`,
    or ``GENRE_JOBS`` where set) or on the Dask cluster ``scheduler`` (or
    ``GENRE_SCHEDULER``) names; unreadable tracks are skipped and reported.

    Notebook: 10_transfer_learning.ipynb.
    """
    fs = feats.extract(table, KIND, seconds=seconds, offset=offset,
                       jobs=jobs or default_jobs(), progress=progress, use_cache=use_cache,
                       scheduler=scheduler, model=model, layers=layers, patch_hop=hop,
                       window_seconds=window_seconds, frame_pool=frame_pool, settings=settings)
    return PatchFeatures.from_featureset(fs)



def default_jobs() -> int:
    """Processes for the network: ``GENRE_JOBS`` where set, else :data:`DEFAULT_JOBS`."""
    return int(os.environ.get("GENRE_JOBS") or 0) or DEFAULT_JOBS
