"""musicnn, pretrained, in Keras 3: the network, its weights, its input, and its features.

musicnn (Pons and Serra 2019, "musicnn: pre-trained convolutional neural networks for music
audio tagging") is a CNN trained to tag 3 s of music with 50 tags, on the Million Song
Dataset (``MSD_musicnn``) or on MagnaTagATune (``MTT_musicnn``). Its authors' package is
TensorFlow 1 code; this is a re-implementation for Keras 3 that loads the checkpoints the
musicnn 0.1.0 wheel ships (ISC licence) and reproduces the original network's taggrams and
penultimate features to within 1e-4 (``tests/test_musicnn.py``, against arrays made by
``scripts/musicnn_reference.py``).

==========================  ======================================================
``build_musicnn``           the network, random weights, named layers (a builder with
                            the package's usual ``(input_shape, n_classes, head)``)
``load_pretrained(name)``   the network with a checkpoint's trained weights
``TAGS[name]``              the 50 tag names of a model, in output order
``log_mel``, ``patches``    the input: 16 kHz, 96-band ``log10(10000 S + 1)`` mel, 3 s
``features``, ``taggram``   per-patch outputs of the layers asked for, for one clip
``clip_features``           the same for a dataset table, through the feature store
                            (a feature kind); ``.clips()`` pools them
``feature_model``           a model returning several named layers at once
``transfer``                PCA + SVM / XGBoost specs, patch votes, fine-tuning the top
                            layers, a linear probe, a CNN from scratch (a submodule)
``plots``                   the taggram and the learning curve (a submodule)
==========================  ======================================================

Feature layers (``FEATURE_LAYERS``): ``timbral`` and ``temporal`` (the front end), ``cnn1``
to ``cnn3`` (the mid end), ``max_pool`` and ``mean_pool`` (over time), ``penultimate``
(200 units) and ``predictions`` (the 50 tag probabilities).

Notebook: 10_transfer_learning.ipynb; docs/transfer.md.
"""
from __future__ import annotations

from .extract import features, run_patches, taggram
from .port import FEATURE_LAYERS, FRAME_LAYERS, build_musicnn, feature_model
from .preprocessing import (
    HOP,
    MEL_PARAMS,
    N_FFT,
    N_MELS,
    PATCH_FRAMES,
    SR,
    clip_patches,
    float16_overflow,
    log_mel,
    patch_seconds,
    patches,
)
from .table import PatchFeatures, clip_features
from .weights import (
    MODELS,
    TAGS,
    assign,
    checkpoint_prefix,
    ensure_weights,
    load_pretrained,
    read_checkpoint,
    reference_arrays,
)

__all__ = ["build_musicnn", "load_pretrained", "feature_model", "assign", "read_checkpoint",
           "checkpoint_prefix", "TAGS", "MODELS", "FEATURE_LAYERS", "FRAME_LAYERS",
           "log_mel", "MEL_PARAMS", "patches", "clip_patches", "patch_seconds",
           "float16_overflow", "features", "taggram", "run_patches", "clip_features",
           "PatchFeatures", "SR", "N_FFT", "HOP", "N_MELS", "PATCH_FRAMES", "ensure_weights",
           "reference_arrays"]
