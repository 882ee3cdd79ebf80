"""What a dataset declaration holds: the dataset itself and the files it is fetched from.

A :class:`DatasetSpec` says everything the rest of the package needs to know about a dataset:
its name (the value of ``GENRE_DATASET``), the function that builds its table, the downloads
(:class:`Source`) it needs, its native clip length, whether it has genres or tags, and how
``data status`` describes it. Functions may be given directly or as ``"module:function"``
text, imported on first use; the built-in declarations use text so that declaring a dataset
never imports its loader (and nothing imports in a circle).

This module imports nothing else of the package.

Notebook: none; ``docs/extending.md`` ("Adding a dataset") shows a declaration.
"""
from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# a function, or "package.module:function" naming one (imported when first needed)
Ref = Callable[..., Any] | str

RANDOM_SPLIT_NOTE = (
    "note: GENRE_SPLIT=random: a seeded random split (60/20/20 per label) replaces the "
    "official one. Tracks of the same artist (or album) can then land in train and test, which "
    "inflates scores; published results use the official split.")


def resolve(ref: Ref | None, what: str = "function") -> Callable[..., Any] | None:
    """The function ``ref`` names (``None`` stays ``None``)."""
    if ref is None or callable(ref):
        return ref
    module, _, name = str(ref).partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot import the {what} {ref!r} ({exc})") from None


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
    """A download (a dataset, or part of one) that ``data download NAME`` can fetch.

    ``locate(settings=...)`` returns the folder of a copy on disk (raising ``DatasetError``
    when there is none); ``describe(folder, settings=...)`` says in one line what that copy
    holds, for ``data status``; ``complete(settings=...)`` is false when a present copy lacks
    the source's optional ``file`` remotes (small files shipped beside an archive), which
    ``data download`` then adds. Each is called with the settings as the keyword ``settings``.
    """

    name: str
    title: str
    target: str                    # folder under data_dir that receives it
    remotes: tuple[Remote, ...]
    size_hint: str
    homepage: str
    extract_into: str = ""         # sub-folder of target for the archive's content
    strip_top: str | None = None   # the archive's single top folder, dropped when unpacking
    notes: str = ""
    locate: Ref | None = None
    describe: Ref | None = None
    complete: Ref | None = None


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset, declared once; register it with :func:`genre_lib.datasets.register`.

    Only ``name`` and ``loader`` are required. ``loader(**options, **kwargs, settings=...)``
    returns the table (contract in :mod:`genre_lib.datasets.contract`); the shared loading
    path then applies the split rule, leaves out labels missing from a split and checks the
    result against ``has_genres`` / ``has_tags``.
    """

    name: str                      # the GENRE_DATASET value
    loader: Ref
    title: str = ""                # one line for listings
    sources: tuple[Source, ...] = ()   # downloads it needs, in the order to fetch them
    clip_seconds: float | Callable[[Any], float] | None = None   # native length (or f(settings))
    crop_to_profile: bool = True   # the profile's clip_seconds may shorten clips
    has_genres: bool = True        # every track has one genre
    has_tags: bool = False         # tracks carry multi-label tags
    options: Mapping[str, Any] = field(default_factory=dict)   # keyword arguments of the loader
    status: Ref | None = None      # f(settings=...) -> a data status line (datasets without sources)
    random_split_note: str = RANDOM_SPLIT_NOTE   # printed when GENRE_SPLIT=random re-splits it

    def __post_init__(self):
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name or ""):
            raise ValueError(f"dataset name {self.name!r}: use lower-case letters, digits and _")
        if not (callable(self.loader) or ":" in str(self.loader)):
            raise ValueError(f"dataset {self.name!r}: loader must be a function or "
                             f"'module:function', not {self.loader!r}")
        if not (self.has_genres or self.has_tags):
            raise ValueError(f"dataset {self.name!r}: needs genres, tags or both")

    def load(self, *, verbose: bool | None = None, settings, **kwargs):
        """The table, from the declared loader (keyword arguments override ``options``);
        ``verbose`` reaches the loader where it takes one (a ``verbose`` or ``**`` parameter)."""
        import inspect

        loader = resolve(self.loader, f"loader of {self.name}")
        params = inspect.signature(loader).parameters
        if verbose is not None and ("verbose" in params or any(
                p.kind is p.VAR_KEYWORD for p in params.values())):
            kwargs["verbose"] = verbose
        return loader(**{**self.options, **kwargs}, settings=settings)

    def default_seconds(self, native: float | None = None, *, settings) -> float | None:
        """The clip length features use: ``native`` (else the declared length), capped by the
        profile's ``clip_seconds`` where ``crop_to_profile`` allows."""
        if native is None:
            native = self.clip_seconds(settings) if callable(self.clip_seconds) else self.clip_seconds
        cap = settings.profile.clip_seconds if self.crop_to_profile else None
        if cap is None:
            return native
        return cap if native is None else min(cap, native)


__all__ = ["Remote", "Source", "DatasetSpec", "resolve", "RANDOM_SPLIT_NOTE"]
