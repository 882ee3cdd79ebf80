"""Figures for looking inside models: optimised inputs, feature maps, saliency and Grad-CAM
overlays, and the embedding-space figures (k sweep, cluster-vs-genre matrix, t-SNE pairs).

Notebook: 07_filter_visualisation.ipynb, 08_embedding_clustering.ipynb.
"""
from __future__ import annotations

import numpy as np

from .basics import get_ax, specshow

__all__ = ["input_images", "feature_maps", "attributions", "k_sweep", "cluster_matrix",
           "projections"]


def _mel_image(ax, img, sr, hop_length, fmax=None, cmap="magma", vmin=None, vmax=None,
               x_axis="time", y_axis="mel"):
    """A mel-shaped image with "time (s)" and "frequency (Hz, mel scale)" axes."""
    return specshow(ax, img, sr, hop_length, x_axis=x_axis, y_axis=y_axis, fmax=fmax, cmap=cmap,
                    vmin=vmin, vmax=vmax)


def input_images(images, titles=None, sr: int = 22050, hop_length: int = 512, ncols: int = 4,
                 title: str | None = None, fmax: float | None = None, cmap: str = "magma",
                 size=(3.3, 2.6), value_range=None, crop=None):
    """A grid of spectrogram-shaped model inputs (e.g. activation-maximisation results).

    ``images`` is an array (n, n_mels, n_frames[, 1]) in the model's input units. Each is
    drawn with a mel-frequency axis and a time axis; with ``value_range`` = (low, high) all
    share that colour scale (so a flat image shows as loud or quiet, not as nothing), else
    each gets its own. ``crop`` = (bins, frames) zooms on the lowest bins and first frames,
    with the axes in bins and frames, to make small repeating patterns visible.

    Notebook: 07_filter_visualisation.ipynb.
    """
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if images.ndim == 4:
        images = images[..., 0]
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows),
                             squeeze=False, sharex=True, sharey=True)
    titles = list(titles) if titles is not None else [str(i) for i in range(n)]
    for ax, img, t in zip(axes.flat, images, titles):
        lo, hi = value_range if value_range is not None else np.percentile(img, [1, 99])
        if crop is not None:
            ax.imshow(img[:crop[0], :crop[1]], origin="lower", aspect="auto", cmap=cmap,
                      vmin=lo, vmax=hi, interpolation="nearest")
            ax.set_xlabel(f"frame ({1000 * hop_length / sr:.1f} ms each)")
            ax.set_ylabel("mel band (lowest first)")
        else:
            _mel_image(ax, img, sr, hop_length, fmax=fmax, cmap=cmap, vmin=lo, vmax=hi)
        ax.set_title(t, fontsize=9)
        ax.label_outer()
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def feature_maps(maps: dict, n_channels: int = 6, title: str | None = None, cmap="viridis"):
    """One row per layer: the ``n_channels`` most active feature maps of one clip.

    ``maps`` is ``{layer: (freq, time, channels)}`` (from ``interpret.activation_maps``).
    Deeper layers are coarser (pooling halves both axes per block), so the axes are in
    feature-map bins, low frequencies at the bottom.

    Notebook: 07_filter_visualisation.ipynb.
    """
    import matplotlib.pyplot as plt

    layers = [k for k, v in maps.items() if np.ndim(v) == 3]
    if not layers:
        raise ValueError("no (freq, time, channels) feature maps to draw")
    fig, axes = plt.subplots(len(layers), n_channels, figsize=(2.1 * n_channels, 1.8 * len(layers)),
                             squeeze=False)
    for r, name in enumerate(layers):
        fmap = np.asarray(maps[name])
        top = np.argsort(-fmap.mean(axis=(0, 1)))[:n_channels]
        for c in range(n_channels):
            ax = axes[r, c]
            if c < len(top):
                ax.imshow(fmap[..., top[c]], origin="lower", aspect="auto", cmap=cmap)
                ax.set_title(f"{name} #{top[c]}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(f"freq bins\n({fmap.shape[0]}x{fmap.shape[1]})", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("time bins", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def attributions(spectrograms, saliency_maps, cam_maps, titles=None, sr: int = 22050,
                 hop_length: int = 512, alpha: float = 0.55, fmax: float | None = None):
    """For each clip: its log-mel input, the saliency map over it, and the Grad-CAM map over it.

    ``spectrograms`` (n, n_mels, n_frames) are drawn in grey; the maps (n, n_mels, n_frames)
    in [0, 1] are laid over them in colour, so bright regions are the time-frequency bins
    that drive the class score.

    Notebook: 07_filter_visualisation.ipynb.
    """
    import matplotlib.pyplot as plt

    S = np.asarray(spectrograms)
    S = S[..., 0] if S.ndim == 4 else S
    n = len(S)
    titles = list(titles) if titles is not None else [""] * n
    fig, axes = plt.subplots(n, 3, figsize=(11, 2.4 * n), squeeze=False, sharex=True, sharey=True)
    for i in range(n):
        _mel_image(axes[i, 0], S[i], sr, hop_length, fmax=fmax, cmap="magma")
        axes[i, 0].set_title(f"{titles[i]}: log-mel input", fontsize=9)
        for j, (maps, name, cmap) in enumerate(((saliency_maps, "saliency", "hot"),
                                                 (cam_maps, "Grad-CAM", "jet")), start=1):
            ax = axes[i, j]
            _mel_image(ax, S[i], sr, hop_length, fmax=fmax, cmap="gray")
            mesh = _mel_image(ax, maps[i], sr, hop_length, fmax=fmax, cmap=cmap, vmin=0, vmax=1)
            mesh.set_alpha(alpha)
            ax.set_title(f"{titles[i]}: {name}", fontsize=9)
        for ax in axes[i]:
            ax.label_outer()
    fig.tight_layout()
    return fig


