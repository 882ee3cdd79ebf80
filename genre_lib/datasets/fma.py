"""FMA, the Free Music Archive dataset (Defferrard et al. 2017): ``fma_small`` and ``fma_medium``.

The metadata (``fma_metadata.zip``) holds ``tracks.csv``, whose header spans three rows (a
column group such as ``track`` or ``set``, the column name, then a row naming the index
``track_id``), ``genres.csv`` and ``features.csv`` (librosa features computed by the
authors). The audio lives in ``fma_small/NNN/NNNNNN.mp3`` (the first three digits of the
six-digit track id name the folder), and likewise ``fma_medium``.

* The subset comes from ``set/subset``: ``fma_small`` is the 8,000 ``small`` tracks (8
  balanced genres); ``fma_medium`` is ``small`` plus ``medium``, 25,000 tracks in 16
  unbalanced genres (its archive contains the small tracks too).
* The label is ``track/genre_top``; ``tags`` holds the names of all the track's genres
  (``track/genres_all``), for multi-label work.
* The split is the official ``set/split`` (training/validation/test), which the authors made
  artist-aware: no artist is on two sides.
* The known unreadable fma_small tracks (099134, 108925, 133297) and any other undecodable
  or too-short file are reported and skipped; MP3s are decoded by libsndfile (no ffmpeg).

:func:`load_features` reads ``features.csv`` for the tracks of a table (e.g. the 140 MFCC
statistics the authors' baselines use), so a baseline can start from it directly.

Notebook: none directly; :func:`genre_lib.datasets.load_table` reads FMA with
``GENRE_DATASET=fma_small``.
"""
from __future__ import annotations

import csv
import hashlib
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Settings, get_settings
from .contract import DatasetError
from .local import absolute, find_dirs, missing_message, profile_note, report, select_usable

CLIP_SECONDS = 30.0
SUBSETS = {"small": ("small",), "medium": ("small", "medium")}
SPLITS = {"training": "train", "validation": "valid", "test": "test"}
KNOWN_FAULTY = {tid: "a known faulty track of the fma_small release"
                for tid in ("099134", "108925", "133297")}
_FORMAT = 2  # bump when the slim metadata cache changes (2: truncated files are refused)

# (group, column) in tracks.csv -> name in the slim table
TRACK_COLUMNS = {
    ("set", "split"): "fma_split",
    ("set", "subset"): "subset",
    ("track", "genre_top"): "genre_top",
    ("track", "genres_all"): "genres_all",
    ("track", "title"): "title",
    ("track", "duration"): "duration",
    ("artist", "id"): "artist_id",
    ("artist", "name"): "artist",
    ("album", "id"): "album_id",
}
REQUIRED = ("fma_split", "subset", "genre_top")


def _subset_of(subset: str | None, *, settings: Settings) -> str:
    if subset:
        if subset not in SUBSETS:
            raise ValueError(f"subset must be one of {', '.join(SUBSETS)}")
        return subset
    if settings.dataset.startswith("fma_") and settings.dataset[4:] in SUBSETS:
        return settings.dataset[4:]
    return "small"


def find_metadata(metadata_dir=None, *, settings: Settings | None = None) -> Path:
    """The folder holding ``tracks.csv`` and ``genres.csv``."""
    settings = settings or get_settings()
    data = settings.data_dir
    bases = [Path(metadata_dir)] if metadata_dir else [data / "fma_metadata", data / "fma", data]
    hits = find_dirs(bases, lambda d: (d / "tracks.csv").is_file() and (d / "genres.csv").is_file(),
                     max_depth=3)
    if not hits:
        raise DatasetError(missing_message("FMA metadata (fma_metadata/tracks.csv and genres.csv)",
                                           bases, "fma_metadata"))
    return hits[0]


def _audio_tree(name: str):
    def check(d: Path) -> bool:
        if d.name != name:
            return False
        try:
            return any(e.is_dir() and re.fullmatch(r"\d{3}", e.name) for e in os.scandir(d))
        except OSError:
            return False
    return check


