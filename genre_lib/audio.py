"""Robust audio loading: any file in, a mono float32 signal at a known rate out.

Every failure (missing, empty, truncated, not audio, too short, undecodable) raises
:class:`AudioError`, which names the file and the reason, so batch code can skip and report.

Cutting a signal into segments is :func:`genre_lib.pipeline.cut_chunks`, the package's one
cutter.

Notebook: 01_eda.ipynb (loading a clip).
"""
from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from .config import Settings
from .pipeline import crop
from .store.files import atomic_write

DEFAULT_SR = Settings.sample_rate  # the settings' rate; every loader resamples to it


class AudioError(Exception):
    """A file that cannot be used as audio. ``path`` and ``reason`` say which and why.

    ``transient`` is true when the failure is about access, not content (no permission, an
    I/O error): such a file may read fine later, so caches must not remember it as bad.
    """

    def __init__(self, path, reason: str, transient: bool = False):
        self.path = str(path)
        self.reason = reason
        self.transient = transient
        super().__init__(f"{self.path}: {reason}")


def _looks_like_mp3(head: bytes) -> bool:
    """An ID3 tag or an MPEG audio frame header at the start of the file."""
    return head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _check_riff(path: Path, size: int) -> None:
    """Detect a WAV whose header promises more audio than the file holds."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            if _looks_like_mp3(head):
                warnings.warn(f"{path}: an MP3 stream in a file named {path.suffix}; "
                              "decoded as MP3", stacklevel=4)
            elif path.suffix.lower() == ".wav":
                raise AudioError(path, "not a WAV file (no RIFF/WAVE header)")
            return
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk_id, chunk_len = struct.unpack("<4sI", fh.read(8))
            if chunk_id == b"data":
                available = size - pos - 8
                if chunk_len > available and chunk_len != 0xFFFFFFFF:
                    raise AudioError(path, f"truncated: header declares {chunk_len} bytes of "
                                           f"audio, the file holds {available}")
                return
            pos += 8 + chunk_len + (chunk_len & 1)
        raise AudioError(path, "truncated: WAV file has no data chunk")


def info(path) -> dict:
    """Sample rate, channels, frames and duration of a file, without decoding it."""
    path = Path(path)
    _precheck(path)
    try:
        i = sf.info(str(path))
    except Exception as exc:  # soundfile raises its own error type, or RuntimeError
        raise AudioError(path, f"cannot decode ({_clean(exc)})") from None
    if i.format == "RAW":
        raise AudioError(path, "cannot decode (no recognised audio header)")
    return {"sr": i.samplerate, "channels": i.channels, "frames": i.frames,
            "seconds": i.frames / i.samplerate if i.samplerate else 0.0}


def _clean(exc: Exception) -> str:
    text = str(exc).strip().replace("\n", " ")
    if "does not exist or is not a regular file" in text:
        # libsndfile's words for bytes it cannot identify; the file was checked to exist
        return "not a recognised audio format"
    return text or type(exc).__name__


def _precheck(path: Path) -> int:
    """The file's size after the checks that need no decoding; access failures (permission,
    symlink loops, I/O errors) become an :class:`AudioError` marked ``transient``."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise AudioError(path, "file not found") from None
    except OSError as exc:
        raise AudioError(path, f"cannot read ({exc.strerror or exc})", transient=True) from None
    if path.is_dir():
        raise AudioError(path, "is a directory, not an audio file")
    if st.st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    try:
        if path.suffix.lower() in (".wav", ".wave"):
            _check_riff(path, st.st_size)
        else:
            with open(path, "rb"):
                pass
    except OSError as exc:
        raise AudioError(path, f"cannot read ({exc.strerror or exc})", transient=True) from None
    return st.st_size


def load(path, sr: int | None = DEFAULT_SR, duration: float | None = None,
         offset: float = 0.0, min_seconds: float | None = None, pad: bool = True) -> np.ndarray:
    """Load ``path`` as mono float32 at ``sr`` Hz (``None`` keeps the file's rate).

    ``offset`` and ``duration`` select a window in seconds. A file shorter than
    ``min_seconds`` raises :class:`AudioError`; otherwise a short result is zero-padded to
    ``duration`` when ``pad`` is true. WAV, AU, FLAC, OGG and MP3 are decoded by libsndfile,
    so no ffmpeg is needed.

    Notebook: 01_eda.ipynb, 10_transfer_learning.ipynb, 12_serving.ipynb.
    """
    path = Path(path)
    _precheck(path)
    try:
        with sf.SoundFile(str(path)) as f:
            if f.format == "RAW":  # libsndfile's guess for headerless bytes named .au/.snd
                raise AudioError(path, "cannot decode (no recognised audio header)")
            native = f.samplerate
            if native <= 0:
                raise AudioError(path, "invalid sample rate in header")
            start = int(round(offset * native))
            if start:
                f.seek(min(start, f.frames) if f.frames > 0 else 0)
            frames = -1 if duration is None else int(round(duration * native))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y = f.read(frames=frames, dtype="float32", always_2d=True)
    except AudioError:
        raise
    except Exception as exc:
        raise AudioError(path, f"cannot decode ({_clean(exc)})") from None
    if y.size == 0:
        raise AudioError(path, "contains no audio samples")
    y = y.mean(axis=1) if y.shape[1] > 1 else y[:, 0]
    if not np.all(np.isfinite(y)):
        raise AudioError(path, "decoded samples contain NaN or infinity")
    got_seconds = len(y) / native
    if min_seconds is not None and got_seconds + 1e-3 < min_seconds:
        raise AudioError(path, f"too short: {got_seconds:.2f} s, need at least {min_seconds:.2f} s")
    if sr is not None and sr != native:
        y = resample(y, native, sr)
    rate = sr or native
    if duration is not None and pad:
        y = crop(y, 0, int(round(duration * rate)))  # cut or zero-pad to exactly the duration
    return np.ascontiguousarray(y, dtype=np.float32)


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """High-quality resampling (soxr, via librosa)."""
    import librosa

    return librosa.resample(y, orig_sr=orig_sr, target_sr=target_sr, res_type="soxr_hq")


def write_wav(path, y: np.ndarray, sr: int = DEFAULT_SR) -> Path:
    """Write a mono float signal as 16-bit PCM WAV, atomically
    (:func:`genre_lib.store.files.atomic_write`: a temporary file, then a rename).

    Notebook: 12_serving.ipynb.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: sf.write(fh, np.clip(y, -1.0, 1.0), sr, subtype="PCM_16",
                                           format="WAV"))
    return path
