"""GTZAN (Tzanetakis and Cook 2002): 1000 clips of 30 s, ten genres of 100 clips each.

Two layouts are recognised wherever they were unpacked under the data folder:

* the original Marsyas release, ``genres/<genre>/<genre>.000NN.au`` (and its later re-packing
  with ``.wav`` files);
* the widespread Kaggle copy, ``Data/genres_original/<genre>/<genre>.000NN.wav`` with
  ``features_30_sec.csv`` and ``features_3_sec.csv`` beside it. Its ``jazz.00054.wav`` is not
  a valid WAV file: it is reported and skipped, and the other clips load.

**Splits.** GTZAN has repeated clips, the same artists across many clips, and some mislabelled
or distorted recordings (Sturm 2013). A random split puts the same song or artist on both
sides and inflates scores. The *fault-filtered* split of Kereliuk, Sturm and Larsen (2015)
(train 443, valid 197, test 290 clips) keeps each artist on one side and leaves out the 70
faulty clips. Its three lists ship inside this package (``gtzan_filtered/``, with their source
and licence), so it is the split whenever GTZAN is on disk, with no download:

* clips on disk that no list names are left out of every split, and the report (and
  :func:`genre_lib.datasets.summary`) says how many and why;
* a partial copy works: the listed clips that are present are used, and the report says how
  many listed clips are missing (labels left without tracks in some split are then left out
  by :func:`genre_lib.datasets.splits.keep_complete_labels`);
* three lists of the same names (``train_filtered.txt``, ``valid_filtered.txt``,
  ``test_filtered.txt``) found beside the genre folders, one or two folders above them, or in
  ``data/gtzan/`` or ``data/gtzan/splits/`` (or in ``split_dir=``) replace the shipped ones;
* a seeded, stratified random split of every clip on disk is used only when asked for
  (``GENRE_SPLIT=random`` or ``split="random"``), with a printed warning.

Notebook: none directly; :func:`genre_lib.datasets.load_table` reads GTZAN with
``GENRE_DATASET=gtzan``.
"""
from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Settings, get_settings
from .contract import DatasetError, stratified_split
from .local import absolute, find_dirs, missing_message, profile_note, report, select_usable

GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop",
          "reggae", "rock")
CLIP_SECONDS = 30.0
SPLIT_FILES = {"train": "train_filtered.txt", "valid": "valid_filtered.txt",
               "test": "test_filtered.txt"}
PUBLISHED_SPLIT_SIZES = {"train": 443, "valid": 197, "test": 290}
SHIPPED_FOLDER = "gtzan_filtered"       # package data beside this module
KNOWN_FAULTY = {"jazz.00054": "the Kaggle copy's jazz.00054.wav is known to be broken"}
FILTERED_NAME = "fault-filtered (Kereliuk, Sturm and Larsen 2015)"
OUTSIDE_REASON = ("in none of the fault-filtered lists, which leave out GTZAN's repeated, "
                  "mislabelled and distorted clips (Sturm 2013)")

_FILE = re.compile(r"^([a-z]+)\.(\d{5})\.(au|wav)$", re.IGNORECASE)
_ID = re.compile(r"([a-z]+)\.(\d{5})", re.IGNORECASE)

RANDOM_ASKED_NOTE = (
    "warning: a random split was asked for (GENRE_SPLIT=random or split='random'), so GTZAN "
    "gets a seeded random split of every clip on disk (60/20/20 per genre), the faulty clips "
    "included. GTZAN repeats some clips and many artists, so the same song or artist lands in "
    "train and test and accuracy is inflated; compare such numbers with random-split figures "
    "only. Published results on the fault-filtered split (Kereliuk, Sturm and Larsen 2015), "
    "the default, are much lower.")


def _genre_dir_has_clips(d: Path) -> bool:
    try:
        return any(_FILE.match(e.name) for e in os.scandir(d) if e.is_file())
    except OSError:
        return False