def k_sweep(frame, ax=None, title: str | None = None):
    """Inertia (left axis) and silhouette (right axis) of k-means against k.

    Notebook: 08_embedding_clustering.ipynb.
    """
    ax = get_ax(ax, figsize=(6, 3.2))
    ax.plot(frame.index, frame["inertia"], "o-", color="C0", label="inertia")
    ax.set_xlabel("k (clusters)")
    ax.set_ylabel("inertia", color="C0")
    right = ax.twinx()
    right.plot(frame.index, frame["silhouette"], "s-", color="C1", label="silhouette")
    right.set_ylabel("silhouette", color="C1")
    ax.set_xticks(list(frame.index))
    ax.set_title(title or "k-means: inertia and silhouette across k")
    return ax


def cluster_matrix(table, ax=None, title: str | None = None, cmap="Greens"):
    """The cluster-vs-genre table (tracks per genre and cluster) as an annotated heatmap.

    Notebook: 08_embedding_clustering.ipynb.
    """
    M = np.asarray(table, dtype=float)
    size = max(4, 0.5 * max(M.shape) + 1.5)
    ax = get_ax(ax, figsize=(size, size * 0.8))
    im = ax.imshow(M, cmap=cmap, aspect="auto")
    ax.set_xticks(range(M.shape[1]), [str(c) for c in table.columns])
    ax.set_yticks(range(M.shape[0]), [str(r) for r in table.index])
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            if M[i, j]:
                ax.text(j, i, int(M[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if M[i, j] > 0.6 * M.max() else "black")
    ax.set_xlabel("k-means cluster")
    ax.set_ylabel(table.index.name or "genre")
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.02, label="tracks")
    ax.set_title(title or "which genres fall into which cluster")
    return ax


def projections(points: dict, labels=None, title: str | None = None, size: float = 4.6):
    """Side-by-side 2D projections (e.g. t-SNE of MFCC statistics and of an embedding),
    coloured by ``labels`` (genres), with one shared legend.

    Notebook: 08_embedding_clustering.ipynb.
    """
    import matplotlib.pyplot as plt

    names = list(points)
    fig, axes = plt.subplots(1, len(names), figsize=(size * len(names) + 1.6, size), squeeze=False)
    labels = None if labels is None else np.asarray(labels, dtype=object)
    classes = sorted(set(labels), key=str) if labels is not None else [None]
    cmap = plt.get_cmap("tab20" if len(classes) > 10 else "tab10")
    for ax, name in zip(axes.flat, names):
        P = np.asarray(points[name])
        for c_i, cls in enumerate(classes):
            mask = np.ones(len(P), bool) if cls is None else labels == cls
            ax.scatter(P[mask, 0], P[mask, 1], s=16, color=cmap(c_i % cmap.N),
                       label=None if cls is None else str(cls), alpha=0.85, edgecolors="none")
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    if labels is not None:
        handles, texts = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, texts, loc="center right", fontsize=8, frameon=False)
        fig.tight_layout(rect=(0, 0, 1 - 1.4 / fig.get_figwidth(), 1))
    else:
        fig.tight_layout()
    if title:
        fig.suptitle(title, y=1.02)
    return fig
