"""The dataset table every loader returns, and the small helpers that work on any such table.

The contract (one row per track)::

    track_id  str          unique within the dataset
    path      str          absolute path to the audio file
    genre     str | None   the single label, where the dataset has one
    split     str          'train', 'valid' or 'test'
    tags      list[str]    multi-label tags ([] where the dataset has none)
    ...                    dataset-specific columns

This module imports nothing else of the package, so every other module may import it.

Notebook: 01_eda.ipynb (the dataset at a glance).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

TABLE_COLUMNS = ("track_id", "path", "genre", "split", "tags")
SPLITS = ("train", "valid", "test")
SPLIT_FRACTIONS = {"train": 0.6, "valid": 0.2, "test": 0.2}


class DatasetError(Exception):
    """A dataset that is missing, incomplete or whose metadata cannot be read."""


def check_table(table: pd.DataFrame) -> None:
    """Raise ``ValueError`` unless ``table`` honours the contract above."""
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"dataset table lacks column(s) {missing}")
    if table["track_id"].duplicated().any():
        dup = table.loc[table["track_id"].duplicated(), "track_id"].iloc[0]
        raise ValueError(f"dataset table repeats track_id {dup!r}")
    bad = set(table["split"]) - set(SPLITS)
    if bad:
        raise ValueError(f"dataset table has unknown split(s) {sorted(bad, key=str)}")
    if not all(isinstance(t, list) for t in table["tags"]):
        raise ValueError("dataset table column 'tags' must hold lists")


def has_genres(table: pd.DataFrame) -> bool:
    """True when every track has a single genre label (MagnaTagATune has tags only).

    Notebook: 02_correlation_and_projections.ipynb
    """
    return "genre" in table.columns and len(table) > 0 and bool(table["genre"].notna().all())


def has_tags(table: pd.DataFrame) -> bool:
    """True when at least one track carries multi-label tags.

    Notebook: 02_correlation_and_projections.ipynb
    """
    return "tags" in table.columns and any(len(t) for t in table["tags"])


def labels(table: pd.DataFrame) -> list[str]:
    """The labels a model learns from ``table``: genres, or for tag-only data the tag names.

    The loader keeps only labels that have tracks in every split and records them in
    ``table.attrs["labels"]``; use this (not the labels seen in a subset of the table) for
    the class count and the chance level. Without that record the labels are read from the
    table itself.

    Notebook: none directly; ``evaluation``, ``embeddings`` and ``plotting`` take their class lists
    from it.
    """
    kept = table.attrs.get("labels")
    if kept is not None:
        return list(kept)
    if has_genres(table):
        return sorted(table["genre"].astype(str).unique())
    names = table.attrs.get("tag_names")
    if names is not None:
        return list(names)
    return sorted({t for ts in table["tags"] for t in ts})


def primary_label(table: pd.DataFrame, top: int = 10) -> pd.Series:
    """One label per track for grouping and colouring.

    The genre where the dataset has one; otherwise (tag-only data such as MagnaTagATune) the
    clip's tag that is most frequent in the whole table, ``"other"`` when that tag is not among
    the ``top`` most frequent, and ``"(no tag)"`` for clips without tags.

    Notebook: 01_eda.ipynb
    """
    if has_genres(table):
        return table["genre"].astype(str)
    counts = pd.Series([t for ts in table["tags"] for t in ts], dtype=object).value_counts()
    rank = {t: i for i, t in enumerate(counts.index)}
    out = []
    for ts in table["tags"]:
        best = min(ts, key=rank.__getitem__) if len(ts) else "(no tag)"
        out.append(best if best == "(no tag)" or rank[best] < top else "other")
    return pd.Series(out, index=table.index, dtype=object)


def stratified_split(labels, seed: int, fractions=(0.6, 0.2, 0.2), groups=None) -> np.ndarray:
    """Assign 'train'/'valid'/'test' per item, stratified by label and stable for a seed.

    With ``groups`` (e.g. artists), all items of a group land in the same split, so no
    artist (or track, for chunked data) sits in two splits.
    """
    labels = np.asarray(labels, dtype=object)
    keys = np.asarray(groups if groups is not None else np.arange(len(labels)), dtype=object)
    out = np.empty(len(labels), dtype=object)
    rng = np.random.default_rng(seed)
    # one label per group: its most common label
    frame = pd.DataFrame({"label": labels, "group": keys})
    group_label = frame.groupby("group", sort=True)["label"].agg(lambda s: s.value_counts().index[0])
    assignment = {}
    for label in sorted(group_label.unique(), key=str):
        members = np.array(sorted(group_label.index[group_label == label], key=str), dtype=object)
        rng.shuffle(members)
        n = len(members)
        n_test = max(1, int(round(fractions[2] * n))) if n >= 3 else 0
        n_valid = max(1, int(round(fractions[1] * n))) if n >= 3 else 0
        for i, g in enumerate(members):
            assignment[g] = "test" if i < n_test else "valid" if i < n_test + n_valid else "train"
    for i, g in enumerate(keys):
        out[i] = assignment[g]
    return out


def subsample(table: pd.DataFrame, per_label: int | None, seed: int,
              label: str = "genre") -> pd.DataFrame:
    """Keep at most ``per_label`` tracks per label and split (for the tiny CI profile)."""
    if not per_label:
        return table
    keys = [label, "split"] if table[label].notna().all() else ["split"]
    parts = []
    for _, part in table.groupby(keys, sort=True):
        share = max(1, int(round(per_label * SPLIT_FRACTIONS[part["split"].iloc[0]])))
        parts.append(part.sample(n=min(share, len(part)), random_state=seed))
    return pd.concat(parts).sort_values("track_id").reset_index(drop=True)


def table_digest(table: pd.DataFrame) -> str:
    """A short digest of what a model learns from in ``table``: every track's id, split, genre
    and tags, in order (paths and other columns are left out, so a moved copy keeps it)."""
    import hashlib
    import json

    cols = [c for c in ("track_id", "split", "genre", "tags") if c in table]
    rows = table[cols].astype(str).to_numpy().tolist()
    return hashlib.sha1(json.dumps([cols, rows]).encode()).hexdigest()[:16]


__all__ = ["TABLE_COLUMNS", "SPLITS", "DatasetError", "check_table", "has_genres", "has_tags",
           "labels", "primary_label", "stratified_split", "subsample", "table_digest"]
