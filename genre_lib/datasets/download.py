"""Fetching the real datasets safely: ``python -m genre_lib data download NAME``.

The downloads are declared with their datasets (:mod:`genre_lib.datasets.catalog`, or any
dataset registered later) and listed by name in :data:`SOURCES`. :func:`download` fetches each
file with ``pooch`` (progress bar, retries on network errors, the next mirror when one fails,
a checksum check before anything is unpacked), unpacks into a temporary folder beside the
target and renames it into place, so an interrupted or failed run never leaves a
half-extracted ``data/<name>/``. Archives stay in ``data/downloads/``; an archive you fetched
by hand and put there is verified and used without touching the network.

Finding and checking local copies is :mod:`genre_lib.datasets.local`; the ``data status``
text is :mod:`genre_lib.datasets.status`.

Notebook: none teaches this directly; ``docs/datasets.md`` walks through the commands.
"""
from __future__ import annotations

import bisect
import hashlib
import io
import os
import shutil
import sys
import tarfile
import time
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..config import Settings, get_settings
from ..store.files import atomic_write
from .contract import DatasetError
from .local import downloads_dir, present
from .registry import SOURCES
from .specs import Remote, Source, resolve
from .status import status_report  # noqa: F401  (kept importable here for the command line)

# -- fetching -----------------------------------------------------------------------------------


def _hash_file(path: Path, known_hash: str, progress: bool = False) -> str:
    alg, _, _ = known_hash.partition(":")
    h = hashlib.new(alg)
    from tqdm.auto import tqdm

    size = path.stat().st_size
    with open(path, "rb") as fh, tqdm(total=size, unit="B", unit_scale=True,
                                      desc=f"verifying {path.name}",
                                      disable=not progress or size < 50e6) as bar:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
            bar.update(len(block))
    return f"{alg}:{h.hexdigest()}"


def _verify(path: Path, remote: Remote, progress: bool = False) -> str | None:
    """Why ``path`` is not the file ``remote`` describes, or ``None`` when it is."""
    if remote.known_hash:
        got = _hash_file(path, remote.known_hash, progress)
        if got.lower() != remote.known_hash.lower():
            return f"checksum mismatch: expected {remote.known_hash}, got {got}"
    if remote.size is not None and path.stat().st_size != remote.size:
        return f"size mismatch: expected {remote.size} bytes, got {path.stat().st_size}"
    if remote.check is not None:
        problem = remote.check(path)
        if problem:
            return f"content check failed: {problem}"
    return None


def _warn_unverified(remote: Remote) -> None:
    if remote.known_hash is None:
        what = ("its size" if remote.size is not None else "") + \
               (" and " if remote.size is not None and remote.check else "") + \
               ("its content" if remote.check else "")
        print(f"warning: no checksum is published for {remote.fname}; verified "
              f"{what or 'nothing (accepted as downloaded)'} only", file=sys.stderr)


def _network_errors():
    import requests

    return (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
            requests.exceptions.ChunkedEncodingError)


def fetch(remote: Remote, folder: Path, force: bool = False, progress: bool = True,
          retries: int = 2, timeout: float = 60.0, backoff: float = 2.0) -> Path:
    """Get ``remote`` into ``folder`` (verified), from disk if already there, else the network.

    Network errors are retried ``retries`` times per mirror; a checksum mismatch moves on to
    the next mirror. Raises :class:`DatasetError` with what was tried and what to do.
    """
    import pooch
    import requests

    folder = Path(folder)
    dest = folder / remote.fname
    if dest.exists():
        problem = _verify(dest, remote, progress)
        if problem is None:
            print(f"using {dest} (already downloaded, verified)")
            return dest
        if not force:
            raise DatasetError(
                f"{dest} is already there but does not match the published file ({problem}). "
                f"It may be incomplete or corrupt: delete it, or run the command again with "
                f"--force to download it afresh.")
        dest.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    for url in remote.urls:
        for attempt in range(retries + 1):
            try:
                downloader = pooch.HTTPDownloader(progressbar=progress, timeout=timeout,
                                                  chunk_size=1 << 20)
                pooch.retrieve(url, known_hash=remote.known_hash, fname=remote.fname,
                               path=folder, downloader=downloader)
            except ValueError as exc:       # pooch: hash mismatch (it deleted the download)
                failures.append(f"{url}: checksum mismatch ({exc})")
                break
            except requests.exceptions.HTTPError as exc:
                code = exc.response.status_code if exc.response is not None else "?"
                failures.append(f"{url}: the server answered HTTP {code}")
                break
            except _network_errors() as exc:
                reason = type(exc).__name__
                unresolvable = "NameResolution" in str(exc) or "Name or service" in str(exc)
                if attempt < retries and not unresolvable:   # no DNS: retrying cannot help
                    wait = backoff * (attempt + 1)
                    print(f"{remote.fname}: network error ({reason}); retrying in {wait:.0f} s",
                          file=sys.stderr)
                    time.sleep(wait)
                    continue
                failures.append(f"{url}: could not reach the server ({reason}: {exc})")
                break
            problem = _verify(dest, remote) if (remote.size is not None or remote.check) else None
            if problem:
                dest.unlink(missing_ok=True)
                failures.append(f"{url}: {problem}")
                break
            _warn_unverified(remote)
            return dest
    mismatch = any("checksum mismatch" in f for f in failures)
    head = (f"the download of {remote.fname} did not match its published checksum"
            if mismatch else f"could not download {remote.fname}")
    raise DatasetError(
        f"{head}; nothing was unpacked and no partial file was kept.\n  tried:\n    "
        + "\n    ".join(failures)
        + f"\n  If the network is unreachable from here, download {remote.fname} by hand "
          f"(from {remote.urls[0]}) and put it at {dest}, then run the command again.")


