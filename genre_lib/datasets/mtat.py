"""MagnaTagATune (Law et al. 2009): 25,863 clips of about 29 s, 188 crowd-sourced tags.

The annotations are ``annotations_final.csv``: tab-separated, one row per clip, the columns
``clip_id``, the 188 tags (0 or 1) and ``mp3_path`` (``<hex digit>/<name>.mp3``, relative to
the ``mp3/`` folder holding the sixteen folders ``0`` to ``f``).

* **Tag selection.** Tags are ranked by how many clips carry them; ``top_n`` keeps the most
  frequent (the benchmarks use 50, sometimes 10). Ranking uses every clip of the annotation
  file, so the tag set does not depend on which audio files happen to be readable.
* **Synonyms.** The vocabulary says the same thing several ways (``female``, ``woman``,
  ``female vocal``...). With ``merge_synonyms=True`` the groups in :data:`SYNONYMS` are
  merged (a clip has the merged tag when it has any member) *before* the top-N selection.
  The default is ``False``, the setting of the published top-50 benchmarks.
* **Split.** The standard split by the first character of ``mp3_path`` (Dieleman and
  Schrauwen 2014): ``0``-``b`` train, ``c`` valid, ``d``-``f`` test; or your own split files
  (``split_files``), e.g. the cleaned split of Won et al. (2020).
* Clips left without any tag after selection are kept (they are negatives for every tag) and
  counted in the report; empty or undecodable MP3s (the release has a few empty ones) are
  skipped. ``genre`` is ``None``: MagnaTagATune has tags only.

Notebook: none directly; :func:`genre_lib.datasets.load_table` reads it with ``GENRE_DATASET=mtat``.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Settings, get_settings
from .contract import DatasetError
from .local import absolute, find_dirs, missing_message, profile_note, report, select_usable

CLIP_SECONDS = 29.1
TRAIN_DIRS, VALID_DIRS, TEST_DIRS = "0123456789ab", "c", "def"
HEX = "0123456789abcdef"

# Synonym groups of the MagnaTagATune vocabulary: merged name -> the tags it absorbs.
# Every name is a real column of annotations_final.csv. Ambiguous tags (``electric``,
# ``heavy``, ``girl``, ``instrumental``...) are left alone.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "female vocal": ("female", "woman", "women", "female vocals", "female voice",
                     "female singer", "female singing", "woman singing"),
    "male vocal": ("male", "man", "men", "male vocals", "male voice", "male singer",
                   "man singing"),
    "choir": ("choral", "chorus"),
    "vocal": ("vocals", "voice", "voices", "singing", "singer"),
    "no vocal": ("no vocals", "no voice", "no voices", "no singing", "no singer"),
    "classical": ("clasical", "classic"),
    "drums": ("drum",),
    "no drums": ("no beat",),
    "beat": ("beats",),
    "electronic": ("electro", "electronica"),
    "fast": ("fast beat", "quick"),
    "flute": ("flutes",),
    "guitar": ("guitars",),
    "harpsichord": ("harpsicord",),
    "horn": ("horns",),
    "indian": ("india",),
    "jazz": ("jazzy",),
    "metal": ("heavy metal",),
    "opera": ("operatic",),
    "orchestra": ("orchestral",),
    "strings": ("string",),
    "synth": ("synthesizer",),
    "violin": ("violins", "fiddle"),
    "weird": ("strange",),
    "spacey": ("space",),
    "chant": ("chanting",),
    "funk": ("funky",),
}


def _is_mp3_root(d: Path) -> bool:
    try:
        names = {e.name for e in os.scandir(d) if e.is_dir()}
    except OSError:
        return False
    return len(names & set(HEX)) >= 3


def locate(root=None, count: bool = True, *, settings: Settings | None = None) -> dict:
    """Find ``annotations_final.csv`` and the ``mp3/`` folder (with its ``0``..``f`` folders)."""
    settings = settings or get_settings()
    data = settings.data_dir
    bases = [Path(root)] if root else [data / "mtat", data / "magnatagatune", data / "MTAT", data]
    hits = find_dirs(bases, lambda d: (d / "annotations_final.csv").is_file(), max_depth=3)
    if not hits:
        raise DatasetError(missing_message("MagnaTagATune (annotations_final.csv)", bases, "mtat"))
    folder = hits[0]
    mp3 = find_dirs([folder / "mp3", folder], _is_mp3_root, max_depth=2)
    if not mp3:
        raise DatasetError(missing_message(
            f"MagnaTagATune audio (an mp3/ folder with 0/ ... f/ beside {folder})",
            [folder / "mp3", folder], "mtat"))
    n = 0
    if count:
        for h in HEX:
            try:
                n += sum(1 for e in os.scandir(mp3[0] / h) if e.name.endswith(".mp3"))
            except OSError:               # absent or unreadable folder: nothing counted
                continue
    return {"annotations": folder / "annotations_final.csv", "mp3_root": mp3[0], "n_files": n,
            "clip_info": folder / "clip_info_final.csv"}


def find_folder(*, settings: Settings | None = None) -> Path:
    """The folder holding ``annotations_final.csv`` (for ``data status`` and ``data download``)."""
    return locate(count=False, settings=settings)["annotations"].parent


def describe_copy(where: Path, *, settings: Settings | None = None) -> str:
    """One line for ``data status``: the annotations and how many MP3 files are there."""
    info = locate(settings=settings)
    return f"annotations_final.csv and {info['n_files']} mp3 files under {info['mp3_root']}"


def _tag_values(frame: pd.DataFrame, tags: list[str], path) -> pd.DataFrame:
    """The tag columns as 0/1 integers; any other value is an error naming its row and tag."""
    raw = frame[tags].replace("", "0")
    values = raw.apply(pd.to_numeric, errors="coerce")
    bad = values.isna() | ~values.isin([0, 1])
    if bad.to_numpy().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise DatasetError(f"{path}, row {row + 2} (clip_id {frame['clip_id'].iloc[row]}): tag "
                           f"{tags[col]!r} is {raw.iat[row, col]!r}; tag columns must hold 0 or 1")
    return values.astype(np.int8)


def read_annotations(path) -> pd.DataFrame:
    """``annotations_final.csv`` as a frame: ``clip_id``, one 0/1 column per tag, ``mp3_path``.

    A tag value other than 0 or 1 and a clip id listed twice are errors naming the rows.
    """
    try:
        frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, index_col=False)
    except Exception as exc:
        raise DatasetError(f"{path}: cannot read as tab-separated values ({exc})") from None
    if "clip_id" not in frame.columns or "mp3_path" not in frame.columns:
        raise DatasetError(f"{path}: expected tab-separated columns clip_id, the tags and "
                           f"mp3_path; found {list(frame.columns)[:4]} ...")
    frame = frame.reset_index(drop=True)  # row positions, whatever a damaged file suggests
    ids = frame["clip_id"].astype(str).str.strip()
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        rows = [i + 2 for i in dup.index[dup == dup.iloc[0]]]
        raise DatasetError(f"{path}: clip_id {dup.iloc[0]} appears in rows "
                           f"{', '.join(map(str, rows))}; each clip must be listed once")
    tags = [c for c in frame.columns if c not in ("clip_id", "mp3_path")]
    values = _tag_values(frame, tags, path)
    return pd.concat([ids.rename("clip_id"), values, frame["mp3_path"].str.strip()], axis=1)


def merge_synonym_tags(tags: pd.DataFrame, groups: dict | None = None) -> pd.DataFrame:
    """Merge synonymous tag columns (0/1 frame, one column per tag): OR within each group."""
    groups = SYNONYMS if groups is None else groups
    merged, absorbed = {}, set()
    for name, members in groups.items():
        cols = [c for c in (name, *members) if c in tags.columns and c not in absorbed]
        if cols:
            merged[name] = tags[cols].max(axis=1)
            absorbed.update(cols)
    rest = tags[[c for c in tags.columns if c not in absorbed]]
    return pd.concat([rest, pd.DataFrame(merged, index=tags.index)], axis=1)


def select_top(tags: pd.DataFrame, top_n: int | None) -> list[str]:
    """The ``top_n`` most frequent tags (ties broken by name), most frequent first."""
    counts = tags.sum(axis=0)
    counts = counts[counts > 0]
    order = sorted(counts.index, key=lambda t: (-int(counts[t]), t))
    return order if not top_n else order[:top_n]


def _read_split_file(path: Path) -> list[str]:
    if path.suffix == ".npy":
        items = [str(x) for x in np.load(path, allow_pickle=True)]
    else:
        items = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    keys = []
    for item in items:
        mp3 = re.search(r"[0-9a-f]/[^\t\s]+\.mp3", item)
        keys.append(mp3.group(0) if mp3 else item.split()[0])
    return keys


def _split_files(split_files) -> dict[str, Path]:
    if isinstance(split_files, (str, Path)):
        folder = Path(split_files)
        found = {}
        for s in ("train", "valid", "test"):
            names = [f"{s}{ext}" for ext in (".txt", ".tsv", ".csv", ".npy")]
            if s == "valid":
                names += [f"validation{ext}" for ext in (".txt", ".npy")]
            hit = next((folder / n for n in names if (folder / n).exists()), None)
            if hit is None:
                raise DatasetError(f"no {s} split file in {folder} (looked for {', '.join(names)})")
            found[s] = hit
        return found
    return {s: Path(p) for s, p in dict(split_files).items()}


def _assign_splits(ann: pd.DataFrame, split_files) -> tuple[list, str]:
    """Each clip's split (``None``: in no split) and a description of the rule."""
    if split_files is not None:
        files = _split_files(split_files)
        assign = {}
        for s, p in files.items():
            for key in _read_split_file(p):
                assign[key] = s
        split = [assign.get(m, assign.get(c)) if m else assign.get(c)
                 for m, c in zip(ann["mp3_path"], ann["clip_id"])]
        return split, f"split files ({', '.join(str(p) for p in files.values())})"
    prefix = ann["mp3_path"].str.split("/", n=1).str[0].str.lower()
    split = [None if len(p) != 1 else "train" if p in TRAIN_DIRS else "valid" if p in VALID_DIRS
             else "test" if p in TEST_DIRS else None for p in prefix]
    return split, "by folder: 0-b train, c valid, d-f test (Dieleman and Schrauwen 2014)"


