"""Signed entries: small Python objects (parsed metadata tables) kept in the cache folder.

They are pickled, so a file is unpickled only when it carries a valid HMAC-SHA256 signature
made with this user's key: a file dropped into the cache folder by anyone else is refused
(and rebuilt by its caller), never loaded.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import secrets
import struct
from pathlib import Path

from .files import CacheError, atomic_write, clean_orphans

_SIGNED_MAGIC = b"GENRECACHE3\n"
_SIGNED_HEAD = struct.Struct("<Q32s")  # payload length, HMAC-SHA256 of the payload
_key_cache: list = []


def _secret_key() -> bytes:
    """This user's signing key (``~/.config/genre_lib/cache-key``, or ``GENRE_CACHE_KEY_FILE``),
    created on first use; a per-process key where no such file can be made."""
    if _key_cache:
        return _key_cache[0]
    path = Path(os.environ.get("GENRE_CACHE_KEY_FILE")
                or Path.home() / ".config" / "genre_lib" / "cache-key")
    key = b""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32))
        except FileExistsError:
            pass
        key = path.read_bytes()
    except OSError:
        pass
    if len(key) < 32:
        key = secrets.token_bytes(32)
    _key_cache.append(key)
    return key


def write_entry(path: Path, payload) -> None:
    """Pickle ``payload`` to ``path`` atomically, signed with this user's key."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_orphans(path.parent)
    blob = pickle.dumps(payload, protocol=5)
    mac = hmac.new(_secret_key(), blob, hashlib.sha256).digest()

    def write(fh):
        fh.write(_SIGNED_MAGIC)
        fh.write(_SIGNED_HEAD.pack(len(blob), mac))
        fh.write(blob)

    atomic_write(path, write)


def read_entry(path: Path):
    """Read an entry written by :func:`write_entry`. Its signature is checked before anything
    is unpickled; a file this user did not write, or a damaged one, raises :class:`CacheError`."""
    path = Path(path)
    data = path.read_bytes()
    head = len(_SIGNED_MAGIC) + _SIGNED_HEAD.size
    if len(data) < head or not data.startswith(_SIGNED_MAGIC):
        raise CacheError(f"{path}: not a feature-cache file (bad header)")
    length, mac = _SIGNED_HEAD.unpack_from(data, len(_SIGNED_MAGIC))
    blob = memoryview(data)[head:]
    if len(blob) != length:
        raise CacheError(f"{path}: truncated ({len(blob)} of {length} payload bytes)")
    if not hmac.compare_digest(hmac.new(_secret_key(), blob, hashlib.sha256).digest(), mac):
        raise CacheError(f"{path}: checksum mismatch (corrupt, or not written by this user)")
    try:
        return pickle.loads(blob)
    except Exception as exc:
        raise CacheError(f"{path}: cannot unpickle ({exc})") from None
