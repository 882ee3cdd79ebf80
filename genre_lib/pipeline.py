"""The chunk pipeline: from cached feature arrays to batches a model can read.

A model never sees a whole clip. Training cuts random excerpts ("chunks") of a fixed length
out of the cached features, optionally augments them (gain, mixed-in noise, SpecAugment-style
masks; the random crop itself is the time shift) and hands them to ``tf.data``, which
prefetches the next batch while the model trains on the current one. Judging a clip means
cutting it into consecutive chunks, predicting each and combining the chunk predictions per
track (see :func:`genre_lib.evaluation.pool_by_track`).

This module owns three ideas the whole package uses: cutting chunks (:func:`cut_chunks`, on
:func:`chunk_starts` and :func:`crop`, with zero or repeat padding; :func:`middle_window`),
standardising (:class:`Normaliser` for a model's input, :func:`standardise` for vectors
analysed as a whole) and encoding labels (:func:`encode_labels`).

Chunks stay in the features' own units (log-mel in dB, or raw samples): every model built
for training starts with a ``normalise`` layer holding the training split's statistics
(measured here by :class:`Normaliser`), so a saved model reads raw chunks on its own.

Feature arrays are read one row at a time (``X[i]`` or ``X[i, ..., a:b]`` with an integer
``i``), never copied whole, so the cached features can live in memory-mapped files and
memory stays flat at any dataset size.

Notebook: 04_cnn.ipynb (chunks and the training pipeline).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LAYOUTS = ("mel2d", "mel1d", "wave")
# the feature parameter that gives the number of bands of a 2-D feature kind
BANDS_PARAM = {"logmel": "n_mels", "mfcc": "n_mfcc", "cqt": "n_bins", "tempogram": "win_length"}
FIXED_BANDS = {"chroma": 12}  # kinds whose band count is no parameter


# -- shapes and layouts -----------------------------------------------------------------------
def chunk_length(spec, params: dict, chunk_seconds: float | None = None) -> int:
    """Excerpt length in frames (mel layouts) or samples (``wave``) for model ``spec``.

    ``params`` are the feature parameters (``sr``, and ``hop_length`` for frames). Frame
    counts are rounded down to a multiple of 16 (or of the spec's ``frame_multiple``).

    Notebook: 04_cnn.ipynb, 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb.
    """
    seconds = chunk_seconds or spec.chunk_seconds
    if spec.layout == "wave":
        return int(round(seconds * params["sr"]))
    frames = int(seconds * params["sr"] / params["hop_length"])
    multiple = max(16, spec.frame_multiple)
    return max(multiple, frames // multiple * multiple)


def chunk_seconds(kind: str, params: dict, length: int) -> float:
    """The duration of a chunk of ``length`` frames (or samples, for waveforms)."""
    if kind == "waveform":
        return length / params["sr"]
    return length * params["hop_length"] / params["sr"]


def n_bins(kind: str, params: dict) -> int | None:
    """Bands per frame of a 2-D feature kind (``n_mels`` of a log-mel, ``n_bins`` of a CQT, 12
    for chroma, the lags of a tempogram), None for waveforms."""
    if kind in FIXED_BANDS:
        return FIXED_BANDS[kind]
    key = BANDS_PARAM.get(kind)
    return int(params[key]) if key else None


def to_layout(batch: np.ndarray, layout: str) -> np.ndarray:
    """Chunks ``(n, n_mels, frames)`` or ``(n, samples)`` to the model's input layout."""
    if layout == "mel2d":
        return batch[..., None]
    if layout == "mel1d":
        return np.ascontiguousarray(np.swapaxes(batch, 1, 2))
    if layout == "wave":
        return batch[..., None]
    raise ValueError(f"unknown layout {layout!r}; choose from {LAYOUTS}")


def layout_of(spec) -> str:
    """The input layout of a model spec (or the layout name itself)."""
    return spec if isinstance(spec, str) else spec.layout


def input_shape_for(spec, n_bins: int | None, length: int) -> tuple:
    """The model input shape (without the batch axis) for chunks of ``length``; ``spec`` is
    a model spec or its layout name."""
    layout = layout_of(spec)
    if layout == "mel2d":
        return (n_bins, length, 1)
    if layout == "mel1d":
        return (length, n_bins)
    if layout == "wave":
        return (length, 1)
    raise ValueError(f"unknown layout {layout!r}; choose from {LAYOUTS}")


# -- chunks: the one cutter -------------------------------------------------------------------
PADDING = ("zero", "repeat", None)


def chunk_starts(total: int, length: int, *, hop: int | None = None,
                 max_chunks: int | None = None) -> np.ndarray:
    """Start positions of the chunks of ``length`` frames (or samples) cut from a clip of
    ``total``: one every ``hop`` (default ``length``: consecutive, no overlap) while a whole
    chunk fits, so a trailing part shorter than a chunk is dropped. A clip no longer than one
    chunk gives the one start 0 (its chunk is padded, see :func:`crop`). With
    ``max_chunks``, that many evenly spaced chunks are kept.

    Notebook: 04_cnn.ipynb.
    """
    hop = length if hop is None else hop
    if length <= 0 or hop <= 0:
        raise ValueError(f"chunk length and hop must be positive, not {length} and {hop}")
    starts = np.arange(0, max(total - length, 0) + 1, hop)
    if max_chunks and len(starts) > max_chunks:
        starts = starts[np.linspace(0, len(starts) - 1, max_chunks).round().astype(int)]
    return starts


def crop(clip, start: int, length: int, *, pad: str | None = "zero", axis: int = -1) -> np.ndarray:
    """``clip[start:start + length]`` along ``axis``, padded at the end when the clip is short:
    ``pad="zero"`` with zeros, ``"repeat"`` by repeating the piece from its start until it
    fills (musicnn's rule for clips shorter than a patch), ``None`` not at all (the piece may
    then be shorter than ``length``).
    """
    if pad not in PADDING:
        raise ValueError(f"pad must be one of {PADDING}, not {pad!r}")
    if axis == -1:
        piece = np.asarray(clip[..., start:start + length])
    else:
        clip = np.asarray(clip)
        index = [slice(None)] * clip.ndim
        index[axis] = slice(start, start + length)
        piece = clip[tuple(index)]
    have = piece.shape[axis]
    if have >= length or pad is None:
        return piece
    if pad == "repeat":
        if have == 0:
            raise ValueError("cannot repeat an empty clip to fill a chunk")
        return np.take(piece, np.arange(length) % have, axis=axis)
    widths = [(0, 0)] * piece.ndim
    widths[axis] = (0, length - have)
    return np.pad(piece, widths)


def cut_chunks(x, length: int, *, hop: int | None = None, pad: str | None = "zero",
               max_chunks: int | None = None, axis: int = -1) -> np.ndarray:
    """The chunks of ``length`` cut from ``x`` along ``axis`` at :func:`chunk_starts` (one every
    ``hop``, default consecutive; a trailing part shorter than a chunk is dropped), stacked on
    a new first axis: shape ``(n_chunks, *x.shape)`` with ``axis`` set to ``length``.

    A clip shorter than one chunk gives one chunk, padded by ``pad`` (see :func:`crop`:
    ``"zero"`` or ``"repeat"``), or none at all with ``pad=None``. The package's one
    cutter: audio segments (``axis=-1`` of a signal), the chunks of a feature clip
    (``(bands, frames)``, ``axis=-1``) and musicnn's patches (``(frames, 96)``, ``axis=0``,
    ``pad="repeat"``).
    """
    x = np.asarray(x)
    axis = axis % x.ndim
    if pad is None and x.shape[axis] < length:
        return np.zeros((0,) + x.shape[:axis] + (length,) + x.shape[axis + 1:], x.dtype)
    starts = chunk_starts(x.shape[axis], length, hop=hop, max_chunks=max_chunks)
    return np.stack([crop(x, int(s), length, pad=pad, axis=axis) for s in starts])


def middle_span(total, length) -> tuple:
    """``(start, length)`` of the middle ``length`` of something ``total`` long (samples,
    frames or seconds): ``start = (total - length) / 2``, rounded down when both are
    integers. A ``total`` no longer than ``length`` gives ``(0, total)``: all of it.
    """
    if not length > 0:
        raise ValueError(f"the middle window must be longer than zero, not {length!r}")
    if total <= length:
        return 0, total
    whole = isinstance(total, (int, np.integer)) and isinstance(length, (int, np.integer))
    return ((total - length) // 2 if whole else (total - length) / 2), length


def middle_window(x, length: int, *, axis: int = -1) -> np.ndarray:
    """The middle ``length`` items of ``x`` along ``axis`` (all of ``x`` when it is no longer):
    the 7 s window of a song that a service analyses instead of the whole file.
    """
    x = np.asarray(x)
    start, n = middle_span(x.shape[axis], int(length))
    if n == x.shape[axis]:
        return x
    return crop(x, start, n, pad=None, axis=axis)


def _fill(X, pairs, length: int) -> np.ndarray:
    """A float32 batch of the chunks ``(row, start)`` of ``X``, zero-padded where short (the
    cutter's zero padding, for batches): each piece is read with an integer row index, so
    only the batch is copied."""
    batch = np.zeros((len(pairs),) + tuple(X.shape[1:-1]) + (length,), np.float32)
    for j, (i, s) in enumerate(pairs):
        piece = X[int(i), ..., int(s):int(s) + length]
        batch[j, ..., :piece.shape[-1]] = piece
    return batch


# -- normalisation statistics -------------------------------------------------------------------
@dataclass
class Normaliser:
    """Statistics to standardise features with, measured on the training split only.

    Log-mel: a mean and standard deviation per mel band. Waveform: one scale for all samples
    (the mean stays 0). Training puts them into the model as its ``normalise`` layer
    (``keras.layers.Normalization`` with ``mean`` and ``variance``), so the pipeline feeds
    raw chunks; calling the normaliser applies the same standardisation in NumPy.
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, X, kind: str, rows=None) -> Normaliser:
        """Statistics of ``X[rows]`` (default: all rows), accumulated clip by clip so no
        copy of the training features is made."""
        rows = range(len(X)) if rows is None else np.asarray(rows)
        axis = None if kind == "waveform" else -1
        total = total_sq = 0.0
        count = 0
        for r in rows:
            clip = np.asarray(X[int(r)], dtype=np.float64)
            total = total + clip.sum(axis=axis)
            total_sq = total_sq + (clip ** 2).sum(axis=axis)
            count += clip.shape[-1]
        mean = np.atleast_1d(total / max(count, 1))
        std = np.sqrt(np.maximum(np.atleast_1d(total_sq / max(count, 1)) - mean ** 2, 0))
        if kind == "waveform":  # scale only: a waveform's mean is ~0 and must stay there
            return cls(np.zeros(1, np.float32), (std + 1e-8).astype(np.float32))
        return cls(mean.astype(np.float32), (std + 1e-3).astype(np.float32))

    @classmethod
    def identity(cls, n: int = 1) -> Normaliser:
        """Statistics that change nothing (mean 0, standard deviation 1)."""
        return cls(np.zeros(n, np.float32), np.ones(n, np.float32))

    @property
    def variance(self) -> np.ndarray:
        """``std ** 2``, what ``keras.layers.Normalization`` takes."""
        return (self.std.astype(np.float64) ** 2).astype(np.float32)

    def __call__(self, batch: np.ndarray, inplace: bool = False) -> np.ndarray:
        """Standardised ``batch`` (a float32 copy, or ``batch`` itself with ``inplace``)."""
        out = batch if inplace and batch.dtype == np.float32 else np.array(batch, dtype=np.float32)
        if batch.ndim == 3 and len(self.mean) == batch.shape[1]:  # (n, n_mels, frames)
            out -= self.mean[:, None]
            out *= (1.0 / self.std)[:, None]
        else:
            out -= self.mean[0]
            out *= 1.0 / self.std[0]
        return out

    def to_json(self) -> dict:
        return {"mean": self.mean.round(5).tolist(), "std": self.std.round(5).tolist()}

    @classmethod
    def from_json(cls, d: dict) -> Normaliser:
        return cls(np.asarray(d["mean"], np.float32), np.asarray(d["std"], np.float32))


def standardise(X) -> np.ndarray:
    """``X`` with zero mean and unit variance per column, measured on ``X`` itself: one row
    per item (further axes are flattened into columns), float64, constant columns 0
    (scikit-learn's ``StandardScaler``). For vectors analysed as a whole (projections,
    clustering, neighbours); a model's input is standardised with training-split statistics
    instead (:class:`Normaliser`).

    Notebook: 08_embedding_clustering.ipynb.
    """
    from sklearn.preprocessing import StandardScaler

    X = np.asarray(X, dtype=np.float64)
    return StandardScaler().fit_transform(X.reshape(len(X), -1))


# -- augmentation -------------------------------------------------------------------------------
AUGMENTATIONS = ("gain", "noise", "mask")


def augment_batch(batch: np.ndarray, kind: str, rng: np.random.Generator,
                  ops=AUGMENTATIONS, p: float = 0.5) -> np.ndarray:
    """Randomly augment a batch of raw chunks (a copy), each op with chance ``p``.

    * ``gain``: louder or softer by up to 6 dB;
    * ``noise``: white noise mixed in at 10-30 dB below the chunk's mean power;
    * ``mask``: SpecAugment-style masks, one band of up to 12 mel bins and one span of up to
      12 frames set to the chunk's minimum (for waveforms: a span of silence).

    The random crop that cuts each chunk from its clip is the time shift.
    """
    out = batch.copy()
    n = len(out)
    if "gain" in ops:
        g = rng.uniform(-6, 6, n) * (rng.random(n) < p)
        if kind == "waveform":
            out *= (10 ** (g / 20))[:, None].astype(out.dtype)
        else:
            out += g[:, None, None].astype(out.dtype)
    if "noise" in ops:
        _add_noise(out, kind, rng, p)
    if "mask" in ops:
        spec_masks(out, kind, rng, p)
    return out


def _add_noise(out: np.ndarray, kind: str, rng: np.random.Generator, p: float) -> None:
    n = len(out)
    hit = rng.random(n) < p
    snr = rng.uniform(10, 30, n)
    for i in np.flatnonzero(hit):
        if kind == "waveform":
            power = float(np.mean(out[i] ** 2)) + 1e-12
            scale = math.sqrt(power / 10 ** (snr[i] / 10))
            out[i] += rng.normal(0, scale, out.shape[1:]).astype(out.dtype)
        else:
            lin = 10 ** (out[i] / 10)
            noise = lin.mean() / 10 ** (snr[i] / 10)
            out[i] = 10 * np.log10(lin + noise * rng.uniform(0.5, 1.5, lin.shape))


def spec_masks(out: np.ndarray, kind: str, rng: np.random.Generator, p: float) -> None:
    """SpecAugment-style masking, in place: each chunk of ``out`` is masked with probability
    ``p``. A log-mel chunk gets one band of 1-12 consecutive mel bins and one span of 1-12
    consecutive frames set to its own minimum (its quietest value, as the chunk is still in
    dB); a waveform chunk gets one span of up to a tenth of its samples set to silence.

    Notebook: 04_cnn.ipynb.
    """
    for i in np.flatnonzero(rng.random(len(out)) < p):
        floor = out[i].min()
        if kind == "waveform":
            w = int(rng.integers(1, max(2, out.shape[-1] // 10)))
            s = int(rng.integers(0, max(1, out.shape[-1] - w)))
            out[i, s:s + w] = 0.0
            continue
        bins, frames = out.shape[1], out.shape[2]
        f = int(rng.integers(1, min(12, bins) + 1))
        f0 = int(rng.integers(0, bins - f + 1))
        out[i, f0:f0 + f, :] = floor
        t = int(rng.integers(1, min(12, frames) + 1))
        t0 = int(rng.integers(0, frames - t + 1))
        out[i, :, t0:t0 + t] = floor


# -- labels -------------------------------------------------------------------------------------
def encode_labels(table, classes, target: str = "genre", *, unknown: int | None = None) -> np.ndarray:
    """Labels aligned with the rows of ``table`` (a dataset table), the package's one label
    encoding: genre indices into ``classes``, int32 ``(n,)``, for ``target="genre"``, or a
    0/1 float32 tag matrix ``(n, len(classes))`` for ``"tags"`` (tags outside ``classes``
    are left out).

    A genre outside ``classes`` raises ``KeyError``, or gets the code ``unknown`` when one is
    given (e.g. ``-1`` for validation or test tracks of a genre the training split lacks).

    Notebook: 09_multilabel_tagging.ipynb, 10_transfer_learning.ipynb, 12_serving.ipynb.
    """
    classes = list(classes)
    index = {c: i for i, c in enumerate(classes)}
    if target == "genre":
        codes = (index[g] if unknown is None else index.get(g, unknown) for g in table["genre"])
        return np.fromiter(codes, dtype=np.int32, count=len(table))
    Y = np.zeros((len(table), len(classes)), np.float32)
    for r, tags in enumerate(table["tags"]):
        for t in tags:
            if t in index:
                Y[r, index[t]] = 1.0
    return Y



# -- tf.data pipelines --------------------------------------------------------------------------
def _signature(spec, X, length, n_classes, multilabel):
    import tensorflow as tf

    bins = X.shape[1] if X.ndim == 3 else None
    x_shape = (None,) + input_shape_for(spec, bins, length)
    y = (tf.TensorSpec((None, n_classes), tf.float32) if multilabel
         else tf.TensorSpec((None,), tf.int32))
    return (tf.TensorSpec(x_shape, tf.float32), y)


def epoch_order(rows, n_chunks: int, seed: int, epoch: int) -> tuple[np.ndarray, np.random.Generator]:
    """The training rows of epoch ``epoch``: ``n_chunks`` picks that cycle through ``rows`` in
    fresh shuffled orders (so every track is picked ``n_chunks // len(rows)`` or one more
    times), and the random generator that cuts and augments that epoch's chunks.

    Both depend only on ``(seed, epoch)``, not on what ran before, so a training resumed at
    epoch ``e`` sees exactly the chunks an uninterrupted one would.
    """
    rows = np.asarray(rows)
    rng = np.random.default_rng([int(seed), int(epoch)])
    passes = -(-int(n_chunks) // len(rows))
    order = np.concatenate([rng.permutation(rows) for _ in range(passes)])[:int(n_chunks)]
    return order, rng


def train_dataset(X, y: np.ndarray, spec, length: int, batch_size: int, steps_per_epoch: int,
                  seed: int, augment=True, kind: str = "logmel", n_classes: int | None = None,
                  rows=None, start_epoch: int = 0):
    """An endless ``tf.data.Dataset`` of (chunks, labels) batches of random crops.

    An epoch is ``steps_per_epoch`` batches of ``batch_size`` chunks, whatever the number of
    tracks: :func:`epoch_order` picks the clips (``X[rows]``, default all; each as evenly as
    the count allows) and a random excerpt of ``length`` frames (or samples) is cut from each;
    ``y`` is aligned with ``X``. Epoch ``e`` depends only on ``(seed, e)``: ``start_epoch``
    resumes the stream where an interrupted training stopped. ``augment`` is True (every op),
    False, or a tuple of op names (see :func:`augment_batch`). Only the batch being built is
    copied out of ``X`` (the cached features), so memory stays flat. The chunks are raw: the
    model standardises them itself.

    Notebook: 04_cnn.ipynb (shown there).
    """
    import tensorflow as tf

    ops = AUGMENTATIONS if augment is True else tuple(augment or ())
    rows = np.arange(len(X)) if rows is None else np.asarray(rows)
    steps_per_epoch = max(1, int(steps_per_epoch))

    def gen():
        epoch = int(start_epoch)
        while True:
            order, rng = epoch_order(rows, steps_per_epoch * batch_size, seed, epoch)
            for b in range(0, len(order), batch_size):
                idx = order[b:b + batch_size]
                offsets = rng.integers(0, max(1, X.shape[-1] - length + 1), len(idx))
                batch = _fill(X, list(zip(idx, offsets)), length)
                if ops:
                    batch = augment_batch(batch, kind, rng, ops)
                yield to_layout(batch, layout_of(spec)), y[idx]
            epoch += 1

    sig = _signature(spec, X, length, n_classes or 0, y.ndim == 2)
    return tf.data.Dataset.from_generator(gen, output_signature=sig).prefetch(2)


def eval_pairs(X, length: int, max_chunks: int | None = None, rows=None) -> list[tuple[int, int]]:
    """``(row, start)`` of every consecutive chunk of each clip ``X[rows]`` (default all)."""
    rows = range(len(X)) if rows is None else rows
    starts = chunk_starts(X.shape[-1], length, max_chunks=max_chunks)
    return [(int(i), int(s)) for i in rows for s in starts]


def eval_dataset(X, y: np.ndarray, spec, length: int, batch_size: int,
                 max_chunks: int | None = None, n_classes: int | None = None, rows=None):
    """A finite ``tf.data.Dataset`` of consecutive chunks of each clip ``X[rows]`` (default
    all; ``y`` aligned with ``X``), for validation."""
    import tensorflow as tf

    pairs = eval_pairs(X, length, max_chunks, rows)

    def gen():
        for b in range(0, len(pairs), batch_size):
            part = pairs[b:b + batch_size]
            yield to_layout(_fill(X, part, length), layout_of(spec)), y[[i for i, _ in part]]

    sig = _signature(spec, X, length, n_classes or 0, y.ndim == 2)
    return tf.data.Dataset.from_generator(gen, output_signature=sig).prefetch(2)


def numpy_chunks(X, spec, length: int, max_chunks: int | None = None,
                 rows=None) -> tuple[np.ndarray, np.ndarray]:
    """All consecutive chunks of every clip ``X[rows]`` (default all) as one array in the
    model's layout, and each chunk's row of ``X`` (used for prediction: raw chunks, which
    the model standardises itself).

    Notebook: 12_serving.ipynb.
    """
    pairs = eval_pairs(X, length, max_chunks, rows)
    if not pairs:
        shape = input_shape_for(spec, X.shape[1] if X.ndim == 3 else None, length)
        return np.zeros((0,) + shape, np.float32), np.zeros(0, int)
    owner = np.array([i for i, _ in pairs])
    return to_layout(_fill(X, pairs, length), layout_of(spec)), owner


__all__ = ["LAYOUTS", "chunk_length", "chunk_seconds", "n_bins", "to_layout", "layout_of",
           "input_shape_for", "PADDING", "chunk_starts", "crop", "cut_chunks", "middle_span",
           "middle_window", "Normaliser", "standardise", "AUGMENTATIONS", "augment_batch",
           "encode_labels", "epoch_order", "train_dataset", "eval_pairs", "eval_dataset", "numpy_chunks"]