def _is_root(d: Path) -> bool:
    n = sum(1 for g in GENRES if (d / g).is_dir() and _genre_dir_has_clips(d / g))
    return n >= 2


def _clip_files(root: Path) -> tuple[list[Path], list[str]]:
    """The clip files in the genre folders of ``root``, and notes on folders not readable."""
    files, notes = [], []
    for g in GENRES:
        if not (root / g).is_dir():
            continue
        try:
            files += [Path(e.path) for e in os.scandir(root / g) if _FILE.match(e.name)]
        except OSError as exc:
            notes.append(f"{root / g}: cannot read the folder ({exc.strerror or exc}); its "
                         f"clips are left out")
    return files, notes


def shipped_split_lists() -> dict:
    """The fault-filtered lists shipped with genre_lib: ``{"train": file, ...}``.

    The values are :mod:`importlib.resources` files (read them with :func:`read_split_list`);
    their source and licence are in ``gtzan_filtered/README.md`` beside them.
    """
    folder = resources.files(__package__).joinpath(SHIPPED_FOLDER)
    return {s: folder.joinpath(f) for s, f in SPLIT_FILES.items()}


def _lists_beside_data(candidates) -> tuple[dict | None, list[str]]:
    """The first folder of ``candidates`` holding all three list files, and notes on folders
    holding only some of them (those are ignored)."""
    notes, seen = [], set()
    for d in candidates:
        if d is None or not Path(d).is_dir() or os.path.realpath(d) in seen:
            continue
        seen.add(os.path.realpath(d))
        have = {s: Path(d) / f for s, f in SPLIT_FILES.items() if (Path(d) / f).is_file()}
        if len(have) == 3:
            return have, notes
        if have:
            notes.append(f"incomplete split lists in {d} (found "
                         f"{', '.join(p.name for p in have.values())}; all three are needed); "
                         f"ignored")
    return None, notes


def _same_as_shipped(lists: dict) -> bool:
    """True when ``lists`` assign every clip as the shipped lists do (whatever the file
    extension they name: the upstream lists say ``.au``, the shipped copies ``.wav``)."""
    try:
        return split_assignment(lists) == split_assignment()
    except DatasetError:
        return False


def locate(root=None, split_dir=None, *, settings: Settings | None = None) -> dict:
    """Find GTZAN: its root folder (holding the genre folders), layout, extra files, and the
    fault-filtered lists to use.

    ``split_lists`` are the lists found beside the data (see the module text) or else the
    shipped ones; ``split_lists_from`` says which, in words, and ``lists_beside_data`` is
    the folder of lists beside the data (``None`` when the shipped ones are used). Raises
    :class:`DatasetError` with the places searched when GTZAN is not there, and when
    ``split_dir`` is given but does not hold the three lists.
    """
    settings = settings or get_settings()
    data = settings.data_dir
    bases = [Path(root)] if root else [data / "gtzan", data / "GTZAN", data]
    hits = find_dirs(bases, _is_root, max_depth=4)
    if not hits:
        raise DatasetError(missing_message(
            "GTZAN (folders <genre>/<genre>.000NN.au or .wav)", bases, "gtzan"))
    found = hits[0]
    files, unreadable = _clip_files(found)
    exts = {p.suffix.lower() for p in files}
    kaggle = found.name == "genres_original" or (found.parent / "features_30_sec.csv").exists()
    layout = "Kaggle" if kaggle else ("original (.au)" if exts == {".au"} else "original")
    features_csv = {s: found.parent / f"features_{s}_sec.csv" for s in (30, 3)
                    if (found.parent / f"features_{s}_sec.csv").exists()}
    places = [split_dir] if split_dir else [found, found.parent, found.parent.parent,
                                            data / "gtzan", data / "gtzan" / "splits"]
    beside, notes = _lists_beside_data(places)
    if split_dir and beside is None:
        raise DatasetError(f"split_dir={str(split_dir)!r} does not hold "
                           f"{', '.join(SPLIT_FILES.values())}; leave split_dir out to use the "
                           f"fault-filtered lists shipped with genre_lib")
    if beside is None:
        lists, origin = shipped_split_lists(), "lists shipped with genre_lib"
    else:
        lists = beside
        origin = (f"lists found beside the data in {beside['train'].parent}"
                  + (" (identical to those shipped with genre_lib)" if _same_as_shipped(beside)
                     else "; they replace the lists shipped with genre_lib"))
    return {"root": found, "layout": layout, "files": files, "n_files": len(files),
            "features_csv": features_csv, "split_lists": lists, "split_lists_from": origin,
            "lists_beside_data": None if beside is None else beside["train"].parent,
            "notes": unreadable + notes}


