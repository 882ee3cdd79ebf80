"""Looking inside a trained model: activation maximisation, activation maps, saliency, Grad-CAM.

Four ways to see what a convolutional genre classifier has learned:

* **activation maximisation**: start from a faint random input and climb the gradient of one
  filter's mean activation (or one class's logit) with respect to the input. The result is the
  spectrogram-shaped pattern the unit likes best (Erhan et al. 2009; Simonyan et al. 2014).
* **intermediate activation maps**: the feature maps one real clip produces, layer by layer.
* **saliency**: the absolute gradient of a class score with respect to each time-frequency bin
  of a real clip (Simonyan et al. 2014), optionally averaged over noisy copies (SmoothGrad,
  Smilkov et al. 2017).
* **Grad-CAM**: the feature maps of the last convolution layer (by default; the convolution's
  own output, before its block's batch normalisation and ReLU) weighted by the pooled gradient
  of the class score, a coarse map of the regions that drive the decision (Selvaraju et al.
  2017).

The default backend is tf-keras-vis 0.8.7, the maintained successor of keras-vis, whose
defaults are tuned for VGG16 on photos; for small spectrogram models we pass our own input
range (taken from real inputs), no regularisers or jitter by default, a projection back into
that range every step, Adam with a larger step, and (for conv filters) a leaky copy of the
block's ReLU as the objective so that filters silent on the start image still move. Beside
each method sits a short ``tf.GradientTape`` implementation (``backend="tape"``) that computes
the same quantity; the tests check the two agree, and the tape version is what runs if
tf-keras-vis fails on a model.

Checked here with Keras 3.15 / TensorFlow 2.21: ``ActivationMaximization`` (with
``ReplaceToLinear``, ``CategoricalScore``, ``TotalVariation2D``), ``Saliency`` (with
SmoothGrad) and ``Gradcam`` all work and match the tape versions. Quirks handled here: Keras 3
warns on every call because tf-keras-vis passes single-input models a one-element list
(silenced); ``ActivationMaximization`` clips only the image it returns, not the image it
optimises (we clip every step with an input modifier); it runs eagerly, about 2.7x slower
than the compiled tape loop on the 2D CNN; SmoothGrad draws its noise from NumPy's global
generator (seeded here).

The package holds three modules: :mod:`.layers` (finding layers, sub-models, input ranges),
:mod:`.maximise` (activation maximisation) and :mod:`.attribution` (activation maps, saliency,
Grad-CAM); every public name is importable from ``genre_lib.interpret``.

Notebook: 07_filter_visualisation.ipynb.
"""
from __future__ import annotations

from .attribution import (
    activation_maps,
    excerpts,
    finish_cam,
    gradcam,
    gradcam_parts,
    most_active_units,
    pick_tracks,
    saliency,
    tf_keras_vis_check,
)
from .layers import (
    BACKENDS,
    OUTPUT_LAYER,
    conv_layers,
    first_and_last_conv,
    input_range,
    layer_model,
    linear_model,
    response_layer,
    unit_activation,
)
from .maximise import (
    Maximised,
    activation_gain,
    default_steps,
    image_stats,
    maximise,
    maximise_tape,
    maximise_tf_keras_vis,
    random_inputs,
    seed_inputs,
)

__all__ = [
    "BACKENDS",
    "Maximised",
    "OUTPUT_LAYER",
    "activation_gain",
    "activation_maps",
    "conv_layers",
    "default_steps",
    "excerpts",
    "finish_cam",
    "first_and_last_conv",
    "gradcam",
    "gradcam_parts",
    "image_stats",
    "input_range",
    "layer_model",
    "linear_model",
    "maximise",
    "maximise_tape",
    "maximise_tf_keras_vis",
    "most_active_units",
    "pick_tracks",
    "random_inputs",
    "response_layer",
    "saliency",
    "seed_inputs",
    "tf_keras_vis_check",
    "unit_activation",
]
