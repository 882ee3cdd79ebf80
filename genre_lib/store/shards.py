"""Shards and entries: the records that index the store, their checks, and the writer."""
from __future__ import annotations

import json
import os
import secrets
import time
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .array import ShardedArray, _Mapped
from .files import DTYPE, FORMAT, HOST, CacheError, StoreFullError, atomic_write, clean_orphans

SHARD_BYTES = 64 * 2**20      # target size of one shard; rows per shard follow from it
_counter = iter(range(1, 1 << 62))


# -- shard records ------------------------------------------------------------------------------
@dataclass
class Shard:
    """One shard's record: which tracks its rows hold, which were unreadable, and its checks."""

    name: str                 # file stem; the array is <name>.npy, the record <name>.json
    rows: int
    row_shape: tuple
    crc32: int                # of the array's data bytes (after the .npy header)
    tracks: list              # [(track id, stamp)] in row order
    skipped: list             # [(track id, stamp, reason)]
    created: float
    offset: int = 0           # length of the .npy header, known once the file was checked

    def to_json(self) -> dict:
        return {"format": FORMAT, "rows": self.rows, "row_shape": list(self.row_shape),
                "dtype": DTYPE.str, "crc32": self.crc32, "created": self.created,
                "tracks": [list(t) for t in self.tracks], "skipped": [list(s) for s in self.skipped]}

    @classmethod
    def from_json(cls, name: str, d) -> Shard:
        """A record read from disk, every field checked; :class:`CacheError` when malformed."""
        def ok(cond, what):
            if not cond:
                raise CacheError(f"shard {name}: bad record ({what})")

        ok(isinstance(d, dict) and d.get("format") == FORMAT, "format")
        rows, shape = d.get("rows"), d.get("row_shape")
        ok(type(rows) is int and rows >= 0, "rows")
        ok(isinstance(shape, list) and all(type(n) is int and n > 0 for n in shape), "row_shape")
        ok(d.get("dtype") == DTYPE.str and type(d.get("crc32")) is int, "dtype or crc32")
        ok(isinstance(d.get("created"), (int, float)), "created")
        tracks, skipped = d.get("tracks"), d.get("skipped")
        ok(isinstance(tracks, list) and len(tracks) == rows and all(
            isinstance(t, list) and len(t) == 2 and all(isinstance(v, str) for v in t)
            for t in tracks), "tracks")
        ok(isinstance(skipped, list) and all(
            isinstance(s, list) and len(s) == 3 and all(isinstance(v, str) for v in s)
            for s in skipped), "skipped")
        return cls(name, rows, tuple(shape), d["crc32"], [tuple(t) for t in tracks],
                   [tuple(s) for s in skipped], float(d["created"]))


def _npy_layout(path: Path) -> tuple[tuple, np.dtype, bool, int]:
    """(shape, dtype, fortran order, header length) of a .npy file, read without unpickling."""
    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy version {version}")
        return shape, dtype, fortran, fh.tell()


def _crc_of_file(path: Path, offset: int) -> int:
    crc = 0
    with open(path, "rb") as fh:
        fh.seek(offset)
        while chunk := fh.read(8 * 2**20):
            crc = zlib.crc32(chunk, crc)
    return crc