def find_root(*, settings: Settings | None = None) -> Path:
    """The folder holding the genre folders (``DatasetError`` when there is none)."""
    return locate(settings=settings)["root"]


def describe_copy(where: Path, *, settings: Settings | None = None) -> str:
    """One line for ``data status``: clips, layout, and the split the loader will use."""
    settings = settings or get_settings()
    info = locate(settings=settings)
    ids = set(_clip_table(info)["track_id"])
    head = f"{info['n_files']} clips, {info['layout']} layout"
    if getattr(settings, "split", "official") == "random":
        return (f"{head}; split: random (GENRE_SPLIT=random), seeded and stratified by genre, "
                f"over all {len(ids)} clips (artists and repeated clips can cross splits)")
    try:
        assign = split_assignment(info["split_lists"])
    except DatasetError as exc:  # a damaged list beside the data: report it, do not crash
        return f"{head}; split lists unusable: {exc}"
    inside = len(ids & set(assign))
    missing = len(set(assign) - ids)
    return (f"{head}; split: {FILTERED_NAME}, {info['split_lists_from']}: {inside} clip(s) "
            f"in the lists, {len(ids) - inside} outside them left out"
            + (f", {missing} listed clip(s) not on disk" if missing else ""))


def read_split_list(path) -> list[str]:
    """Track ids (``blues.00012``) from a split list; lines may be paths with any extension.

    ``path`` is a file path or an :mod:`importlib.resources` file (the shipped lists). An
    unreadable list, a line naming no clip, and a list naming no clip at all are errors.
    """
    source = Path(path) if isinstance(path, (str, os.PathLike)) else path
    try:
        text = source.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the split list ({exc.strerror or exc})") from None
    ids = []
    for n, line in enumerate(text.splitlines(), start=1):
        token = line.strip().split()[0] if line.strip() else ""
        if not token or token.startswith("#"):
            continue
        m = _ID.search(os.path.basename(token))
        if not m:
            raise DatasetError(f"{path}, line {n}: {line.strip()!r} does not name a GTZAN clip "
                               f"(expected e.g. blues/blues.00012.au)")
        ids.append(f"{m.group(1).lower()}.{m.group(2)}")
    if not ids:
        raise DatasetError(f"{path}: the split list names no clip (an empty or cut-off file?); "
                           f"repair it, or remove all three lists beside the data to use the "
                           f"fault-filtered lists shipped with genre_lib")
    return ids


def split_assignment(lists: dict | None = None) -> dict[str, str]:
    """``{track_id: "train" | "valid" | "test"}`` from three lists (default: the shipped ones).

    A clip listed for two splits is an error naming the list.
    """
    lists = lists or shipped_split_lists()
    assign: dict[str, str] = {}
    for name, path in lists.items():
        for tid in read_split_list(path):
            if assign.get(tid, name) != name:
                raise DatasetError(f"{path}: {tid} is also listed for {assign[tid]}")
            assign[tid] = name
    return assign


