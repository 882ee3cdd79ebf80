"""Datasets: every loader returns the same table, so nothing downstream knows which it got.

The table contract (one row per track)::

    track_id  str          unique within the dataset
    path      str          absolute path to the audio file
    genre     str | None   the single label, where the dataset has one
    split     str          'train', 'valid' or 'test'
    tags      list[str]    multi-label tags ([] where the dataset has none)
    ...                    dataset-specific columns

Use :func:`load_table` with the settings; it dispatches on ``settings.dataset``.

Notebook: 01_eda.ipynb (the dataset at a glance).
"""
from __future__ import annotations

import importlib

import numpy as np
import pandas as pd

from ..config import Settings, get_settings

TABLE_COLUMNS = ("track_id", "path", "genre", "split", "tags")
SPLITS = ("train", "valid", "test")

_LOADERS = {
    "synth": ("synth", "load_table"),
    "gtzan": ("gtzan", "load_table"),
    "fma_small": ("fma", "load_table"),
    "fma_medium": ("fma", "load_table"),
    "mtat": ("mtat", "load_table"),
}


class DatasetError(Exception):
    """A dataset that is missing, incomplete or whose metadata cannot be read."""


def load_table(settings: Settings | None = None, **kwargs) -> pd.DataFrame:
    """The dataset table for ``settings.dataset`` (building or locating the data as needed)."""
    settings = settings or get_settings()
    module_name, func = _LOADERS[settings.dataset]
    module = importlib.import_module(f"{__name__}.{module_name}")
    table = getattr(module, func)(settings, **kwargs)
    check_table(table)
    return table


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
        raise ValueError(f"dataset table has unknown split(s) {sorted(bad)}")
    if not all(isinstance(t, list) for t in table["tags"]):
        raise ValueError("dataset table column 'tags' must hold lists")


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
        share = max(1, int(round(per_label * {"train": 0.6, "valid": 0.2, "test": 0.2}[part["split"].iloc[0]])))
        parts.append(part.sample(n=min(share, len(part)), random_state=seed))
    return pd.concat(parts).sort_values("track_id").reset_index(drop=True)


def summary(table: pd.DataFrame, skipped: dict | None = None) -> str:
    """A printable summary: tracks per split and label, and skipped files with reasons."""
    lines = [f"{len(table)} tracks"]
    if table["genre"].notna().any():
        counts = pd.crosstab(table["genre"], table["split"]).reindex(columns=list(SPLITS), fill_value=0)
        counts.loc["total"] = counts.sum()
        lines.append(counts.to_string())
    else:
        lines.append(table["split"].value_counts().reindex(list(SPLITS), fill_value=0).to_string())
    n_tagged = sum(1 for t in table["tags"] if t)
    if n_tagged:
        n_tags = len({t for ts in table["tags"] for t in ts})
        lines.append(f"{n_tags} distinct tags; {n_tagged} tracks have at least one, "
                     f"{len(table) - n_tagged} have none")
    skipped = skipped if skipped is not None else table.attrs.get("skipped", {})
    if skipped:
        lines.append(f"skipped {len(skipped)} file(s):")
        lines.extend(f"  {k}: {v}" for k, v in sorted(skipped.items()))
    return "\n".join(lines)


def has_genres(table: pd.DataFrame) -> bool:
    """True when every track has a single genre label (MagnaTagATune has tags only)."""
    return "genre" in table.columns and len(table) > 0 and bool(table["genre"].notna().all())


def has_tags(table: pd.DataFrame) -> bool:
    """True when at least one track carries multi-label tags."""
    return "tags" in table.columns and any(len(t) for t in table["tags"])


def primary_label(table: pd.DataFrame, top: int = 10) -> pd.Series:
    """One label per track for grouping and colouring.

    The genre where the dataset has one; otherwise (tag-only data such as MagnaTagATune) the
    clip's tag that is most frequent in the whole table, ``"other"`` when that tag is not among
    the ``top`` most frequent, and ``"(no tag)"`` for clips without tags.
    """
    if has_genres(table):
        return table["genre"].astype(str)
    counts = pd.Series([t for ts in table["tags"] for t in ts], dtype=object).value_counts()
    rank = {t: i for i, t in enumerate(counts.index)}
    labels = []
    for ts in table["tags"]:
        best = min(ts, key=rank.__getitem__) if len(ts) else "(no tag)"
        labels.append(best if best == "(no tag)" or rank[best] < top else "other")
    return pd.Series(labels, index=table.index, dtype=object)
