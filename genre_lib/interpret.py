"""Looking inside a trained model: activation maximisation, activation maps, saliency, Grad-CAM.

Four ways to see what a convolutional genre classifier has learned:

* **activation maximisation**: start from a faint random input and climb the gradient of one
  filter's mean activation (or one class's logit) with respect to the input. The result is the
  spectrogram-shaped pattern the unit likes best (Erhan et al. 2009; Simonyan et al. 2014).
* **intermediate activation maps**: the feature maps one real clip produces, layer by layer.
* **saliency**: the absolute gradient of a class score with respect to each time-frequency bin
  of a real clip (Simonyan et al. 2014), optionally averaged over noisy copies (SmoothGrad).
* **Grad-CAM**: the last conv block's feature maps weighted by the pooled gradient of the class
  score, a coarse map of the regions that drive the decision (Selvaraju et al. 2017).

The default backend is tf-keras-vis 0.8.7, the maintained successor of keras-vis, whose
defaults are tuned for VGG16 on photos; for small spectrogram models we pass our own input
range (taken from real inputs), no regularisers or jitter by default, a projection back into
that range every step, Adam with a larger step, and (for conv filters) a leaky copy of the
block's ReLU as the objective so that filters silent on the start image still move. Beside
each method sits a short ``tf.GradientTape`` implementation (``backend="tape"``) that computes
the same quantity; the tests check the two agree, and the tape version is what runs if
tf-keras-vis fails on a model.

Checked here with Keras 3.15 / TensorFlow 2.21: ``ActivationMaximization`` (with
``ReplaceToLinear``, ``CategoricalScore``, ``TotalVariation2D``), ``Saliency`` (with
SmoothGrad) and ``Gradcam`` all work and match the tape versions. Quirks handled here: Keras 3
warns on every call because tf-keras-vis passes single-input models a one-element list
(silenced); ``ActivationMaximization`` clips only the image it returns, not the image it
optimises (we clip every step with an input modifier); it runs eagerly, about 2.7x slower
than the compiled tape loop on the 2D CNN; SmoothGrad draws its noise from NumPy's global
generator (seeded here).

Notebook: 07_filter_visualisation.ipynb.
"""
from __future__ import annotations

import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

BACKENDS = ("tf-keras-vis", "tape")
OUTPUT_LAYER = "predictions"


# -- small helpers ---------------------------------------------------------------------------------
@contextmanager
def _quiet():
    """Silence Keras 3's "structure of `inputs` doesn't match" warning: tf-keras-vis passes a
    one-element list to single-input models, which Keras 3 accepts but warns about."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*structure of `inputs` doesn't match.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        yield


def _check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    return backend


def _with_channel(X: np.ndarray, model) -> np.ndarray:
    """``X`` as a batch the model accepts: adds the batch axis to a single input and the
    trailing channel axis to (batches of) single-channel inputs given without it."""
    X = np.asarray(X, dtype=np.float32)
    shape = tuple(model.inputs[0].shape[1:])
    if X.shape == shape:                                  # one input
        return X[None]
    if X.shape[1:] == shape:                              # a batch
        return X
    if shape[-1] == 1 and X.shape == shape[:-1]:          # one input, no channel axis
        return X[None, ..., None]
    if shape[-1] == 1 and X.shape[1:] == shape[:-1]:      # a batch, no channel axis
        return X[..., None]
    raise ValueError(f"inputs of shape {X.shape} do not fit the model's input (None, "
                     f"{', '.join(str(s) for s in shape)})")


def _input(model):
    """The model's input tensor (single-input models; Keras 3 warns when given a list)."""
    if len(model.inputs) != 1:
        raise ValueError(f"model {model.name!r} has {len(model.inputs)} inputs; these tools "
                         "visualise single-input models")
    return model.inputs[0]


