"""The mel-scale comparison of notebook 01 (genre_lib.plotting.mel): what it draws is what
librosa computes, its axes carry units, and drawing warns nothing."""
from __future__ import annotations

import warnings

import librosa
import numpy as np
import pytest

from genre_lib import features, plotting

SR, N_FFT, N_MELS = 22050, 2048, 128


@pytest.fixture(autouse=True)
def _agg_and_no_warnings():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
    plt.close("all")


def test_project_filterbank_is_librosas_slaney_default():
    ours = features.mel_basis(SR, N_FFT, N_MELS)
    slaney = librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=N_MELS, htk=False, norm="slaney")
    assert np.allclose(ours, slaney, atol=1e-7)


def test_slaney_formula_as_the_notebook_states_it():
    f = np.array([0.0, 500.0, 1000.0, 2000.0, 6400.0])
    expected = np.where(f < 1000, f / (200 / 3), 15 + np.log(f / 1000 + 1e-12) / (np.log(6.4) / 27))
    assert np.allclose(librosa.hz_to_mel(f, htk=False), expected, atol=1e-6)
    assert np.allclose(librosa.hz_to_mel(f, htk=True), 2595 * np.log10(1 + f / 700))


def test_comparison_figure_draws_both_scales_and_both_filterbanks():
    axes = plotting.mel_scales_compared(SR, N_FFT, N_MELS, every=8)
    assert len(axes) == 3
    assert all(ax.get_xlabel() == "frequency (Hz)" for ax in axes)
    assert len(axes[0].get_lines()) >= 3                       # HTK, Slaney, Slaney's linear part
    n_drawn = len(range(0, N_MELS, 8))
    htk_peaks = [line.get_ydata().max() for line in axes[1].get_lines()[:n_drawn]]
    slaney_peaks = [line.get_ydata().max() for line in axes[2].get_lines()[:n_drawn]]
    assert max(htk_peaks) <= 1.0 + 1e-6 and min(htk_peaks) > 0.6   # height 1, sampled at FFT bins
    assert slaney_peaks[-1] < 0.5 * max(slaney_peaks)              # area-normalised: wide is low


def test_helpers_draw_into_a_given_axes_and_return_it():
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    assert plotting.mel_scale_curves(SR, ax=ax) is ax
    _, ax = plt.subplots()
    assert plotting.mel_filters(SR, N_FFT, N_MELS, htk=True, norm=None, ax=ax) is ax
