"""Local copies of the real datasets: finding them under the data folder and checking their audio.

* :func:`find_dirs` looks for a dataset wherever it was unpacked under ``data/``;
  :func:`present` says where a registered download already is.
* :func:`validate_audio` probes every file once (decodes its start and its end, so empty,
  truncated, mislabelled, unreadable and too-short files are caught) and caches the verdicts
  in a small CSV keyed by path, size and modification time, so later table loads are fast.
  Access failures (no permission, a symlink loop) are reported but never cached.
* :func:`select_usable` applies the verdicts, reports what was skipped and why, and
  subsamples when the profile asks for it; :func:`report` prints a loader's summary.

Nothing here fetches anything; ``download.py`` does that.

Notebook: none teaches this directly; ``docs/datasets.md`` walks through the commands.
"""
from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Settings, get_settings
from ..store.files import atomic_write
from .contract import DatasetError, subsample
from .registry import SOURCES
from .specs import resolve

# -- finding local copies -------------------------------------------------------------------------

_SKIP_DIRS = {"cache", "downloads", "synth", "__pycache__"}


def downloads_dir(*, settings: Settings | None = None) -> Path:
    """Where archives are kept (and where a manually downloaded archive goes)."""
    settings = settings or get_settings()
    return settings.data_dir / "downloads"


def absolute(path) -> str:
    """``path`` made absolute, following links where that works (a link loop stays as is)."""
    try:
        return str(Path(path).resolve())
    except (OSError, RuntimeError):       # RuntimeError: Python 3.11's word for a link loop
        return os.path.abspath(path)


