"""``python -m genre_lib data status``: what is present, what is missing, where archives go.

Every line comes from the registry: one entry per download (:data:`registry.SOURCES`), told
by the download's own ``describe`` function, then one line per dataset that has nothing to
download (the embedded synthetic dataset, and any registered while the program runs).

Notebook: none; ``docs/datasets.md`` shows the output.
"""
from __future__ import annotations

from ..config import Settings, get_settings
from .contract import DatasetError
from .local import downloads_dir, present
from .registry import SOURCES, get_spec, registered
from .specs import resolve


def _describe(name: str, where, *, settings: Settings) -> str:
    describe = resolve(SOURCES[name].describe, f"describe function of {name}")
    if describe is None:
        return ""
    try:
        return describe(where, settings=settings)
    except (DatasetError, OSError) as exc:
        return f"incomplete: {exc}"


def _source_lines(name: str, *, settings: Settings) -> list[str]:
    src = SOURCES[name]
    folder = downloads_dir(settings=settings)
    where = present(name, settings=settings)
    if where is not None:
        return [f"  [present] {name:<13} {where}",
                f"            {_describe(name, where, settings=settings)}"]
    files = ", ".join(r.fname for r in src.remotes if not r.optional)
    have = [r.fname for r in src.remotes if (folder / r.fname).exists()]
    lines = [f"  [missing] {name:<13} {src.title}",
             f"            get it: python -m genre_lib data download {name}   (about "
             f"{src.size_hint})",
             f"            or download {files} by hand into {folder}/ and run the same "
             f"command (it verifies and unpacks them)"
             + (f"; already there: {', '.join(have)}" if have else "")]
    if src.notes:
        lines.append(f"            note: {src.notes}")
    return lines


def _dataset_line(name: str, *, settings: Settings) -> str:
    spec = get_spec(name)
    status = resolve(spec.status, f"status function of {name}")
    if status is not None:
        try:
            return f"  {status(settings=settings)}"
        except (DatasetError, OSError) as exc:
            return f"  {name}: cannot tell ({exc})"
    return f"  {name}: {spec.title or 'registered dataset'} (nothing to download)"


def status_report(*, settings: Settings | None = None) -> str:
    """What is present, what is missing, and where a manually downloaded archive goes.

    Notebook: none; run ``python -m genre_lib data status``.
    """
    settings = settings or get_settings()
    lines = [f"datasets under {settings.data_dir}  (current: GENRE_DATASET={settings.dataset})",
             f"archives are kept in (and manual downloads go to) {downloads_dir(settings=settings)}", ""]
    for name in list(SOURCES):
        lines += _source_lines(name, settings=settings)
    local_only = [n for n in registered() if not get_spec(n).sources]
    if local_only:
        lines.append("")
        lines += [_dataset_line(n, settings=settings) for n in local_only]
    return "\n".join(lines)


__all__ = ["status_report"]
