"""The two mel scales side by side: HTK's formula and the Slaney scale that librosa (and this
project, see :func:`genre_lib.features.mel_basis`) uses by default.

* :func:`mel_scale_curves`: Hz to mel for both scales, each drawn as a share of its own range
  (0 at 0 Hz, 1 at the top frequency), so their shapes compare on one axis;
* :func:`mel_filters`: the raw weights of every ``every``-th triangle of one filterbank (not
  rescaled, so Slaney's area normalisation shows as peaks that fall as the triangles widen);
* :func:`mel_scales_compared`: the three panels in one figure.

Notebook: 01_eda.ipynb.
"""
from __future__ import annotations

import numpy as np

from .basics import get_ax

__all__ = ["mel_scale_curves", "mel_filters", "mel_scales_compared"]

BREAK_HZ = 1000.0  # where the Slaney scale turns from linear to logarithmic


def mel_scale_curves(sr: int = 22050, ax=None, fmax: float | None = None, show_hz: float = 4000.0):
    """Hz to mel for the HTK and the Slaney scale, each divided by its value at ``fmax``
    (default ``sr / 2``), drawn up to ``show_hz``. A dotted line extends the Slaney scale's
    linear part, so the 1 kHz break where it turns logarithmic stands out.

    Notebook: none directly; used by :func:`mel_scales_compared`.
    """
    import librosa

    fmax = float(fmax or sr / 2)
    top = min(float(show_hz or fmax), fmax)
    f = np.linspace(0.0, top, 1000)
    ax = get_ax(ax, figsize=(5, 3.5))
    scale = {htk: float(librosa.hz_to_mel(fmax, htk=htk)) for htk in (True, False)}
    ax.plot(f, librosa.hz_to_mel(f, htk=True) / scale[True], "--", lw=1.6, color="C0",
            label="HTK: 2595 log10(1 + f/700)")
    ax.plot(f, librosa.hz_to_mel(f, htk=False) / scale[False], lw=1.6, color="C1",
            label="Slaney (librosa's default, used here)")
    ax.plot(f, (f / (200.0 / 3.0)) / scale[False], ":", lw=1.2, color="C1",
            label="Slaney's linear part, extended")
    ax.axvline(BREAK_HZ, color="0.5", lw=0.8, ls=":")
    ax.annotate("1 kHz: Slaney turns\nfrom linear to log", (BREAK_HZ, 0.04), xytext=(6, 0),
                textcoords="offset points", fontsize=8, color="0.35")
    ax.set_xlim(0, top)
    ax.set_ylim(0, None)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel(f"mel / mel at {fmax:,.0f} Hz")
    ax.set_title(f"Hz to mel, two scales (0 to {top:,.0f} Hz)")
    ax.legend(fontsize=8, loc="upper left")
    return ax


def mel_filters(sr: int = 22050, n_fft: int = 2048, n_mels: int = 128, htk: bool = False,
                norm: str | None = "slaney", every: int = 8, ax=None, title: str | None = None):
    """Every ``every``-th triangle of ``librosa.filters.mel(htk=htk, norm=norm)``, drawn with
    its raw weights against frequency in Hz.

    Notebook: none directly; used by :func:`mel_scales_compared`.
    """
    import librosa

    basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, htk=htk, norm=norm)
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    ax = get_ax(ax, figsize=(5, 3.5))
    for i, row in enumerate(basis[::every]):
        ax.plot(freqs, row, lw=1, color=f"C{i % 10}")
    ax.set_xlim(0, sr / 2)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("filter weight" if norm is None else f"filter weight (norm={norm!r})")
    scale = "HTK" if htk else "Slaney"
    ax.set_title(title or f"{scale} mel, norm={norm!r}: every {every}th of {n_mels} filters")
    return ax


def mel_scales_compared(sr: int = 22050, n_fft: int = 2048, n_mels: int = 128, every: int = 8,
                        axes=None):
    """One figure, three panels: the two Hz-to-mel curves, the HTK filterbank without
    normalisation (every triangle peaks at 1) and librosa's default Slaney filterbank (every
    triangle has the same area, so wide ones are low). Returns the three Axes.

    Notebook: 01_eda.ipynb.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(15, 3.8), gridspec_kw={"width_ratios": [1, 1.2, 1.2]})
    axes = np.asarray(axes).ravel()
    mel_scale_curves(sr, ax=axes[0])
    mel_filters(sr, n_fft, n_mels, htk=True, norm=None, every=every, ax=axes[1],
                title="HTK mel, norm=None: triangles of height 1")
    mel_filters(sr, n_fft, n_mels, htk=False, norm="slaney", every=every, ax=axes[2],
                title="Slaney mel, norm='slaney' (used here): equal areas")
    axes[0].figure.tight_layout()
    return axes
