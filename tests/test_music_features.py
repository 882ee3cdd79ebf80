"""Music's own representations as feature kinds of the store: constant-Q, chroma and the
tempogram. Each is checked on signals whose answer is known: a pitch shift of k semitones moves
a CQT peak by k bins at any pitch, a C major triad lights C, E and G in chroma, and a click
every half second makes the tempogram peak at the lag of 120 BPM."""
from __future__ import annotations

import numpy as np
import pytest

from genre_lib import features, models, pipeline, training

SR = 22050


def tone(freqs, seconds=3.0):
    t = np.arange(int(seconds * SR)) / SR
    return (0.2 * sum(np.sin(2 * np.pi * f * t) for f in np.atleast_1d(freqs))).astype(np.float32)


@pytest.mark.parametrize("kind", ["cqt", "chroma", "tempogram"])
def test_each_kind_has_the_shape_the_store_expects(kind, ci_settings):
    y = tone(440.0)
    out = features.compute(y, kind, settings=ci_settings)
    params = features.resolve_params(kind, settings=ci_settings)
    assert out.dtype == np.float32 and np.isfinite(out).all()
    assert out.shape == features.row_shape(kind, params, len(y) / SR)
    assert out.shape[0] == pipeline.n_bins(kind, params)


@pytest.mark.parametrize("base", [110.0, 440.0, 1760.0])
def test_a_pitch_shift_moves_the_cqt_peak_by_as_many_bins_at_any_pitch(base, ci_settings):
    def peak(f):
        return int(np.argmax(features.compute(tone(f), "cqt", settings=ci_settings).mean(axis=1)))

    for k in (1, 3, 7):
        assert peak(base * 2 ** (k / 12)) - peak(base) == k


def test_a_c_major_triad_lights_c_e_and_g_in_chroma(ci_settings):
    C = features.compute(tone([261.63, 329.63, 392.0]), "chroma", settings=ci_settings).mean(axis=1)
    assert set(np.argsort(C)[-3:]) == {0, 4, 7}  # C, E, G


def test_a_click_every_half_second_peaks_at_the_lag_of_120_bpm(ci_settings):
    y = np.zeros(8 * SR, np.float32)
    for start in range(0, len(y), SR // 2):
        y[start:start + 200] = np.hanning(200)
    T = features.compute(y, "tempogram", settings=ci_settings).mean(axis=1)
    hop = features.resolve_params("tempogram", settings=ci_settings)["hop_length"]
    lag = 10 + int(np.argmax(T[10:40]))  # beyond the trivial peak at lag 0
    assert abs(60 * SR / (hop * lag) - 120) < 6


def test_the_store_holds_them_and_a_2d_model_trains_on_cqt(ci_settings, ci_table):
    fs = features.extract(ci_table, "chroma", settings=ci_settings)
    assert fs.X.shape[:2] == (len(ci_table), 12) and not fs.skipped
    spec = models.register_model(models.ModelSpec("cnn2d_cqt", models.spec("cnn2d").builder, "mel2d",
                                                  "2D CNN on CQT", feature_kind="cqt"))
    try:
        t = training.load_or_train("cnn2d_cqt", steps=2, epochs=1, settings=ci_settings)
        assert t.meta["feature_kind"] == "cqt" and t.model.input_shape[1] == 84
        assert 0.0 <= t.meta["metrics"]["valid"]["accuracy"] <= 1.0
    finally:
        models.unregister_model(spec.name)