# -- unpacking ------------------------------------------------------------------------------------


class _JoinedFile(io.RawIOBase):
    """Several files read as one seekable stream (a zip archive cut into parts)."""

    def __init__(self, paths: Iterable[Path]):
        self.paths = [Path(p) for p in paths]
        sizes = [p.stat().st_size for p in self.paths]
        self.starts = list(np.cumsum([0] + sizes[:-1]))
        self.total = int(sum(sizes))
        self.pos = 0
        self.handles = [open(p, "rb") for p in self.paths]

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.total}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, buffer):
        if self.pos >= self.total:
            return 0
        i = bisect.bisect_right(self.starts, self.pos) - 1
        fh = self.handles[i]
        fh.seek(self.pos - self.starts[i])
        data = fh.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.pos += n
        return n

    def close(self):
        for fh in self.handles:
            fh.close()
        super().close()


def _check_space(folder: Path, need: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < need:
        raise DatasetError(f"not enough disk space under {folder}: unpacking needs about "
                           f"{need / 1e9:.1f} GB, {free / 1e9:.1f} GB are free")


def _unpack(archives: list[Path], dest: Path, progress: bool = True) -> None:
    """Unpack one archive (or several parts of one zip) into ``dest``.

    A damaged archive, or a tar member that would land outside ``dest``, raises
    :class:`DatasetError`.
    """
    try:
        _unpack_any(archives, dest, progress)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise DatasetError(f"cannot unpack {', '.join(a.name for a in archives)} "
                           f"({type(exc).__name__}: {exc})") from None


def _unpack_any(archives: list[Path], dest: Path, progress: bool) -> None:
    from tqdm.auto import tqdm

    dest.mkdir(parents=True, exist_ok=True)
    first = archives[0]
    if len(archives) == 1 and not zipfile.is_zipfile(first) and tarfile.is_tarfile(first):
        with tarfile.open(first) as tar:
            members = tar.getmembers()
            for m in tqdm(members, desc=f"unpacking {first.name}", unit="file",
                          disable=not progress):
                tar.extract(m, dest, filter="data")
        return
    stream = io.BufferedReader(_JoinedFile(archives), buffer_size=1 << 20)
    try:
        try:
            zf = zipfile.ZipFile(stream)
        except zipfile.BadZipFile as exc:
            raise DatasetError(f"{', '.join(a.name for a in archives)}: not a readable zip "
                               f"or tar archive ({exc})") from None
        with zf:
            infos = zf.infolist()
            _check_space(dest, int(sum(i.file_size for i in infos) * 1.05))
            for info in tqdm(infos, desc=f"unpacking {first.name}", unit="file",
                             disable=not progress):
                zf.extract(info, dest)
    finally:
        stream.close()


def download(name: str, force: bool = False, progress: bool = True, retries: int = 2, timeout: float = 60.0,
             keep_archives: bool = True, *, settings: Settings | None = None) -> Path:
    """Fetch, verify and unpack source ``name`` into ``data/<target>/``; return that folder.

    Nothing is unpacked before every required file has been verified. Unpacking goes to a
    temporary folder beside the target, renamed into place only when complete; on any
    error the temporary folder is removed. With ``force`` an existing copy is replaced.

    Notebook: none; run ``python -m genre_lib data download NAME``.
    """
    settings = settings or get_settings()
    if name not in SOURCES:
        raise DatasetError(f"unknown download {name!r}; choose from {', '.join(SOURCES)}")
    src = SOURCES[name]
    target = settings.data_dir / src.target
    where = present(name, settings=settings)
    if where is not None and not force:
        print(f"{name} is already present at {where}; nothing to do (use --force to fetch "
              f"and unpack it again)")
        _complete_files(src, progress, retries, timeout, settings=settings)
        return where
    if target.exists() and not force:
        raise DatasetError(f"{target} exists but does not hold a complete copy of {name}; "
                           f"move it away, or run the command again with --force to replace it")
    print(f"{src.title}\n  about {src.size_hint}; from {src.homepage}")
    folder = downloads_dir(settings=settings)
    fetched: dict[str, Path] = {}
    for remote in src.remotes:
        try:
            fetched[remote.fname] = fetch(remote, folder, force=force, progress=progress,
                                          retries=retries, timeout=timeout)
        except DatasetError as exc:
            if not remote.optional:
                raise
            print(f"warning: optional file {remote.fname} not fetched: {exc}", file=sys.stderr)
    _install(src, fetched, progress, settings=settings)
    if not keep_archives:
        for p in fetched.values():
            p.unlink(missing_ok=True)
    print(f"{name}: ready in {target}" + (f" ({src.notes})" if src.notes else ""))
    return target


def _install(src: Source, fetched: dict[str, Path], progress: bool, *, settings: Settings) -> None:
    """Unpack the verified files into a temporary folder, then rename it to the target."""
    target = settings.data_dir / src.target
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    tmp = settings.data_dir / f".{src.target}.partial-{os.getpid()}"
    old = settings.data_dir / f".{src.target}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        archives = [fetched[r.fname] for r in src.remotes if r.role == "archive" and r.fname in fetched]
        parts = [fetched[r.fname] for r in src.remotes if r.role == "part" and r.fname in fetched]
        payload = tmp
        for archive in archives:
            _check_space(settings.data_dir, int(archive.stat().st_size * 1.1))
            _unpack([archive], tmp / "unpacked", progress)
        if parts:
            _unpack(parts, tmp / "unpacked", progress)
        unpacked = tmp / "unpacked"
        if unpacked.exists():
            inner = unpacked
            entries = [e for e in unpacked.iterdir() if not e.name.startswith(".")]
            if src.strip_top and len(entries) == 1 and entries[0].is_dir() \
                    and entries[0].name == src.strip_top:
                inner = entries[0]
            payload = tmp / "payload"
            final_inner = payload / src.extract_into if src.extract_into else payload
            final_inner.parent.mkdir(parents=True, exist_ok=True)
            inner.rename(final_inner)
        payload.mkdir(parents=True, exist_ok=True)
        for r in src.remotes:
            if r.role == "file" and r.fname in fetched:
                shutil.copy2(fetched[r.fname], payload / r.fname)
        if target.exists():
            target.rename(old)
        payload.rename(target)
    except BaseException:
        if old.exists() and not target.exists():
            old.rename(target)           # put the previous copy back
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def _complete_files(src: Source, progress: bool, retries: int, timeout: float, *, settings: Settings) -> None:
    """Add a source's ``file`` remotes beside a present copy its ``complete`` check finds lacking
    (a copy unpacked by hand may lack small files the download adds beside the archive).

    No built-in download uses it at present: GTZAN's fault-filtered split lists, once fetched
    this way, now ship with genre_lib.
    """
    complete = resolve(src.complete, f"completeness check of {src.name}")
    if complete is None or complete(settings=settings):
        return
    dest = settings.data_dir / src.target
    dest.mkdir(parents=True, exist_ok=True)
    wanted = [r for r in src.remotes if r.role == "file"]
    got = []
    for remote in wanted:
        try:
            path = fetch(remote, downloads_dir(settings=settings), progress=progress, retries=retries,
                         timeout=timeout)
            with open(path, "rb") as src_fh:  # a whole file or none, even if interrupted
                atomic_write(dest / remote.fname, lambda fh: shutil.copyfileobj(src_fh, fh))
            got.append(remote.fname)
        except DatasetError as exc:
            print(f"warning: {remote.fname} not fetched: {exc}", file=sys.stderr)
    if got and len(got) == len(wanted):
        print(f"{', '.join(got)} added in {dest}")


__all__ = ["SOURCES", "Remote", "Source", "download", "fetch", "status_report", "present",
           "downloads_dir"]
