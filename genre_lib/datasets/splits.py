"""The splits every table leaves the loader with: the split rule, complete labels, a summary.

Run once for every dataset by :func:`genre_lib.datasets.load_table`, after the dataset's own
loader:

* :func:`apply_split_rule`: ``GENRE_SPLIT=official`` (the default) keeps the dataset's own
  split; ``GENRE_SPLIT=random`` asks for a seeded random split, stratified by label, with a
  printed warning (tracks of one artist can then sit on both sides).
* :func:`keep_complete_labels`: a label needs tracks in train, valid *and* test. A label
  without training tracks cannot be learned; one without validation tracks cannot take part
  in choosing a model, and one without test tracks cannot be scored, so its accuracy would
  silently count as zero or its rows would break the metrics. Such labels are **left out of
  every split** (for genres: their tracks are removed; for tags: the tag is removed from the
  vocabulary and the tracks stay), and the report names each with its counts. This happens
  with partial copies, e.g. part of GTZAN with the full fault-filtered lists.
* :func:`summary`: tracks per split and label, the labels left out, the split rule used,
  what the split itself leaves out (GTZAN's fault-filtered split excludes its faulty clips),
  and the skipped files.

Notebook: 01_eda.ipynb (``print(datasets.summary(table))``).
"""
from __future__ import annotations

import pandas as pd

from ..config import get_settings
from .contract import SPLITS, DatasetError, primary_label, stratified_split


def apply_split_rule(table: pd.DataFrame, note: str = "", verbose: bool = True, *,
                     settings=None) -> pd.DataFrame:
    """``table`` with the split ``settings.split`` asks for (``official`` or ``random``).

    A loader that already made a random split (``table.attrs["split_rule"] == "random"``)
    is left as it is. ``note`` is printed when the split is replaced.
    """
    settings = settings or get_settings()
    rule = getattr(settings, "split", "official")
    table.attrs.setdefault("split_rule", "official")
    if rule != "random" or table.attrs["split_rule"] == "random":
        return table
    out = table.copy()
    out.attrs = dict(table.attrs)
    out["split"] = stratified_split(primary_label(out).to_numpy(), seed=settings.seed)
    out.attrs["split_rule"] = "random"
    replaced = table.attrs.get("split_source", "the official split")
    out.attrs["split_source"] = (f"random (GENRE_SPLIT=random), stratified by label, seed "
                                 f"{settings.seed}; replaces: {replaced}")
    if verbose and note:
        print(note)
    return out


def _counts(table: pd.DataFrame, tag_mode: bool) -> pd.DataFrame:
    """Tracks per label (rows: genres, or for tag-only data every tag of the vocabulary in
    ``attrs["tag_names"]`` and every tag seen) and split (columns)."""
    if tag_mode:
        pairs = [(t, s) for ts, s in zip(table["tags"], table["split"]) for t in ts]
        frame = pd.DataFrame(pairs, columns=["tag", "split"], dtype=object)
    else:
        frame = pd.DataFrame({"genre": table["genre"].astype(str), "split": table["split"]})
    key = frame.columns[0]
    counts = pd.crosstab(frame[key], frame["split"]) if len(frame) else \
        pd.DataFrame(index=pd.Index([], name=key, dtype=object))
    counts = counts.reindex(columns=list(SPLITS), fill_value=0)
    if tag_mode:
        vocab = list(table.attrs.get("tag_names") or [])
        counts = counts.reindex(vocab + [t for t in counts.index if t not in set(vocab)],
                                fill_value=0)
        counts.index.name = key
    return counts.astype(int)


def keep_complete_labels(table: pd.DataFrame, tag_mode: bool = False, name: str = "",
                         verbose: bool = True) -> pd.DataFrame:
    """Leave out every label that lacks tracks in one of the splits (see the module text).

    Records ``attrs["labels"]`` (the kept labels: sorted genres, or tags in vocabulary
    order) and ``attrs["left_out_labels"]`` (label -> tracks per split); prints the report.
    Raises :class:`DatasetError` when fewer than two labels (one tag) remain.
    """
    counts = _counts(table, tag_mode)
    lacking = counts[(counts[list(SPLITS)] == 0).any(axis=1)]
    left_out = {str(k): {s: int(v) for s, v in row.items()} for k, row in lacking.iterrows()}
    out = table
    if left_out:
        if tag_mode:
            out = table.copy()
            out["tags"] = [[t for t in ts if t not in left_out] for ts in table["tags"]]
        else:
            out = table[~table["genre"].astype(str).isin(list(left_out))].reset_index(drop=True)
        out.attrs = dict(table.attrs)
    if tag_mode:
        kept = [str(t) for t in counts.index if str(t) not in left_out]
        if "tag_names" in table.attrs:
            out.attrs["tag_names"] = kept
        if "untagged" in table.attrs:
            out.attrs["untagged"] = int(sum(1 for t in out["tags"] if not t))
    else:
        kept = sorted(str(g) for g in counts.index if str(g) not in left_out)
    out.attrs["labels"] = kept
    out.attrs["left_out_labels"] = left_out
    if left_out and verbose:
        kept_text = (f"{len(kept)} tag(s) kept" if tag_mode else
                     f"{len(out)} tracks of {len(kept)} label(s) kept")
        print(f"[{name or out.attrs.get('dataset', 'dataset')}] "
              f"{left_out_text(left_out, tag_mode, limit=12)}; {kept_text}")
    if len(kept) < (1 if tag_mode else 2):
        what = "tag" if tag_mode else "label"
        raise DatasetError(f"{name or 'dataset'}: only {len(kept)} {what}(s) have tracks in train, "
                           f"valid and test ({left_out_text(left_out, tag_mode, limit=4)}); "
                           f"get more of the dataset or set GENRE_SPLIT=random")
    return out