def conv_layers(model) -> list[str]:
    """Names of the model's convolution layers, in depth order.

    Models built by ``genre_lib.models`` name them ``block1_conv`` .. ``blockN_conv``; for other
    models every ``Conv1D``/``Conv2D`` layer is listed in the order the model applies them.
    """
    import keras

    named = [(int(m.group(1)), layer.name) for layer in model.layers
             if (m := re.fullmatch(r"block(\d+)_conv", layer.name))]
    if named:
        return [name for _, name in sorted(named)]
    convs = (keras.layers.Conv1D, keras.layers.Conv2D)
    return [layer.name for layer in model.layers if isinstance(layer, convs)]


def first_and_last_conv(model) -> tuple[str, str]:
    """The first and the last convolution layer's names (raises if the model has none)."""
    names = conv_layers(model)
    if not names:
        raise ValueError(f"model {model.name!r} has no convolution layer to visualise")
    return names[0], names[-1]


def response_layer(model, conv: str) -> str:
    """The layer whose output to maximise for conv layer ``conv``: its block's ReLU when the
    model has one (``block3_conv`` -> ``block3_relu``), else the conv layer itself.

    The conv output of a ``conv -> BN -> ReLU`` block is linear in the input, and the mean of a
    linear map over all positions is maximised by a flat image (every bin pushed to the same
    end of the range): a blank picture. After the ReLU only positions where the filter's
    pattern is present count, so the ascent has to draw the pattern.
    """
    m = re.fullmatch(r"(.*\D)?(\d+)_conv", conv)
    if m:
        name = f"{m.group(1) or ''}{m.group(2)}_relu"
        if any(layer.name == name for layer in model.layers):
            return name
    return conv


def input_range(X: np.ndarray, q: tuple[float, float] = (1.0, 99.0)) -> tuple[float, float]:
    """The (low, high) range of real model inputs, as two percentiles of their values.

    Activation maximisation keeps its image inside this range, so the picture stays
    comparable with what the model saw in training.
    """
    lo, hi = np.percentile(np.asarray(X, dtype=np.float64), q)
    if not np.isfinite([lo, hi]).all() or hi <= lo:
        raise ValueError(f"cannot take an input range from values spanning [{lo}, {hi}]")
    return float(lo), float(hi)


def layer_model(model, layer: str):
    """A model from the inputs to the output of ``layer`` (shares the weights)."""
    import keras

    return keras.Model(_input(model), model.get_layer(layer).output, name=f"{model.name}_to_{layer}")


def linear_model(model, layer: str = OUTPUT_LAYER):
    """A copy of ``model`` whose ``layer`` has a linear activation (logits, not probabilities).

    Maximising a softmax probability can be done by pushing the other classes down; the logit
    only goes up when the input looks more like the class, so class visualisations, saliency
    and Grad-CAM all use the logits. The original model is left unchanged.
    """
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    copy.get_layer(layer).activation = keras.activations.linear
    return copy


def unit_activation(model, layer: str, units, X: np.ndarray, linear: bool = True,
                    batch_size: int = 16) -> np.ndarray:
    """Mean activation of each unit (filter or class) in ``units`` for every input in ``X``.

    Returns an array (len(X), len(units)). For a conv filter this is the filter's output
    averaged over all positions (the quantity activation maximisation climbs); for the output
    layer it is the logit when ``linear`` is true.
    """
    base = linear_model(model) if (layer == OUTPUT_LAYER and linear) else model
    sub = base if layer == OUTPUT_LAYER else layer_model(base, layer)
    X = _with_channel(X, model)
    units = list(np.atleast_1d(units))
    out = []
    for start in range(0, len(X), batch_size):
        with _quiet():
            act = np.asarray(sub(X[start:start + batch_size], training=False))
        act = act.reshape(len(act), -1, act.shape[-1]).mean(axis=1)
        out.append(act[:, units])
    return np.concatenate(out, axis=0)


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


