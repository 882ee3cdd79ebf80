"""The model registry: one :class:`ModelSpec` per model, declared once with
:func:`register_model`.

A spec says everything the rest of the package needs to know about a model: the builder,
the input layout (``mel2d``, ``mel1d`` or ``wave``), the feature kind and any feature
parameters that differ from the settings' (the raw-waveform model reads audio at
``settings.waveform_sr``), the excerpt length, model hyper-parameters and training defaults
that differ from the general ones, and a label for tables. Training, loading and the
notebooks read the spec; nothing else has a model-specific branch.

Notebook: 04_cnn.ipynb (the registry), docs/extending.md ("Adding a model").
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ..config import get_settings
from ..pipeline import LAYOUTS

# the axis of a layout's input that holds the bands (one statistic per band is normalised)
BAND_AXIS = {"mel2d": 1, "mel1d": -1, "wave": -1}
_REGISTRY: dict[str, ModelSpec] = {}


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to build, feed and describe one model.

    * ``builder``: ``build(input_shape, n_classes, head="softmax", **hyper) -> keras.Model``,
      functional API, named layers (``embedding``, ``predictions``);
    * ``layout``: ``mel2d`` ``(n_mels, n_frames, 1)``, ``mel1d`` ``(n_frames, n_mels)`` or
      ``wave`` ``(n_samples, 1)``;
    * ``feature_kind``: the cached feature it reads (default ``waveform`` for the ``wave``
      layout, else ``logmel``); ``feature_params``: parameters that differ from the settings'
      defaults, a dict or a function of the settings (``lambda s: {"sr": s.waveform_sr}``);
    * ``chunk_seconds``: the excerpt length; ``frame_multiple`` rounds its frame count;
    * ``hyper``: builder arguments that differ from the builder's own defaults;
    * ``train``: training defaults that differ from ``training.TRAIN_DEFAULTS``;
    * ``label``: a readable name for tables, or a function of the model hyper-parameters.
    """

    name: str
    builder: Callable
    layout: str
    label: str | Callable[[dict], str] = ""
    feature_kind: str = ""
    feature_params: dict | Callable = field(default_factory=dict)
    chunk_seconds: float = 3.0
    frame_multiple: int = 1
    hyper: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.name or "@" in self.name:
            raise ValueError(f"a model name must be non-empty and contain no '@': {self.name!r}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"{self.name}: layout must be one of {LAYOUTS}, not {self.layout!r}")
        if not callable(self.builder):
            raise TypeError(f"{self.name}: builder must be a function, got {self.builder!r}")
        first = list(inspect.signature(self.builder).parameters)[:2]
        if first != ["input_shape", "n_classes"]:
            raise TypeError(f"{self.name}: the builder must start with (input_shape, n_classes), "
                            f"not {first}")
        if not self.feature_kind:
            object.__setattr__(self, "feature_kind", "waveform" if self.layout == "wave" else "logmel")
        unknown = set(self.hyper) - self.params()
        if unknown:
            raise TypeError(f"{self.name}: the builder takes no hyper-parameter(s) {sorted(unknown)}")

    def params(self) -> set[str]:
        """The keyword hyper-parameters the builder accepts (without ``head``)."""
        sig = inspect.signature(self.builder)
        return {p for p in sig.parameters if p not in ("input_shape", "n_classes", "head")}

    def hyper_defaults(self) -> dict:
        """The builder's default hyper-parameters with the spec's own ``hyper`` applied."""
        sig = inspect.signature(self.builder)
        found = {k: p.default for k, p in sig.parameters.items()
                 if k in self.params() and p.default is not inspect.Parameter.empty}
        return {**found, **self.hyper}

    def features_for(self, *, settings=None, **overrides) -> dict:
        """The feature parameters this model reads under ``settings``: the defaults of its
        feature kind with the settings' values (``settings.mel_params`` for log-mel), then the
        spec's own ``feature_params`` (the waveform model's ``sr``), then ``overrides``
        (e.g. ``n_mels=96``). A parameter the kind does not take is a ``TypeError``.

        Notebook: 04_cnn.ipynb.
        """
        settings = settings or get_settings()
        from ..features import kind_defaults

        defaults = kind_defaults(self.feature_kind, settings=settings)
        own = self.feature_params(settings) if callable(self.feature_params) else self.feature_params
        unknown = (set(own) | set(overrides)) - set(defaults)
        if unknown:
            raise TypeError(f"{self.feature_kind!r} features of {self.name} take no parameter(s) "
                            f"{sorted(unknown)}; they take {sorted(defaults)}")
        return {**defaults, **own, **overrides}

    def input_shape(self, chunk_seconds: float | None = None, *, settings=None, **overrides) -> tuple:
        """The model's input shape under ``settings`` and feature ``overrides``, computed
        without extracting anything (e.g. for a preview :func:`build`).

        Notebook: 04_cnn.ipynb.
        """
        settings = settings or get_settings()
        from .. import pipeline

        params = self.features_for(**overrides, settings=settings)
        length = pipeline.chunk_length(self, params, chunk_seconds)
        return pipeline.input_shape_for(self, pipeline.n_bins(self.feature_kind, params), length)

    def label_for(self, hyper: dict | None = None) -> str:
        """The label for tables, given the model hyper-parameters in use."""
        if callable(self.label):
            return self.label({**self.hyper_defaults(), **(hyper or {})})
        return self.label or self.name


class _BuilderView(Mapping):
    """Read-only ``{name: builder}`` view of the registry (kept for older callers)."""

    def __getitem__(self, name: str) -> Callable:
        return _REGISTRY[name].builder

    def __iter__(self) -> Iterator[str]:
        return iter(_REGISTRY)

    def __len__(self) -> int:
        return len(_REGISTRY)


SPECS: Mapping[str, ModelSpec] = MappingProxyType(_REGISTRY)  # read-only {name: spec}
BUILDERS: Mapping[str, Callable] = _BuilderView()              # read-only {name: builder}


def register_model(spec: ModelSpec, replace: bool = False) -> ModelSpec:
    """Add a model to the registry; from then on ``load_or_train(spec.name)`` trains it.

    A name that is taken is an error unless ``replace=True`` (e.g. re-running a notebook
    cell that redefines a model).

    Notebook: docs/extending.md ("Adding a model").
    """
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"register_model takes a ModelSpec, not {type(spec).__name__}")
    if spec.name in _REGISTRY and not replace:
        raise ValueError(f"a model named {spec.name!r} is registered already; "
                         "pass replace=True to redefine it")
    _REGISTRY[spec.name] = spec
    return spec