def find_audio(subset: str | None = None, audio_dir=None, *, settings: Settings | None = None) -> Path:
    """The ``fma_<subset>`` folder holding the ``NNN/NNNNNN.mp3`` tree."""
    settings = settings or get_settings()
    subset = _subset_of(subset, settings=settings)
    name = f"fma_{subset}"
    data = settings.data_dir
    if audio_dir:
        bases = [Path(audio_dir)]
        hits = find_dirs(bases, lambda d: _audio_tree(d.name)(d), max_depth=1)
    else:
        bases = [data / name, data / "fma", data]
        hits = find_dirs(bases, _audio_tree(name), max_depth=3)
    if not hits:
        raise DatasetError(missing_message(f"FMA audio ({name}/NNN/NNNNNN.mp3)", bases, name))
    return hits[0]


def find_small_audio(*, settings: Settings | None = None) -> Path:
    """The ``fma_small`` folder (for ``data status`` and ``data download``)."""
    return find_audio("small", settings=settings)


def find_medium_audio(*, settings: Settings | None = None) -> Path:
    """The ``fma_medium`` folder (for ``data status`` and ``data download``)."""
    return find_audio("medium", settings=settings)


def describe_metadata(where: Path, *, settings: Settings | None = None) -> str:
    """One line for ``data status`` on the metadata folder."""
    extra = ", features.csv" if (Path(where) / "features.csv").exists() else ""
    return f"tracks.csv, genres.csv{extra}"


def describe_audio(where: Path, *, settings: Settings | None = None) -> str:
    """One line for ``data status`` on an audio folder: MP3 count and whether metadata is there."""
    settings = settings or get_settings()
    n = sum(1 for d in Path(where).iterdir() if d.is_dir() for f in os.scandir(d)
            if f.name.endswith(".mp3"))
    try:
        find_metadata(settings=settings)
        meta = "found"
    except DatasetError:
        meta = "MISSING (needs fma_metadata)"
    return f"{n} mp3 files; metadata {meta}"