def _clip_table(info: dict) -> pd.DataFrame:
    """One row per clip found (a ``.wav`` wins over an ``.au`` of the same id)."""
    by_id: dict[str, Path] = {}
    for p in sorted(info["files"], key=lambda p: (p.stem.lower(), p.suffix.lower() != ".wav")):
        m = _FILE.match(p.name)
        tid = f"{m.group(1).lower()}.{m.group(2)}"
        if m.group(1).lower() != p.parent.name.lower():
            continue  # a clip filed under another genre's folder: not GTZAN's layout
        by_id.setdefault(tid, p)
    table = pd.DataFrame({
        "track_id": list(by_id),
        "path": [absolute(p) for p in by_id.values()],
        "genre": [t.split(".")[0] for t in by_id],
    })
    table["format"] = [Path(p).suffix.lower().lstrip(".") for p in table["path"]]
    return table


def _split_from_lists(table: pd.DataFrame, info: dict, lines: list[str]) -> tuple[pd.DataFrame, dict]:
    """Assign the fault-filtered split; clips outside the lists are left out.

    Returns the table of listed clips and the attributes saying what was left out."""
    assign = split_assignment(info["split_lists"])
    sizes = {s: sum(1 for v in assign.values() if v == s) for s in PUBLISHED_SPLIT_SIZES}
    table = table.assign(split=table["track_id"].map(assign))
    outside = sorted(table.loc[table["split"].isna(), "track_id"])
    missing = sorted(set(assign) - set(table["track_id"]))
    lines.append(f"split: {FILTERED_NAME}, {info['split_lists_from']}")
    if outside:
        lines.append(f"{len(outside)} clip(s) on disk left out of every split: {OUTSIDE_REASON}")
    if missing:
        lines.append(f"{len(missing)} listed clip(s) not on disk (a partial copy?): the "
                     f"{len(assign) - len(missing)} listed clips present are used")
    if sizes != PUBLISHED_SPLIT_SIZES:
        lines.append(f"note: these lists hold {sizes['train']}/{sizes['valid']}/"
                     f"{sizes['test']} clips; the published split has 443/197/290")
    attrs = {"outside_split": {"tracks": outside, "reason": OUTSIDE_REASON},
             "listed_not_on_disk": len(missing)}
    return table[table["split"].notna()].reset_index(drop=True), attrs


