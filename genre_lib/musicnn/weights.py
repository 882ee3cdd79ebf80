"""The trained musicnn weights: read from the checkpoints shipped in the musicnn 0.1.0 wheel.

The ``musicnn`` package (ISC licence) carries its TensorFlow 1 checkpoints inside the
wheel: ``musicnn/MSD_musicnn/`` (trained on the Million Song Dataset's 50 most common tags)
and ``musicnn/MTT_musicnn/`` (MagnaTagATune's 50), beside two VGG-style baselines. Set-up
installs it with ``pip install --no-deps musicnn==0.1.0`` (its metadata pins NumPy < 1.17;
none of its code is imported here). The checkpoint's ``checkpoint`` file names the
author's absolute path, which does not exist here, and :func:`tf.train.load_checkpoint`
given the folder follows that file and fails. The files themselves are named ``.index``
and ``.data-00000-of-00001``, so their prefix is the folder with a trailing slash; a
``tf.compat.v1.train.NewCheckpointReader`` opened on that prefix reads every variable.

The TensorFlow 1 layers were named by creation order (``conv2d``, ``conv2d_1``, ...,
``batch_normalization_10``); :data:`VARIABLE_MAP` ties each to a layer of the Keras port.

Notebook: 10_transfer_learning.ipynb.
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from .preprocessing import N_MELS, PATCH_FRAMES

MODELS = ("MSD_musicnn", "MTT_musicnn")
INSTALL_HINT = ("install the musicnn 0.1.0 wheel for its weights: `make setup`, or "
                "`python -m pip install --no-deps musicnn==0.1.0`")

# the 50 tags of each model, in the order of the output units
TAGS = {
    "MTT_musicnn": (
        "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast",
        "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male",
        "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman",
        "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man", "classic", "choir", "voice",
        "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello", "no voice",
        "weird", "country", "metal", "female voice", "choral"),
    "MSD_musicnn": (
        "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
        "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
        "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill",
        "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic", "experimental",
        "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening", "sexy",
        "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop",
        "sad", "House", "happy"),
}

# checkpoint scope -> Keras layer of the port (the same for both musicnn models)
VARIABLE_MAP = {
    "batch_normalization": "input_bn",
    "conv2d": "timbral38_conv", "batch_normalization_1": "timbral38_bn",
    "conv2d_1": "timbral67_conv", "batch_normalization_2": "timbral67_bn",
    "conv2d_2": "temporal128_conv", "batch_normalization_3": "temporal128_bn",
    "conv2d_3": "temporal64_conv", "batch_normalization_4": "temporal64_bn",
    "conv2d_4": "temporal32_conv", "batch_normalization_5": "temporal32_bn",
    "conv2d_5": "midend1_conv", "batch_normalization_6": "cnn1",
    "conv2d_6": "midend2_conv", "batch_normalization_7": "midend2_bn",
    "conv2d_7": "midend3_conv", "batch_normalization_8": "midend3_bn",
    "batch_normalization_9": "pool_bn",
    "dense": "penultimate_dense", "batch_normalization_10": "penultimate",
    "dense_1": "logits",
}
BN_ORDER = ("gamma", "beta", "moving_mean", "moving_variance")   # Keras's weight order
DENSE_ORDER = ("kernel", "bias")


def _check_name(name: str) -> str:
    if name not in MODELS:
        raise ValueError(f"unknown musicnn model {name!r}; choose from {', '.join(MODELS)}")
    return name


def package_dir() -> Path:
    """The installed ``musicnn`` package folder, found through the installed distribution's
    metadata (so a local file named ``musicnn.py`` cannot shadow it) and without importing
    its code, which would switch TensorFlow's eager mode off for the whole process."""
    import importlib.metadata as md

    try:
        folder = Path(md.distribution("musicnn").locate_file("musicnn"))
        if folder.is_dir():
            return folder
    except md.PackageNotFoundError:
        pass
    spec = importlib.util.find_spec("musicnn")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    raise FileNotFoundError(f"the musicnn package is not installed; {INSTALL_HINT}")


WHEEL = "musicnn==0.1.0"


def ensure_weights(install: bool = True) -> Path:
    """The musicnn package folder; when it is missing (as on Colab or after ``pip install
    genre_lib``) and ``install`` is true, install the musicnn 0.1.0 wheel without its
    dependencies first (its metadata pins NumPy < 1.17; only its checkpoints are used), saying
    so in one line. A failed install raises ``RuntimeError`` naming the command to run.

    Notebook: 10_transfer_learning.ipynb.
    """
    try:
        return package_dir()
    except FileNotFoundError:
        if not install:
            raise
    import subprocess
    import sys

    print(f"musicnn's weights are not installed: installing {WHEEL} without its dependencies ...",
          flush=True)
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", WHEEL],
                         capture_output=True, text=True)
    if pip.returncode:
        last = (pip.stderr or pip.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"could not install {WHEEL} ({last[0]}); "
                           f"run `python -m pip install --no-deps {WHEEL}` yourself") from None
    importlib.invalidate_caches()
    return package_dir()