def left_out_text(left_out: dict, tag_mode: bool = False, limit: int | None = None) -> str:
    """'left out N label(s) ...: blues (train 0, valid 3, test 4), ...'."""
    what = "tag" if tag_mode else "label"
    items = sorted(left_out.items())
    shown = items if limit is None else items[:limit]
    text = ", ".join(f"{k} (" + ", ".join(f"{s} {v[s]}" for s in SPLITS) + ")" for k, v in shown)
    more = (f", ... and {len(items) - len(shown)} more (table.attrs['left_out_labels'])"
            if len(shown) < len(items) else "")
    return (f"left out {len(items)} {what}(s) without tracks in every split (each needs train, "
            f"valid and test tracks): {text}{more}")


def outside_split_lines(table: pd.DataFrame) -> list[str]:
    """What the dataset's split itself leaves out, from the loader's attributes:
    ``attrs["outside_split"]`` (``{"tracks": [...], "reason": ...}``: tracks on disk that the
    split names in no list, e.g. the faulty GTZAN clips the fault-filtered split excludes) and
    ``attrs["listed_not_on_disk"]`` (tracks the split names that a partial copy lacks)."""
    lines = []
    outside = table.attrs.get("outside_split") or {}
    if outside.get("tracks"):
        lines.append(f"left out of every split: {len(outside['tracks'])} track(s) on disk, "
                     f"{outside.get('reason') or 'not named by the split'}")
    missing = table.attrs.get("listed_not_on_disk") or 0
    if missing:
        lines.append(f"{missing} track(s) named by the split are not on disk (a partial copy); "
                     f"the others are used")
    return lines


def summary(table: pd.DataFrame, skipped: dict | None = None, max_tags: int = 30) -> str:
    """A printable summary: the split rule, what the split leaves out, tracks per split and
    label, the labels left out, and skipped files with reasons.

    Notebook: 01_eda.ipynb (and the first cells of 02 to 04 and 09 to 11).
    """
    lines = [f"{len(table)} tracks"]
    rule = table.attrs.get("split_rule")
    if rule or table.attrs.get("split_source"):
        lines.append(f"split rule: {rule or 'official'}"
                     + (f" ({table.attrs['split_source']})" if table.attrs.get("split_source") else ""))
    lines += outside_split_lines(table)
    tag_mode = not table["genre"].notna().any()
    if not tag_mode:
        counts = _counts(table, False)
        counts.loc["total"] = counts.sum()
        lines.append(counts.to_string())
    else:
        lines.append(table["split"].value_counts().reindex(list(SPLITS), fill_value=0).to_string())
    n_tagged = sum(1 for t in table["tags"] if t)
    if n_tagged:
        n_tags = len({t for ts in table["tags"] for t in ts})
        lines.append(f"{n_tags} distinct tags; {n_tagged} tracks have at least one, "
                     f"{len(table) - n_tagged} have none")
        if tag_mode:
            per_tag = _counts(table, True)       # in vocabulary (frequency) order
            lines.append("tracks per tag and split"
                         + (f" (the first {max_tags} of {len(per_tag)})" if len(per_tag) > max_tags else "")
                         + ":\n" + per_tag.head(max_tags).to_string())
    left_out = table.attrs.get("left_out_labels") or {}
    if left_out:
        lines.append(left_out_text(left_out, tag_mode))
    skipped = skipped if skipped is not None else table.attrs.get("skipped", {})
    if skipped:
        lines.append(f"skipped {len(skipped)} file(s):")
        lines.extend(f"  {k}: {v}" for k, v in sorted(skipped.items()))
    return "\n".join(lines)


__all__ = ["apply_split_rule", "keep_complete_labels", "left_out_text", "outside_split_lines",
           "summary"]
