"""Finding the layers to look at, and sub-models that expose them: the shared ground of
activation maximisation (:mod:`.maximise`) and attribution maps (:mod:`.attribution`).

Notebook: 07_filter_visualisation.ipynb.
"""
from __future__ import annotations

import re
import warnings
from contextlib import contextmanager

import numpy as np

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

    Notebook: 07_filter_visualisation.ipynb.
    """
    import keras

    named = [(int(m.group(1)), layer.name) for layer in model.layers
             if (m := re.fullmatch(r"block(\d+)_conv", layer.name))]
    if named:
        return [name for _, name in sorted(named)]
    convs = (keras.layers.Conv1D, keras.layers.Conv2D)
    return [layer.name for layer in model.layers if isinstance(layer, convs)]


def first_and_last_conv(model) -> tuple[str, str]:
    """The first and the last convolution layer's names (raises if the model has none).

    Notebook: 07_filter_visualisation.ipynb.
    """
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

    Notebook: 07_filter_visualisation.ipynb.
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

    Notebook: 07_filter_visualisation.ipynb.
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
