"""The on-disk feature store: per-track arrays in fixed-size, memory-mapped shards.

One *entry* holds the features of one dataset, feature kind and parameter set::

    <cache_dir>/<dataset>/<kind>-<key>/
        entry.json                        what the entry holds, for people (nothing trusts it)
        shard-<host>-<pid>-<n>-<tag>.npy  up to `capacity` rows: float32, little-endian, C order
        shard-<host>-<pid>-<n>-<tag>.json its record: track id and file stamp of every row, the
                                          tracks remembered as unreadable, row count, CRC-32
        verified.json                     shards whose checksum was checked, by size/mtime/inode

A shard exists once its record does: the ``.npy`` is written to a temporary file, flushed and
renamed, then the record likewise. A run killed at any moment leaves whole shards and at most
a temporary file or an array without record, which the next run removes. The records are the
index (track id -> shard, row); shards are only ever added, so several runs fill one entry and
an interrupted run resumes after its last shard. A track whose audio changed (size,
modification time, or a hash of its first and last 4 KiB) no longer matches its row.

Nothing read from the store can run code: arrays are checked with NumPy's header reader and
mapped with pickling impossible, and records are JSON checked field by field. A shard that is
truncated, corrupt, of the wrong shape or type is reported and deleted, and its tracks alone
are recomputed. :func:`read_entry`/:func:`write_entry` keep small Python objects (parsed
metadata tables) and unpickle only files signed with this user's key.

Notebook: none directly; the notebooks read log-mel features through :class:`ShardedArray`
(``features.extract(...).X``).
"""
from __future__ import annotations

from .array import ShardedArray
from .files import (
    DTYPE,
    FORMAT,
    STAMP_BLOCK,
    UNSTAMPED,
    CacheError,
    StoreFullError,
    atomic_write,
    clean_orphans,
    file_stamp,
    file_stamps,
)
from .shards import SHARD_BYTES, Entry, Shard, ShardWriter
from .signed import read_entry, write_entry

__all__ = ["DTYPE", "FORMAT", "SHARD_BYTES", "STAMP_BLOCK", "UNSTAMPED", "CacheError", "Entry",
           "Shard", "ShardWriter", "ShardedArray", "StoreFullError", "atomic_write",
           "clean_orphans", "file_stamp", "file_stamps", "read_entry", "write_entry"]