def find_dirs(bases: Iterable[Path], predicate: Callable[[Path], bool], max_depth: int = 4,
              first: bool = True) -> list[Path]:
    """Folders under ``bases`` (breadth first, shallowest first) for which ``predicate`` holds.

    Hidden folders and the project's own ``cache``, ``downloads`` and ``synth`` folders are
    not searched; folders that cannot be read are passed over.
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
                    nxt.extend(Path(e.path) for e in entries if _is_dir(e)
                               and not e.name.startswith(".") and e.name not in _SKIP_DIRS)
                except OSError:
                    continue
            level = nxt
            if not level:
                break
    return found


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:                       # a link loop or a vanished entry
        return False


def missing_message(what: str, looked: Iterable[Path], name: str) -> str:
    """The error text for a dataset that cannot be found."""
    where = "\n    ".join(str(p) for p in looked)
    return (f"{what} not found. Looked under:\n    {where}\n"
            f"  Get it with `python -m genre_lib data download {name}` (or unpack a copy you "
            f"already have anywhere under the data folder); `python -m genre_lib data status` "
            f"lists what is present and where archives go.")


def present(name: str, *, settings: Settings | None = None) -> Path | None:
    """Where download ``name`` already is on disk, or ``None`` (``KeyError`` if unknown)."""
    settings = settings or get_settings()
    src = SOURCES[name]
    locate = resolve(src.locate, f"locate function of {name}")
    if locate is None:
        return None
    try:
        return Path(locate(settings=settings))
    except (DatasetError, OSError):       # absent, or a folder that cannot be read
        return None


# -- validating audio -------------------------------------------------------------------------------


def probe_audio(path) -> dict:
    """Check one file: ``{"seconds", "sr", "error", "transient"}`` (``error`` ``None`` when good).

    Reads the header, decodes a quarter second at the start and half a second at the end,
    which catches missing, empty, mislabelled, undecodable and truncated files without
    decoding everything. When the end is missing (an MP3 cut short), the whole file is
    decoded once to measure what is really there. ``transient`` marks access failures (no
    permission, a link loop), which may go away and so are not cached.
    """
    import soundfile as sf

    from .. import audio

    try:
        meta = audio.info(path)
    except audio.AudioError as exc:
        return {"seconds": np.nan, "sr": 0, "error": exc.reason, "transient": exc.transient}
    sr, frames = int(meta["sr"]), int(meta["frames"])
    verdict = {"seconds": frames / sr if sr > 0 else 0.0, "sr": sr, "error": None,
               "transient": False}
    if sr <= 0 or frames <= 0:
        return {**verdict, "seconds": 0.0, "error": "contains no audio samples"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with sf.SoundFile(str(path)) as f:
                head = f.read(min(frames, max(1, sr // 4)), dtype="float32")
                if len(head) == 0:
                    return {**verdict, "seconds": 0.0, "error": "contains no audio samples"}
                if not np.all(np.isfinite(head)):
                    return {**verdict, "seconds": np.nan,
                            "error": "decoded samples contain NaN or infinity"}
                tail_len = min(frames, max(1, sr // 2))
                f.seek(frames - tail_len)
                tail = f.read(tail_len, dtype="float32")
                if len(tail) < tail_len // 2:
                    n = _decoded_frames(f)
                    return {**verdict, "seconds": n / sr,
                            "error": None if n else "contains no decodable audio"}
    except OSError as exc:
        return {**verdict, "seconds": np.nan, "error": f"cannot read ({exc.strerror or exc})",
                "transient": True}
    except Exception as exc:
        text = str(exc).strip().replace("\n", " ") or type(exc).__name__
        return {**verdict, "seconds": np.nan, "error": f"cannot decode ({text})"}
    return verdict


def _decoded_frames(f) -> int:
    f.seek(0)
    n = 0
    while True:
        block = f.read(1 << 16, dtype="float32")
        if not len(block):
            return n
        n += len(block)


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


def _read_check_cache(cache_file: Path | None) -> dict:
    if cache_file is None or not Path(cache_file).exists():
        return {}
    try:
        old = pd.read_csv(cache_file, keep_default_na=False, dtype={"path": str, "error": str})
        return {row.path: row for row in old.itertuples(index=False)}
    except Exception as exc:  # unreadable cache: start again
        warnings.warn(f"ignoring unreadable audio-check cache {cache_file}: {exc}", stacklevel=3)
        return {}


def _write_check_cache(cache_file: Path, cached: dict, stamps: dict, results: dict) -> None:
    keep = {p: r for p, r in cached.items() if p not in results}
    rows = [{"path": p, "size": s[0], "mtime_ns": s[1],
             **{k: results[p][k] for k in ("seconds", "sr", "error")}}
            for p, s in stamps.items() if s[0] >= 0 and not results[p].get("transient")]
    rows += [dict(zip(_CHECK_COLUMNS, r)) for r in keep.values()]
    frame = pd.DataFrame(rows, columns=_CHECK_COLUMNS)
    frame["error"] = frame["error"].fillna("")
    cache_file = Path(cache_file)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    text = frame.to_csv(index=False)
    atomic_write(cache_file, lambda fh: fh.write(text.encode("utf-8")))


def validate_audio(paths: Iterable, cache_file: Path | None, jobs: int = 4,
                   progress: bool = True, desc: str = "checking audio") -> pd.DataFrame:
    """Probe every file (see :func:`probe_audio`), reusing verdicts cached in ``cache_file``.

    The cache is a CSV keyed by path, size and modification time, rewritten atomically; a
    file that changed is probed again. Returns one row per path: seconds, sr, error.
    """
    from tqdm.auto import tqdm

    paths = [str(p) for p in paths]
    cached = _read_check_cache(cache_file)
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
        _write_check_cache(cache_file, cached, stamps, results)
    return pd.DataFrame({"seconds": [float(results[p]["seconds"]) for p in paths],
                         "sr": [int(results[p]["sr"] or 0) for p in paths],
                         "error": np.array([results[p]["error"] or None for p in paths],
                                           dtype=object)},
                        index=pd.Index(paths, name="path"))


def default_min_seconds(native_seconds: float, *, settings: Settings | None = None) -> float:
    """Shortest acceptable file: half the clip length the features will use.

    The features crop or pad every track to the profile's clip length (``ci``: 6 s) or the
    dataset's native length; a file giving less than half of that would be mostly padding.
    """
    settings = settings or get_settings()
    wanted = native_seconds
    if settings.profile.clip_seconds is not None:
        wanted = min(settings.profile.clip_seconds, native_seconds)
    return 0.5 * wanted


@dataclass
class UsableTracks:
    """The outcome of :func:`select_usable`."""

    table: pd.DataFrame
    skipped: dict = field(default_factory=dict)
    n_candidates: int = 0


def _verdicts(candidates: pd.DataFrame, cache_name: str, min_seconds: float, progress: bool,
              known_faulty: dict, *, settings: Settings) -> tuple[pd.DataFrame, dict]:
    checks = validate_audio(candidates["path"],
                            settings.cache_dir / "audio-checks" / f"{cache_name}.csv",
                            jobs=settings.jobs, progress=progress,
                            desc=f"checking {cache_name} audio")
    seconds = checks["seconds"].to_numpy(dtype=float)
    candidates = candidates.assign(seconds=np.round(seconds, 3),
                                   sample_rate=checks["sr"].to_numpy())
    errors = [e if isinstance(e, str) and e else None for e in checks["error"]]
    skipped = {}
    for tid, err, sec in zip(candidates["track_id"], errors, seconds):
        if err:
            reason = err
        elif sec + 1e-3 < min_seconds:
            reason = f"too short: {sec:.2f} s, need at least {min_seconds:.2f} s"
        else:
            continue
        skipped[tid] = reason + (f" ({known_faulty[tid]})" if tid in known_faulty else "")
    return candidates, skipped


def select_usable(table: pd.DataFrame, cache_name: str, native_seconds: float,
                  min_seconds: float | None = None, validate: bool = True, progress: bool = True,
                  label: str = "genre", known_faulty: dict | None = None, *,
                  settings: Settings | None = None) -> UsableTracks:
    """Drop unusable files (reporting why) and subsample to the profile's tracks per label.

    When the profile caps the tracks per label (``max_tracks_per_label``, the ci profile), a
    seeded candidate set twice the final size is checked first, so a tiny run does not wait
    for thousands of files to be probed. ``known_faulty`` maps track ids to a note appended
    to their reason (and skips them even without validation).
    """
    settings = settings or get_settings()
    known_faulty = known_faulty or {}
    per_label = settings.profile.max_tracks_per_label
    candidates = subsample(table, 2 * per_label, settings.seed, label=label) if per_label else table
    if min_seconds is None:
        min_seconds = default_min_seconds(native_seconds, settings=settings)
    if validate:
        candidates, skipped = _verdicts(candidates, cache_name, min_seconds, progress,
                                        known_faulty, settings=settings)
    else:
        skipped = {tid: f"not checked; skipped as {known_faulty[tid]}"
                   for tid in candidates["track_id"] if tid in known_faulty}
    usable = candidates[~candidates["track_id"].isin(list(skipped))]
    if not len(usable):
        listed = "; ".join(f"{k}: {v}" for k, v in sorted(skipped.items())[:3])
        raise DatasetError(f"{cache_name}: none of the {len(candidates)} file(s) checked is "
                           f"usable ({listed}{' ...' if len(skipped) > 3 else ''})")
    if per_label:
        usable = subsample(usable, per_label, settings.seed, label=label)
    return UsableTracks(usable.reset_index(drop=True), skipped, len(candidates))


def profile_note(n_candidates: int, unit: str = "tracks per genre", *,
                 settings: Settings | None = None) -> list[str]:
    """The report line saying the profile capped the tracks per label (none when it did not)."""
    settings = settings or get_settings()
    cap = settings.profile.max_tracks_per_label
    if cap is None:
        return []
    return [f"{settings.profile.name} profile: at most {cap} {unit} "
            f"({n_candidates} candidates checked)"]


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


__all__ = ["downloads_dir", "absolute", "find_dirs", "missing_message", "present",
           "probe_audio", "quiet_native_stderr", "validate_audio", "default_min_seconds",
           "UsableTracks", "select_usable", "profile_note", "report"]
