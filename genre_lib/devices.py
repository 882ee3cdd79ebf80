"""Where training runs: the CPU, one GPU (mixed precision) or several (data parallelism).

Notebook: 04_cnn.ipynb (which device did the work).
"""
from __future__ import annotations

import contextlib
import os


def gpus() -> list:
    """The GPUs TensorFlow can see (an empty list on a CPU-only machine). Imports TensorFlow
    through :func:`genre_lib.quiet.import_tensorflow`, so its start-up lines do not show."""
    from .quiet import import_tensorflow

    return import_tensorflow().config.list_physical_devices("GPU")


def describe_device() -> str:
    """One line naming the compute device and the precision (and strategy) training uses on
    it, the package's one description of the device: ``CPU only (2 cores): float32``,
    ``1 GPU (NVIDIA H100 80GB HBM3): mixed precision on (float16 compute, float32 weights)``
    or ``2 GPUs (2x NVIDIA A100): mixed precision on (float16 compute, float32 weights),
    MirroredStrategy data parallelism`` (the choices :func:`get_strategy` makes). Printed by
    ``genre_lib.start()`` and recorded in every saved model's sidecar.

    Notebook: 04_cnn.ipynb, 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb, 10_transfer_learning.ipynb.
    """
    from .quiet import import_tensorflow

    tf = import_tensorflow()
    found = gpus()
    if not found:
        return f"CPU only ({os.cpu_count()} cores): float32"
    names = []
    for gpu in found:
        label = getattr(gpu, "name", str(gpu))
        try:
            names.append(tf.config.experimental.get_device_details(gpu).get("device_name") or label)
        except (RuntimeError, ValueError, AttributeError, TypeError):
            names.append(label)
    kinds = ", ".join(n if names.count(n) == 1 else f"{names.count(n)}x {n}"
                      for n in dict.fromkeys(names))
    if len(found) == 1:
        return f"1 GPU ({kinds}): mixed precision on (float16 compute, float32 weights)"
    return (f"{len(found)} GPUs ({kinds}): mixed precision on (float16 compute, float32 weights), "
            "MirroredStrategy data parallelism")


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
