"""The real datasets on disk: fetching them safely, finding them, and checking their audio.

Three jobs live here, shared by the GTZAN, FMA and MagnaTagATune loaders:

* **Downloads** (``python -m genre_lib data download NAME``). :data:`SOURCES` names each
  archive with its mirrors and its published checksum. :func:`download` fetches with
  ``pooch`` (progress bar, retries on network errors, a checksum check before anything is
  unpacked), unpacks into a temporary folder beside the target and renames it into place, so
  an interrupted or failed run never leaves a half-extracted ``data/<name>/``. Archives stay
  in ``data/downloads/``; an archive you fetched by hand and put there is verified and used
  without touching the network.
* **Status** (``python -m genre_lib data status``): :func:`status_report` says what is
  present, what is missing and where a manually downloaded archive goes.
* **Finding and validating** local copies: :func:`find_dirs` looks for a dataset wherever it
  was unpacked under ``data/``; :func:`validate_audio` probes every file once (decodes its
  start and its end, so empty, truncated, mislabelled and too-short files are caught) and
  caches the verdicts in a small CSV keyed by path, size and modification time, so later
  table loads are fast; :func:`select_usable` applies the verdicts, reports what was skipped
  and why, and subsamples in the ci profile.

Notebook: none teaches this directly; ``docs/datasets.md`` walks through the commands.
"""
from __future__ import annotations

import bisect
import contextlib
import hashlib
import io
import os
import re
import shutil
import sys
import tarfile
import time
import warnings
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from ..config import Settings, get_settings
from . import DatasetError, subsample

# -- what can be downloaded ---------------------------------------------------------------------


@dataclass(frozen=True)
class Remote:
    """One file to fetch: its name, mirrors (tried in order) and how it is verified.

    ``known_hash`` is ``"<alg>:<hex>"`` (pooch's convention). Where no checksum is published,
    ``size`` (bytes) and/or ``check`` (a function of the downloaded path returning an error
    message or ``None``) verify it instead, and a warning says so.
    """

    fname: str
    urls: tuple[str, ...]
    known_hash: str | None = None
    size: int | None = None
    check: Callable[[Path], str | None] | None = None
    role: str = "archive"          # 'archive' (unpacked), 'part' (joined, then unpacked), 'file'
    optional: bool = False         # a failure is reported but does not stop the download
    provenance: str = ""           # where the URL and checksum come from


@dataclass(frozen=True)
class Source:
    """A dataset (or part of one) that ``data download NAME`` can fetch."""

    name: str
    title: str
    target: str                    # folder under data_dir that receives it
    remotes: tuple[Remote, ...]
    size_hint: str
    homepage: str
    extract_into: str = ""         # sub-folder of target for the archive's content
    strip_top: str | None = None   # the archive's single top folder, dropped when unpacking
    notes: str = ""


def _list_check(expected: int) -> Callable[[Path], str | None]:
    """A content check for a GTZAN split list: the published number of track entries."""

    def check(path: Path) -> str | None:
        lines = [ln for ln in Path(path).read_text(errors="replace").splitlines() if ln.strip()]
        if not all(re.search(r"[a-z]+\.\d{5}", ln) for ln in lines):
            return "does not look like a GTZAN track list"
        if len(lines) != expected:
            return f"expected {expected} entries, found {len(lines)}"
        return None

    return check


_PONS = ("https://raw.githubusercontent.com/jordipons/sklearn-audio-transfer-learning/"
         "master/data/index/GTZAN/")
_MTAT = ("https://mirg.city.ac.uk/datasets/magnatagatune/", "http://mi.soi.city.ac.uk/datasets/magnatagatune/")
_FMA = "https://os.unil.cloud.switch.ch/fma/"

