"""GTZAN (Tzanetakis and Cook 2002): 1000 clips of 30 s, ten genres of 100 clips each.

Two layouts are recognised wherever they were unpacked under the data folder:

* the original Marsyas release, ``genres/<genre>/<genre>.000NN.au`` (and its later re-packing
  with ``.wav`` files);
* the widespread Kaggle copy, ``Data/genres_original/<genre>/<genre>.000NN.wav`` with
  ``features_30_sec.csv`` and ``features_3_sec.csv`` beside it. Its ``jazz.00054.wav`` is not
  a valid WAV file: it is reported and skipped, and the other 999 clips load.

**Splits.** GTZAN has repeated clips, the same artists across many clips, and some mislabelled
or distorted recordings (Sturm 2013). A random split puts the same song or artist on both
sides and inflates scores. The *fault-filtered* split of Kereliuk, Sturm and Larsen (2015)
(train 443, valid 197, test 290 tracks; the other 70 are left out) avoids that, and is used
whenever its three list files (``train_filtered.txt``, ``valid_filtered.txt``,
``test_filtered.txt``) are found beside the data (``python -m genre_lib data download gtzan``
fetches them). Otherwise, or with ``GENRE_SPLIT=random``, a seeded, stratified random split
of all clips is used, with a printed note.

Notebook: 01_eda.ipynb (run it with ``GENRE_DATASET=gtzan``).
"""
from __future__ import annotations

import os
import re
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
KNOWN_FAULTY = {"jazz.00054": "the Kaggle copy's jazz.00054.wav is known to be broken"}

_FILE = re.compile(r"^([a-z]+)\.(\d{5})\.(au|wav)$", re.IGNORECASE)
_ID = re.compile(r"([a-z]+)\.(\d{5})", re.IGNORECASE)

_RANDOM_RISK = (
    "GTZAN repeats some clips and many artists, so a random split puts the same song or "
    "artist in train and test and inflates accuracy; published results on the fault-filtered "
    "split (Kereliuk, Sturm and Larsen 2015) are much lower.")
RANDOM_SPLIT_NOTE = (
    "note: no fault-filtered split lists found, so GTZAN gets a seeded random split "
    f"(60/20/20 per genre). {_RANDOM_RISK} Get the lists with `python -m genre_lib data "
    "download gtzan`, or put train_filtered.txt, valid_filtered.txt and test_filtered.txt "
    "beside the genre folders.")
RANDOM_ASKED_NOTE = (
    "note: a random split was asked for (GENRE_SPLIT=random or split='random'), so GTZAN gets "
    f"a seeded random split of all clips (60/20/20 per genre). {_RANDOM_RISK}")


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


def _split_lists(candidates) -> tuple[dict | None, list[str]]:
    notes = []
    for d in candidates:
        if d is None or not Path(d).is_dir():
            continue
        have = {s: Path(d) / f for s, f in SPLIT_FILES.items() if (Path(d) / f).is_file()}
        if len(have) == 3:
            return have, notes
        if have:
            notes.append(f"incomplete fault-filtered split lists in {d} (found "
                         f"{', '.join(p.name for p in have.values())}); ignored")
    return None, notes


