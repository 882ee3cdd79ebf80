"""musicnn re-built in Keras 3: the functional API, one named layer per step.

The architecture follows Pons and Serra 2019 ("musicnn: pre-trained convolutional neural
networks for music audio tagging"), re-implemented here from its description and from
reading the published model; every layer is named so features can be pulled out by name.

* **Front end**, musically motivated: the (frames, 96) log-mel patch is batch-normalised,
  then two *timbral* convolutions span 7 frames and 38 or 67 mel bands (40 % and 70 % of
  the spectrum, 204 filters each) and three *temporal* convolutions span 128, 64 or 32 frames
  and one band (51 filters each). Each is ReLU, batch norm, then a max over the frequency
  axis, so every branch gives one vector per frame: ``timbral`` (408 per frame) and
  ``temporal`` (153 per frame), concatenated as ``frontend`` (561).
* **Mid end**: three 1D convolutions over time (7 frames, 64 filters, ReLU, batch norm);
  the second and third add their input back (residual): ``cnn1``, ``cnn2``, ``cnn3``. The
  front end and the three are concatenated densely as ``midend`` (753 per frame).
* **Back end**: a max and a mean over time (``max_pool``, ``mean_pool``, 753 each),
  interleaved channel by channel into one vector of 1506, batch-normalised, dropout, a
  200-unit ReLU layer and batch norm (``penultimate``), dropout, and a 50-unit output
  (``logits``), with a sigmoid (``predictions``) for the 50 tags.

Only built-in Keras layers are used, so a model saved as ``.keras`` loads without custom
objects. The weights come from musicnn's checkpoints (:mod:`genre_lib.musicnn.weights`).

Notebook: none directly; :func:`genre_lib.musicnn.load_pretrained` builds the network with it.
"""
from __future__ import annotations

from .preprocessing import N_MELS, PATCH_FRAMES

TIMBRAL_BANDS = (0.4, 0.7)      # fraction of the mel bands a timbral filter spans
TIMBRAL_FRAMES = 7
TEMPORAL_FRAMES = (128, 64, 32)
FRONTEND_WIDTH = 1.6            # filters: 1.6 * 128 timbral, 1.6 * 32 temporal
MIDEND_KERNEL = 7
MIDEND_LAYERS = 3

# the outputs a caller can ask for, in the order of the network (all are layer names)
FEATURE_LAYERS = ("timbral", "temporal", "cnn1", "cnn2", "cnn3", "max_pool", "mean_pool",
                  "penultimate", "predictions")
# the per-patch vector each of them becomes when pooled over the frames of a patch
FRAME_LAYERS = ("timbral", "temporal", "cnn1", "cnn2", "cnn3")


