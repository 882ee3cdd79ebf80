"""Convolutional models: on the raw waveform, on mel frames (1D), on the log-mel image (2D),
and a 1D CNN over short chunks pooled into one clip-level vector.

Input layouts: ``cnn2d`` takes ``(n_mels, n_frames, 1)`` (frequency first, then time);
``cnn1d_mel`` and ``chunk_cnn1d`` take ``(n_frames, n_mels)`` (mel bins as channels);
``cnn1d_waveform`` takes ``(n_samples, 1)``.

Notebook: 04_cnn.ipynb.
"""
from __future__ import annotations

from .common import check_shape, classifier, conv1d_block, conv2d_block


def build_cnn1d_waveform(input_shape, n_classes: int, head: str = "softmax",
                         filters=(32, 32, 64, 64), first_kernel: int = 80, first_stride: int = 4,
                         pool: int = 4, embedding: int = 64, dropout: float = 0.3):
    """A 1D CNN on the raw waveform (after Dai et al. 2017, "Very deep CNNs for raw waveforms").

    A wide strided first convolution acts as a learned filterbank; later blocks are small
    kernels with max-pooling; a global average over time gives one vector per excerpt.
    """
    import keras
    from keras import layers

    shape = check_shape(input_shape, 2, "n_samples, 1")
    inputs = keras.Input(shape, name="waveform")
    x = conv1d_block(inputs, 1, filters[0], kernel=first_kernel, strides=first_stride, pool=pool)
    for i, f in enumerate(filters[1:], start=2):
        x = conv1d_block(x, i, f, kernel=3, pool=pool)
    x = layers.GlobalAveragePooling1D(name="global_pool")(x)
    outputs = classifier(x, n_classes, head, embedding, dropout)
    return keras.Model(inputs, outputs, name="cnn1d_waveform")


def build_cnn1d_mel(input_shape, n_classes: int, head: str = "softmax",
                    filters=(64, 128, 128), kernel: int = 3, pool: int = 2, embedding: int = 64,
                    dropout: float = 0.3):
    """1D convolutions over time with the mel bins as input channels.

    Each filter spans the whole spectrum and a few frames, so the model learns spectral
    templates that slide in time (as in the 1D CNN on mel of Kırtaş, Efe et al.'s GTZAN comparison).
    Global average and max pooling over time are concatenated.
    """
    import keras
    from keras import layers

    shape = check_shape(input_shape, 2, "n_frames, n_mels")
    inputs = keras.Input(shape, name="mel_frames")
    x = inputs
    for i, f in enumerate(filters, start=1):
        x = conv1d_block(x, i, f, kernel=kernel, pool=pool)
    avg = layers.GlobalAveragePooling1D(name="global_avg")(x)
    mx = layers.GlobalMaxPooling1D(name="global_max")(x)
    x = layers.Concatenate(name="global_pool")([avg, mx])
    outputs = classifier(x, n_classes, head, embedding, dropout)
    return keras.Model(inputs, outputs, name="cnn1d_mel")


def build_cnn2d(input_shape, n_classes: int, head: str = "softmax",
                filters=(16, 32, 64, 64), kernel=(3, 3), pool=(2, 2), embedding: int = 64,
                dropout: float = 0.3, block_dropout: float = 0.1):
    """A 2D CNN on the log-mel image: conv-BN-ReLU-pool blocks, then global pooling.

    Conv layers are named ``block1_conv`` ... ``block{N}_conv``; global average pooling
    makes the model indifferent to the exact excerpt length.
    """
    import keras
    from keras import layers

    shape = check_shape(input_shape, 3, "n_mels, n_frames, 1")
    inputs = keras.Input(shape, name="logmel")
    x = inputs
    for i, f in enumerate(filters, start=1):
        x = conv2d_block(x, i, f, kernel=kernel, pool=pool, dropout=block_dropout)
    x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    outputs = classifier(x, n_classes, head, embedding, dropout)
    return keras.Model(inputs, outputs, name="cnn2d")


def build_chunk_cnn1d(input_shape, n_classes: int, head: str = "softmax",
                      sub_frames: int = 32, filters=(64, 128), kernel: int = 3,
                      embedding: int = 64, dropout: float = 0.3):
    """A 1D CNN applied to each short chunk (``sub_frames`` frames) of the excerpt; the chunks'
    activations are combined by global average and max pooling over chunks.

    The excerpt length must be a multiple of ``sub_frames``. The same weights see every
    chunk (``TimeDistributed``), so the model learns what a short moment of a genre looks
    like and then pools the evidence.
    """
    import keras
    from keras import layers

    n_frames, n_mels = check_shape(input_shape, 2, "n_frames, n_mels")
    if n_frames % sub_frames:
        raise ValueError(f"chunk_cnn1d: n_frames={n_frames} is not a multiple of "
                         f"sub_frames={sub_frames}")
    n_chunks = n_frames // sub_frames
    inputs = keras.Input((n_frames, n_mels), name="mel_frames")
    chunks = layers.Reshape((n_chunks, sub_frames, n_mels), name="to_chunks")(inputs)

    c_in = keras.Input((sub_frames, n_mels), name="chunk")
    c = c_in
    for i, f in enumerate(filters, start=1):
        c = conv1d_block(c, i, f, kernel=kernel, pool=2)
    c = layers.GlobalMaxPooling1D(name="chunk_pool")(c)
    chunk_net = keras.Model(c_in, c, name="chunk_cnn")

    x = layers.TimeDistributed(chunk_net, name="per_chunk")(chunks)
    avg = layers.GlobalAveragePooling1D(name="chunks_avg")(x)
    mx = layers.GlobalMaxPooling1D(name="chunks_max")(x)
    x = layers.Concatenate(name="global_pool")([avg, mx])
    outputs = classifier(x, n_classes, head, embedding, dropout)
    return keras.Model(inputs, outputs, name="chunk_cnn1d")
