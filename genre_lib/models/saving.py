"""A saved model: the ``.keras`` file and its JSON sidecar, written together and checked
together.

The ``.keras`` file is self-contained (it maps raw chunks to probabilities on its own); the
sidecar beside it records provenance (classes, feature parameters, training history,
metrics). The two are bound to each other:

* the sidecar records the SHA-256 of the model file and a checksum of its own content, so a
  model file swapped or rewritten after the sidecar, or a sidecar edited by hand (classes
  reordered, say), is refused on load;
* Keras saves the model to a scratch file whose hash the sidecar records; then each file
  goes into place through :func:`genre_lib.store.files.atomic_write` (a temporary file,
  flushed, then renamed), model first. A crash in between leaves the new model beside the
  old sidecar, which the hash check refuses, so a pair that disagrees is never used.

Every refusal is a :class:`SavedModelError` (a ``ValueError``) with a one-line message that
names both files.

Notebook: none directly; :func:`genre_lib.training.load_or_train` saves and loads every model
through it (by name, so later notebooks load what earlier ones trained).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

from ..store.files import atomic_write

CHECKSUM_KEY = "sidecar_sha256"
MODEL_HASH_KEY = "model_sha256"


class SavedModelError(ValueError):
    """A saved model or sidecar that cannot be used (the message says which and why)."""


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def content_checksum(meta: dict) -> str:
    """SHA-256 of the sidecar's content (every key but the checksum itself), canonical JSON."""
    body = {k: v for k, v in meta.items() if k != CHECKSUM_KEY}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def jsonable(value):
    """``value`` with NumPy scalars turned into Python numbers and tuples into lists."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # NumPy scalars
        return value.item()
    return value


def _fail(model_path: Path, meta_path: Path, problem: str) -> SavedModelError:
    return SavedModelError(f"saved model {model_path} with sidecar {meta_path.name}: {problem}")


def save_pair(model, meta: dict, model_path: Path, meta_path: Path) -> dict:
    """Save ``model`` and its sidecar ``meta`` so that they can only be loaded together: both
    written with :func:`genre_lib.store.files.atomic_write`, model first, the sidecar
    recording the model file's hash.

    Returns the sidecar as written (with the model hash and the checksum added).
    """
    model_path, meta_path = Path(model_path), Path(meta_path)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    # Keras writes a model only to a path ending in .keras: a scratch file, copied into place
    scratch = model_path.with_name(f".{model_path.stem}.{os.getpid()}.tmp.keras")
    try:
        model.save(scratch)
        meta = json.loads(json.dumps(jsonable({**meta, MODEL_HASH_KEY: file_sha256(scratch)})))
        meta.pop(CHECKSUM_KEY, None)
        meta[CHECKSUM_KEY] = content_checksum(meta)
        text = json.dumps(meta, indent=1)
        with open(scratch, "rb") as src:
            atomic_write(model_path, lambda fh: shutil.copyfileobj(src, fh, 1 << 20))
        atomic_write(meta_path, lambda fh: fh.write(text.encode()))
    finally:
        scratch.unlink(missing_ok=True)
    return meta


def read_sidecar(model_path: Path, meta_path: Path, version: int) -> dict:
    """The sidecar as a dict, checked: a JSON object, of format ``version``, unedited."""
    model_path, meta_path = Path(model_path), Path(meta_path)
    try:
        meta = json.loads(meta_path.read_text())
    except ValueError as exc:
        raise _fail(model_path, meta_path, f"the sidecar is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise _fail(model_path, meta_path, f"the sidecar holds a JSON {type(meta).__name__}, "
                    "not an object")
    if meta.get("version") != version:
        raise _fail(model_path, meta_path, f"sidecar format {meta.get('version')!r}, this code "
                    f"reads format {version} (saved by an older version)")
    if meta.get(CHECKSUM_KEY) != content_checksum(meta):
        raise _fail(model_path, meta_path, "the sidecar was changed after it was saved "
                    "(its checksum does not match its content)")
    return meta


def load_pair(model_path: Path, meta_path: Path, version: int):
    """``(model, meta)`` after every check: sidecar readable and unedited, model file an
    intact ``.keras`` archive with the hash the sidecar recorded, loadable with plain
    ``keras.saving.load_model``, and with as many outputs as classes and the recorded input
    shape. ``FileNotFoundError`` when either file is missing."""
    import keras

    model_path, meta_path = Path(model_path), Path(meta_path)
    for p in (model_path, meta_path):
        if not p.exists():
            raise FileNotFoundError(f"{p} is missing (saved model {model_path.name} needs both "
                                    f"it and {meta_path.name})")
    meta = read_sidecar(model_path, meta_path, version)
    if not _intact_zip(model_path):
        raise _fail(model_path, meta_path, "the model file is corrupt (not a readable .keras "
                    "zip archive)")
    if file_sha256(model_path) != meta.get(MODEL_HASH_KEY):
        raise _fail(model_path, meta_path, "the two do not belong together (the model file's "
                    "SHA-256 differs from the one the sidecar recorded)")
    try:
        model = keras.saving.load_model(model_path, compile=False)
    except Exception as exc:
        raise _fail(model_path, meta_path, f"the model file is corrupt or unreadable "
                    f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    check_model(model, meta, model_path, meta_path)
    return model, meta


def _intact_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


def check_model(model, meta: dict, model_path: Path, meta_path: Path) -> None:
    """The model's output size and input shape agree with the sidecar's classes and
    ``input_shape``."""
    n_out = int(model.outputs[0].shape[-1])
    classes = meta.get("classes") or []
    if n_out != len(classes):
        raise _fail(model_path, meta_path, f"the model has {n_out} outputs but the sidecar names "
                    f"{len(classes)} classes")
    shape = [int(d) for d in model.inputs[0].shape[1:]]
    if "input_shape" in meta and shape != list(meta["input_shape"]):
        raise _fail(model_path, meta_path, f"the model reads inputs of shape {tuple(shape)} but the "
                    f"sidecar says {tuple(meta['input_shape'])}")


def refuse(model_path: Path, meta_path: Path, problem: str) -> SavedModelError:
    """A :class:`SavedModelError` for another problem found with a pair (one line)."""
    return _fail(Path(model_path), Path(meta_path), problem)


def saved_names(folder: Path) -> list[str]:
    """Names of the models saved in ``folder`` with a sidecar (``<name>.keras`` + ``.json``)."""
    folder = Path(folder)
    if not folder.exists():
        return []
    return sorted(p.stem for p in folder.glob("*.json")
                  if not p.name.startswith(".") and (folder / f"{p.stem}.keras").exists())
