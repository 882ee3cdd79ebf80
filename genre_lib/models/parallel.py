"""The parallel CNN-RNN of Dwivedi's FMA-small project (2018,
github.com/priya-dwivedi/Music_Genre_Classification): a convolutional branch and a recurrent
branch read the same log-mel excerpt side by side; their summaries are concatenated before the
head.

Input layout: ``(n_mels, n_frames, 1)`` (frequency first, then time).

Notebook: none directly; :func:`genre_lib.models.build` builds it by its registry name
``parallel_cnn_rnn``.
"""
from __future__ import annotations

from .common import check_shape, classifier, conv2d_block


def build_parallel_cnn_rnn(input_shape, n_classes: int, head: str = "softmax",
                           filters=(16, 32, 64, 64, 64), kernel=(1, 3),
                           pools=((2, 2), (2, 2), (2, 2), (2, 2), (4, 4)),
                           rnn_pool=(2, 4), units: int = 64, embedding: int = 64,
                           dropout: float = 0.3):
    """Conv branch: 5 blocks ``block1_conv`` ... ``block5_conv`` (16, 32, 64, 64, 64 filters)
    with max-pooling, flattened. Recurrent branch: max-pool the input by ``rnn_pool``, read it
    frame by frame with a bidirectional GRU(64). Both are concatenated, then
    Dense(64) ``embedding`` and the head.

    Layout note: Dwivedi's model fed a time-first image and used kernel (3, 1) (3 frames x 1 mel
    band) and a (4, 2) pool before the GRU (4 frames x 2 bands). Our images are
    frequency-first, so the same operations read ``kernel=(1, 3)`` and ``rnn_pool=(2, 4)``.
    """
    import keras
    from keras import layers

    n_mels, n_frames, _ = check_shape(input_shape, 3, "n_mels, n_frames, 1")
    inputs = keras.Input((n_mels, n_frames, 1), name="logmel")

    x = inputs
    for i, (f, p) in enumerate(zip(filters, pools), start=1):
        x = conv2d_block(x, i, f, kernel=kernel, pool=p)
    cnn = layers.Flatten(name="cnn_flatten")(x)

    r = layers.MaxPooling2D(rnn_pool, padding="same", name="rnn_input_pool")(inputs)
    freq, time = r.shape[1], r.shape[2]
    r = layers.Permute((2, 1, 3), name="rnn_time_first")(r)
    r = layers.Reshape((time, freq), name="rnn_sequence")(r)
    r = layers.Bidirectional(layers.GRU(units, name="gru"), name="bigru")(r)

    x = layers.Concatenate(name="cnn_rnn_concat")([cnn, r])
    outputs = classifier(x, n_classes, head, embedding, dropout)
    return keras.Model(inputs, outputs, name="parallel_cnn_rnn")