SOURCES: dict[str, Source] = {
    "gtzan": Source(
        "gtzan", "GTZAN genre collection (Tzanetakis and Cook 2002), 1000 clips of 30 s",
        "gtzan",
        (
            Remote("genres.tar.gz",
                   ("http://opihi.cs.uvic.ca/sound/genres.tar.gz",
                    "https://huggingface.co/datasets/marsyas/gtzan/resolve/main/data/genres.tar.gz"),
                   known_hash="sha256:24347e0223d2ba798e0a558c4c172d9d4a19c00bb7963fe055d183dadb4ef2c6",
                   provenance="URL: the Marsyas/UVic host named by torchaudio and mirdata; mirror: "
                              "the Hugging Face copy marsyas/gtzan. SHA-256: torchaudio "
                              "(pytorch/audio, torchaudio/datasets/gtzan.py); torchaudio's older "
                              "releases and mirdata give MD5 5b3d6dddb579ab49814ab86dba69e7c7 for "
                              "the same URL."),
            Remote("train_filtered.txt", (_PONS + "train_filtered.txt",), role="file",
                   check=_list_check(443), optional=True,
                   provenance="fault-filtered split of Kereliuk, Sturm and Larsen (2015) as "
                              "published in jordipons/sklearn-audio-transfer-learning; no "
                              "checksum published, verified by its entry count"),
            Remote("valid_filtered.txt", (_PONS + "valid_filtered.txt",), role="file",
                   check=_list_check(197), optional=True, provenance="as train_filtered.txt"),
            Remote("test_filtered.txt", (_PONS + "test_filtered.txt",), role="file",
                   check=_list_check(290), optional=True, provenance="as train_filtered.txt"),
        ),
        "1.2 GB", "http://marsyas.info/downloads/datasets.html",
        notes="The Kaggle copy (Data/genres_original/...) also works: unpack it anywhere under "
              "data/. Its jazz.00054.wav is not a valid WAV file and is skipped."),
    "fma_metadata": Source(
        "fma_metadata", "FMA metadata: tracks.csv, genres.csv, features.csv, echonest.csv",
        "fma_metadata",
        (Remote("fma_metadata.zip", (_FMA + "fma_metadata.zip",),
                known_hash="sha1:f0df49ffe5f2a6008d7dc83c6915b31835dfe733",
                provenance="URL and SHA-1: README of mdeff/fma (the dataset's repository)"),),
        "342 MiB", "https://github.com/mdeff/fma", strip_top="fma_metadata"),
    "fma_small": Source(
        "fma_small", "FMA small: 8,000 clips of 30 s, 8 balanced genres", "fma_small",
        (Remote("fma_small.zip", (_FMA + "fma_small.zip",),
                known_hash="sha1:ade154f733639d52e35e32f5593efe5be76c6d70",
                provenance="URL and SHA-1: README of mdeff/fma"),),
        "7.2 GiB", "https://github.com/mdeff/fma", strip_top="fma_small",
        notes="Needs fma_metadata too."),
    "fma_medium": Source(
        "fma_medium", "FMA medium: 25,000 clips of 30 s, 16 unbalanced genres", "fma_medium",
        (Remote("fma_medium.zip", (_FMA + "fma_medium.zip",),
                known_hash="sha1:c67b69ea232021025fca9231fc1c7c1a063ab50b",
                provenance="URL and SHA-1: README of mdeff/fma"),),
        "22 GiB", "https://github.com/mdeff/fma", strip_top="fma_medium",
        notes="Needs fma_metadata too."),
    "mtat": Source(
        "mtat", "MagnaTagATune (Law et al. 2009): 25,863 clips of 29 s, 188 tags", "mtat",
        (
            Remote("mp3.zip.001", tuple(u + "mp3.zip.001" for u in _MTAT),
                   known_hash="md5:179c91c8c2a6e9b3da3d4e69d306fd3b", role="part",
                   provenance="URLs: the MIRG (City, University of London) host, old and new "
                              "names. MD5s of the three parts: keunwoochoi/kapre "
                              "(kapre/datasets.py), also used by other public loaders"),
            Remote("mp3.zip.002", tuple(u + "mp3.zip.002" for u in _MTAT),
                   known_hash="md5:acf8265ff2e35c6ff22210e46457a824", role="part",
                   provenance="as mp3.zip.001"),
            Remote("mp3.zip.003", tuple(u + "mp3.zip.003" for u in _MTAT),
                   known_hash="md5:582dc649cabb8cd991f09e14b99349a5", role="part",
                   provenance="as mp3.zip.001"),
            Remote("annotations_final.csv", tuple(u + "annotations_final.csv" for u in _MTAT),
                   known_hash="md5:f04fa01752a8cc64f6e1ca142a0fef1d", role="file",
                   provenance="MD5: keunwoochoi/kapre (kapre/datasets.py)"),
            Remote("clip_info_final.csv", tuple(u + "clip_info_final.csv" for u in _MTAT),
                   known_hash="md5:03ef3cb8ddcfe53fdcdb8e0cda005be2", role="file", optional=True,
                   provenance="MD5: keunwoochoi/kapre (kapre/datasets.py)"),
        ),
        "3.0 GB", "https://mirg.city.ac.uk/codeapps/the-magnatagatune-dataset",
        extract_into="mp3",
        notes="The three parts are one zip archive cut in pieces; they are joined while unpacking."),
}