def default_steps(settings=None) -> int:
    """Gradient steps for activation maximisation: the profile's ``interpret_steps`` (200 in
    the full profile, 30 in ci)."""
    from .config import get_settings

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
    """Activation maximisation of ``units`` (filter or class indices) of ``layer``.

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
            images = _maximise_tfkv(model, layer, units, x0, (lo, hi), steps, lr, progress, leak, tv)
        except Exception as exc:  # keep working if tf-keras-vis breaks on some model
            warnings.warn(f"tf-keras-vis activation maximisation failed ({type(exc).__name__}: "
                          f"{exc}); using the GradientTape implementation", stacklevel=2)
            used = "tape"
    if used == "tape":
        images = _maximise_tape(model, layer, units, x0, (lo, hi), steps, lr, progress, leak, tv)
    images = np.asarray(images, dtype=np.float32).reshape((len(units), *shape))
    start = np.diag(unit_activation(model, layer, units, x0))
    end = np.diag(unit_activation(model, layer, units, images))
    return Maximised(layer, units, images, start, end, (lo, hi), steps, used)


def _progress_bar(steps: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=steps, desc=desc, disable=not enabled, unit="step", leave=False)


def _maximise_tfkv(model, layer, units, x0, rng, steps, lr, progress, leak, tv):
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


def _maximise_tape(model, layer, units, x0, rng, steps, lr, progress, leak, tv):
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


# -- intermediate activation maps -----------------------------------------------------------------
def activation_maps(model, x: np.ndarray, layers: list[str] | None = None) -> dict:
    """The feature maps one input produces at each layer in ``layers`` (default: every conv).

    ``x`` is one model input (with or without the batch axis). Returns ``{layer: array}``
    with the batch axis dropped, e.g. (freq, time, channels) for a 2D conv layer.
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
    """Saliency maps: |d logit(class) / d input| per input, max over channels, scaled to [0, 1].

    ``classes`` gives one class index per input (or one for all). With ``smooth_samples`` > 0
    the gradient is averaged over noisy copies of the input (SmoothGrad), the noise's standard
    deviation being ``smooth_noise`` times each input's value range. Returns (n, freq, time).
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
    """Grad-CAM maps of the class logits at conv ``layer`` (default: the last conv block).

    The feature maps of ``layer`` are weighted by the class score's gradient averaged over
    positions, summed over channels, passed through ReLU, stretched (bilinear) to the input's
    size and scaled to [0, 1]. Returns (n, freq, time).
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
    """The two ingredients of Grad-CAM at conv ``layer``: its feature maps ``A`` and the
    gradient ``G`` of each input's class logit with respect to them, both (n, f, t, channels).

    Grad-CAM is then ``relu(sum_c mean_ft(G[..., c]) * A[..., c])`` (see :func:`finish_cam`
    for stretching it to the input's size).
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
    scale each to [0, 1]."""
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
    the ones worth looking at first (some filters of a small model never fire)."""
    act = unit_activation(model, layer, range(model.get_layer(layer).output.shape[-1]), X)
    return [int(u) for u in np.argsort(-act.mean(axis=0), kind="stable")[:n]]


def tf_keras_vis_check(model, X: np.ndarray, layer: str | None = None) -> pd.DataFrame:
    """Run each tf-keras-vis method and its GradientTape twin on the same inputs and compare.

    One row per method with ``ok`` (tf-keras-vis ran) and the largest absolute difference
    between the two maps (both in [0, 1]). Notebook 07 prints it, so a student sees that the
    library works on this Keras version rather than taking it on trust.
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

    ``trained`` is a ``genre_lib.training.Trained``; the excerpt is the first or the middle
    one of the consecutive chunks the model judges the clip by. Returns (model inputs,
    dB excerpts of shape (n, n_mels, frames)).
    """
    from . import training

    if fs.kind != "logmel":
        raise ValueError(f"excerpts need a logmel FeatureSet, got {fs.kind!r}")
    length = trained.chunk
    starts = training.chunk_starts(fs.X.shape[-1], length)
    start = int(starts[len(starts) // 2] if which == "middle" else starts[0])
    raw = np.stack([training.crop(fs.X[r], start, length) for r in rows]).astype(np.float32)
    inputs = training.to_layout(trained.normaliser(raw), trained.spec.layout)
    return inputs, raw


def pick_tracks(table: pd.DataFrame, n: int = 4, split: str = "test", prefer=(),
                seed: int = 0) -> list[int]:
    """Row positions of up to ``n`` tracks of ``split`` with different genres (``prefer``
    first, e.g. ("rock", "classical")), or, without genres, with different first tags."""
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