def locate(settings: Settings | None = None, root=None, split_dir=None) -> dict:
    """Find GTZAN: its root folder (holding the genre folders), layout and extra files.

    Raises :class:`DatasetError` with the places searched when it is not there.
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
    lists, notes = _split_lists(places)
    notes = unreadable + notes
    return {"root": found, "layout": layout, "files": files, "n_files": len(files),
            "features_csv": features_csv, "split_lists": lists, "notes": notes}


def find_root(settings: Settings) -> Path:
    """The folder holding the genre folders (``DatasetError`` when there is none)."""
    return locate(settings)["root"]


def has_split_lists(settings: Settings) -> bool:
    """True when the three fault-filtered split lists are found beside the copy."""
    return locate(settings)["split_lists"] is not None


def describe_copy(where: Path, settings: Settings) -> str:
    """One line for ``data status``: clips, layout and whether the split lists are there."""
    info = locate(settings)
    lists = "found" if info["split_lists"] else "not found (a seeded random split is used)"
    return f"{info['n_files']} clips, {info['layout']} layout; fault-filtered split lists: {lists}"


def read_split_list(path) -> list[str]:
    """Track ids (``blues.00012``) from a split list; lines may be paths with any extension.

    An unreadable list, a line naming no clip, and a list naming no clip at all are errors.
    """
    try:
        text = Path(path).read_text(errors="replace")
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
                           f"fetch the lists again with `python -m genre_lib data download gtzan`, "
                           f"or remove all three to use a random split")
    return ids


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


def _split_from_lists(table: pd.DataFrame, lists: dict, lines: list[str]) -> pd.DataFrame:
    """Assign the fault-filtered split; clips outside the lists are left out."""
    assign: dict[str, str] = {}
    for name, path in lists.items():
        for tid in read_split_list(path):
            if assign.get(tid, name) != name:
                raise DatasetError(f"{path}: {tid} is also listed for {assign[tid]}")
            assign[tid] = name
    sizes = {s: sum(1 for v in assign.values() if v == s) for s in PUBLISHED_SPLIT_SIZES}
    table = table.assign(split=table["track_id"].map(assign))
    left_out = int(table["split"].isna().sum())
    not_found = sorted(set(assign) - set(table["track_id"]))
    lines.append(f"split: fault-filtered (Kereliuk, Sturm and Larsen 2015) from "
                 f"{lists['train'].parent}; {left_out} clip(s) outside the lists left out"
                 + (f"; {len(not_found)} listed clip(s) not on disk" if not_found else ""))
    if sizes != PUBLISHED_SPLIT_SIZES:
        lines.append(f"note: these lists hold {sizes['train']}/{sizes['valid']}/"
                     f"{sizes['test']} tracks; the published split has 443/197/290")
    return table[table["split"].notna()].reset_index(drop=True)


def load_table(settings: Settings | None = None, root=None, split: str = "auto",
               split_dir=None, min_seconds: float | None = None, validate: bool = True,
               progress: bool = True, verbose: bool = True) -> pd.DataFrame:
    """The GTZAN table (contract of :mod:`genre_lib.datasets`).

    ``split``: ``"auto"`` (fault-filtered when its lists are found and ``settings.split`` is
    ``official``, else random), ``"filtered"`` (require the lists) or ``"random"``. Files that
    cannot be decoded or are shorter than ``min_seconds`` (default: half the clip length the
    features use) are skipped and listed in ``table.attrs["skipped"]``. Extra columns:
    ``format``, ``seconds``, ``sample_rate``. The Kaggle copy's feature tables are named in
    ``table.attrs["kaggle_features_csv"]`` (``{30: path, 3: path}``; see :func:`load_features`).

    Notebook: 01_eda.ipynb (through :func:`genre_lib.datasets.load_table`).
    """
    settings = settings or get_settings()
    if split not in ("auto", "filtered", "random"):
        raise ValueError("split must be 'auto', 'filtered' or 'random'")
    if split == "auto" and getattr(settings, "split", "official") == "random":
        split = "random"
    info = locate(settings, root=root, split_dir=split_dir)
    table = _clip_table(info)
    lines = [f"GTZAN ({info['layout']} layout) at {info['root']}: {len(table)} clips found"]
    lines += info["notes"]
    lists = info["split_lists"] if split != "random" else None
    if split == "filtered" and lists is None:
        raise DatasetError("split='filtered' needs train_filtered.txt, valid_filtered.txt and "
                           f"test_filtered.txt beside {info['root']} (or split_dir=...); "
                           "`python -m genre_lib data download gtzan` fetches them")
    if lists is not None:
        table = _split_from_lists(table, lists, lines)
        split_source, rule = "fault-filtered (Kereliuk, Sturm and Larsen 2015)", "official"
    else:
        table["split"] = stratified_split(table["genre"], seed=settings.seed)
        split_source, rule = f"random, stratified by genre, seed {settings.seed}", "random"
        if verbose:
            print(RANDOM_SPLIT_NOTE if info["split_lists"] is None else RANDOM_ASKED_NOTE)
    table["tags"] = [[] for _ in range(len(table))]

    sel = select_usable(table, settings, "gtzan", CLIP_SECONDS, min_seconds, validate,
                        progress, known_faulty=KNOWN_FAULTY if info["layout"] == "Kaggle" else {})
    cols = ["track_id", "path", "genre", "split", "tags"]
    out = sel.table[cols + [c for c in sel.table.columns if c not in cols]]
    out = out.sort_values("track_id").reset_index(drop=True)
    out.attrs.update({"dataset": "gtzan", "skipped": sel.skipped, "clip_seconds": CLIP_SECONDS,
                      "layout": info["layout"], "root": str(info["root"]),
                      "split_source": split_source, "split_rule": rule,
                      "kaggle_features_csv": {k: str(v) for k, v in info["features_csv"].items()}})
    lines += profile_note(settings, sel.n_candidates)
    report("gtzan", out, sel.skipped, lines, verbose)
    return out


def load_features(settings: Settings | None = None, seconds: int = 30,
                  table: pd.DataFrame | None = None, root=None) -> pd.DataFrame:
    """The Kaggle copy's precomputed features (``features_30_sec.csv`` or ``features_3_sec.csv``).

    Returns numeric feature columns indexed by ``track_id`` (for ``seconds=3`` there are ten
    rows per track, with a ``segment`` column). With ``table``, only its tracks, in its order.
    """
    settings = settings or get_settings()
    info = locate(settings, root=root)
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


__all__ = ["GENRES", "locate", "find_root", "has_split_lists", "describe_copy", "load_table",
           "load_features", "read_split_list"]
