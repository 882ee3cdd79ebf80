"""Keras model builders, one function per architecture, all with the same signature::

    build_<name>(input_shape, n_classes, head="softmax", **hyper) -> keras.Model (uncompiled)

Every model is built with the functional API and every layer is named: the convolutions of
the 2D models are ``block1_conv`` ... ``block{N}_conv``, the penultimate Dense layer is
``embedding`` and the output layer is ``predictions`` (``head="softmax"`` for one genre
per track, ``head="sigmoid"`` for multi-label tags). Models built for training also start
with a ``normalise`` layer (see :func:`build`), so a saved model reads raw chunks.

Each model is declared once, below, as a :class:`ModelSpec` passed to :func:`register_model`
(a new model is one more declaration; see docs/extending.md). ``SPECS`` and ``BUILDERS`` are
read-only views of the registry. Saved models are read here too: :class:`Trained`, :func:`load`,
:func:`load_all`, :func:`paths_for` and :func:`saved_models` (from :mod:`.trained`).

======================  =====================  ==============================================
name                    input layout           input shape
======================  =====================  ==============================================
``cnn1d_waveform``      ``wave``               ``(n_samples, 1)`` at ``settings.waveform_sr``
``cnn1d_mel``           ``mel1d``              ``(n_frames, n_mels)``
``cnn2d``               ``mel2d``              ``(n_mels, n_frames, 1)``
``chunk_cnn1d``         ``mel1d``              ``(n_frames, n_mels)``
``lstm_mel``            ``mel1d``              ``(n_frames, n_mels)``
``crnn1d``              ``mel1d``              ``(n_frames, n_mels)``
``crnn2d``              ``mel2d``              ``(n_mels, n_frames, 1)``
``parallel_cnn_rnn``    ``mel2d``              ``(n_mels, n_frames, 1)``
``short_chunk_resnet``  ``mel2d``              ``(n_mels, n_frames, 1)``
======================  =====================  ==============================================

Notebook: 04_cnn.ipynb, 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb.
"""
from __future__ import annotations

from .cnn import build_chunk_cnn1d, build_cnn1d_mel, build_cnn1d_waveform, build_cnn2d
from .common import HEADS, classifier, with_input_normalisation  # noqa: F401
from .crnn import build_crnn1d, build_crnn2d, build_lstm_mel
from .parallel import build_parallel_cnn_rnn
from .registry import (
    BUILDERS,
    LAYOUTS,
    SPECS,
    ModelSpec,
    build,
    builder_params,
    names,
    register_model,
    spec,
    unregister_model,
)
from .resnet import build_short_chunk_resnet
from .trained import Trained, load, load_all, paths_for, saved_models


def _rnn_label(text: str):
    """A label naming the recurrent cell in use: ``text`` with ``{rnn}`` filled in."""
    return lambda hyper: text.format(rnn=str(hyper.get("rnn", "")).upper())


# Step budgets (``train={"steps": ...}``): the step at which the mean validation loss of three
# seeds was lowest in the learning curves of ``make curves`` on synth, full profile (an epoch
# is 512 chunks = 16 steps of 32; docs/training_budgets.md). crnn1d, cnn1d_waveform and
# lstm_mel were still improving at the end of the 640 steps measured.
for _spec in (
    ModelSpec("cnn1d_waveform", build_cnn1d_waveform, "wave", "1D CNN, raw waveform",
              feature_params=lambda settings: {"sr": settings.waveform_sr}, train={"steps": 608}),
    ModelSpec("cnn1d_mel", build_cnn1d_mel, "mel1d", "1D CNN on mel frames", train={"steps": 544}),
    ModelSpec("cnn2d", build_cnn2d, "mel2d", "2D CNN on log-mel", train={"steps": 672}),
    ModelSpec("chunk_cnn1d", build_chunk_cnn1d, "mel1d", "1D CNN on short chunks, pooled",
              frame_multiple=32),
    ModelSpec("lstm_mel", build_lstm_mel, "mel1d", _rnn_label("stacked {rnn} on mel frames"),
              train={"steps": 624}),
    ModelSpec("crnn1d", build_crnn1d, "mel1d", _rnn_label("CRNN: 1D conv + {rnn}"),
              train={"steps": 624}),  # LSTM 624, GRU 544: the longer of the two
    ModelSpec("crnn2d", build_crnn2d, "mel2d", _rnn_label("CRNN: 2D conv + {rnn}"),
              train={"steps": 544}),
    ModelSpec("parallel_cnn_rnn", build_parallel_cnn_rnn, "mel2d", "parallel CNN-RNN",
              train={"steps": 560}),
    ModelSpec("short_chunk_resnet", build_short_chunk_resnet, "mel2d", "short-chunk ResNet",
              train={"steps": 464}),
):
    register_model(_spec)
del _spec


def conv_layer_names(model) -> list[str]:
    """Names of the ``block{i}_conv`` layers of a model, in block order."""
    import re

    names = [layer.name for layer in model.layers if re.fullmatch(r"block\d+_conv", layer.name)]
    return sorted(names, key=lambda n: int(re.findall(r"\d+", n)[0]))


def layer_table(model, trainable_only: bool = False):
    """The model as a table: one row per layer with its name, type, output shape and
    parameter count (a plainer ``model.summary()`` that notebooks can display and slice).

    Notebook: 04_cnn.ipynb.
    """
    import pandas as pd

    rows = []
    for layer in model.layers:
        try:
            shape = tuple(layer.output.shape)[1:]
        except (AttributeError, ValueError):
            shape = None
        n = int(layer.count_params()) if layer.built else 0
        if trainable_only and not layer.trainable_weights:
            continue
        rows.append({"layer": layer.name, "type": type(layer).__name__,
                     "output shape": str(shape).replace("None", "-"), "parameters": n})
    return pd.DataFrame(rows)


__all__ = ["BUILDERS", "SPECS", "LAYOUTS", "ModelSpec", "register_model", "unregister_model",
           "Trained", "load", "load_all", "paths_for", "saved_models",
           "spec", "names", "build", "builder_params", "with_input_normalisation",
           "conv_layer_names", "layer_table",
           "build_cnn1d_waveform", "build_cnn1d_mel", "build_cnn2d", "build_chunk_cnn1d",
           "build_lstm_mel", "build_crnn1d", "build_crnn2d", "build_parallel_cnn_rnn",
           "build_short_chunk_resnet"]