def downloads_dir(settings: Settings) -> Path:
    """Where archives are kept (and where a manually downloaded archive goes)."""
    return settings.data_dir / "downloads"


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


def present(name: str, settings: Settings) -> Path | None:
    """Where source ``name`` already is on disk, or ``None``."""
    from . import fma, gtzan, mtat

    try:
        if name == "gtzan":
            return gtzan.locate(settings)["root"]
        if name == "fma_metadata":
            return fma.find_metadata(settings)
        if name in ("fma_small", "fma_medium"):
            return fma.find_audio(settings, name.split("_", 1)[1])
        if name == "mtat":
            return mtat.locate(settings)["annotations"].parent
    except DatasetError:
        return None
    raise KeyError(name)


def download(name: str, settings: Settings | None = None, force: bool = False,
             progress: bool = True, retries: int = 2, timeout: float = 60.0,
             keep_archives: bool = True) -> Path:
    """Fetch, verify and unpack source ``name`` into ``data/<target>/``; return that folder.

    Nothing is unpacked before every required file has been verified. Unpacking goes to a
    temporary folder beside the target, renamed into place only when complete; on any
    error the temporary folder is removed. With ``force`` an existing copy is replaced.
    """
    settings = settings or get_settings()
    if name not in SOURCES:
        raise DatasetError(f"unknown download {name!r}; choose from {', '.join(SOURCES)}")
    src = SOURCES[name]
    target = settings.data_dir / src.target
    where = present(name, settings)
    if where is not None and not force:
        print(f"{name} is already present at {where}; nothing to do (use --force to fetch "
              f"and unpack it again)")
        if name == "gtzan":
            _complete_gtzan_lists(src, settings, progress, retries, timeout)
        return where
    if target.exists() and not force:
        raise DatasetError(f"{target} exists but does not hold a complete copy of {name}; "
                           f"move it away, or run the command again with --force to replace it")
    print(f"{src.title}\n  about {src.size_hint}; from {src.homepage}")
    folder = downloads_dir(settings)
    fetched: dict[str, Path] = {}
    for remote in src.remotes:
        try:
            fetched[remote.fname] = fetch(remote, folder, force=force, progress=progress,
                                          retries=retries, timeout=timeout)
        except DatasetError as exc:
            if not remote.optional:
                raise
            print(f"warning: optional file {remote.fname} not fetched: {exc}", file=sys.stderr)

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
    if not keep_archives:
        for p in fetched.values():
            p.unlink(missing_ok=True)
    print(f"{name}: ready in {target}" + (f" ({src.notes})" if src.notes else ""))
    return target


def _complete_gtzan_lists(src: Source, settings: Settings, progress: bool, retries: int,
                          timeout: float) -> None:
    """Fetch the fault-filtered split lists next to an existing GTZAN copy that lacks them."""
    from . import gtzan

    if gtzan.locate(settings)["split_lists"] is not None:
        return
    dest = settings.data_dir / src.target
    dest.mkdir(parents=True, exist_ok=True)
    got = 0
    for remote in (r for r in src.remotes if r.role == "file"):
        try:
            path = fetch(remote, downloads_dir(settings), progress=progress, retries=retries,
                         timeout=timeout)
            shutil.copy2(path, dest / remote.fname)
            got += 1
        except DatasetError as exc:
            print(f"warning: {remote.fname} not fetched: {exc}", file=sys.stderr)
    if got == 3:
        print(f"fault-filtered split lists added in {dest}")


# -- status ---------------------------------------------------------------------------------------


def _describe(name: str, where: Path, settings: Settings) -> str:
    from . import fma, gtzan, mtat

    try:
        if name == "gtzan":
            info = gtzan.locate(settings)
            lists = "found" if info["split_lists"] else "not found (a seeded random split is used)"
            return (f"{info['n_files']} clips, {info['layout']} layout; fault-filtered split "
                    f"lists: {lists}")
        if name == "fma_metadata":
            extra = ", features.csv" if (where / "features.csv").exists() else ""
            return f"tracks.csv, genres.csv{extra}"
        if name in ("fma_small", "fma_medium"):
            n = sum(1 for d in where.iterdir() if d.is_dir() for f in os.scandir(d)
                    if f.name.endswith(".mp3"))
            meta = "found" if present("fma_metadata", settings) else "MISSING (needs fma_metadata)"
            return f"{n} mp3 files; metadata {meta}"
        if name == "mtat":
            info = mtat.locate(settings)
            return f"annotations_final.csv and {info['n_files']} mp3 files under {info['mp3_root']}"
    except (DatasetError, OSError) as exc:
        return f"incomplete: {exc}"
    return ""