REFERENCE_DIR = Path(__file__).resolve().parent / "reference"


def reference_arrays() -> tuple[dict, dict[str, np.ndarray]]:
    """The original network's outputs that the port is checked against, shipped with the
    package: (notes, arrays). ``notes`` names the models, clips and sample rate; ``arrays``
    holds ``<clip>/audio`` (int16) and ``<clip>/<model>/taggram`` and ``.../penultimate``, made
    by ``scripts/musicnn_reference.py`` from musicnn 0.1.0's own graph and checkpoints.

    Notebook: 10_transfer_learning.ipynb.
    """
    import json

    notes = json.loads((REFERENCE_DIR / "reference.json").read_text())
    with np.load(REFERENCE_DIR / "reference.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    return notes, arrays


def checkpoint_prefix(name: str = "MSD_musicnn") -> str:
    """The prefix of model ``name``'s checkpoint files (a folder path with a trailing slash)."""
    folder = package_dir() / _check_name(name)
    if not (folder / ".index").is_file():
        raise FileNotFoundError(f"no checkpoint for {name} in {folder}; {INSTALL_HINT}")
    return str(folder) + "/"


@lru_cache(maxsize=4)
def read_checkpoint(name: str = "MSD_musicnn") -> dict[str, np.ndarray]:
    """Every trained variable of checkpoint ``name`` as ``{tf1_name: array}`` (the Adam
    optimiser's slots and counters are left out). Cached: callers must not modify the arrays."""
    from ..quiet import import_tensorflow

    tf = import_tensorflow()
    reader = tf.compat.v1.train.NewCheckpointReader(checkpoint_prefix(name))
    names = reader.get_variable_to_shape_map()
    out = {}
    for var in sorted(names):
        if "Adam" in var or var.endswith("_power"):
            continue
        arr = reader.get_tensor(var)
        arr.setflags(write=False)
        out[var] = arr
    return out


def layer_weights(variables: dict[str, np.ndarray], scope: str, layer) -> list[np.ndarray]:
    """The arrays of checkpoint scope ``scope`` in the order and shape of Keras ``layer``."""
    kind = type(layer).__name__
    if kind == "BatchNormalization":
        arrays = [variables[f"{scope}/{part}"] for part in BN_ORDER]
    else:
        arrays = [variables[f"{scope}/{part}"] for part in DENSE_ORDER]
        if kind == "Conv1D":
            # a TF1 conv2d whose kernel spans every channel is a 1D convolution over time
            arrays[0] = arrays[0][:, :, 0, :]
    wanted = [tuple(w.shape) for w in layer.weights]
    got = [tuple(a.shape) for a in arrays]
    if wanted != got:
        raise ValueError(f"checkpoint scope {scope} does not fit layer {layer.name}: "
                         f"shapes {got} against {wanted}")
    return arrays


def assign(model, name: str = "MSD_musicnn", skip=()) -> list[str]:
    """Copy checkpoint ``name``'s weights into a model built by ``build_musicnn`` with the
    published sizes; layers named in ``skip`` (e.g. a new ``logits``) keep theirs.
    Returns the names of the layers assigned."""
    variables = read_checkpoint(_check_name(name))
    scopes = {v.split("/")[0] for v in variables}
    missing = scopes - set(VARIABLE_MAP)
    if missing:
        raise ValueError(f"checkpoint {name} holds scopes the port does not know: {sorted(missing)}")
    done = []
    for scope, layer_name in VARIABLE_MAP.items():
        if layer_name in skip:
            continue
        layer = model.get_layer(layer_name)
        layer.set_weights(layer_weights(variables, scope, layer))
        done.append(layer_name)
    return done


def load_pretrained(name: str = "MSD_musicnn", n_frames: int | None = PATCH_FRAMES):
    """The musicnn port with checkpoint ``name``'s trained weights (uncompiled), always in float32.

    ``n_frames`` fixes the patch length (default 187 frames, 3 s, as trained); with ``None``
    the model takes patches of any length, since every layer is a convolution or a pooling
    over time (the taggram's time resolution then changes, as in musicnn's own option).

    Notebook: 10_transfer_learning.ipynb.
    """
    from ..devices import float32_policy
    from .port import build_musicnn

    _check_name(name)
    with float32_policy():  # float32 also on a GPU, where training sets mixed precision
        model = build_musicnn((n_frames, N_MELS), n_classes=len(TAGS[name]), head="sigmoid")
    assign(model, name)
    return model