def _front_branch(x, name: str, filters: int, kernel: tuple[int, int], padding: str, n_mels: int):
    """Conv2D, batch norm, max over all remaining bands, squeeze: (frames, filters)."""
    from keras import layers

    x = layers.Conv2D(filters, kernel, padding=padding, activation="relu", name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    bands = n_mels if padding == "same" else n_mels - kernel[1] + 1
    x = layers.MaxPooling2D((1, bands), name=f"{name}_pool")(x)
    return layers.Reshape((-1, filters), name=f"{name}_squeeze")(x)


def frontend(spec, n_mels: int = N_MELS):
    """The timbral and temporal branches over a batch-normalised (frames, n_mels, 1) input;
    returns the ``timbral`` and ``temporal`` tensors, both (frames, channels)."""
    from keras import layers

    # pad time only, so a 'valid' convolution over 7 frames keeps the frame count
    padded = layers.ZeroPadding2D(((TIMBRAL_FRAMES // 2,) * 2, (0, 0)), name="timbral_pad")(spec)
    timbral = [_front_branch(padded, f"timbral{int(frac * n_mels)}", int(FRONTEND_WIDTH * 128),
                             (TIMBRAL_FRAMES, int(frac * n_mels)), "valid", n_mels)
               for frac in TIMBRAL_BANDS]
    temporal = [_front_branch(spec, f"temporal{k}", int(FRONTEND_WIDTH * 32), (k, 1), "same", n_mels)
                for k in TEMPORAL_FRAMES]
    return (layers.Concatenate(name="timbral")(timbral),
            layers.Concatenate(name="temporal")(temporal))


def midend(x, filters: int = 64):
    """Three 1D convolutions over time, the last two residual; returns [cnn1, cnn2, cnn3]."""
    from keras import layers

    outs = []
    for i in range(1, MIDEND_LAYERS + 1):
        h = layers.Conv1D(filters, MIDEND_KERNEL, padding="same", activation="relu",
                          name=f"midend{i}_conv")(x)
        if i == 1:
            x = layers.BatchNormalization(name="cnn1")(h)
        else:
            h = layers.BatchNormalization(name=f"midend{i}_bn")(h)
            x = layers.Add(name=f"cnn{i}")([h, x])
        outs.append(x)
    return outs


def backend(x, n_classes: int, head: str, units: int = 200, dropout: float = 0.5):
    """Max and mean over time, dense penultimate layer, output layer ``predictions``."""
    from keras import layers

    mx = layers.GlobalMaxPooling1D(name="max_pool")(x)
    mean = layers.GlobalAveragePooling1D(name="mean_pool")(x)
    # the trained dense layer reads the two interleaved, channel by channel:
    # [max_0, mean_0, max_1, mean_1, ...] (the original stacks them on a last axis, then flattens)
    pairs = layers.Concatenate(name="pool_pairs")([layers.Reshape((-1, 1), name="max_pool_column")(mx),
                                                   layers.Reshape((-1, 1), name="mean_pool_column")(mean)])
    x = layers.Flatten(name="pool")(pairs)
    x = layers.BatchNormalization(name="pool_bn")(x)
    x = layers.Dropout(dropout, name="pool_dropout")(x)
    x = layers.Dense(units, activation="relu", name="penultimate_dense")(x)
    x = layers.BatchNormalization(name="penultimate")(x)
    return output_head(x, n_classes, head, dropout)


def output_head(x, n_classes: int, head: str = "sigmoid", dropout: float = 0.5):
    """Dropout, the ``logits`` Dense layer and the ``predictions`` activation."""
    from keras import layers

    if head not in ("sigmoid", "softmax"):
        raise ValueError(f"head must be 'sigmoid' or 'softmax', not {head!r}")
    x = layers.Dropout(dropout, name="penultimate_dropout")(x)
    x = layers.Dense(n_classes, name="logits")(x)
    return layers.Activation(head, name="predictions", dtype="float32")(x)


def build_musicnn(input_shape=(PATCH_FRAMES, N_MELS), n_classes: int = 50, head: str = "sigmoid",
                  midend_filters: int = 64, backend_units: int = 200, dropout: float = 0.5):
    """The musicnn network (Pons and Serra 2019) as an uncompiled Keras 3 model.

    ``input_shape`` is ``(frames, n_mels)``, frames first (``None`` frames accepts any
    length of at least 128 frames); the published checkpoints use ``(187, 96)``, 50 tags,
    64 mid-end filters and 200 back-end units. Weights start random: use
    :func:`genre_lib.musicnn.load_pretrained` for the trained ones.

    Notebook: none directly; used by :func:`genre_lib.musicnn.load_pretrained`.
    """
    import keras
    from keras import layers

    if len(tuple(input_shape)) != 2:
        raise ValueError(f"input_shape must be (frames, n_mels), got {tuple(input_shape)}")
    n_frames, n_mels = tuple(input_shape)
    inputs = keras.Input((n_frames, n_mels), name="logmel")
    x = layers.Reshape((-1, n_mels, 1), name="add_channel")(inputs)
    x = layers.BatchNormalization(name="input_bn")(x)
    timbral, temporal = frontend(x, n_mels)
    front = layers.Concatenate(name="frontend")([timbral, temporal])
    cnns = midend(front, midend_filters)
    mid = layers.Concatenate(name="midend")([front, *cnns])
    outputs = backend(mid, n_classes, head, backend_units, dropout)
    return keras.Model(inputs, outputs, name="musicnn")


def feature_model(model, layers=("penultimate",)):
    """A model with the same input and one output per layer name in ``layers`` (a dict
    ``{name: tensor}``), sharing ``model``'s weights.

    Notebook: none directly; :func:`genre_lib.musicnn.run_patches` reads the layers through it.
    """
    import keras

    names = [layers] if isinstance(layers, str) else list(layers)
    known = {layer.name for layer in model.layers}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise KeyError(f"no layer(s) {unknown} in {model.name}; feature layers: {FEATURE_LAYERS}")
    return keras.Model(model.input, {n: model.get_layer(n).output for n in names},
                       name=f"{model.name}_features")