def status_report(settings: Settings | None = None) -> str:
    """What is present, what is missing, and where a manually downloaded archive goes."""
    settings = settings or get_settings()
    folder = downloads_dir(settings)
    lines = [f"datasets under {settings.data_dir}  (current: GENRE_DATASET={settings.dataset})",
             f"archives are kept in (and manual downloads go to) {folder}", ""]
    for name, src in SOURCES.items():
        where = present(name, settings)
        if where is not None:
            lines.append(f"  [present] {name:<13} {where}")
            lines.append(f"            {_describe(name, where, settings)}")
            continue
        lines.append(f"  [missing] {name:<13} {src.title}")
        lines.append(f"            get it: python -m genre_lib data download {name}   (about "
                     f"{src.size_hint})")
        files = ", ".join(r.fname for r in src.remotes if not r.optional)
        have = [r.fname for r in src.remotes if (folder / r.fname).exists()]
        lines.append(f"            or download {files} by hand into {folder}/ and run the same "
                     f"command (it verifies and unpacks them)"
                     + (f"; already there: {', '.join(have)}" if have else ""))
        if src.notes:
            lines.append(f"            note: {src.notes}")
    synth_root = settings.data_dir / "synth"
    built = sorted(p.name for p in synth_root.iterdir() if (p / "metadata.csv").exists()) \
        if synth_root.exists() else []
    lines.append("")
    lines.append(f"  embedded synthetic dataset: "
                 + (f"built for profile(s) {', '.join(built)}" if built else
                    "not built yet (built on first use, or python -m genre_lib data build)"))
    return "\n".join(lines)


# -- finding local copies -------------------------------------------------------------------------

_SKIP_DIRS = {"cache", "downloads", "synth", "__pycache__"}


def find_dirs(bases: Iterable[Path], predicate: Callable[[Path], bool], max_depth: int = 4,
              first: bool = True) -> list[Path]:
    """Folders under ``bases`` (breadth first, shallowest first) for which ``predicate`` holds.

    Hidden folders and the project's own ``cache``, ``downloads`` and ``synth`` folders are
    not searched.
    """
    found: list[Path] = []
    seen: set = set()
    for base in bases:
        base = Path(base)
        if not base.is_dir():
            continue
        level = [base]
        for _ in range(max_depth + 1):
            nxt = []
            for d in level:
                key = os.path.realpath(d)
                if key in seen:
                    continue
                seen.add(key)
                if predicate(d):
                    found.append(d)
                    if first:
                        return found
                    continue
                try:
                    entries = sorted(os.scandir(d), key=lambda e: e.name)
                except OSError:
                    continue
                nxt.extend(Path(e.path) for e in entries if e.is_dir()
                           and not e.name.startswith(".") and e.name not in _SKIP_DIRS)
            level = nxt
            if not level:
                break
    return found


def missing_message(what: str, looked: Iterable[Path], name: str) -> str:
    """The error text for a dataset that cannot be found."""
    where = "\n    ".join(str(p) for p in looked)
    return (f"{what} not found. Looked under:\n    {where}\n"
            f"  Get it with `python -m genre_lib data download {name}` (or unpack a copy you "
            f"already have anywhere under the data folder); `python -m genre_lib data status` "
            f"lists what is present and where archives go.")


# -- validating audio -------------------------------------------------------------------------------


