"""Where training runs: the CPU, one GPU (mixed precision) or several (data parallelism).

Notebook: 04_cnn.ipynb (which device did the work).
"""
from __future__ import annotations

import contextlib
import os


def gpus() -> list:
    """The GPUs TensorFlow can see (an empty list on a CPU-only machine)."""
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def describe_device() -> str:
    """One line saying where training runs: CPU, one GPU (mixed precision), or several.

    Notebook: 04_cnn.ipynb, 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb.
    """
    n = len(gpus())
    if n > 1:
        return f"{n} GPUs: MirroredStrategy data parallelism, mixed precision (float16 compute)"
    if n == 1:
        return "1 GPU: mixed precision (float16 compute, float32 weights and outputs)"
    return f"CPU only ({os.cpu_count()} cores): float32, no distribution strategy"


def get_strategy():
    """The ``tf.distribute`` strategy for this machine; sets mixed precision on a GPU.

    More than one GPU: ``MirroredStrategy`` (one replica per GPU, gradients all-reduced).
    One GPU or CPU: the default strategy. Build and compile models inside
    ``strategy.scope()``.
    """
    import keras
    import tensorflow as tf

    n = len(gpus())
    keras.mixed_precision.set_global_policy("mixed_float16" if n else "float32")
    if n > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


__all__ = ["gpus", "describe_device", "get_strategy", "float32_policy"]


@contextlib.contextmanager
def float32_policy():
    """Build layers in float32 inside the block, whatever the global policy, then restore it.

    A GPU run sets the global ``mixed_float16`` policy (:func:`get_strategy`); a pretrained
    network that must reproduce its original to 1e-4, such as the musicnn port, is built in
    float32 regardless.
    """
    import keras

    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)
