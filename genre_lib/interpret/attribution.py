"""Where in a clip a model looks: activation maps, saliency (with SmoothGrad) and Grad-CAM,
and the helpers that pick and cut the clips to explain.

Notebook: 07_filter_visualisation.ipynb.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .layers import (
    _check_backend,
    _input,
    _quiet,
    _with_channel,
    conv_layers,
    first_and_last_conv,
    linear_model,
    unit_activation,
)


# -- intermediate activation maps -----------------------------------------------------------------
def activation_maps(model, x: np.ndarray, layers: list[str] | None = None) -> dict:
    """The feature maps one input produces at each layer in ``layers`` (default: every conv).

    ``x`` is one model input (with or without the batch axis). Returns ``{layer: array}``
    with the batch axis dropped, e.g. (freq, time, channels) for a 2D conv layer.

    Notebook: 07_filter_visualisation.ipynb.
    """
    import keras

    layers = list(layers) if layers is not None else conv_layers(model)
    x = _with_channel(x, model)[:1]
    probe = keras.Model(_input(model), [model.get_layer(n).output for n in layers])
    with _quiet():
        outs = probe(x, training=False)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    return {n: np.asarray(o)[0] for n, o in zip(layers, outs)}


# -- saliency and Grad-CAM -------------------------------------------------------------------------
def _normalise(maps: np.ndarray) -> np.ndarray:
    """Scale every map in a batch to [0, 1] (as tf-keras-vis does)."""
    axes = tuple(range(1, maps.ndim))
    lo = maps.min(axis=axes, keepdims=True)
    hi = maps.max(axis=axes, keepdims=True)
    return (maps - lo) / (hi - lo + 1e-7)


def saliency(model, X: np.ndarray, classes, smooth_samples: int = 0, smooth_noise: float = 0.2,
             backend: str = "tf-keras-vis", seed: int = 0) -> np.ndarray:
    """Saliency maps: ``|d logit(class) / d input|`` per input, max over channels, scaled to [0, 1].

    The gradient of the class score with respect to the input, as in Simonyan et al. (2014).
    ``classes`` gives one class index per input (or one for all). With ``smooth_samples`` > 0
    the gradient is averaged over noisy copies of the input (SmoothGrad, Smilkov et al. 2017),
    the noise's standard deviation being ``smooth_noise`` times each input's value range.
    Returns (n, freq, time).

    Notebook: 07_filter_visualisation.ipynb.
    """
    _check_backend(backend)
    X = _with_channel(X, model)
    idx = _class_indices(classes, len(X))
    if backend == "tf-keras-vis":
        try:
            from tf_keras_vis.saliency import Saliency
            from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
            from tf_keras_vis.utils.scores import CategoricalScore

            np.random.seed(seed)  # tf-keras-vis draws SmoothGrad noise from NumPy's global RNG
            with _quiet():
                viz = Saliency(model, model_modifier=ReplaceToLinear(), clone=True)
                return np.asarray(viz(CategoricalScore(idx), X, smooth_samples=smooth_samples,
                                      smooth_noise=smooth_noise))
        except Exception as exc:
            warnings.warn(f"tf-keras-vis Saliency failed ({type(exc).__name__}: {exc}); "
                          "using the GradientTape implementation", stacklevel=2)
    return _saliency_tape(model, X, idx, smooth_samples, smooth_noise, seed)


def _class_indices(classes, n: int) -> list[int]:
    idx = [int(c) for c in np.atleast_1d(classes)]
    if len(idx) == 1:
        idx = idx * n
    if len(idx) != n:
        raise ValueError(f"give one class index per input ({n}) or one for all, not {len(idx)}")
    return idx


def _saliency_tape(model, X, idx, smooth_samples, smooth_noise, seed):
    import tensorflow as tf

    lin = linear_model(model)
    onehot = tf.one_hot(idx, lin.outputs[0].shape[-1])

    def grads(x):
        x = tf.constant(x, dtype=tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = tf.reduce_sum(lin(x, training=False) * onehot, axis=-1)
        return np.abs(tape.gradient(score, x).numpy())

    if smooth_samples > 0:
        rng = np.random.default_rng(seed)
        axes = tuple(range(1, X.ndim))
        sigma = smooth_noise * (X.max(axis=axes, keepdims=True) - X.min(axis=axes, keepdims=True))
        g = np.mean([grads(X + sigma * rng.standard_normal(X.shape)) for _ in range(smooth_samples)],
                    axis=0)
    else:
        g = grads(X)
    return _normalise(g.max(axis=-1))


def gradcam(model, X: np.ndarray, classes, layer: str | None = None,
            backend: str = "tf-keras-vis") -> np.ndarray:
    """Grad-CAM maps of the class logits at conv ``layer`` (Selvaraju et al. 2017).

    ``layer`` defaults to the model's last convolution layer (``block4_conv`` in the 2D CNN):
    the convolution's own output, before its block's batch normalisation, ReLU and pooling.
    tf-keras-vis calls this argument ``penultimate_layer``; it is not the model's
    second-to-last layer. The feature maps of ``layer`` are weighted by the class score's
    gradient averaged over positions, summed over channels, passed through ReLU, stretched
    (bilinear) to the input's size and scaled to [0, 1]. Returns (n, freq, time).

    Notebook: 07_filter_visualisation.ipynb.
    """
    _check_backend(backend)
    X = _with_channel(X, model)
    idx = _class_indices(classes, len(X))
    layer = layer or first_and_last_conv(model)[1]
    if backend == "tf-keras-vis":
        try:
            from tf_keras_vis.gradcam import Gradcam
            from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
            from tf_keras_vis.utils.scores import CategoricalScore

            with _quiet():
                viz = Gradcam(model, model_modifier=ReplaceToLinear(), clone=True)
                return np.asarray(viz(CategoricalScore(idx), X, penultimate_layer=layer,
                                      seek_penultimate_conv_layer=False))
        except Exception as exc:
            warnings.warn(f"tf-keras-vis Gradcam failed ({type(exc).__name__}: {exc}); "
                          "using the GradientTape implementation", stacklevel=2)
    return _gradcam_tape(model, X, idx, layer)


def gradcam_parts(model, X: np.ndarray, classes, layer: str | None = None):
    """The two ingredients of Grad-CAM at conv ``layer`` (default: the last convolution
    layer, as in :func:`gradcam`): its feature maps ``A`` and the gradient ``G`` of each
    input's class logit with respect to them, both (n, f, t, channels).

    Grad-CAM is then ``relu(sum_c mean_ft(G[..., c]) * A[..., c])`` (see :func:`finish_cam`
    for stretching it to the input's size).

    Notebook: 07_filter_visualisation.ipynb.
    """
    import keras
    import tensorflow as tf

    X = _with_channel(X, model)
    idx = _class_indices(classes, len(X))
    layer = layer or first_and_last_conv(model)[1]
    lin = linear_model(model)
    probe = keras.Model(_input(lin), [lin.outputs[0], lin.get_layer(layer).output])
    onehot = tf.one_hot(idx, lin.outputs[0].shape[-1])
    x = tf.constant(X)
    with _quiet(), tf.GradientTape() as tape:
        logits, fmap = probe(x, training=False)
        score = tf.reduce_sum(logits * onehot, axis=-1)
    return fmap.numpy(), tape.gradient(score, fmap).numpy()


def finish_cam(cam: np.ndarray, size) -> np.ndarray:
    """Stretch coarse class-activation maps (n, f, t) bilinearly to ``size`` (freq, time) and
    scale each to [0, 1].

    Notebook: 07_filter_visualisation.ipynb.
    """
    from scipy.ndimage import zoom

    cam = np.asarray(cam, dtype=np.float32)
    single = cam.ndim == 2
    cam = cam[None] if single else cam
    target = (len(cam), *tuple(size)[:2])
    out = _normalise(zoom(cam, [t / c for t, c in zip(target, cam.shape)], order=1))
    return out[0] if single else out


def _gradcam_tape(model, X, idx, layer):
    A, G = gradcam_parts(model, X, idx, layer)
    weights = G.mean(axis=tuple(range(1, G.ndim - 1)), keepdims=True)
    cam = np.maximum((A * weights).sum(axis=-1), 0.0)
    return finish_cam(cam, X.shape[1:-1])


def most_active_units(model, layer: str, X: np.ndarray, n: int = 8) -> list[int]:
    """The ``n`` units (filters) of ``layer`` with the highest mean activation over ``X``:
    the ones worth looking at first (some filters of a small model never fire).

    Notebook: 07_filter_visualisation.ipynb.
    """
    act = unit_activation(model, layer, range(model.get_layer(layer).output.shape[-1]), X)
    return [int(u) for u in np.argsort(-act.mean(axis=0), kind="stable")[:n]]


def tf_keras_vis_check(model, X: np.ndarray, layer: str | None = None) -> pd.DataFrame:
    """Run each tf-keras-vis method and its GradientTape twin on the same inputs and compare.

    One row per method with ``ok`` (tf-keras-vis ran) and the largest absolute difference
    between the two maps (both in [0, 1]). Notebook 07 prints it, so a student sees that the
    library works on this Keras version rather than taking it on trust.

    Notebook: 07_filter_visualisation.ipynb.
    """
    X = _with_channel(X, model)[:2]
    probs = np.asarray(model(X, training=False))
    idx = list(probs.argmax(axis=-1))
    rows = []
    for name, func in (("Saliency", saliency), ("Gradcam", gradcam)):
        kwargs = {"layer": layer} if name == "Gradcam" else {}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", UserWarning)
                a = func(model, X, idx, backend="tf-keras-vis", **kwargs)
            b = func(model, X, idx, backend="tape", **kwargs)
            rows.append({"method": name, "ok": True, "max_abs_diff": float(np.abs(a - b).max())})
        except Exception as exc:
            rows.append({"method": name, "ok": False, "max_abs_diff": np.nan,
                         "error": f"{type(exc).__name__}: {exc}"})
    return pd.DataFrame(rows)


# -- real clips --------------------------------------------------------------------------------------
def excerpts(trained, fs, rows, which: str = "middle") -> tuple[np.ndarray, np.ndarray]:
    """One model-ready excerpt per track ``rows`` (positions in ``fs.table``), and the same
    excerpt as the raw log-mel in dB for display.

    ``trained`` is a ``genre_lib.models.Trained``; the excerpt is the first or the middle
    one of the consecutive chunks the model judges the clip by. Returns (model inputs,
    dB excerpts of shape (n, n_mels, frames)).

    Notebook: 07_filter_visualisation.ipynb.
    """
    from .. import pipeline

    if fs.kind != "logmel":
        raise ValueError(f"excerpts need a logmel FeatureSet, got {fs.kind!r}")
    length = trained.chunk
    starts = pipeline.chunk_starts(fs.X.shape[-1], length)
    start = int(starts[len(starts) // 2] if which == "middle" else starts[0])
    raw = np.stack([pipeline.crop(fs.X[r], start, length) for r in rows]).astype(np.float32)
    inputs = trained.inputs(raw)  # the model standardises its own input
    return inputs, raw


def pick_tracks(table: pd.DataFrame, n: int = 4, split: str = "test", prefer=(),
                seed: int = 0) -> list[int]:
    """Row positions of up to ``n`` tracks of ``split`` with different genres (``prefer``
    first, e.g. ("rock", "classical")), or, without genres, with different first tags.

    Notebook: 07_filter_visualisation.ipynb.
    """
    part = table[table["split"] == split] if (table["split"] == split).any() else table
    if "genre" in part and part["genre"].notna().all():
        key = part["genre"]
    else:
        key = part["tags"].map(lambda t: t[0] if len(t) else "(no tag)")
    labels = list(dict.fromkeys([p for p in prefer if p in set(key)] + sorted(set(key), key=str)))
    rng = np.random.default_rng(seed)
    rows = []
    for lab in labels[:n]:
        members = part.index[(key == lab).to_numpy()].to_numpy()
        rows.append(int(table.index.get_loc(rng.choice(members))))
    return rows