def probe_audio(path) -> dict:
    """Check one file: ``{"seconds", "sr", "error"}`` (``error`` is ``None`` for a good file).

    Reads the header, decodes a quarter second at the start and half a second at the end,
    which catches missing, empty, mislabelled, undecodable and truncated files without
    decoding everything. When the end is missing (an MP3 cut short), the whole file is
    decoded once to measure what is really there.
    """
    import soundfile as sf

    from .. import audio

    try:
        meta = audio.info(path)
    except audio.AudioError as exc:
        return {"seconds": np.nan, "sr": 0, "error": exc.reason}
    sr, frames = int(meta["sr"]), int(meta["frames"])
    if sr <= 0 or frames <= 0:
        return {"seconds": 0.0, "sr": sr, "error": "contains no audio samples"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with sf.SoundFile(str(path)) as f:
                head = f.read(min(frames, max(1, sr // 4)), dtype="float32")
                if len(head) == 0:
                    return {"seconds": 0.0, "sr": sr, "error": "contains no audio samples"}
                if not np.all(np.isfinite(head)):
                    return {"seconds": np.nan, "sr": sr,
                            "error": "decoded samples contain NaN or infinity"}
                tail_len = min(frames, max(1, sr // 2))
                f.seek(frames - tail_len)
                tail = f.read(tail_len, dtype="float32")
                if len(tail) < tail_len // 2:
                    f.seek(0)
                    n = 0
                    while True:
                        block = f.read(1 << 16, dtype="float32")
                        if not len(block):
                            break
                        n += len(block)
                    return {"seconds": n / sr, "sr": sr, "error": None if n else
                            "contains no decodable audio"}
    except Exception as exc:
        text = str(exc).strip().replace("\n", " ") or type(exc).__name__
        return {"seconds": np.nan, "sr": sr, "error": f"cannot decode ({text})"}
    return {"seconds": frames / sr, "sr": sr, "error": None}


_CHECK_COLUMNS = ["path", "size", "mtime_ns", "seconds", "sr", "error"]


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence what C decoders print straight to file descriptor 2 while probing.

    libmpg123 reports every fuzzy seek into an MP3 ("part2_3_length too large ...") on fd 2,
    which no Python setting reaches; thousands of such lines would bury the report. Yields a
    text stream on the real stderr for the progress bar.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield sys.stderr
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    stream = os.fdopen(os.dup(saved), "w", buffering=1)
    try:
        yield stream
    finally:
        try:
            stream.flush()
            stream.close()
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _stamp(path: str):
    try:
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns
    except OSError:
        return -1, -1


def validate_audio(paths: Iterable, cache_file: Path | None, jobs: int = 4,
                   progress: bool = True, desc: str = "checking audio") -> pd.DataFrame:
    """Probe every file (see :func:`probe_audio`), reusing verdicts cached in ``cache_file``.

    The cache is a CSV keyed by path, size and modification time, rewritten atomically; a
    file that changed is probed again. Returns one row per path: seconds, sr, error.
    """
    from tqdm.auto import tqdm

    paths = [str(p) for p in paths]
    cached: dict = {}
    if cache_file is not None and Path(cache_file).exists():
        try:
            old = pd.read_csv(cache_file, keep_default_na=False, dtype={"path": str, "error": str})
            for row in old.itertuples(index=False):
                cached[row.path] = row
        except Exception as exc:  # unreadable cache: start again
            warnings.warn(f"ignoring unreadable audio-check cache {cache_file}: {exc}", stacklevel=2)
    stamps = {p: _stamp(p) for p in paths}
    results: dict = {}
    todo = []
    for p in paths:
        hit = cached.get(p)
        if hit is not None and (int(hit.size), int(hit.mtime_ns)) == stamps[p] and stamps[p][0] >= 0:
            seconds = float(hit.seconds) if str(hit.seconds) not in ("", "nan") else np.nan
            results[p] = {"seconds": seconds, "sr": int(hit.sr or 0), "error": hit.error or None}
        else:
            todo.append(p)
    if todo:
        with quiet_native_stderr() as err, \
                ThreadPoolExecutor(max_workers=max(1, min(jobs, 8))) as pool, \
                tqdm(total=len(todo), desc=desc, unit="file", disable=not progress,
                     file=err) as bar:
            for p, res in zip(todo, pool.map(probe_audio, todo)):
                results[p] = res
                bar.update(1)
    if cache_file is not None and todo:
        keep = {p: r for p, r in cached.items() if p not in results}
        rows = [{"path": p, "size": s[0], "mtime_ns": s[1], **results[p]}
                for p, s in stamps.items() if s[0] >= 0]
        rows += [dict(zip(_CHECK_COLUMNS, r)) for r in keep.values()]
        frame = pd.DataFrame(rows, columns=_CHECK_COLUMNS)
        frame["error"] = frame["error"].fillna("")
        cache_file = Path(cache_file)
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f".{cache_file.name}.{os.getpid()}.tmp")
        frame.to_csv(tmp, index=False)
        os.replace(tmp, cache_file)
    frame = pd.DataFrame({"seconds": [float(results[p]["seconds"]) for p in paths],
                          "sr": [int(results[p]["sr"] or 0) for p in paths],
                          "error": np.array([results[p]["error"] or None for p in paths],
                                            dtype=object)},
                         index=pd.Index(paths, name="path"))
    return frame


def default_min_seconds(settings: Settings, native_seconds: float) -> float:
    """Shortest acceptable file: half the clip length the features will use.

    The features crop or pad every track to the profile's clip length (``ci``: 6 s) or the
    dataset's native length; a file giving less than half of that would be mostly padding.
    """
    wanted = native_seconds
    if settings.profile.clip_seconds is not None:
        wanted = min(settings.profile.clip_seconds, native_seconds)
    return 0.5 * wanted


@dataclass
class Selection:
    """The outcome of :func:`select_usable`."""

    table: pd.DataFrame
    skipped: dict = field(default_factory=dict)
    n_candidates: int = 0


def select_usable(table: pd.DataFrame, settings: Settings, cache_name: str,
                  native_seconds: float, min_seconds: float | None = None,
                  validate: bool = True, progress: bool = True, label: str = "genre",
                  known_faulty: dict | None = None) -> Selection:
    """Drop unusable files (reporting why) and, in the ci profile, subsample.

    In the ci profile a seeded candidate set twice the final size is checked first, so a
    tiny run does not wait for thousands of files to be probed. ``known_faulty`` maps track
    ids to a note appended to their reason (and skips them even without validation).
    """
    known_faulty = known_faulty or {}
    per_label = settings.profile.max_tracks_per_label if settings.profile.is_ci else None
    candidates = subsample(table, 2 * per_label, settings.seed, label=label) if per_label else table
    min_seconds = default_min_seconds(settings, native_seconds) if min_seconds is None else min_seconds
    skipped: dict = {}
    keep = np.ones(len(candidates), dtype=bool)
    if validate:
        checks = validate_audio(candidates["path"],
                                settings.cache_dir / "audio-checks" / f"{cache_name}.csv",
                                jobs=settings.jobs, progress=progress,
                                desc=f"checking {cache_name} audio")
        seconds = checks["seconds"].to_numpy(dtype=float)
        candidates = candidates.assign(seconds=np.round(seconds, 3),
                                       sample_rate=checks["sr"].to_numpy())
        errors = [e if isinstance(e, str) and e else None for e in checks["error"]]
        for i, (tid, err, sec) in enumerate(zip(candidates["track_id"], errors, seconds)):
            if err:
                reason = err
            elif sec + 1e-3 < min_seconds:
                reason = f"too short: {sec:.2f} s, need at least {min_seconds:.2f} s"
            else:
                continue
            if tid in known_faulty:
                reason += f" ({known_faulty[tid]})"
            skipped[tid] = reason
            keep[i] = False
    else:
        for i, tid in enumerate(candidates["track_id"]):
            if tid in known_faulty:
                skipped[tid] = f"not checked; skipped as {known_faulty[tid]}"
                keep[i] = False
    usable = candidates[keep]
    if not len(usable):
        listed = "; ".join(f"{k}: {v}" for k, v in sorted(skipped.items())[:3])
        raise DatasetError(f"{cache_name}: none of the {len(candidates)} file(s) checked is "
                           f"usable ({listed}{' ...' if len(skipped) > 3 else ''})")
    if per_label:
        usable = subsample(usable, per_label, settings.seed, label=label)
    return Selection(usable.reset_index(drop=True), skipped, len(candidates))


def report(name: str, table: pd.DataFrame, skipped: dict, lines: list[str],
           verbose: bool = True, max_listed: int = 12) -> None:
    """Print a short loader report: where, how many, which split, what was skipped."""
    if not verbose:
        return
    out = list(lines)
    out.append(f"{len(table)} tracks: " + ", ".join(
        f"{s} {int((table['split'] == s).sum())}" for s in ("train", "valid", "test")))
    if skipped:
        out.append(f"skipped {len(skipped)} file(s):")
        for k, v in sorted(skipped.items())[:max_listed]:
            out.append(f"  {k}: {v}")
        if len(skipped) > max_listed:
            out.append(f"  ... and {len(skipped) - max_listed} more (table.attrs['skipped'])")
    print(f"[{name}] " + "\n  ".join(out))


__all__ = ["SOURCES", "Remote", "Source", "download", "fetch", "status_report", "present",
           "downloads_dir", "find_dirs", "probe_audio", "validate_audio", "select_usable",
           "default_min_seconds", "missing_message", "report"]
