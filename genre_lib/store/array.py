"""Reading the store: a lazy, read-only array whose rows live in memory-mapped shards."""
from __future__ import annotations

import mmap
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .files import DTYPE

OPEN_MAPS = 64                # shards kept mapped at once per entry
RELEASE_BYTES = 32 * 2**20    # after reading this much, mapped pages are handed back


class _Mapped:
    """The shards of one entry, mapped read-only on first use; least recently used ones are
    dropped, and the pages of the rows read are handed back to the system as reading goes on,
    so a process that walks through every row keeps a flat memory footprint.

    Only the rows read since the last hand-back are released, not whole shards: releasing a
    whole mapping walks its page tables and interrupts every thread of the process (a TLB
    shootdown), which slowed a training that reads random crops from 40 shards to 0.6x of its
    in-memory speed (``benchmarks/scale.py``); releasing just the rows read costs little."""

    def __init__(self, folder: Path, shards: tuple, row_shape: tuple):
        self.folder, self.shards, self.row_shape = Path(folder), shards, tuple(row_shape)
        self._maps: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._read = 0
        self._touched: set = set()  # (shard, row) read since the last release

    def base(self, s: int) -> np.ndarray:
        with self._lock:
            hit = self._maps.get(s)
            if hit is not None:
                self._maps.move_to_end(s)
                return hit[1]
            name, offset, rows = self.shards[s]
            with open(self.folder / f"{name}.npy", "rb") as fh:
                mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            arr = np.ndarray((rows,) + self.row_shape, DTYPE, buffer=mm, offset=offset)
            self._maps[s] = (mm, arr)
            while len(self._maps) > OPEN_MAPS:
                self._maps.popitem(last=False)  # unmapped once no array refers to it
            return arr

    def copy(self, s: int, row: int, rest: tuple) -> np.ndarray:
        whole = self.base(s)[row]
        out = np.array(whole[rest])
        self._read += whole.nbytes  # a slice of a row still touches most of its pages
        self._touched.add((s, row))
        if self._read > RELEASE_BYTES:
            self.release()
        return out

    def release(self) -> None:
        """Hand the pages of the rows read back (they stay in the page cache, not in this
        process)."""
        with self._lock:
            self._read = 0
            touched, self._touched = self._touched, set()
            if not hasattr(mmap, "MADV_DONTNEED"):
                return
            row_bytes = int(np.prod(self.row_shape)) * DTYPE.itemsize
            page = mmap.PAGESIZE
            for s, row in touched:
                hit = self._maps.get(s)
                if hit is None:
                    continue  # unmapped since: nothing of it is held
                mm = hit[0]
                start = self.shards[s][1] + row * row_bytes
                first = start - start % page
                end = min(len(mm), start + row_bytes)
                if end > first:
                    mm.madvise(mmap.MADV_DONTNEED, first, end - first)

    def __getstate__(self):
        return {"folder": self.folder, "shards": self.shards, "row_shape": self.row_shape}

    def __setstate__(self, state):
        self.__init__(state["folder"], state["shards"], state["row_shape"])


class ShardedArray:
    """A read-only array ``(tracks, *row_shape)`` whose rows live in memory-mapped shards.

    ``len(X)``, ``X.shape``, ``X.ndim``, ``X.dtype``; ``X[i]`` and ``X[i, ..., a:b]`` read one
    row (a NumPy copy); ``X[rows]`` with a slice, list, integer array or boolean mask reads
    those rows into one array; :meth:`take` selects rows without reading; ``np.asarray(X)``
    reads everything (fine for small sets). It pickles as a reference to its files.
    """

    def __init__(self, files: _Mapped, shard: np.ndarray, row: np.ndarray):
        self._files, self._shard, self._row = files, np.asarray(shard), np.asarray(row)
        self.dtype = DTYPE
        self.shape = (len(self._shard),) + files.row_shape
        self.ndim = len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def take(self, rows) -> ShardedArray:
        """The rows ``rows`` (positions or a boolean mask) as another lazy array."""
        rows = np.arange(len(self))[np.asarray(rows) if not isinstance(rows, slice) else rows]
        return ShardedArray(self._files, self._shard[rows], self._row[rows])

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        first, rest = (key[0], key[1:]) if key else (slice(None), ())
        if first is Ellipsis:
            first, rest = slice(None), key
        if isinstance(first, (int, np.integer)):
            i = int(first) + (len(self) if first < 0 else 0)
            if not 0 <= i < len(self):
                raise IndexError(f"row {int(first)} out of range for {len(self)} rows")
            return self._files.copy(int(self._shard[i]), int(self._row[i]), rest)
        rows = np.arange(len(self))[first]
        if rows.ndim != 1:
            raise IndexError("rows must be selected by an integer, slice, list, array or mask")
        piece = np.broadcast_to(np.zeros((), self.dtype), self.shape[1:])[rest].shape
        out = np.empty((len(rows),) + piece, self.dtype)
        for j, i in enumerate(rows):
            out[j] = self._files.copy(int(self._shard[i]), int(self._row[i]), rest)
        return out

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __array__(self, dtype=None, copy=None):
        out = self[:]
        return out if dtype is None else out.astype(dtype, copy=False)

    def mean(self, axis=None, dtype=None):
        """Mean over ``axis`` (as ``ndarray.mean``), computed one row at a time."""
        axes = tuple(range(self.ndim)) if axis is None else tuple(
            a % self.ndim for a in np.atleast_1d(axis))
        inner = tuple(a - 1 for a in axes if a > 0)
        parts = (np.asarray(row, np.float64).sum(axis=inner) if inner else np.asarray(row, np.float64)
                 for row in self)
        if 0 in axes:
            total = sum(parts, np.zeros(()))
            count = len(self) * int(np.prod([self.shape[a] for a in axes if a > 0]))
            result = np.asarray(total / max(count, 1))
        else:
            count = int(np.prod([self.shape[a] for a in axes]))
            result = np.stack(list(parts)) / max(count, 1) if len(self) else np.zeros(
                tuple(n for a, n in enumerate(self.shape) if a not in axes))
        return result.astype(dtype or self.dtype)

    def release(self) -> None:
        """Hand back the memory pages mapped so far (reading continues to work)."""
        self._files.release()

    def __repr__(self) -> str:
        return (f"ShardedArray(shape={self.shape}, dtype={self.dtype}, "
                f"{len(self._files.shards)} shard(s) in {self._files.folder})")