def unregister_model(name: str) -> ModelSpec:
    """Remove a model from the registry (returns its spec)."""
    return _REGISTRY.pop(spec(name).name)


def spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of model ``name`` (a clear error for unknown names).

    Notebook: 04_cnn.ipynb, 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb.
    """
    base = name.split("@")[0]
    if base not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}; choose from {', '.join(_REGISTRY)}")
    return _REGISTRY[base]


def names() -> list[str]:
    """The registered model names, in registration order."""
    return list(_REGISTRY)


def builder_params(name: str) -> set[str]:
    """The keyword hyper-parameters that builder ``name`` accepts (``head`` included)."""
    return spec(name).params() | {"head"}


def build(name: str, input_shape, n_classes: int, head: str = "softmax", normalise=None,
          **hyper):
    """Build model ``name``: the spec's hyper-parameters, overridden by ``hyper``.

    ``normalise`` is ``(mean, variance)`` per band (e.g. from ``pipeline.Normaliser``): the
    model then starts with a ``normalise`` layer that standardises raw input with them, so
    it reads raw chunks on its own. Unknown hyper-parameters are an error.

    Notebook: 04_cnn.ipynb, 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb.
    """
    from .common import with_input_normalisation

    s = spec(name)
    unknown = set(hyper) - s.params()
    if unknown:
        raise TypeError(f"{name} takes no hyper-parameter(s) {sorted(unknown)}; "
                        f"it accepts {sorted(s.params())}")
    model = s.builder(tuple(input_shape), n_classes, head=head, **{**s.hyper, **hyper})
    if normalise is not None:
        mean, variance = normalise
        model = with_input_normalisation(model, mean, variance, BAND_AXIS[s.layout])
    return model