def _check_not_cut(path: Path) -> None:
    """Refuse a CSV whose last row is cut off (the file does not end with a line break)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell() == 0:
                return
            fh.seek(-1, os.SEEK_END)
            last = fh.read(1)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if last not in (b"\n", b"\r"):
        raise DatasetError(f"{path}: the file ends in the middle of a row (cut off while "
                           f"downloading or unpacking?); unpack fma_metadata.zip again or run "
                           f"`python -m genre_lib data download fma_metadata --force`")


def _header(path: Path, rows: int) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        try:
            return [next(reader) for _ in range(rows)]
        except StopIteration:
            raise DatasetError(f"{path}: fewer than {rows} lines, so not FMA's {rows}-row "
                               f"header (truncated, or not the file from fma_metadata.zip)") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise DatasetError(f"{path}: damaged header ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0][:120]}); unpack fma_metadata.zip "
                               f"again") from None


def _read_rows(path: Path, skip: int, usecols: list[int], **kwargs) -> pd.DataFrame:
    """The data rows of an FMA CSV; a damaged file (e.g. cut inside a quoted field) is an error."""
    try:
        return pd.read_csv(path, skiprows=skip, header=None, usecols=usecols, engine="c",
                           **({"dtype": str, "keep_default_na": False} | kwargs))
    except (pd.errors.ParserError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatasetError(f"{path}: cannot be parsed ({reason}); the file looks cut off or "
                           f"damaged, unpack fma_metadata.zip again") from None


def _six_digits(ids: pd.Series, path: Path, first_row: int) -> list[str]:
    out = []
    for n, t in enumerate(ids):
        try:
            out.append(f"{int(t):06d}")
        except (TypeError, ValueError):
            raise DatasetError(f"{path}, row {first_row + n}: track_id {t!r} is not a number "
                               f"(a damaged file?)") from None
    return out


def _cache_key(path: Path, *extra) -> str:
    st = path.stat()
    desc = f"{_FORMAT}:{path.resolve()}:{st.st_size}:{st.st_mtime_ns}:{extra}"
    return hashlib.sha1(desc.encode()).hexdigest()[:16]


def _cached(name: str, build, *, settings: Settings):
    from ..features import CacheError, read_entry, write_entry

    path = settings.cache_dir / "fma" / f"{name}.pkl"
    if path.exists():
        try:
            return read_entry(path)
        except CacheError:
            path.unlink(missing_ok=True)
    value = build()
    write_entry(path, value)
    return value


def read_tracks(path, *, settings: Settings | None = None) -> pd.DataFrame:
    """The columns of ``tracks.csv`` the curriculum needs, indexed by six-digit track id.

    Only the needed columns are parsed (the file is about 250 MB), and the result is cached
    by the file's size and modification time.
    """
    path = Path(path)
    settings = settings or get_settings()

    def build():
        _check_not_cut(path)
        top, sub, third = _header(path, 3)
        if not third or third[0] != "track_id" or len(top) != len(sub):
            raise DatasetError(f"{path}: expected FMA's three-row header (column group, column "
                               f"name, then a 'track_id' row); found {third[:1]!r} in row 3")
        group = ""
        positions = {}
        for i, (t, s) in enumerate(zip(top, sub)):
            group = t.strip() or group
            key = (group, s.strip())
            if key in TRACK_COLUMNS:
                positions[i] = TRACK_COLUMNS[key]
        missing = [n for n in REQUIRED if n not in positions.values()]
        if missing:
            want = [f"{g}/{c}" for (g, c), n in TRACK_COLUMNS.items() if n in missing]
            raise DatasetError(f"{path}: column(s) {', '.join(want)} not found in the header; "
                               f"is this FMA's tracks.csv from fma_metadata.zip?")
        frame = _read_rows(path, 3, [0] + sorted(positions))
        frame.columns = ["track_id"] + [positions[i] for i in sorted(positions)]
        frame["track_id"] = _six_digits(frame["track_id"], path, first_row=4)
        return frame.set_index("track_id")

    return _cached(f"tracks-{_cache_key(path)}", build, settings=settings)


def read_genres(path) -> dict[int, str]:
    """genre id -> genre title, from ``genres.csv``."""
    frame = pd.read_csv(path)
    if not {"genre_id", "title"} <= set(frame.columns):
        raise DatasetError(f"{path}: expected columns genre_id and title")
    return dict(zip(frame["genre_id"].astype(int), frame["title"].astype(str)))


def _labelled(chosen: pd.DataFrame, lines: list[str]) -> pd.DataFrame:
    """The tracks that have a top genre and a known split (reporting the others)."""
    unlabelled = chosen["genre_top"].isin(["", "nan"]) | chosen["genre_top"].isna()
    if unlabelled.any():
        lines.append(f"{int(unlabelled.sum())} track(s) without track/genre_top left out")
        chosen = chosen[~unlabelled]
    bad_split = ~chosen["fma_split"].isin(list(SPLITS))
    if bad_split.any():
        lines.append(f"{int(bad_split.sum())} track(s) with an unknown set/split left out")
        chosen = chosen[~bad_split]
    return chosen


def _genre_tags(chosen: pd.DataFrame, titles: dict, path: Path, lines: list[str]) -> list:
    """Each track's genre names (``track/genres_all``); loudly empty when the column is missing."""
    if "genres_all" not in chosen.columns:
        message = (f"{path}: no track/genres_all column, so every track's tags are empty (the "
                   f"genre labels are unaffected); is this FMA's tracks.csv?")
        warnings.warn(message, stacklevel=3)
        lines.append("warning: " + message)
        return [[] for _ in range(len(chosen))]

    def names(cell) -> list[str]:
        return [titles.get(i, str(i)) for i in (int(x) for x in re.findall(r"\d+", str(cell)))]

    return [names(c) for c in chosen["genres_all"]]


