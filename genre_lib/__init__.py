"""genre_lib: the helper package of the music genre classification curriculum.

Start every notebook with::

    import genre_lib as gl
    settings = gl.start()

which prints the settings and the compute device, seeds the random generators and sets a
consistent figure style. Everything else is one call into a module:
``gl.datasets``, ``gl.audio``, ``gl.features``, ``gl.plotting``, ``gl.evaluation`` ...
"""
from __future__ import annotations

import random

import numpy as np

from .config import Settings, get_settings  # noqa: F401

__version__ = "0.2.0"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (when it is already imported) TensorFlow.

    On a CPU that is enough for bit-identical trainings on one machine (tests/test_determinism.py).
    On a GPU some kernels sum in a varying order; ``GENRE_DETERMINISTIC=1`` asks TensorFlow for
    deterministic kernels everywhere (slower, and an op without one then raises an error that
    names it).
    """
    random.seed(seed)
    np.random.seed(seed)
    import os
    import sys

    if "tensorflow" in sys.modules or "keras" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)
        if os.environ.get("GENRE_DETERMINISTIC", "").strip() in ("1", "true", "yes"):
            import tensorflow as tf

            tf.config.experimental.enable_op_determinism()


def start(device: bool = True, **overrides) -> Settings:
    """Print the settings and the device, seed everything, and return the settings.

    TensorFlow is imported here, through :func:`genre_lib.quiet.import_tensorflow`, so its
    start-up lines (harmless on a CPU-only machine) do not fill the first cell's output while
    real errors still show; later first imports of TensorFlow or Keras are quiet as well.
    """
    from . import quiet

    quiet.install()
    settings = get_settings(**overrides)
    print(settings)
    note = settings.where_note()
    if note:
        print(note)
    if device:
        from .devices import describe_device

        print("device:", describe_device())
    seed_everything(settings.seed)
    try:
        import matplotlib.pyplot as plt

        plt.rcParams.update({"figure.dpi": 90, "savefig.dpi": 110, "axes.grid": False,
                             "figure.autolayout": False})
    except ImportError:
        pass
    return settings


def versions() -> dict:
    """Versions of the packages that shape the results (recorded with every result row)."""
    import importlib.metadata as md
    import platform

    out = {"python": platform.python_version(), "genre_lib": __version__}
    for name in ("numpy", "librosa", "scikit-learn", "tensorflow", "keras"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out


# every submodule, imported on first use: ``gl.features``, ``gl.evaluation`` ... (``__main__``
# and ``first_cell`` are commands, not API)
_SUBMODULES = frozenset({
    "analysis", "audio", "baselines", "book", "callbacks", "config", "datasets", "devices",
    "embeddings", "evaluation", "exercises", "extras", "features", "grading", "interpret", "models",
    "musicnn", "parallel", "pipeline", "plotting", "published", "quiet", "ranking", "runner",
    "search", "serve", "spectral", "store", "tagging", "training",
})


def __getattr__(name):
    """``gl.features``, ``gl.evaluation``, ...: submodules are imported on first use."""
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    """The package's own names and its submodules, so tab completion on ``gl.`` lists them."""
    own = {n for n, v in globals().items()
           if not n.startswith("_") and n != "annotations" and type(v).__name__ != "module"}
    return sorted(own | _SUBMODULES)
