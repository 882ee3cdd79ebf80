"""The short-chunk CNN with residual blocks (Won et al. 2020, "Evaluation of CNN-based
automatic music tagging models"), the strong modern reference: small 3x3 kernels, one
residual block per resolution, 2x2 pooling after each, on 3-4 s log-mel chunks; a long clip
is judged by averaging the chunks' predictions.

Input layout: ``(n_mels, n_frames, 1)``. Sized down from the paper's 128-256 channels so
it trains on a CPU; pass ``channels=`` for the full width.

Notebook: 06_parallel_cnn_rnn.ipynb.
"""
from __future__ import annotations

from .common import BN_MOMENTUM, check_shape, classifier


def residual_block(x, i: int, filters: int, pool=(2, 2)):
    """conv3x3-BN-ReLU-conv3x3-BN plus a (projected) shortcut, ReLU, then max-pooling.

    Layers: ``block{i}_conv``, ``block{i}_bn``, ``block{i}_relu``, ``block{i}_conv2``,
    ``block{i}_bn2``, ``block{i}_shortcut`` (1x1, when the width changes), ``block{i}_add``,
    ``block{i}_out``, ``block{i}_pool``.
    """
    from keras import layers

    shortcut = x
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"block{i}_conv")(x)
    y = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"block{i}_bn")(y)
    y = layers.Activation("relu", name=f"block{i}_relu")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"block{i}_conv2")(y)
    y = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"block{i}_bn2")(y)
    if x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, use_bias=False, name=f"block{i}_shortcut")(x)
        shortcut = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"block{i}_shortcut_bn")(shortcut)
    y = layers.Add(name=f"block{i}_add")([y, shortcut])
    y = layers.Activation("relu", name=f"block{i}_out")(y)
    if pool:
        y = layers.MaxPooling2D(pool, padding="same", name=f"block{i}_pool")(y)
    return y


def build_short_chunk_resnet(input_shape, n_classes: int, head: str = "softmax",
                             channels=(8, 16, 32, 32, 64, 64, 64), embedding: int = 64,
                             dropout: float = 0.3):
    """Seven residual blocks with 2x2 pooling (the mel axis shrinks 128 -> 1), a global max
    over what is left of time, then Dense(64) ``embedding`` and the head."""
    import keras
    from keras import layers

    check_shape(input_shape, 3, "n_mels, n_frames, 1")
    inputs = keras.Input(tuple(input_shape), name="logmel")
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="input_bn")(inputs)
    for i, c in enumerate(channels, start=1):
        x = residual_block(x, i, c)
    x = layers.GlobalMaxPooling2D(name="global_pool")(x)
    outputs = classifier(x, n_classes, head, embedding, dropout)
    return keras.Model(inputs, outputs, name="short_chunk_resnet")
