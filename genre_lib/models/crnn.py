"""Recurrent models: a pure stacked LSTM on mel frames, and convolutional-recurrent
networks (CRNN) with a 1D or a 2D convolutional front end.

Input layouts: ``lstm_mel`` and ``crnn1d`` take ``(n_frames, n_mels)``; ``crnn2d`` takes
``(n_mels, n_frames, 1)``.

Notebook: 05_crnn.ipynb.
"""
from __future__ import annotations

from .common import at_least_one, check_shape, classifier, conv1d_block, conv2d_block

RNNS = ("lstm", "gru")


def recurrent(units: int, kind: str = "lstm", name: str = "rnn", return_sequences=False,
              dropout: float = 0.0):
    """An LSTM or GRU layer chosen by name."""
    from keras import layers

    kind = kind.lower()
    if kind not in RNNS:
        raise ValueError(f"rnn must be one of {RNNS}, not {kind!r}")
    cls = layers.LSTM if kind == "lstm" else layers.GRU
    return cls(units, return_sequences=return_sequences, dropout=dropout, name=name)


def build_lstm_mel(input_shape, n_classes: int, head: str = "softmax", units=(128, 64),
                   rnn: str = "lstm", embedding: int = 64, dropout: float = 0.3):
    """A stacked LSTM reading the log-mel spectrogram frame by frame, no convolution
    (the LSTM of Kırtaş, Efe et al.'s GTZAN comparison, a Bilkent CS464 course project,
    github.com/mmoksas68/Music-Genre-Classification)."""
    import keras

    shape = check_shape(input_shape, 2, "n_frames, n_mels")
    inputs = keras.Input(shape, name="mel_frames")
    x = inputs
    for i, u in enumerate(units, start=1):
        x = recurrent(u, rnn, name=f"rnn{i}", return_sequences=i < len(units))(x)
    outputs = classifier(x, n_classes, head, embedding, dropout)
    return keras.Model(inputs, outputs, name="lstm_mel")


def build_crnn1d(input_shape, n_classes: int, head: str = "softmax", filters: int = 56,
                 kernel: int = 5, n_blocks: int = 3, l2: float = 1e-3, block_dropout: float = 0.2,
                 rnn: str = "lstm", units: int = 96, embedding: int = 64, dropout: float = 0.3,
                 rnn_layers: int = 1):
    """The CRNN of Dwivedi's FMA-small project (2018,
    github.com/priya-dwivedi/Music_Genre_Classification):
    3 x [Conv1D(56, k=5, L2) - BN - ReLU - MaxPool - Dropout]
    -> LSTM(96) (or GRU with ``rnn="gru"``; layer ``rnn``) -> Dense(64) named ``embedding`` -> head.

    ``rnn_layers=2`` stacks a second recurrent layer of the same size below the last one (the
    lower ones are named ``rnn1``, ...; the last stays ``rnn``), as in the hyper-parameter
    search of de la Torre Veguillas et al. (2025,
    github.com/nereadelatorre/Music-Genre-Classification).

    Notebook: 05_crnn.ipynb; ``search.search_crnn`` tunes its ``rnn_layers``.
    """
    import keras

    shape = check_shape(input_shape, 2, "n_frames, n_mels")
    rnn_layers = at_least_one(rnn_layers, "rnn_layers")
    inputs = keras.Input(shape, name="mel_frames")
    x = inputs
    for i in range(1, n_blocks + 1):
        x = conv1d_block(x, i, filters, kernel=kernel, pool=2, dropout=block_dropout, l2=l2)
    for i in range(1, rnn_layers):
        x = recurrent(units, rnn, name=f"rnn{i}", return_sequences=True)(x)
    x = recurrent(units, rnn, name="rnn")(x)
    outputs = classifier(x, n_classes, head, embedding, dropout)
    return keras.Model(inputs, outputs, name="crnn1d")


def build_crnn2d(input_shape, n_classes: int, head: str = "softmax", filters=(16, 32, 64, 64),
                 pools=((2, 2), (2, 2), (4, 2), (4, 2)), rnn: str = "gru", units: int = 64,
                 block_dropout: float = 0.1, embedding: int = 64, dropout: float = 0.3):
    """2D conv blocks over (frequency, time), then the frequency axis is folded into the
    channels and a GRU (or LSTM) reads the remaining time steps (as in Choi et al. 2017's CRNN
    and the FMA CNN-GRU models of de la Torre Veguillas et al. 2025)."""
    import keras
    from keras import layers

    n_mels, n_frames, _ = check_shape(input_shape, 3, "n_mels, n_frames, 1")
    inputs = keras.Input((n_mels, n_frames, 1), name="logmel")
    x = inputs
    for i, (f, p) in enumerate(zip(filters, pools), start=1):
        x = conv2d_block(x, i, f, pool=p, dropout=block_dropout)
    freq, time, ch = x.shape[1], x.shape[2], x.shape[3]
    x = layers.Permute((2, 1, 3), name="time_first")(x)
    x = layers.Reshape((time, freq * ch), name="to_sequence")(x)
    x = recurrent(units, rnn, name="rnn")(x)
    outputs = classifier(x, n_classes, head, embedding, dropout)
    return keras.Model(inputs, outputs, name="crnn2d")
