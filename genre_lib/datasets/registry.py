"""The registry of datasets: every place that needs to know the datasets asks here.

The settings check ``GENRE_DATASET`` with :func:`check_name`, the shared loading path finds
the loader with :func:`get_spec`, ``data status`` and ``data download`` walk :data:`SOURCES`,
and the features read the clip length from the declaration. The built-in datasets of
:mod:`genre_lib.datasets.catalog` are registered when this module is imported; more can be
added while the program runs::

    from genre_lib import datasets
    datasets.register(datasets.DatasetSpec("toy", "my_module:load_table", clip_seconds=2.0))

This module imports only the declarations, never a loader or the settings, so the settings
and the features can import it without a circle.

Notebook: none; ``docs/extending.md`` ("Adding a dataset").
"""
from __future__ import annotations

from .catalog import BUILTIN
from .specs import DatasetSpec, Source

_SPECS: dict[str, DatasetSpec] = {}

#: every download ``data download NAME`` knows, by name, in registration order
SOURCES: dict[str, Source] = {}


def register(spec: DatasetSpec, replace: bool = False) -> DatasetSpec:
    """Add ``spec`` (and its downloads) to the registry; return it.

    A name already registered is refused unless ``replace`` is true. A download of the same
    name as a registered one must be that same declaration (FMA's metadata is shared).

    Notebook: none; see ``docs/extending.md``.
    """
    if not isinstance(spec, DatasetSpec):
        raise TypeError(f"register() takes a DatasetSpec, not {type(spec).__name__}")
    if spec.name in _SPECS and not replace:
        raise ValueError(f"dataset {spec.name!r} is already registered (pass replace=True to "
                         f"replace its declaration)")
    for src in spec.sources:
        known = SOURCES.get(src.name)
        if known is not None and known != src and not replace:
            raise ValueError(f"dataset {spec.name!r}: download {src.name!r} is already declared "
                             f"differently (by another dataset)")
    _SPECS[spec.name] = spec
    for src in spec.sources:
        SOURCES[src.name] = src
    return spec


def unregister(name: str) -> DatasetSpec:
    """Remove dataset ``name`` (its downloads stay known while another dataset uses them)."""
    spec = _SPECS.pop(get_spec(name).name)
    used = {s.name for other in _SPECS.values() for s in other.sources}
    for src in spec.sources:
        if src.name not in used:
            SOURCES.pop(src.name, None)
    return spec


def registered() -> tuple[str, ...]:
    """The names of the registered datasets, in registration order."""
    return tuple(_SPECS)


def unknown_message(name: str) -> str:
    """The one-line error for a dataset name nobody registered."""
    return (f"GENRE_DATASET={name!r} is not a registered dataset; registered: "
            f"{', '.join(_SPECS)} (add one with genre_lib.datasets.register)")


def check_name(name: str) -> str:
    """``name`` when a dataset of that name is registered; ``ValueError`` otherwise."""
    if name not in _SPECS:
        raise ValueError(unknown_message(name))
    return name


def get_spec(name: str) -> DatasetSpec:
    """The declaration of dataset ``name`` (``ValueError`` naming the registered ones)."""
    return _SPECS[check_name(name)]


for _spec in BUILTIN:
    register(_spec)

__all__ = ["SOURCES", "register", "unregister", "registered", "check_name", "get_spec",
           "unknown_message"]
