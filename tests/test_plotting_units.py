"""Every figure with a time, frequency or level axis names its unit, and drawing warns nothing."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from genre_lib import plotting

SR, HOP = 22050, 512


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a figure that warns would print to a notebook's stderr
        yield
    plt.close("all")


def _S(n_mels=32, frames=130, seed=0):
    return np.random.default_rng(seed).normal(-40, 10, (n_mels, frames)).astype(np.float32)


def _colorbar_labels(fig):
    return [ax.get_ylabel() for ax in fig.axes if ax.get_label() == "<colorbar>"]


def test_waveform_time_axis_in_seconds():
    ax = plotting.waveform(np.zeros(SR), SR)
    assert ax.get_xlabel() == "time (s)"


@pytest.mark.parametrize("y_axis, ylabel", [("mel", "frequency (Hz, mel scale)"),
                                            ("linear", "frequency (Hz)"), (None, "")])
def test_spectrogram_axes_and_colour_bar_carry_units(y_axis, ylabel):
    ax = plotting.spectrogram(_S(), SR, HOP, y_axis=y_axis)
    assert ax.get_xlabel() == "time (s)"
    assert ax.get_ylabel() == ylabel
    assert _colorbar_labels(ax.figure) == ["level (dB)"]


def test_spectrogram_time_axis_stays_in_seconds_past_a_minute():
    ax = plotting.spectrogram(_S(frames=3000), SR, HOP, colorbar=False)
    ax.figure.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ticks and not any(":" in t for t in ticks)  # 60, not 1:00
    assert ax.get_xlabel() == "time (s)"


def test_spectrogram_grid_has_units_and_one_shared_colour_bar():
    fig = plotting.spectrogram_grid([(f"g{i}", _S(seed=i)) for i in range(4)], SR, HOP, ncols=2)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert {ax.get_xlabel() for ax in panels if ax.get_xlabel()} == {"time (s)"}
    assert {ax.get_ylabel() for ax in panels if ax.get_ylabel()} == {"frequency (Hz, mel scale)"}
    assert _colorbar_labels(fig) == ["level (dB)"]


def test_chunk_predictions_time_axis():
    proba = np.array([[0.7, 0.3], [0.2, 0.8]])
    ax = plotting.chunk_predictions(_S(frames=260), 128, proba, ["a", "b"], truth="a", sr=SR,
                                    hop_length=HOP)
    assert ax.get_xlabel() == "time (s)"
    assert "frequency (Hz" in ax.get_ylabel()


def test_input_images_and_attributions_label_time_and_frequency():
    images = np.stack([_S(seed=i) for i in range(2)])
    fig = plotting.input_images(images, ["a", "b"], sr=SR, hop_length=HOP, ncols=2)
    assert "time (s)" in {ax.get_xlabel() for ax in fig.axes}
    assert "frequency (Hz, mel scale)" in {ax.get_ylabel() for ax in fig.axes}
    fig = plotting.input_images(images, ["a", "b"], sr=SR, hop_length=HOP, crop=(8, 20))
    assert any(ax.get_xlabel().startswith("frame (23.2 ms") for ax in fig.axes)

    maps = np.clip(images / images.max(), 0, 1)
    fig = plotting.attributions(images, maps, maps, ["a", "b"], sr=SR, hop_length=HOP)
    assert "time (s)" in {ax.get_xlabel() for ax in fig.axes}
    assert "frequency (Hz, mel scale)" in {ax.get_ylabel() for ax in fig.axes}


def test_frequency_axes_and_colour_bars_elsewhere():
    import librosa

    basis = librosa.filters.mel(sr=SR, n_fft=2048, n_mels=32)
    assert plotting.mel_filterbank(basis, SR).get_xlabel() == "frequency (Hz)"
    S = np.stack([_S(seed=i) for i in range(4)])
    ax = plotting.mean_spectrum_by_label(S, ["a", "a", "b", "b"], SR)
    assert "(Hz)" in ax.get_xlabel() and "(dB)" in ax.get_ylabel()
    ax = plotting.confusion_matrix(["a", "b", "b"], ["a", "b", "a"])
    assert _colorbar_labels(ax.figure) == ["share of the true class"]
    frame = pd.DataFrame({"system": ["x", "y"], "accuracy": [0.5, 0.7], "f1_macro": [0.4, 0.6]})
    assert plotting.model_comparison(frame, chance=0.1).get_xlabel()