def load_table(root=None, split: str = "auto", split_dir=None, min_seconds: float | None = None,
               validate: bool = True, progress: bool = True, verbose: bool = True, *,
               settings: Settings | None = None) -> pd.DataFrame:
    """The GTZAN table (contract of :mod:`genre_lib.datasets`).

    ``split``: ``"auto"`` (the default: the fault-filtered split, unless ``settings.split``
    is ``random``), ``"filtered"`` (the fault-filtered split whatever the settings say) or
    ``"random"`` (a seeded random split of every clip on disk, with a printed warning). The
    fault-filtered lists are those shipped with genre_lib unless lists are found beside the
    data or in ``split_dir`` (see the module text); clips in no list are left out and named
    in ``table.attrs["outside_split"]`` (``{"tracks": [...], "reason": ...}``), and
    ``table.attrs["listed_not_on_disk"]`` counts listed clips missing from a partial copy.
    Files that cannot be decoded or are shorter than ``min_seconds`` (default: half the clip
    length the features use) are skipped and listed in ``table.attrs["skipped"]``. Extra
    columns: ``format``, ``seconds``, ``sample_rate``. The Kaggle copy's feature tables are
    named in ``table.attrs["kaggle_features_csv"]`` (``{30: path, 3: path}``; see
    :func:`load_features`).

    Notebook: none directly; through :func:`genre_lib.datasets.load_table`.
    """
    settings = settings or get_settings()
    if split not in ("auto", "filtered", "random"):
        raise ValueError("split must be 'auto', 'filtered' or 'random'")
    if split == "auto":
        split = "random" if getattr(settings, "split", "official") == "random" else "filtered"
    info = locate(root=root, split_dir=split_dir, settings=settings)
    table = _clip_table(info)
    lines = [f"GTZAN ({info['layout']} layout) at {info['root']}: {len(table)} clips found"]
    lines += info["notes"]
    attrs: dict = {}
    if split == "filtered":
        table, attrs = _split_from_lists(table, info, lines)
        split_source = f"{FILTERED_NAME}, {info['split_lists_from']}"
        rule = "official"
    else:
        table["split"] = stratified_split(table["genre"], seed=settings.seed)
        split_source = (f"random (asked for), stratified by genre, seed {settings.seed}, over "
                        f"all {len(table)} clips on disk; artists and repeated clips can cross "
                        f"splits")
        rule = "random"
        lines.append(f"split: {split_source}")
        if verbose:
            print(RANDOM_ASKED_NOTE)
    table["tags"] = [[] for _ in range(len(table))]

    sel = select_usable(table, "gtzan", CLIP_SECONDS, min_seconds, validate, progress,
                        known_faulty=KNOWN_FAULTY if info["layout"] == "Kaggle" else {},
                        settings=settings)
    cols = ["track_id", "path", "genre", "split", "tags"]
    out = sel.table[cols + [c for c in sel.table.columns if c not in cols]]
    out = out.sort_values("track_id").reset_index(drop=True)
    out.attrs.update({"dataset": "gtzan", "skipped": sel.skipped, "clip_seconds": CLIP_SECONDS,
                      "layout": info["layout"], "root": str(info["root"]),
                      "split_source": split_source, "split_rule": rule, **attrs,
                      "kaggle_features_csv": {k: str(v) for k, v in info["features_csv"].items()}})
    lines += profile_note(sel.n_candidates, settings=settings)
    report("gtzan", out, sel.skipped, lines, verbose)
    return out


def load_features(table: pd.DataFrame | None = None, seconds: int = 30, root=None, *,
                  settings: Settings | None = None) -> pd.DataFrame:
    """The Kaggle copy's precomputed features (``features_30_sec.csv`` or ``features_3_sec.csv``).

    Returns numeric feature columns indexed by ``track_id`` (for ``seconds=3`` there are ten
    rows per track, with a ``segment`` column). With ``table``, only its tracks, in its order.
    """
    settings = settings or get_settings()
    info = locate(root=root, settings=settings)
    path = info["features_csv"].get(seconds)
    if path is None:
        raise DatasetError(f"features_{seconds}_sec.csv not found beside {info['root']}; it "
                           f"comes with the Kaggle copy of GTZAN only")
    frame = pd.read_csv(path)
    if "filename" not in frame.columns:
        raise DatasetError(f"{path}: no 'filename' column; is this the Kaggle features file?")
    ids, segs = [], []
    for name in frame["filename"].astype(str):
        m = re.match(r"([a-z]+)\.(\d{5})(?:\.(\d+))?\.wav$", name, re.IGNORECASE)
        if not m:
            raise DatasetError(f"{path}: cannot read a track id from filename {name!r}")
        ids.append(f"{m.group(1).lower()}.{m.group(2)}")
        segs.append(int(m.group(3)) if m.group(3) else 0)
    numeric = frame.drop(columns=[c for c in ("filename", "length", "label") if c in frame])
    numeric = numeric.apply(pd.to_numeric, errors="coerce").astype(np.float32)
    numeric.index = pd.Index(ids, name="track_id")
    if seconds == 3:
        numeric.insert(0, "segment", segs)
    if table is not None:
        numeric = numeric[numeric.index.isin(set(table["track_id"]))]
        order = {t: i for i, t in enumerate(table["track_id"])}
        numeric = numeric.iloc[np.argsort([order[t] for t in numeric.index], kind="stable")]
    return numeric


__all__ = ["GENRES", "locate", "find_root", "describe_copy", "load_table", "load_features",
           "read_split_list", "split_assignment", "shipped_split_lists"]