def load_table(subset: str | None = None, metadata_dir=None, audio_dir=None, min_seconds: float | None = None,
               validate: bool = True, progress: bool = True, verbose: bool = True, *,
               settings: Settings | None = None) -> pd.DataFrame:
    """The FMA table for ``subset`` (default: from ``settings.dataset``, e.g. ``fma_small``).

    Extra columns: ``artist``, ``artist_id``, ``album_id``, ``title``, ``subset``,
    ``seconds``, ``sample_rate``. ``table.attrs["features_csv"]`` names ``features.csv`` when
    it is present (see :func:`load_features`).

    Notebook: none directly; through :func:`genre_lib.datasets.load_table`.
    """
    settings = settings or get_settings()
    subset = _subset_of(subset, settings=settings)
    name = f"fma_{subset}"
    meta_dir = find_metadata(metadata_dir, settings=settings)
    audio_root = find_audio(subset, audio_dir, settings=settings)
    tracks = read_tracks(meta_dir / "tracks.csv", settings=settings)
    titles = read_genres(meta_dir / "genres.csv")
    chosen = tracks[tracks["subset"].isin(SUBSETS[subset])]
    lines = [f"FMA {subset}: metadata {meta_dir}, audio {audio_root}; {len(chosen)} tracks in "
             f"set/subset {'+'.join(SUBSETS[subset])}"]
    chosen = _labelled(chosen, lines)
    ids = chosen.index.to_list()
    table = pd.DataFrame({
        "track_id": ids,
        "path": [absolute(audio_root / t[:3] / f"{t}.mp3") for t in ids],
        "genre": chosen["genre_top"].to_numpy(dtype=object),
        "split": chosen["fma_split"].map(SPLITS).to_numpy(dtype=object),
        "tags": _genre_tags(chosen, titles, meta_dir / "tracks.csv", lines),
    })
    for col in ("artist", "artist_id", "album_id", "title", "subset"):
        if col in chosen.columns:
            table[col] = chosen[col].to_numpy(dtype=object)

    sel = select_usable(table, name, CLIP_SECONDS, min_seconds, validate, progress,
                        known_faulty=KNOWN_FAULTY, settings=settings)
    out = sel.table.sort_values("track_id").reset_index(drop=True)
    features_csv = meta_dir / "features.csv"
    out.attrs.update({"dataset": name, "skipped": sel.skipped, "clip_seconds": CLIP_SECONDS,
                      "split_source": "official set/split (artist-aware)", "split_rule": "official",
                      "metadata_dir": str(meta_dir), "audio_dir": str(audio_root),
                      "features_csv": str(features_csv) if features_csv.exists() else None})
    lines.append(f"split: official set/split; {out['genre'].nunique()} genres")
    lines += profile_note(sel.n_candidates, settings=settings)
    report(name, out, sel.skipped, lines, verbose)
    return out


def load_features(table: pd.DataFrame | None = None, groups=("mfcc",), metadata_dir=None, path=None, *,
                  settings: Settings | None = None) -> pd.DataFrame:
    """Precomputed features from ``features.csv`` (three-row header: feature, statistic, number).

    ``groups`` selects feature families (``("mfcc",)`` gives the 140 MFCC statistics;
    ``None`` gives all 518 columns). Columns are named ``<feature>_<statistic>_<number>``;
    rows are indexed by six-digit track id, restricted to (and ordered as) ``table`` when
    given. Cached after the first read.
    ``path`` names the file directly (otherwise it is looked for beside ``tracks.csv``).
    """
    settings = settings or get_settings()
    path = Path(path) if path is not None else find_metadata(metadata_dir, settings=settings) / "features.csv"
    if not path.exists():
        raise DatasetError(f"{path} not found; it is part of fma_metadata.zip")
    wanted = None if groups is None else tuple(groups)

    def build():
        _check_not_cut(path)
        feature, stat, number, fourth = _header(path, 4)
        if not fourth or fourth[0] != "track_id":
            raise DatasetError(f"{path}: expected the header rows feature/statistics/number and "
                               f"then a 'track_id' row")
        cols = [i for i in range(1, len(feature)) if wanted is None or feature[i] in wanted]
        if not cols:
            raise DatasetError(f"{path}: no feature named {', '.join(wanted)}; available: "
                               f"{', '.join(sorted(set(feature[1:])))}")
        frame = pd.read_csv(path, skiprows=4, header=None, usecols=[0] + cols, engine="c")
        frame.columns = ["track_id"] + [f"{feature[i]}_{stat[i]}_{number[i]}" for i in cols]
        frame["track_id"] = [f"{int(t):06d}" for t in frame["track_id"]]
        frame = frame.set_index("track_id").astype(np.float32)
        return frame

    frame = _cached(f"features-{_cache_key(path, wanted)}", build, settings=settings)
    if table is not None:
        have = frame.index.intersection(pd.Index(table["track_id"]))
        missing = len(table) - len(have)
        if missing:
            print(f"features.csv has no row for {missing} of {len(table)} track(s)")
        order = [t for t in table["track_id"] if t in set(have)]
        frame = frame.loc[order]
    return frame


__all__ = ["find_metadata", "find_audio", "find_small_audio", "find_medium_audio",
           "describe_metadata", "describe_audio", "read_tracks", "read_genres", "load_table",
           "load_features", "KNOWN_FAULTY"]
