"""Keras model builders, one function per architecture, all with the same signature::

    build_<name>(input_shape, n_classes, head="softmax", **hyper) -> keras.Model (uncompiled)

Every model is built with the functional API and every layer is named: the convolutions of
the 2D models are ``block1_conv`` ... ``block{N}_conv``, the penultimate Dense layer is
``embedding`` and the output layer is ``predictions`` (``head="softmax"`` for one genre
per track, ``head="sigmoid"`` for multi-label tags).

``BUILDERS`` maps each name to its builder; ``SPECS`` says what each model reads:

=====================  =====================  ============================================
name                   input layout           input shape
=====================  =====================  ============================================
``cnn1d_waveform``     ``wave``               ``(n_samples, 1)``
``cnn1d_mel``          ``mel1d``              ``(n_frames, n_mels)``
``cnn2d``              ``mel2d``              ``(n_mels, n_frames, 1)``
``chunk_cnn1d``        ``mel1d``              ``(n_frames, n_mels)``
``lstm_mel``           ``mel1d``              ``(n_frames, n_mels)``
``crnn1d``             ``mel1d``              ``(n_frames, n_mels)``
``crnn2d``             ``mel2d``              ``(n_mels, n_frames, 1)``
``parallel_cnn_rnn``   ``mel2d``              ``(n_mels, n_frames, 1)``
``short_chunk_resnet`` ``mel2d``              ``(n_mels, n_frames, 1)``
=====================  =====================  ============================================

Notebook: 04_cnn.ipynb, 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass

from .cnn import build_chunk_cnn1d, build_cnn1d_mel, build_cnn1d_waveform, build_cnn2d
from .common import HEADS, classifier  # noqa: F401
from .crnn import build_crnn1d, build_crnn2d, build_lstm_mel
from .parallel import build_parallel_cnn_rnn
from .resnet import build_short_chunk_resnet

BUILDERS = {
    "cnn1d_waveform": build_cnn1d_waveform,
    "cnn1d_mel": build_cnn1d_mel,
    "cnn2d": build_cnn2d,
    "chunk_cnn1d": build_chunk_cnn1d,
    "lstm_mel": build_lstm_mel,
    "crnn1d": build_crnn1d,
    "crnn2d": build_crnn2d,
    "parallel_cnn_rnn": build_parallel_cnn_rnn,
    "short_chunk_resnet": build_short_chunk_resnet,
}

LAYOUTS = ("mel2d", "mel1d", "wave")


@dataclass(frozen=True)
class ModelSpec:
    """What a model reads: its input layout, and the audio excerpt it is trained on.

    ``chunk_seconds`` is the excerpt length: training crops random excerpts of this length
    and a whole clip is judged by averaging the predictions of its consecutive excerpts.
    ``frame_multiple`` rounds the excerpt's frame count to a multiple (for models that
    split it further).
    """

    name: str
    layout: str
    chunk_seconds: float = 3.0
    frame_multiple: int = 1
    label: str = ""

    @property
    def feature_kind(self) -> str:
        return "waveform" if self.layout == "wave" else "logmel"

    @property
    def builder(self):
        return BUILDERS[self.name]


SPECS = {
    "cnn1d_waveform": ModelSpec("cnn1d_waveform", "wave", 3.0, label="1D CNN, raw waveform"),
    "cnn1d_mel": ModelSpec("cnn1d_mel", "mel1d", 3.0, label="1D CNN on mel frames"),
    "cnn2d": ModelSpec("cnn2d", "mel2d", 3.0, label="2D CNN on log-mel"),
    "chunk_cnn1d": ModelSpec("chunk_cnn1d", "mel1d", 3.0, frame_multiple=32,
                             label="1D CNN on short chunks, pooled"),
    "lstm_mel": ModelSpec("lstm_mel", "mel1d", 3.0, label="stacked LSTM on mel frames"),
    "crnn1d": ModelSpec("crnn1d", "mel1d", 3.0, label="CRNN: 1D conv + LSTM"),
    "crnn2d": ModelSpec("crnn2d", "mel2d", 3.0, label="CRNN: 2D conv + GRU"),
    "parallel_cnn_rnn": ModelSpec("parallel_cnn_rnn", "mel2d", 3.0,
                                  label="parallel CNN-RNN"),
    "short_chunk_resnet": ModelSpec("short_chunk_resnet", "mel2d", 3.0,
                                    label="short-chunk ResNet"),
}


def spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of model ``name`` (a clear error for unknown names)."""
    base = name.split("@")[0]
    if base not in SPECS:
        raise KeyError(f"unknown model {name!r}; choose from {', '.join(BUILDERS)}")
    return SPECS[base]


def builder_params(name: str) -> set[str]:
    """The keyword hyper-parameters that builder ``name`` accepts."""
    sig = inspect.signature(spec(name).builder)
    return {p for p in sig.parameters if p not in ("input_shape", "n_classes")}


def build(name: str, input_shape, n_classes: int, head: str = "softmax", **hyper):
    """Build model ``name`` (see ``BUILDERS``); unknown hyper-parameters are an error."""
    unknown = set(hyper) - builder_params(name)
    if unknown:
        raise TypeError(f"{name} takes no hyper-parameter(s) {sorted(unknown)}; "
                        f"it accepts {sorted(builder_params(name) - {'head'})}")
    return spec(name).builder(tuple(input_shape), n_classes, head=head, **hyper)


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


__all__ = ["BUILDERS", "SPECS", "ModelSpec", "spec", "build", "builder_params",
           "conv_layer_names", "layer_table", *[f.__name__ for f in BUILDERS.values()]]
