"""Files of the feature store: its constants, atomic writes, audio-file stamps, and the
removal of what killed runs leave behind."""
from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import socket
import time
from pathlib import Path

import numpy as np

FORMAT = 3
DTYPE = np.dtype("<f4")
SHARD_BYTES = 64 * 2**20      # target size of one shard; rows per shard follow from it
STAMP_BLOCK = 4096            # bytes hashed at each end of an audio file
ORPHAN_AGE_S = 3600.0         # leftovers of another machine's runs are removed after this
UNSTAMPED = "unstamped"       # the stamp of a file that could not be fingerprinted: never matches
HOST = hashlib.blake2b(socket.gethostname().encode(), digest_size=3).hexdigest()


class CacheError(Exception):
    """A stored entry or shard that cannot be used (truncated, corrupt, foreign, wrong shape)."""


class StoreFullError(OSError):
    """The disk that holds the store is full (or over quota)."""


# -- files: atomic writes, stamps, leftovers ------------------------------------------------
def atomic_write(path: Path, write) -> None:
    """Write ``path`` through ``write(fh)`` atomically: a temporary file beside it, flushed to
    disk, then renamed. A full disk raises :class:`StoreFullError` naming the folder."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{HOST}-{os.getpid()}-{secrets.token_hex(3)}")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StoreFullError(exc.errno, f"no space left on the disk holding {path.parent}: "
                                 "free some space there, or point GENRE_DATA_DIR at a larger "
                                 "disk; finished shards are kept and the next run resumes") from exc
        raise


def file_stamp(path) -> str | None:
    """A cheap fingerprint of a file's content: size, modification time and a hash of its first
    and last 4 KiB. ``"missing"`` when there is no such file; ``None`` when it cannot be read
    now (no permission, an I/O error), so nothing about it may be remembered."""
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            head = fh.read(STAMP_BLOCK)
            tail = b""
            if st.st_size > STAMP_BLOCK:
                fh.seek(max(STAMP_BLOCK, st.st_size - STAMP_BLOCK))
                tail = fh.read(STAMP_BLOCK)
    except FileNotFoundError:
        return "missing"
    except OSError:
        return None
    digest = hashlib.blake2b(head + tail, digest_size=8).hexdigest()
    return f"{st.st_size}:{st.st_mtime_ns}:{digest}"


def file_stamps(paths: list) -> list:
    """:func:`file_stamp` of every path; many files are read by a few threads (it is I/O)."""
    if len(paths) < 256:
        return [file_stamp(p) for p in paths]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(file_stamp, paths))


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine still runs. Not ``os.kill(pid, 0)``: on Windows
    that call terminates the process instead of probing it."""
    import psutil

    return psutil.pid_exists(pid)


_TMP = re.compile(r"^\..+\.tmp-([0-9a-f]{6})-(\d+)-[0-9a-f]+$")
_OLD_TMP = re.compile(r"^\..+\.(\d+)\.tmp$")  # the pickled cache of format 2
# the entries of format 2 (pickled, one per track set) and musicnn's old whole-table .npz
# cache: nothing reads them any more
_OLD_ENTRY = re.compile(r"^((logmel|mfcc|mfcc_stats|waveform|signal_stats)-[0-9a-f]{20}\.(pkl|partial)"
                        r"|musicnn-(MSD|MTT)_musicnn-[0-9a-f]{20}\.npz)$")
_SHARD = re.compile(r"^shard-([0-9a-f]{6})-(\d+)-\d+-[0-9a-f]+\.npy$")


def clean_orphans(folder: Path) -> list[str]:
    """Remove what killed runs left in ``folder``: temporary files, and shard arrays that never
    got their record, whose writing process is gone (or, from another machine, an hour old);
    also the entries of the old pickled cache and musicnn's old ``.npz`` cache, which nothing
    reads. Returns the names removed."""
    folder = Path(folder)
    try:
        names = set(os.listdir(folder))
    except OSError:
        return []
    removed = []
    for name in sorted(names):
        m = _TMP.match(name) or _SHARD.match(name)
        if m and _SHARD.match(name) and name[:-4] + ".json" in names:
            continue
        if _OLD_ENTRY.match(name):
            host, pid = "", 0  # always removed below
        elif m:
            host, pid = m.group(1), int(m.group(2))
        elif _OLD_TMP.match(name):
            host, pid = HOST, int(_OLD_TMP.match(name).group(1))
        else:
            continue
        try:
            age = time.time() - os.stat(folder / name).st_mtime
        except OSError:
            continue
        gone = not pid or (host == HOST and pid != os.getpid() and not _pid_alive(pid))
        if gone or age > ORPHAN_AGE_S:
            (folder / name).unlink(missing_ok=True)
            removed.append(name)
    return removed