# -- an entry: the shards of one kind and parameter set -------------------------------------------
class Entry:
    """The shards of one dataset, feature kind and parameter set, and the index over them.

    ``rows`` maps a track id to (shard position, row, stamp); ``skips`` maps a track id to
    (stamp, reason) for files remembered as unreadable. Later shards override earlier ones.
    """

    def __init__(self, folder: Path, row_shape: tuple | None = None, description: dict | None = None):
        self.folder = Path(folder)
        self.row_shape = tuple(row_shape) if row_shape is not None else None
        self.description = description or {}
        self.shards: list[Shard] = []
        self.rows: dict = {}
        self.skips: dict = {}
        self.rebuilt: list[str] = []
        self.removed: list[str] = []
        self._verified: dict = {}
        self._saved: dict = {}

    def open(self, progress: bool = False) -> Entry:
        """Create the folder if needed, remove leftovers, check every shard (rebuilding bad
        ones) and build the index."""
        from tqdm.auto import tqdm

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if not (self.folder / "entry.json").exists():
                text = json.dumps(dict(self.description, format=FORMAT), indent=1, default=str)
                atomic_write(self.folder / "entry.json", lambda fh: fh.write(text.encode()))
        except StoreFullError:
            raise
        except OSError as exc:
            raise OSError(exc.errno, f"cannot create the feature store in {self.folder}: "
                                     f"{exc.strerror or exc}") from exc
        self.removed = clean_orphans(self.folder)
        self._verified = self._load_verified()
        self._saved = dict(self._verified)
        good = []
        records = sorted(self.folder.glob("shard-*.json"))
        for rec in tqdm(records, desc="checking feature shards", unit="shard", delay=2,
                        disable=not progress, leave=False):
            try:
                good.append(self._check(rec))
            except CacheError as exc:
                self.rebuilt.append(str(exc))
                warnings.warn(f"feature store: {exc}; its tracks are rebuilt", stacklevel=3)
                rec.unlink(missing_ok=True)
                rec.with_suffix(".npy").unlink(missing_ok=True)
                self._verified.pop(rec.stem, None)
        for shard in sorted(good, key=lambda s: (s.created, s.name)):
            self._add(shard)
        self._save_verified()
        return self

    def _check(self, record: Path) -> Shard:
        name = record.stem
        try:
            shard = Shard.from_json(name, json.loads(record.read_text(encoding="utf-8")))
        except (ValueError, UnicodeDecodeError, OSError) as exc:
            raise CacheError(f"shard {name}: unreadable record ({exc})") from None
        if shard.rows and self.row_shape is not None and shard.row_shape != self.row_shape:
            raise CacheError(f"shard {name}: rows of shape {shard.row_shape}, expected {self.row_shape}")
        path = record.with_suffix(".npy")
        try:
            shape, dtype, fortran, offset = _npy_layout(path)
            st = path.stat()
        except FileNotFoundError:
            raise CacheError(f"shard {name}: array file missing") from None
        except (ValueError, OSError, SyntaxError) as exc:
            raise CacheError(f"shard {name}: not a valid array file ({exc})") from None
        if dtype != DTYPE or fortran or tuple(shape) != (shard.rows,) + shard.row_shape:
            raise CacheError(f"shard {name}: array of shape {shape} and type {dtype}, the record "
                             f"says {(shard.rows,) + shard.row_shape} of {DTYPE}")
        expected = offset + shard.rows * int(np.prod(shard.row_shape)) * DTYPE.itemsize
        if st.st_size != expected:
            raise CacheError(f"shard {name}: truncated or padded ({st.st_size} of {expected} bytes)")
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
        if self._verified.get(name) != stamp:
            if _crc_of_file(path, offset) != shard.crc32:
                raise CacheError(f"shard {name}: checksum mismatch (corrupt)")
            self._verified[name] = stamp
        shard.offset = offset
        return shard

    def _add(self, shard: Shard) -> None:
        pos = len(self.shards)
        self.shards.append(shard)
        if shard.rows and self.row_shape is None:
            self.row_shape = shard.row_shape
        for row, (tid, stamp) in enumerate(shard.tracks):
            self.rows[tid] = (pos, row, stamp)
            self.skips.pop(tid, None)
        for tid, stamp, reason in shard.skipped:
            self.skips[tid] = (stamp, reason)
            self.rows.pop(tid, None)

    def _load_verified(self) -> dict:
        try:
            d = json.loads((self.folder / "verified.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return {}
        if not isinstance(d, dict):
            return {}
        return {k: v for k, v in d.items() if isinstance(v, list) and len(v) == 3}

    def _save_verified(self) -> None:
        known = {s.name for s in self.shards}
        keep = {k: v for k, v in self._verified.items() if k in known}
        if keep == self._saved:
            return
        self._saved = keep
        try:
            text = json.dumps(keep, sort_keys=True)
            atomic_write(self.folder / "verified.json", lambda fh: fh.write(text.encode()))
        except OSError:
            pass  # only a time saver: without it, shards are checked again next time

    def commit(self, rows: np.ndarray, tracks: list, skipped: list) -> Shard:
        """Write ``rows`` (for ``tracks``, [(id, stamp)]) and ``skipped`` as a new shard."""
        rows = np.ascontiguousarray(rows, dtype=DTYPE)
        name = f"shard-{HOST}-{os.getpid()}-{next(_counter):04d}-{secrets.token_hex(2)}"
        shard = Shard(name, len(rows), tuple(rows.shape[1:]), zlib.crc32(memoryview(rows).cast("B")),
                      list(tracks), list(skipped), time.time())
        path = self.folder / f"{name}.npy"
        atomic_write(path, lambda fh: np.save(fh, rows, allow_pickle=False))
        text = json.dumps(shard.to_json())
        try:
            atomic_write(self.folder / f"{name}.json", lambda fh: fh.write(text.encode()))
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        shard.offset = _npy_layout(path)[3]
        st = path.stat()
        self._verified[name] = [st.st_size, st.st_mtime_ns, st.st_ino]
        self._add(shard)
        return shard

    def array(self, track_ids) -> ShardedArray:
        """The rows of ``track_ids`` (all present in the index), as one lazy array."""
        files = _Mapped(self.folder, tuple((s.name, s.offset, s.rows) for s in self.shards),
                        self.row_shape or (0,))
        where = np.array([self.rows[t][:2] for t in track_ids], dtype=np.int64).reshape(-1, 2)
        return ShardedArray(files, where[:, 0], where[:, 1])

    def close(self) -> None:
        self._save_verified()


class ShardWriter:
    """Collects rows in a buffer of ``capacity`` rows and commits it as one shard when full."""

    def __init__(self, entry: Entry, capacity: int | None = None, row_shape: tuple | None = None):
        self.entry = entry
        self.limit = capacity
        self.row_shape = tuple(row_shape) if row_shape is not None else entry.row_shape
        self.buffer: np.ndarray | None = None
        self.tracks: list = []
        self.skipped: list = []

    def add(self, track_id: str, stamp: str, arr: np.ndarray) -> None:
        arr = np.asarray(arr)
        if self.row_shape is None:
            self.row_shape = arr.shape
        if arr.shape != self.row_shape:
            raise ValueError(f"track {track_id}: features of shape {arr.shape}, others have "
                             f"{self.row_shape}; crop or pad every track to one length (seconds=)")
        if self.buffer is None:
            row_bytes = max(1, int(np.prod(self.row_shape)) * DTYPE.itemsize)
            cap = max(1, SHARD_BYTES // row_bytes)
            self.buffer = np.empty((min(cap, self.limit or cap),) + self.row_shape, DTYPE)
        self.buffer[len(self.tracks)] = arr
        self.tracks.append((track_id, stamp))
        if len(self.tracks) == len(self.buffer):
            self.commit()

    def skip(self, track_id: str, stamp: str, reason: str) -> None:
        self.skipped.append((track_id, stamp, reason))

    def commit(self) -> Shard | None:
        """Write what is pending (if anything) as a shard; the buffer is kept for reuse."""
        if not self.tracks and not self.skipped:
            return None
        n = len(self.tracks)
        rows = self.buffer[:n] if n else np.zeros((0,) + (self.row_shape or (1,)), DTYPE)
        shard = self.entry.commit(rows, self.tracks, self.skipped)
        self.tracks, self.skipped = [], []
        return shard
