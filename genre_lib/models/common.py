"""Shared pieces of the model builders: the classifier head and the block helpers.

Every layer gets a name, so later notebooks can reach filters (``block1_conv``), the
embedding (``embedding``) and the output (``predictions``) by name.

Notebook: 04_cnn.ipynb (how a builder is put together).
"""
from __future__ import annotations

HEADS = ("softmax", "sigmoid")
# Keras defaults to 0.99; with a few hundred steps per training run the moving statistics
# would still lag the weights, and validation (which uses them) would look far worse than
# training. 0.9 follows the weights within ~10 steps.
BN_MOMENTUM = 0.9


def check_head(head: str) -> str:
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS} (softmax for genres, sigmoid for tags), "
                         f"not {head!r}")
    return head


def classifier(x, n_classes: int, head: str = "softmax", embedding: int = 64,
               dropout: float = 0.3):
    """The shared top: Dropout -> Dense(embedding, ReLU) named ``embedding`` -> Dense head.

    The output layer is named ``predictions`` and always computes in float32, so the
    probabilities stay exact when the rest of the model runs in mixed precision on a GPU.
    """
    from keras import layers

    check_head(head)
    if n_classes < 2:
        raise ValueError(f"a classifier needs at least 2 classes, got {n_classes}")
    if dropout:
        x = layers.Dropout(dropout, name="head_dropout")(x)
    x = layers.Dense(embedding, activation="relu", name="embedding")(x)
    return layers.Dense(n_classes, activation=head, name="predictions", dtype="float32")(x)


def conv2d_block(x, i: int, filters: int, kernel=(3, 3), pool=(2, 2), dropout: float = 0.0,
                 l2: float = 0.0):
    """``block{i}_conv`` -> BN -> ReLU -> max-pool (-> dropout), every layer named."""
    from keras import layers, regularizers

    reg = regularizers.L2(l2) if l2 else None
    x = layers.Conv2D(filters, kernel, padding="same", use_bias=False, kernel_regularizer=reg,
                      name=f"block{i}_conv")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"block{i}_bn")(x)
    x = layers.Activation("relu", name=f"block{i}_relu")(x)
    if pool:
        x = layers.MaxPooling2D(pool, padding="same", name=f"block{i}_pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"block{i}_dropout")(x)
    return x


def conv1d_block(x, i: int, filters: int, kernel: int = 3, pool: int = 2, strides: int = 1,
                 dropout: float = 0.0, l2: float = 0.0, prefix: str = "block"):
    """``{prefix}{i}_conv`` (1D) -> BN -> ReLU -> max-pool (-> dropout), every layer named."""
    from keras import layers, regularizers

    reg = regularizers.L2(l2) if l2 else None
    x = layers.Conv1D(filters, kernel, strides=strides, padding="same", use_bias=False,
                      kernel_regularizer=reg, name=f"{prefix}{i}_conv")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{prefix}{i}_bn")(x)
    x = layers.Activation("relu", name=f"{prefix}{i}_relu")(x)
    if pool and pool > 1:
        x = layers.MaxPooling1D(pool, padding="same", name=f"{prefix}{i}_pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{prefix}{i}_dropout")(x)
    return x


def check_shape(input_shape, rank: int, what: str) -> tuple:
    shape = tuple(input_shape)
    if len(shape) != rank:
        raise ValueError(f"expected an input shape of rank {rank} ({what}), got {shape}")
    return shape


def at_least_one(value, name: str) -> int:
    """``value`` as an int, refused with a clear error when it is below 1 (layer counts)."""
    if int(value) < 1:
        raise ValueError(f"{name} must be at least 1, not {value!r}")
    return int(value)


def with_input_normalisation(model, mean, variance, axis: int = -1, name: str = "normalise"):
    """``model`` with a ``keras.layers.Normalization`` layer right after its input.

    The layer computes ``(x - mean) / sqrt(variance)`` with one statistic per entry of
    ``axis`` and computes in float32. Every other layer keeps its name and starting weights
    (the graph is cloned with :func:`keras.models.clone_model` and the weights copied), so
    ``block1_conv``, ``embedding`` or ``predictions`` are found as before. A ``Sequential``
    model is first wrapped as a functional one.
    """
    import keras
    import numpy as np

    if isinstance(model, keras.Sequential):
        model = keras.Model(model.inputs, model.outputs, name=model.name)
    if len(model.inputs) != 1:
        raise ValueError(f"{model.name}: input normalisation needs a single-input model")
    old = model.inputs[0]
    raw = keras.Input(batch_shape=old.shape, dtype=old.dtype, name=old.name)
    norm = keras.layers.Normalization(axis=axis, mean=np.asarray(mean, np.float32),
                                      variance=np.asarray(variance, np.float32), name=name,
                                      dtype="float32")(raw)

    def call(layer, *args, **kwargs):
        # every layer that read the raw input now reads the normalised one
        args, kwargs = keras.tree.map_structure(lambda t: norm if t is raw else t, (args, kwargs))
        return layer(*args, **kwargs)

    clone = keras.models.clone_model(model, input_tensors=raw, call_function=call)
    for layer in model.layers:
        if layer.weights:
            clone.get_layer(layer.name).set_weights(layer.get_weights())
    return clone
