"""Activation maximisation: the input pattern a filter or a class responds to most.

Notebook: 07_filter_visualisation.ipynb.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .layers import (
    OUTPUT_LAYER,
    _check_backend,
    _input,
    _quiet,
    layer_model,
    linear_model,
    unit_activation,
)


# -- activation maximisation -----------------------------------------------------------------------
@dataclass
class Maximised:
    """Inputs that maximise some units of one layer, with the activations before and after.

    ``images[i]`` is the input (model input shape) that maximises ``units[i]`` of ``layer``;
    ``start`` and ``end`` are that unit's mean activation for the seed and the final image.
    """

    layer: str
    units: list
    images: np.ndarray
    start: np.ndarray
    end: np.ndarray
    input_range: tuple
    steps: int
    backend: str

    def __repr__(self) -> str:
        return (f"Maximised({self.layer}, {len(self.units)} unit(s), images{self.images.shape}, "
                f"{self.steps} steps with {self.backend}, mean activation "
                f"{float(np.mean(self.start)):.3g} -> {float(np.mean(self.end)):.3g})")


def default_steps(*, settings=None) -> int:
    """Gradient steps for activation maximisation: the profile's ``interpret_steps`` (200 in
    the full profile, 30 in ci).

    Notebook: 07_filter_visualisation.ipynb.
    """
    from ..config import get_settings

    settings = settings or get_settings()
    return settings.profile.interpret_steps


def seed_inputs(shape, n: int, input_range: tuple[float, float], seed: int = 0,
                spread: float = 0.05) -> np.ndarray:
    """Faint noise around the middle of the input range: the starting point of the ascent.

    ``shape`` is one input's shape (without the batch axis); ``spread`` is the noise's standard
    deviation as a share of the range width.
    """
    lo, hi = input_range
    rng = np.random.default_rng(seed)
    x = (lo + hi) / 2 + spread * (hi - lo) * rng.standard_normal((n, *shape))
    return np.clip(x, lo, hi).astype(np.float32)


def random_inputs(shape, n: int, input_range: tuple[float, float], seed: int = 1) -> np.ndarray:
    """Uniform noise over the input range: the "random input" that the optimised one must beat."""
    lo, hi = input_range
    rng = np.random.default_rng(seed)
    return rng.uniform(lo, hi, size=(n, *shape)).astype(np.float32)


def _objective(model, layer: str, leak: float):
    """What to climb for ``layer``: (a model, whether its output is a ReLU's input).

    For a ReLU layer we climb a leaky copy of it, ``relu(z) + leak * min(z, 0)`` of its input
    ``z``: a filter that is silent everywhere on the seed has zero ReLU gradient and would never
    move, while the leaky version still says which way wakes it up. Its maximum lies where
    the ReLU's does wherever the filter is active. For the output layer the objective is the
    logit (linear copy); for any other layer its output as it is.
    """
    import keras

    if layer == OUTPUT_LAYER:
        return linear_model(model), False
    target = model.get_layer(layer)
    activation = getattr(target, "activation", None)
    is_relu = (isinstance(target, keras.layers.ReLU)
               or (isinstance(target, keras.layers.Activation)
                   and getattr(activation, "__name__", "") == "relu"))
    if is_relu and leak > 0:
        return keras.Model(_input(model), target.input, name=f"{model.name}_{layer}_input"), True
    return layer_model(model, layer), False


def _unit_scores(output, units, leaky: bool, leak: float):
    """Per-sample score: unit ``units[i]`` of sample ``i``, averaged over positions."""
    import tensorflow as tf

    flat = tf.reshape(output, (tf.shape(output)[0], -1, output.shape[-1]))
    per = tf.linalg.diag_part(tf.transpose(tf.gather(flat, units, axis=2), (1, 0, 2)))  # (P, n)
    if leaky:
        per = tf.nn.relu(per) + leak * tf.minimum(per, 0.0)
    return tf.reduce_mean(per, axis=0)


def maximise(model, layer: str, units, input_range: tuple[float, float],
             steps: int = 200, learning_rate: float | None = None, seed: int = 0,
             backend: str = "tf-keras-vis", progress: bool = True, leak: float = 0.1,
             tv: float = 0.0) -> Maximised:
    """Activation maximisation (Erhan et al. 2009) of ``units`` (filter or class indices) of
    ``layer``.

    All units are optimised together, one input each, in one batch. ``layer`` names a layer
    whose per-position outputs are averaged (use :func:`response_layer` to get a conv block's
    ReLU) or ``"predictions"`` (the class logit, after swapping the output activation for a
    linear one). ReLU layers are climbed through a leaky copy (see ``leak``) so that silent
    units still move; ``start`` and ``end`` report the true activations. The input is kept
    inside ``input_range`` (see :func:`input_range`) at every step. ``learning_rate``
    defaults to 2 % of the range width per Adam step (0.1 for a standardised log-mel), much
    larger than tf-keras-vis's photo-tuned defaults, which leave a small model's input
    almost unchanged. ``tv`` > 0 adds tf-keras-vis's total-variation penalty (mean absolute
    difference between neighbouring bins, times ``tv``), which trades some activation for
    smoother, more readable images (2D inputs only).

    With ``backend="tf-keras-vis"`` this runs ``ActivationMaximization`` (with
    ``ReplaceToLinear`` for the classes); if that raises, a warning says why and the
    ``GradientTape`` version runs instead.

    Notebook: 07_filter_visualisation.ipynb.
    """
    _check_backend(backend)
    units = [int(u) for u in np.atleast_1d(units)]
    lo, hi = float(input_range[0]), float(input_range[1])
    lr = learning_rate if learning_rate is not None else 0.02 * (hi - lo)
    shape = tuple(model.inputs[0].shape[1:])
    x0 = seed_inputs(shape, len(units), (lo, hi), seed=seed)
    used = backend
    if backend == "tf-keras-vis":
        try:
            images = maximise_tf_keras_vis(model, layer, units, x0, (lo, hi), steps, lr, progress, leak, tv)
        except Exception as exc:  # keep working if tf-keras-vis breaks on some model
            warnings.warn(f"tf-keras-vis activation maximisation failed ({type(exc).__name__}: "
                          f"{exc}); using the GradientTape implementation", stacklevel=2)
            used = "tape"
    if used == "tape":
        images = maximise_tape(model, layer, units, x0, (lo, hi), steps, lr, progress, leak, tv)
    images = np.asarray(images, dtype=np.float32).reshape((len(units), *shape))
    start = np.diag(unit_activation(model, layer, units, x0))
    end = np.diag(unit_activation(model, layer, units, images))
    return Maximised(layer, units, images, start, end, (lo, hi), steps, used)


def _progress_bar(steps: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=steps, desc=desc, disable=not enabled, unit="step", leave=False)


def maximise_tf_keras_vis(model, layer, units, x0, rng, steps, lr, progress, leak, tv):
    """Activation maximisation with tf-keras-vis's ``ActivationMaximization``: the images
    (same shape as ``x0``) that maximise ``units`` of ``layer``, kept inside ``rng`` = (lo, hi)
    every step. :func:`maximise` calls this (or :func:`maximise_tape`) with its defaults.

    Notebook: 07_filter_visualisation.ipynb.
    """
    import keras
    import tensorflow as tf
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.activation_maximization.callbacks import Callback
    from tf_keras_vis.activation_maximization.regularizers import TotalVariation2D
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    lo, hi = rng
    bar = _progress_bar(steps, f"maximising {layer}", progress)

    class _Tick(Callback):
        def __call__(self, i, values, grads, scores, model_outputs, **kwargs):
            bar.update(1)

    with _quiet():
        if layer == OUTPUT_LAYER:
            # tf-keras-vis's own recipe: clone, swap softmax for linear, score the class
            viz = ActivationMaximization(model, model_modifier=ReplaceToLinear(), clone=True)
            score = CategoricalScore(units)
        else:
            target, leaky = _objective(model, layer, leak)
            viz = ActivationMaximization(target, clone=False)

            def score(output):
                return _unit_scores(output, units, leaky, leak)
        try:
            images = viz(score, seed_input=tf.constant(x0), input_range=(lo, hi),
                         # project back into the range before every step (no jitter/rotation:
                         # a spectrogram's axes are frequency and time, not a photo's)
                         input_modifiers=[lambda x: tf.clip_by_value(x, lo, hi)],
                         regularizers=[TotalVariation2D(weight=tv)] if tv else [], steps=steps,
                         optimizer=keras.optimizers.Adam(learning_rate=lr),
                         callbacks=[_Tick()])
        finally:
            bar.close()
    return np.asarray(images)


def maximise_tape(model, layer, units, x0, rng, steps, lr, progress, leak, tv):
    """The same ascent as :func:`maximise_tf_keras_vis`, written with ``tf.GradientTape``."""
    import keras
    import tensorflow as tf

    lo, hi = rng
    target, leaky = _objective(model, layer, leak)
    x = tf.Variable(x0)
    opt = keras.optimizers.Adam(learning_rate=lr)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            score = _unit_scores(target(x, training=False), units, leaky, leak)
            loss = -tf.reduce_sum(score)
            if tv:  # the same penalty as tf-keras-vis's TotalVariation2D
                loss += tv * tf.reduce_sum(tf.image.total_variation(x)) / float(np.prod(x.shape[1:]))
        grad = tape.gradient(loss, x)
        opt.apply_gradients([(grad, x)])
        x.assign(tf.clip_by_value(x, lo, hi))
        return score

    bar = _progress_bar(steps, f"maximising {layer}", progress)
    try:
        with _quiet():
            for _ in range(steps):
                step()
                bar.update(1)
    finally:
        bar.close()
    return x.numpy()


def activation_gain(model, result: Maximised, reference: np.ndarray | None = None,
                    n_random: int = 8, seed: int = 1) -> pd.DataFrame:
    """How far each optimised input lifts its unit above random inputs (and real ones).

    One row per unit: its mean activation for the optimised image, for ``n_random`` uniform
    noise inputs over the same range (mean and standard deviation), the margin in standard
    deviations of the random activations (``z``, at most about 100 when noise leaves the
    unit silent), and, when ``reference`` (real inputs) is
    given, the unit's mean and maximum activation over them. A readable, non-trivial image
    has a large ``z``: a blank or noise-like image would score about like random noise.

    Notebook: 07_filter_visualisation.ipynb.
    """
    shape = tuple(model.inputs[0].shape[1:])
    noise = random_inputs(shape, n_random, result.input_range, seed=seed)
    rand = unit_activation(model, result.layer, result.units, noise)
    rows = {"unit": result.units, "optimised": result.end,
            "random_mean": rand.mean(0), "random_std": rand.std(0)}
    # when noise leaves a unit (almost) silent its spread is ~0; floor it at 1 % of the
    # optimised activation, so z reads "at least 100" rather than an arbitrary huge number
    spread = np.maximum(rand.std(0), 0.01 * np.abs(result.end) + 1e-12)
    rows["z"] = (result.end - rand.mean(0)) / spread
    if reference is not None:
        real = unit_activation(model, result.layer, result.units, reference)
        rows["real_mean"] = real.mean(0)
        rows["real_max"] = real.max(0)
    return pd.DataFrame(rows).set_index("unit")


def image_stats(images: np.ndarray) -> pd.DataFrame:
    """Plain numbers that tell a structured image from a blank one or from white noise.

    ``std`` is near 0 for a blank image; ``smooth_f`` and ``smooth_t`` are the correlation
    of each value with its neighbour along frequency and along time, near 0 for white noise
    and near 1 for smooth, structured patterns.

    Notebook: 07_filter_visualisation.ipynb.
    """
    images = np.asarray(images, dtype=np.float64)
    images = images.reshape(images.shape[0], images.shape[1], -1)  # (n, freq, time*channels)

    def corr(a, b):
        a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
        den = np.sqrt((a * a).sum() * (b * b).sum())
        return float((a * b).sum() / den) if den > 0 else 0.0

    rows = []
    for im in images:
        rows.append({"std": float(im.std()),
                     "smooth_f": corr(im[1:], im[:-1]) if im.shape[0] > 1 else np.nan,
                     "smooth_t": corr(im[:, 1:], im[:, :-1]) if im.shape[1] > 1 else np.nan})
    return pd.DataFrame(rows)
