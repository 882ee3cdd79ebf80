"""The chunk pipeline: chunking, layouts, normalisation statistics, augmentation, labels and
the tf.data pipelines, which read the feature array one row at a time."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from genre_lib import pipeline


class RowsOnly:
    """An array-like that allows only what a memory-mapped feature store allows: ``len``,
    ``shape``, ``ndim``, ``dtype``, and an integer row (optionally with a slice of the last
    axis). Fancy or boolean row indices and converting the whole array are errors."""

    def __init__(self, X):
        self._X = X
        self.shape, self.ndim, self.dtype = X.shape, X.ndim, X.dtype
        self.rows_read = 0

    def __len__(self):
        return len(self._X)

    def __getitem__(self, key):
        row = key[0] if isinstance(key, tuple) else key
        if not isinstance(row, (int, np.integer)) or isinstance(row, bool):
            raise TypeError(f"rows must be read one at a time with an integer, got {type(row).__name__}")
        self.rows_read += 1
        return self._X[key]

    def __array__(self, *args, **kwargs):
        raise TypeError("the whole feature array must never be converted")


def test_chunk_starts_cover_the_clip_without_overlap():
    np.testing.assert_array_equal(pipeline.chunk_starts(1292, 128), np.arange(10) * 128)
    np.testing.assert_array_equal(pipeline.chunk_starts(100, 128), [0])  # short clip: one, padded
    picked = pipeline.chunk_starts(1292, 128, max_chunks=4)
    assert len(picked) == 4 and picked[0] == 0 and picked[-1] == 9 * 128


def test_crop_pads_short_clips_with_zeros():
    clip = np.ones((3, 5), np.float32)
    out = pipeline.crop(clip, 2, 6)
    assert out.shape == (3, 6)
    np.testing.assert_array_equal(out[:, :3], 1)
    np.testing.assert_array_equal(out[:, 3:], 0)


# -- the one cutter ---------------------------------------------------------------------------
def test_chunk_starts_with_a_hop_drop_the_trailing_part():
    np.testing.assert_array_equal(pipeline.chunk_starts(10, 4, hop=2), [0, 2, 4, 6])
    np.testing.assert_array_equal(pipeline.chunk_starts(4, 4, hop=3), [0])   # exactly one chunk
    np.testing.assert_array_equal(pipeline.chunk_starts(0, 4), [0])          # empty: one, padded
    with pytest.raises(ValueError, match="positive"):
        pipeline.chunk_starts(10, 0)
    with pytest.raises(ValueError, match="positive"):
        pipeline.chunk_starts(10, 4, hop=0)


def test_cut_chunks_zero_padding_on_the_last_axis():
    y = np.arange(10, dtype=np.float32)
    chunks = pipeline.cut_chunks(y, 4)
    assert chunks.shape == (2, 4) and chunks.dtype == np.float32
    np.testing.assert_array_equal(chunks[1], [4, 5, 6, 7])                  # the rest is dropped
    assert pipeline.cut_chunks(y, 4, hop=2).shape == (4, 4)
    np.testing.assert_array_equal(pipeline.cut_chunks(y[:3], 4), [[0, 1, 2, 0]])
    clip = np.arange(2 * 7).reshape(2, 7)                                  # (bands, frames)
    out = pipeline.cut_chunks(clip, 3)
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out[1], clip[:, 3:6])
    same = [pipeline.crop(clip, int(s), 3) for s in pipeline.chunk_starts(7, 3)]
    np.testing.assert_array_equal(out, np.stack(same))


def test_cut_chunks_repeat_padding_along_the_first_axis():
    spec = np.arange(5 * 2, dtype=np.float32).reshape(5, 2)                # (frames, bands)
    out = pipeline.cut_chunks(spec, 12, pad="repeat", axis=0)
    assert out.shape == (1, 12, 2)
    np.testing.assert_array_equal(out[0], np.concatenate([spec, spec, spec])[:12])
    long = pipeline.cut_chunks(np.tile(spec, (4, 1)), 6, hop=4, pad="repeat", axis=0)
    assert long.shape == (4, 6, 2)                                         # starts 0, 4, 8, 12
    with pytest.raises(ValueError, match="empty"):
        pipeline.cut_chunks(np.zeros((0, 2)), 3, pad="repeat", axis=0)


def test_cut_chunks_without_padding_gives_no_chunk_for_a_short_clip():
    out = pipeline.cut_chunks(np.ones((2, 3)), 5, pad=None)
    assert out.shape == (0, 2, 5)
    assert pipeline.crop(np.ones(3), 1, 5, pad=None).shape == (2,)
    with pytest.raises(ValueError, match="pad"):
        pipeline.crop(np.ones(3), 0, 5, pad="reflect")


def test_max_chunks_keeps_evenly_spaced_chunks():
    out = pipeline.cut_chunks(np.arange(100), 10, max_chunks=3)
    np.testing.assert_array_equal(out[:, 0], [0, 40, 90])


def test_middle_window_and_span():
    y = np.arange(100)
    np.testing.assert_array_equal(pipeline.middle_window(y, 20), y[40:60])
    np.testing.assert_array_equal(pipeline.middle_window(np.arange(11), 4), [3, 4, 5, 6])  # floor
    assert pipeline.middle_window(y, 100) is y and pipeline.middle_window(y, 500) is y
    spec = np.arange(30).reshape(10, 3)
    np.testing.assert_array_equal(pipeline.middle_window(spec, 4, axis=0), spec[3:7])
    assert pipeline.middle_span(30.0, 7.0) == (11.5, 7.0)                  # seconds stay floats
    assert pipeline.middle_span(11, 4) == (3, 4) and pipeline.middle_span(5.0, 7.0) == (0, 5.0)
    with pytest.raises(ValueError, match="longer than zero"):
        pipeline.middle_window(y, 0)


def test_standardise_measures_on_the_data_itself():
    E = np.c_[np.arange(5.0), np.zeros(5), [2.0, 2.0, 2.0, 2.0, 6.0]]
    Z = pipeline.standardise(E)
    assert Z.dtype == np.float64 and np.allclose(Z[:, 1], 0)
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(Z[:, [0, 2]].std(0), 1)
    assert pipeline.standardise(np.ones((4, 2, 3))).shape == (4, 6)       # further axes flattened


def test_layouts_match_the_builders():
    from genre_lib import models

    batch = np.arange(2 * 4 * 6, dtype=np.float32).reshape(2, 4, 6)  # (n, mels, frames)
    assert pipeline.to_layout(batch, "mel2d").shape == (2, 4, 6, 1)
    mel1d = pipeline.to_layout(batch, "mel1d")
    assert mel1d.shape == (2, 6, 4) and mel1d[0, 5, 3] == batch[0, 3, 5]
    assert pipeline.to_layout(np.zeros((2, 100)), "wave").shape == (2, 100, 1)
    spec = models.spec("cnn2d")
    params = {"sr": 22050, "hop_length": 512}
    assert pipeline.chunk_length(spec, params) == 128  # 3 s of frames, a multiple of 16
    assert pipeline.chunk_length(models.spec("cnn1d_waveform"), {"sr": 11025}) == 33075
    assert pipeline.input_shape_for(spec, 96, 128) == pipeline.input_shape_for("mel2d", 96, 128)
    assert pipeline.chunk_seconds("logmel", params, 128) == pytest.approx(128 * 512 / 22050)
    with pytest.raises(ValueError, match="layout"):
        pipeline.to_layout(batch, "image")


def test_normaliser_uses_train_statistics_per_band():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=np.arange(8)[None, :, None] * 10, scale=3, size=(20, 8, 50)).astype(np.float32)
    norm = pipeline.Normaliser.fit(X, "logmel")
    Z = norm(X)
    np.testing.assert_allclose(Z.mean(axis=(0, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(Z.std(axis=(0, 2)), 1, atol=1e-3)
    np.testing.assert_allclose(norm.variance, norm.std ** 2, rtol=1e-6)
    again = pipeline.Normaliser.from_json(json.loads(json.dumps(norm.to_json())))
    np.testing.assert_allclose(again(X), Z, atol=1e-3)
    wave = pipeline.Normaliser.fit(rng.normal(scale=0.1, size=(4, 1000)), "waveform")
    assert abs(float(wave(rng.normal(scale=0.1, size=(4, 1000))).std()) - 1) < 0.05
    np.testing.assert_array_equal(pipeline.Normaliser.identity(3)(X[:, :3]), X[:, :3])


def test_normaliser_reads_rows_in_place():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(10, 4, 40)).astype(np.float32)
    rows = np.array([1, 4, 7])
    a = pipeline.Normaliser.fit(RowsOnly(X), "logmel", rows=rows)
    b = pipeline.Normaliser.fit(X[rows], "logmel")
    np.testing.assert_allclose(a.mean, X[rows].mean(axis=(0, 2)), atol=1e-5)
    np.testing.assert_allclose(a.std, b.std, atol=1e-5)


def test_augmentation_changes_a_copy_and_keeps_shapes():
    rng = np.random.default_rng(1)
    batch = rng.uniform(-60, 0, size=(6, 32, 40)).astype(np.float32)
    keep = batch.copy()
    for ops in (("gain",), ("noise",), ("mask",)):
        out = pipeline.augment_batch(batch, "logmel", np.random.default_rng(2), ops, p=1.0)
        assert out.shape == batch.shape and np.isfinite(out).all()
        assert not np.allclose(out, batch), ops
    np.testing.assert_array_equal(batch, keep)  # the input is never modified
    masked = pipeline.augment_batch(batch, "logmel", np.random.default_rng(3), ("mask",), p=1.0)
    assert ((masked == batch.min(axis=(1, 2), keepdims=True)).sum(axis=(1, 2)) >= 32).all()
    gained = pipeline.augment_batch(batch, "logmel", np.random.default_rng(4), ("gain",), p=1.0)
    shift = (gained - batch).reshape(6, -1)
    assert np.allclose(shift, shift[:, :1], atol=1e-4) and (np.abs(shift[:, 0]) <= 6).all()
    wave = rng.normal(size=(3, 500)).astype(np.float32)
    assert pipeline.augment_batch(wave, "waveform", rng, p=1.0).shape == wave.shape


def test_encode_labels():
    table = pd.DataFrame({"genre": ["b", "a", "b"], "tags": [["x"], ["y", "z"], []]})
    np.testing.assert_array_equal(pipeline.encode_labels(table, ["a", "b"], "genre"), [1, 0, 1])
    Y = pipeline.encode_labels(table, ["x", "z"], "tags")
    np.testing.assert_array_equal(Y, [[1, 0], [0, 1], [0, 0]])
    assert pipeline.encode_labels(table, ["a", "b"]).dtype == np.int32   # genre by default
    with pytest.raises(KeyError):
        pipeline.encode_labels(table, ["a"], "genre")
    np.testing.assert_array_equal(pipeline.encode_labels(table, ["a"], "genre", unknown=-1), [-1, 0, -1])


# -- tf.data ------------------------------------------------------------------------------------
def test_train_pipeline_crops_and_labels_stay_aligned():
    pytest.importorskip("tensorflow")
    from genre_lib import models

    # every clip is filled with its own index, so each crop says which clip it came from
    n, bins, frames, length = 12, 8, 100, 32
    X = np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None], (n, bins, frames)).copy()
    y = (np.arange(n) % 3).astype(np.int32)
    rows_only = RowsOnly(X)
    ds = pipeline.train_dataset(rows_only, y, models.spec("cnn2d"), length, batch_size=4,
                                steps_per_epoch=6, seed=0, augment=False)
    seen = []
    for xb, yb in ds.take(6):  # one epoch of 24 chunks: each of the 12 clips twice
        xb, yb = xb.numpy(), yb.numpy()
        assert xb.shape == (4, bins, length, 1)
        owner = xb[:, 0, 0, 0].astype(int)
        assert (xb == owner[:, None, None, None]).all()  # raw values: nothing standardised
        np.testing.assert_array_equal(yb, y[owner])
        seen.extend(owner)
    assert sorted(seen) == sorted(list(range(n)) * 2)  # each clip twice per epoch
    assert rows_only.rows_read >= 24


def test_train_pipeline_visits_only_the_given_rows():
    pytest.importorskip("tensorflow")
    X = np.random.default_rng(5).normal(size=(10, 4, 40)).astype(np.float32)
    rows = np.array([1, 4, 7])
    y = np.arange(10, dtype=np.int32)
    ds = pipeline.train_dataset(RowsOnly(X), y, "mel1d", 16, batch_size=3, steps_per_epoch=1,
                                seed=0, augment=False, rows=rows)
    _, yb = next(iter(ds))
    assert sorted(yb.numpy().tolist()) == rows.tolist()


def test_an_epoch_is_a_number_of_chunks_and_depends_only_on_seed_and_epoch():
    rows = np.arange(5)
    order, _ = pipeline.epoch_order(rows, 12, seed=3, epoch=4)
    counts = np.bincount(order, minlength=5)
    assert len(order) == 12 and counts.min() >= 2 and counts.max() <= 3  # as even as 12/5 allows
    again, _ = pipeline.epoch_order(rows, 12, seed=3, epoch=4)
    np.testing.assert_array_equal(order, again)
    assert not np.array_equal(order, pipeline.epoch_order(rows, 12, seed=3, epoch=5)[0])


def test_train_stream_resumed_at_an_epoch_matches_the_uninterrupted_stream():
    pytest.importorskip("tensorflow")
    X = np.random.default_rng(1).normal(size=(7, 4, 50)).astype(np.float32)
    y = np.arange(7, dtype=np.int32)
    kw = dict(batch_size=4, steps_per_epoch=3, seed=9, augment=True, kind="logmel")
    full = [(a.numpy(), b.numpy()) for a, b in pipeline.train_dataset(X, y, "mel1d", 16, **kw).take(9)]
    resumed = [(a.numpy(), b.numpy())
               for a, b in pipeline.train_dataset(X, y, "mel1d", 16, start_epoch=2, **kw).take(3)]
    for (xa, ya), (xb, yb) in zip(full[6:], resumed):  # epoch 2 = batches 6-8
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_eval_pipeline_visits_consecutive_chunks_in_order():
    pytest.importorskip("tensorflow")
    X = np.arange(2 * 3 * 64, dtype=np.float32).reshape(2, 3, 64)
    y = np.array([0, 1], np.int32)
    ds = pipeline.eval_dataset(RowsOnly(X), y, "mel1d", 16, batch_size=3)
    xs, ys = zip(*[(a.numpy(), b.numpy()) for a, b in ds])
    xs, ys = np.concatenate(xs), np.concatenate(ys)
    assert xs.shape == (8, 16, 3)  # 2 clips x 4 chunks, layout (frames, mels)
    np.testing.assert_array_equal(ys, [0] * 4 + [1] * 4)
    np.testing.assert_array_equal(xs[5], X[1, :, 16:32].T)


def test_numpy_chunks_are_raw_and_owned():
    X = np.arange(3 * 2 * 50, dtype=np.float32).reshape(3, 2, 50)
    chunks, owner = pipeline.numpy_chunks(RowsOnly(X), "mel2d", 20, rows=[2, 0])
    assert chunks.shape == (4, 2, 20, 1)  # 2 chunks of each clip; the last 10 frames dropped
    np.testing.assert_array_equal(owner, [2, 2, 0, 0])
    np.testing.assert_array_equal(chunks[1, ..., 0], X[2, :, 20:40])
    empty, none = pipeline.numpy_chunks(X[:0], "mel2d", 20)
    assert empty.shape == (0, 2, 20, 1) and len(none) == 0
