"""Datasets: every loader returns the same table, so nothing downstream knows which it got.

The table contract is in :mod:`.contract`: one row per track with ``track_id``, ``path``,
``genre``, ``split`` and ``tags``, plus dataset-specific columns. Each dataset is declared once
(:class:`DatasetSpec`, built-ins in :mod:`.catalog`) and found through the registry
(:func:`register`, :func:`registered`, :func:`get_spec`). Use :func:`load_table` with the
settings: it runs the declared loader, then, for every dataset alike, applies the split rule
(``GENRE_SPLIT``) and leaves out labels that lack tracks in a split (:mod:`.splits`).
:func:`labels` gives the labels kept.

The modules, and who imports whom (no circles): ``contract`` and ``specs`` import nothing of
the package; ``catalog`` -> ``specs``; ``registry`` -> ``catalog``; ``splits`` -> ``contract``
and the settings; ``local`` (finding and checking local copies) -> ``registry``; ``status``
(``data status``) -> ``local``; ``download`` (fetching only) -> ``local``, ``status``; the loaders ``gtzan``,
``fma`` and ``mtat`` -> ``contract``, ``local``; ``synth`` -> ``contract``, ``splits``; this
package -> ``contract``, ``registry``, ``specs``, ``splits``. The settings and the features
import ``registry`` only; the loaders are named in ``catalog`` as text and imported when used.

Notebook: 01_eda.ipynb (the dataset at a glance).
"""
from __future__ import annotations

import pandas as pd

from ..config import Settings, get_settings
from .contract import (
    SPLITS,
    TABLE_COLUMNS,
    DatasetError,
    check_table,
    has_genres,
    has_tags,
    labels,
    primary_label,
    stratified_split,
    subsample,
)
from .registry import SOURCES, check_name, get_spec, register, registered, unregister
from .specs import DatasetSpec, Remote, Source
from .splits import apply_split_rule, keep_complete_labels, summary

_REPORTED: set = set()  # the loads whose report this process has printed


def load_table(*, verbose: bool | None = None, settings: Settings | None = None,
               **kwargs) -> pd.DataFrame:
    """The dataset table for ``settings.dataset``, the same way for every dataset.

    Runs the registered loader (building or locating the data as needed; ``kwargs`` go to
    it), checks the table contract and the declaration (genres or tags), applies the split
    rule ``settings.split`` and leaves out labels without tracks in every split, reporting
    them. The kept labels are in ``table.attrs["labels"]`` (see :func:`labels`), those left
    out in ``table.attrs["left_out_labels"]``.

    The loading report (where the data is, the tracks per split, what was skipped or left
    out) prints the first time a process loads the table for the same settings and
    arguments, so once per notebook however often the table is read; ``verbose=True``
    prints it again, ``verbose=False`` not even the first time.

    Notebook: 01_eda.ipynb (and the first cells of 02 to 12).
    """
    settings = settings or get_settings()
    spec = get_spec(settings.dataset)
    key = (settings.dataset, settings.split, str(settings.data_dir), settings.profile.name,
           settings.seed, repr(sorted(kwargs.items())))
    verbose = key not in _REPORTED if verbose is None else bool(verbose)
    table = spec.load(verbose=verbose, **kwargs, settings=settings)
    check_table(table)
    if spec.has_genres and not has_genres(table):
        raise DatasetError(f"{spec.name}: declared with genres, but its loader returned "
                           f"{int(table['genre'].isna().sum())} of {len(table)} track(s) without one")
    table.attrs.setdefault("dataset", spec.name)
    table = apply_split_rule(table, spec.random_split_note, verbose, settings=settings)
    table = keep_complete_labels(table, tag_mode=not spec.has_genres, name=spec.name,
                                 verbose=verbose)
    if verbose:
        _REPORTED.add(key)
    return table


__all__ = ["TABLE_COLUMNS", "SPLITS", "DatasetError", "DatasetSpec", "Source", "Remote", "SOURCES",
           "load_table", "check_table", "stratified_split", "subsample", "summary", "has_genres",
           "has_tags", "primary_label", "labels", "register", "unregister", "registered",
           "get_spec", "check_name"]