def _without_path(table: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, dict]:
    """Rows whose ``mp3_path`` is empty, as skips that say the file is missing."""
    empty = table["mp3_path"] == ""
    skipped = {tid: f"missing: no mp3_path in {path.name} (row {i + 2})"
               for i, tid in zip(table.index[empty], table.loc[empty, "track_id"])}
    return table[~empty], skipped


def _by_clip_id(table: pd.DataFrame) -> pd.DataFrame:
    ids = table["track_id"].astype(str)
    key = (lambda s: s.astype(int)) if ids.str.fullmatch(r"\d+").all() else None
    return table.sort_values("track_id", key=key).reset_index(drop=True)


def load_table(top_n: int | None = 50, merge_synonyms: bool = False, split_files=None, root=None,
               min_seconds: float | None = None, validate: bool = True, progress: bool = True,
               verbose: bool = True, *, settings: Settings | None = None) -> pd.DataFrame:
    """The MagnaTagATune table: ``tags`` holds each clip's selected tags, most frequent first.

    ``top_n`` (default 50; ``None`` for all) and ``merge_synonyms`` (default ``False``) choose
    the vocabulary, given in ``table.attrs["tag_names"]`` in frequency order. ``split_files``:
    a folder with ``train``/``valid``/``test`` files (``.txt`` or ``.npy``, one clip id or mp3
    path per entry) or a dict of three paths; clips they do not list are left out. A row
    without ``mp3_path`` is reported as a missing file. Extra columns: ``mp3_path``, ``artist``
    (from the file name), ``top_tag``, ``seconds``, ``sample_rate``.

    Notebook: none directly; through :func:`genre_lib.datasets.load_table`.
    """
    settings = settings or get_settings()
    info = locate(root=root, count=False, settings=settings)
    ann = read_annotations(info["annotations"])
    tag_frame = ann.drop(columns=["clip_id", "mp3_path"])
    n_raw = tag_frame.shape[1]
    if merge_synonyms:
        tag_frame = merge_synonym_tags(tag_frame)
    names = select_top(tag_frame, top_n)
    chosen = tag_frame[names].to_numpy(dtype=bool)
    tags = [[names[j] for j in np.flatnonzero(row)] for row in chosen]
    split, split_source = _assign_splits(ann, split_files)
    table = pd.DataFrame({
        "track_id": ann["clip_id"].astype(str).to_numpy(dtype=object),
        "path": [absolute(info["mp3_root"] / m) if m else "" for m in ann["mp3_path"]],
        "genre": [None] * len(ann),
        "split": split,
        "tags": tags,
        "mp3_path": ann["mp3_path"].to_numpy(dtype=object),
        "artist": [Path(m).name.split("-", 1)[0] for m in ann["mp3_path"]],
        "top_tag": [t[0] if t else "(untagged)" for t in tags],
    })
    lines = [f"MagnaTagATune at {info['annotations'].parent}: {len(table)} clips, {n_raw} tags"
             + (f", {tag_frame.shape[1]} after merging synonyms" if merge_synonyms else "")
             + f"; keeping the top {len(names)} by frequency"]
    table, no_path = _without_path(table, info["annotations"])
    unsplit = table["split"].isna()
    if unsplit.any():
        lines.append(f"{int(unsplit.sum())} clip(s) in no split left out")
        table = table[~unsplit].reset_index(drop=True)

    sel = select_usable(table, "mtat", CLIP_SECONDS, min_seconds, validate, progress,
                        label="top_tag", settings=settings)
    skipped = {**no_path, **sel.skipped}
    out = _by_clip_id(sel.table)
    n_untagged = int(sum(1 for t in out["tags"] if not t))
    out.attrs.update({"dataset": "mtat", "skipped": skipped, "clip_seconds": CLIP_SECONDS,
                      "tag_names": names, "top_n": top_n, "merge_synonyms": merge_synonyms,
                      "untagged": n_untagged, "split_source": split_source,
                      "split_rule": "official", "mp3_root": str(info["mp3_root"])})
    lines.append(f"split: {split_source}")
    lines.append(f"{n_untagged} clip(s) have none of the selected tags (kept, counted)")
    lines += profile_note(sel.n_candidates, "clips per most frequent tag", settings=settings)
    report("mtat", out, skipped, lines, verbose)
    return out


__all__ = ["SYNONYMS", "locate", "find_folder", "describe_copy", "read_annotations",
           "merge_synonym_tags", "select_top", "load_table"]
