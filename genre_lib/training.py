"""Training: the task, :func:`train`, and :func:`load_or_train`, which later notebooks use to
get a model trained on their table by name (optimisers and callbacks: :mod:`genre_lib.callbacks`).

:func:`task` says what the models of the current dataset learn (one genre, or tags) and how
they are scored. :func:`train` reads the model's spec from the registry
(:mod:`genre_lib.models`), extracts the features it asks for, builds the training split's
normalisation statistics into the model as its first layer, fits on random chunks streamed
by :mod:`genre_lib.pipeline`, scores whole tracks on the valid and test splits (one results
row each), and saves the self-contained ``models/<run name>/<name>.keras`` with its JSON
sidecar (:mod:`genre_lib.models.saving`).

Notebook: 04_cnn.ipynb (training loop, callbacks, devices), 05_crnn.ipynb,
06_parallel_cnn_rnn.ipynb (loading a saved model by name).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import evaluation, features, pipeline, quiet
from . import models as model_zoo
from .callbacks import OPTIMIZERS, SCHEDULES, make_callbacks, make_optimizer, read_resume
from .config import Profile, Settings, get_settings
from .datasets import has_genres, has_tags
from .datasets.contract import table_digest
from .devices import describe_device, get_strategy
from .models.saving import SavedModelError, jsonable, read_sidecar, save_pair
from .models.trained import SIDECAR_VERSION, Trained, load, paths_for
from .pipeline import Normaliser

WAVEFORM_SR = Settings.waveform_sr  # alias of the settings' default; read settings.waveform_sr
# steps: the budget in optimiser steps; epoch_chunks: chunks per epoch (validation acts once per
# epoch); epochs: an optional epoch cap; time_budget_s: a safety cap (the profile's, 30 minutes)
TRAIN_DEFAULTS = dict(lr=3e-3, batch_size=None, steps=600, epoch_chunks=512, epochs=None,
                      patience=6, augment=("gain", "mask"), valid_chunks_per_track=4,
                      time_budget_s=None, chunk_seconds=None, target="auto", n_tags=50,
                      verbose=None, optimizer="adam", weight_decay=None, schedule="plateau",
                      decay_every=None, seed=None)


class TrainingError(RuntimeError):
    """A model that cannot be trained on the current data (the message says why)."""


# -- the task -----------------------------------------------------------------------------------
_BY_TARGET = {
    "genre": dict(metric="accuracy", metrics=("accuracy", "f1_macro"), fit_metric="accuracy",
                  head="softmax", loss="sparse_categorical_crossentropy"),
    "tags": dict(metric="roc_auc", metrics=("roc_auc", "pr_auc"), fit_metric="auc",
                 head="sigmoid", loss="binary_crossentropy"),
}


@dataclass(frozen=True, eq=False)
class Task:
    """What the models learn on this dataset: one ``genre`` per track (softmax) or ``tags``
    (sigmoid, multi-label), the classes present in the train split, and how it is scored.

    ``table`` holds the tracks that carry the target (for genres: a genre seen in training);
    ``metric`` is the headline track-level metric, ``metrics`` the two shown side by side,
    ``fit_metric`` the chunk-level one Keras reports while fitting (``val_`` + it on valid).
    """

    target: str
    classes: list
    table: pd.DataFrame = field(repr=False)
    metric: str = field(init=False)
    metrics: tuple = field(init=False)
    fit_metric: str = field(init=False)
    head: str = field(init=False)
    loss: str = field(init=False)

    def __post_init__(self):
        for key, value in _BY_TARGET[self.target].items():
            object.__setattr__(self, key, value)

    @property
    def n_classes(self) -> int:
        """The number of classes (genres, or tags), which is also a model's output size."""
        return len(self.classes)

    n_outputs = n_classes

    @property
    def chance(self) -> float | None:
        """Accuracy of a uniform guess (genres); None for tags, whose PR-AUC chance level
        depends on each tag's frequency."""
        return 1 / self.n_classes if self.target == "genre" else None

    def __repr__(self) -> str:
        chance = "" if self.chance is None else f", chance={self.chance:.2f}"
        return (f"Task(target={self.target!r}, {self.n_classes} classes, "
                f"metric={self.metric!r}{chance}, head={self.head!r})")

    def __str__(self) -> str:
        if self.target == "genre":
            return (f"target: one genre out of {self.n_classes} (chance level {self.chance:.2f}), "
                    f"scored by {self.metric}")
        return (f"target: {self.n_classes} tags, multi-label (sigmoid head), scored by "
                "ROC-AUC and PR-AUC")


def task(table: pd.DataFrame | None = None, target: str = "auto", n_tags: int = 50, *,
         settings: Settings | None = None) -> Task:
    """The :class:`Task` for ``table`` (default: the current dataset's whole table).

    Genres: the classes are the genres present in the train split, and tracks of other
    genres are left out. Tags: the ``n_tags`` most frequent tags of the train split; a
    dataset with genres but no tags is tagged with its genres (``tagging.ensure_tags``).

    Notebook: 04_cnn.ipynb, 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb.
    """
    if table is None:
        from .datasets import load_table

        table = load_table(settings=settings)
    if target == "tags" and not has_tags(table) and has_genres(table):
        from .tagging import ensure_tags

        table, note = ensure_tags(table)  # e.g. GTZAN: each clip tagged with its genre
        print(f"note: {note}")
    target = choose_target(table, target)
    if target == "genre":
        table = table[table["genre"].notna()].reset_index(drop=True)
        classes = sorted(table.loc[table["split"] == "train", "genre"].unique().tolist())
        table = table[table["genre"].isin(classes)].reset_index(drop=True)
    else:
        classes = top_tags(table, n_tags)
    if len(classes) < 2:
        raise TrainingError(f"need at least 2 classes in the train split, found {classes}")
    return Task(target, classes, table)


def choose_target(table: pd.DataFrame, target: str = "auto") -> str:
    """``genre`` (softmax) when the dataset has genres, else ``tags`` (sigmoid)."""
    if target == "auto":
        if has_genres(table):
            return "genre"
        if has_tags(table):
            return "tags"
        raise TrainingError("this dataset has neither genre labels nor tags to train on")
    if target == "genre" and not has_genres(table):
        raise TrainingError("this dataset has no genre labels (it is tagged only); "
                            "train with target='tags' instead")
    if target == "tags" and not has_tags(table):
        raise TrainingError("this dataset has no tags")
    if target not in ("genre", "tags"):
        raise ValueError(f"target must be 'auto', 'genre' or 'tags', not {target!r}")
    return target


def top_tags(table: pd.DataFrame, n: int) -> list[str]:
    """The ``n`` most frequent tags of the train split, sorted by name.

    Notebook: 09_multilabel_tagging.ipynb.
    """
    counts = pd.Series([t for ts in table.loc[table["split"] == "train", "tags"] for t in ts])
    return counts.value_counts().head(n).index.sort_values().tolist()


# -- load or train --------------------------------------------------------------------------------
def _split_hyper(spec: model_zoo.ModelSpec, hyper: dict, *, settings: Settings) -> tuple[dict, dict, dict]:
    """``hyper`` split into (model hyper-parameters, training options with the defaults
    filled in, feature parameters); a name none of them takes is a ``TypeError``."""
    bad = set(spec.train) - set(TRAIN_DEFAULTS)
    if bad:
        raise TypeError(f"{spec.name}: the spec's training defaults name unknown option(s) "
                        f"{sorted(bad)}; training takes {sorted(TRAIN_DEFAULTS)}")
    build_keys = spec.params()
    feature_keys = set(features.kind_defaults(spec.feature_kind, settings=settings))
    model_hyper, train_hyper, feature_kw = {}, {**TRAIN_DEFAULTS, **spec.train}, {}
    for k, v in hyper.items():
        if k in build_keys:
            model_hyper[k] = v
        elif k in TRAIN_DEFAULTS:
            train_hyper[k] = v
        elif k in feature_keys:
            feature_kw[k] = v
        else:
            raise TypeError(f"{spec.name}: unknown hyper-parameter {k!r}; the model takes "
                            f"{sorted(build_keys)}, training takes {sorted(TRAIN_DEFAULTS)}, "
                            f"its {spec.feature_kind} features take {sorted(feature_keys)}")
    return model_hyper, train_hyper, feature_kw


def load_or_train(name: str, table: pd.DataFrame | None = None, *, force: bool = False,
                  arch: str | None = None, callbacks=None, score_on=("valid", "test"),
                  settings: Settings | None = None, **hyper) -> Trained:
    """The model called ``name``: loaded from ``models/<run name>/<name>.keras`` when it was
    saved before with the same hyper-parameters and feature parameters, otherwise trained
    now on ``table`` and saved.

    ``table`` is the dataset table to train and score on (default: the current dataset's,
    read with :func:`genre_lib.datasets.load_table`); pass the table a notebook already
    loaded, so the table shown and the one trained on are one read. A model saved from
    another table (other tracks, splits or labels) is trained again.

    ``arch`` is the registered model (default: ``name``), so variants can be kept apart, e.g.
    ``load_or_train("crnn1d_gru", arch="crnn1d", rnn="gru")``. ``hyper`` mixes model
    hyper-parameters (passed to the builder), training options (``lr``, ``steps``: the budget
    in optimiser steps, ``epoch_chunks``: the chunks of one epoch, ``epochs``: a cap on the
    epochs, ``batch_size``, ``patience``, ``augment``, ``chunk_seconds``, ``time_budget_s``,
    ``target``, ``n_tags``, ``optimizer``, ``weight_decay``, ``schedule``, ``decay_every``,
    ``seed``: the training seed, default the settings'; it leaves the data and its split alone)
    and feature parameters (``n_mels``, ``hop_length`` ...: ``load_or_train("cnn2d_96",
    arch="cnn2d", n_mels=96)`` trains on 96-band log-mel). Defaults come from the model's spec,
    then ``TRAIN_DEFAULTS``, the settings' feature parameters and the profile (batch size; the
    ci profile caps steps and epochs).

    A training runs for its step budget (docs/training_budgets.md; early stopping may end it
    sooner), so a seed gives the same model on any machine of one kind. The profile's wall-clock
    limit is a safety cap that warns when it fires (``time_budget_hit``). An interrupted training
    resumes from its last finished epoch and ends with the same model. A saved model that is
    unreadable, of an older format, or disagrees with its sidecar is retrained, with the reason
    printed. Changing a default in the code does not retrain saved models: pass ``force=True``.

    ``callbacks`` are extra Keras callbacks for the fit (e.g. a search's pruning callback);
    ``score_on`` names the splits scored after training (a search's trials score ``valid``
    only, so the test split stays untouched).

    Notebook: 04_cnn.ipynb, 05_crnn.ipynb, 06_parallel_cnn_rnn.ipynb, 07, 08, 09,
    12_serving.ipynb.
    """
    settings = settings or get_settings()
    arch = arch or name
    spec = model_zoo.spec(arch)  # a clear error for unknown names, before anything else
    model_hyper, train_hyper, feature_kw = _split_hyper(spec, hyper, settings=settings)
    fparams = spec.features_for(**feature_kw, settings=settings)
    request = jsonable({"arch": arch, "model": model_hyper, "features": feature_kw,
                         "train": {k: v for k, v in hyper.items() if k in TRAIN_DEFAULTS}})
    if not force:
        trained = _load_if_current(name, request, fparams, table, settings=settings)
        if trained is not None:
            return trained
    return train(name, table, arch=arch, model_hyper=model_hyper, train_hyper=train_hyper,
                 request=request, fparams=fparams, callbacks=callbacks, score_on=score_on,
                 settings=settings)


def _load_if_current(name: str, request: dict, fparams: dict, table: pd.DataFrame | None = None, *,
                     settings: Settings) -> Trained | None:
    """The saved model ``name`` if it answers ``request`` with ``fparams``, was trained on
    ``table`` (when given and recorded) and passes every check on load; otherwise None, with
    the reason printed."""
    model_path, meta_path = paths_for(name, settings=settings)
    if not (model_path.exists() and meta_path.exists()):
        return None
    try:
        meta = read_sidecar(model_path, meta_path, SIDECAR_VERSION)
        if meta.get("request") != request:
            print(f"{name}: saved with other hyper-parameters ({meta.get('request')}); retraining")
            return None
        if meta.get("feature_params") != jsonable(fparams):
            print(f"{name}: saved for other feature parameters ({meta.get('feature_params')}); "
                  "retraining")
            return None
        if table is not None and meta.get("table_digest") not in (None, table_digest(table)):
            print(f"{name}: saved from another table (other tracks, splits or labels); retraining")
            return None
        trained = load(name, settings=settings)
    except SavedModelError as exc:
        print(f"{name}: {exc}; retraining")
        return None
    except (ValueError, OSError, KeyError) as exc:
        print(f"{name}: saved model unreadable ({type(exc).__name__}: {exc}); retraining")
        return None
    print(f"loaded {name} from {model_path} (trained {meta.get('trained_at')}, "
          f"{meta.get('epochs_run')} epochs)")
    return trained


# -- train, step by step --------------------------------------------------------------------------
@dataclass
class _Data:
    """The features of one training run and what the pipeline needs to read them."""

    fs: features.FeatureSet
    Y: np.ndarray
    train_rows: np.ndarray
    valid_rows: np.ndarray
    length: int
    shape: tuple
    norm: Normaliser


def _options(spec: model_zoo.ModelSpec, train_hyper: dict, profile: Profile) -> dict:
    """Training options: TRAIN_DEFAULTS, the spec's, the caller's, then the profile's caps."""
    h = {**TRAIN_DEFAULTS, **spec.train, **train_hyper}
    h["batch_size"] = int(h["batch_size"] or profile.batch_size)
    h["steps"] = int(h["steps"])
    h["epoch_chunks"] = int(h["epoch_chunks"])
    if profile.train_steps_cap:
        h["steps"] = min(h["steps"], profile.train_steps_cap)
    if profile.epoch_chunks_cap:
        h["epoch_chunks"] = min(h["epoch_chunks"], profile.epoch_chunks_cap)
    h["verbose"] = h["verbose"] if h["verbose"] is not None else 0
    if h["time_budget_s"] is None:
        h["time_budget_s"] = profile.train_time_budget_s
    if h["optimizer"] not in OPTIMIZERS or h["schedule"] not in SCHEDULES:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS} and schedule one of {SCHEDULES}, "
                         f"not {h['optimizer']!r} and {h['schedule']!r}")
    return h


def schedule_for(h: dict, global_batch: int, explicit_steps: bool = False) -> tuple[int, int]:
    """``(steps per epoch, epochs)`` of a training with options ``h``: an epoch is
    ``epoch_chunks`` chunks in batches of ``global_batch``; the epochs cover the ``steps``
    budget, or are exactly ``epochs`` when that is given without an explicit ``steps``
    (at most ``epochs`` when both are)."""
    per_epoch = max(1, math.ceil(h["epoch_chunks"] / global_batch))
    n_epochs = max(1, math.ceil(h["steps"] / per_epoch))
    if h.get("epochs"):
        n_epochs = min(n_epochs, int(h["epochs"])) if explicit_steps else int(h["epochs"])
    return per_epoch, n_epochs


def _prepare(spec: model_zoo.ModelSpec, job: Task, fparams: dict, h: dict, *,
             settings: Settings) -> _Data:
    """Features (from the cache), labels, split rows, chunk length, input shape and the
    training split's normalisation statistics."""
    fs = features.extract(job.table, spec.feature_kind, **fparams, settings=settings)
    split = fs.table["split"].to_numpy()
    tr, va = np.flatnonzero(split == "train"), np.flatnonzero(split == "valid")
    if not len(tr) or not len(va):
        raise TrainingError("training needs tracks in both the train and the valid split")
    length = pipeline.chunk_length(spec, fs.params, h["chunk_seconds"])
    shape = pipeline.input_shape_for(spec, fs.X.shape[1] if fs.X.ndim == 3 else None, length)
    norm = Normaliser.fit(fs.X, spec.feature_kind, rows=tr)
    Y = pipeline.encode_labels(fs.table, job.classes, job.target)
    return _Data(fs, Y, tr, va, length, shape, norm)


def _compile(spec: model_zoo.ModelSpec, job: Task, data: _Data, model_hyper: dict, h: dict):
    """The model (with its ``normalise`` layer) built and compiled under the device's
    strategy, and the global batch size."""
    import keras

    strategy = get_strategy()
    global_batch = h["batch_size"] * strategy.num_replicas_in_sync
    with strategy.scope():
        model = model_zoo.build(spec.name, data.shape, job.n_outputs, head=job.head,
                                normalise=(data.norm.mean, data.norm.variance), **model_hyper)
        metrics = (["accuracy"] if job.target == "genre"
                   else [keras.metrics.AUC(name="auc", multi_label=True)])
        model.compile(optimizer=make_optimizer(h["optimizer"], h["lr"], h["weight_decay"]),
                      loss=job.loss, metrics=metrics)
    return model, global_batch


def _fit(name: str, model, spec, job: Task, data: _Data, h: dict, global_batch: int,
         extra=(), resume: tuple | None = None, *,
         settings: Settings) -> tuple[dict, float, bool]:
    """Fit on random chunks of the train split for the step budget, validating on consecutive
    chunks of the valid split after each epoch; ``resume`` = ``(path, run)`` saves the state
    after each epoch and, when ``run['resume']`` holds one, carries on from it. Returns
    (history, wall seconds, whether the wall-clock safety cap stopped it)."""
    fs = data.fs
    n_cls = job.n_outputs if job.target == "tags" else None
    per_epoch, n_epochs = h["steps_per_epoch"], h["n_epochs"]
    state = (resume[1].get("resume") or {}) if resume else {}
    first = int(state["epoch"]) + 1 if state else 0
    # rows index the cached array directly: no copy of the train or valid features is made
    train_ds = pipeline.train_dataset(fs.X, data.Y, spec, data.length, global_batch, per_epoch,
                                      h["seed"], h["augment"], spec.feature_kind, n_cls,
                                      rows=data.train_rows, start_epoch=first)
    valid_ds = pipeline.eval_dataset(fs.X, data.Y, spec, data.length, 2 * global_batch,
                                     h["valid_chunks_per_track"], n_cls, rows=data.valid_rows)
    n_valid = len(pipeline.eval_pairs(fs.X, data.length, h["valid_chunks_per_track"], data.valid_rows))
    valid_steps = max(1, math.ceil(n_valid / (2 * global_batch)))
    lines = n_epochs if settings.profile.epoch_lines and not h["verbose"] else None
    callbacks = make_callbacks(resume, int(h["patience"]), h["time_budget_s"], epoch_lines=lines,
                               schedule=h["schedule"],
                               decay_every=h["decay_every"] or max(1, n_epochs // 3),
                               steps_per_epoch=per_epoch, budget_steps=per_epoch * n_epochs)
    callbacks += list(extra or ())
    unit = "samples" if spec.feature_kind == "waveform" else "frames"
    print(f"training {name} ({spec.name}, {model.count_params():,} parameters) on {settings.dataset}: "
          f"{len(data.train_rows)} train / {len(data.valid_rows)} valid tracks, chunks of "
          f"{data.length} {unit}; budget {per_epoch * n_epochs} steps of {global_batch} "
          f"({n_epochs} epochs of {per_epoch} steps, early stopping after {h['patience']} "
          f"without progress); {describe_device()}", flush=True)
    if first:
        print(f"resuming {name} after epoch {first} of {n_epochs} (an interrupted run's state)", flush=True)
    start = time.perf_counter()
    with quiet.capture_fd2():  # TensorFlow's one-time C++ notices of the first graph (quiet.NOISE)
        hist = model.fit(train_ds, validation_data=valid_ds, epochs=n_epochs,
                         steps_per_epoch=per_epoch, validation_steps=valid_steps, shuffle=False,
                         callbacks=callbacks, verbose=h["verbose"], initial_epoch=first)
    wall = time.perf_counter() - start + float(state.get("wall", 0.0))
    merged = {k: list(v) for k, v in state.get("history", {}).items()}
    for k, vals in hist.history.items():
        merged.setdefault(k, []).extend(vals)
    history = {k: [round(float(v), 5) for v in vals] for k, vals in merged.items()}
    return history, wall, any(getattr(cb, "hit", False) for cb in callbacks)


def _sidecar(name: str, spec, job: Task, data: _Data, model, model_hyper: dict, h: dict,
             request: dict, history: dict, wall: float, budget_hit: bool, *, settings: Settings) -> dict:
    """The sidecar's provenance (metrics are added once the model is scored)."""
    params = data.fs.params
    return {"version": SIDECAR_VERSION, "name": name, "arch": spec.name,
            "label": spec.label_for(model_hyper), "classes": job.classes, "target": job.target,
            "head": job.head, "feature_kind": spec.feature_kind, "feature_params": jsonable(params),
            "layout": spec.layout, "chunk_length": data.length,
            "chunk_seconds": pipeline.chunk_seconds(spec.feature_kind, params, data.length),
            "input_shape": list(data.shape),
            "normalisation": {"layer": "normalise", "fitted_on": "train split",
                              "tracks": int(len(data.train_rows))},
            "model_hyper": jsonable(model_hyper), "train_hyper": jsonable(h),
            "request": request, "epochs_run": len(history.get("loss", [])),
            "steps_run": len(history.get("loss", [])) * h["steps_per_epoch"],
            "step_budget": h["steps_per_epoch"] * h["n_epochs"],
            "time_budget_hit": budget_hit, "train_seconds": round(wall, 1),
            "dataset": settings.dataset, "profile": settings.profile.name, "seed": h["seed"],
            "device": describe_device(), "trained_at": time.strftime("%Y-%m-%d %H:%M:%S"),
            "history": history, "n_params": int(model.count_params())}


def _score(trained: Trained, fs: features.FeatureSet, wall: float, splits=("valid", "test"), *,
           settings: Settings) -> dict:
    """Track-level metrics on ``splits`` (the valid and test splits), each written as a results row."""
    metrics = {}
    split = fs.table["split"]
    seed = trained.meta.get("seed", settings.seed)
    extra = {} if seed == settings.seed else {"seed": seed}
    for name in splits:
        if (split == name).any():
            metrics[name] = trained.evaluate(fs, name)
            row = evaluation.result_row(trained.name, name, metrics[name], wall_time_s=wall,
                                        arch=trained.meta["arch"], label=trained.meta["label"],
                                        aggregation="mean probability over chunks",
                                        epochs_run=trained.meta["epochs_run"], **extra, settings=settings)
            evaluation.save_result(row, settings=settings)
    return jsonable(metrics)


def train(name: str, table: pd.DataFrame | None = None, *, arch: str | None = None,
          model_hyper: dict | None = None, train_hyper: dict | None = None,
          request: dict | None = None, fparams: dict | None = None, callbacks=None,
          score_on=("valid", "test"), settings: Settings | None = None) -> Trained:
    """Train model ``arch`` (default: ``name``) on the cached features of ``table`` (default:
    the current dataset's table) and save it as ``name``; the table's digest is recorded.

    Fitting uses the train split; early stopping and the learning-rate schedule watch the
    valid split; test is touched once, at the end, for the results row.
    ``fparams`` are the feature parameters (default: the spec's ``features_for()``). The model and
    its sidecar are saved as a pair (see :mod:`genre_lib.models.saving`). ``callbacks`` are
    extra Keras callbacks; ``score_on`` the splits scored at the end (see :func:`load_or_train`).
    """
    from . import seed_everything

    settings = settings or get_settings()
    arch, model_hyper, train_hyper = arch or name, model_hyper or {}, train_hyper or {}
    spec = model_zoo.spec(arch)
    h = _options(spec, train_hyper, settings.profile)
    h["seed"] = settings.seed if h["seed"] is None else int(h["seed"])
    if table is None:
        from .datasets import load_table

        table = load_table(settings=settings)
    job = task(table, target=h["target"], n_tags=int(h["n_tags"]), settings=settings)
    data = _prepare(spec, job, fparams or spec.features_for(settings=settings), h, settings=settings)
    import keras  # noqa: F401  (before seeding, or a process's first training goes unseeded)

    seed_everything(h["seed"])
    model, global_batch = _compile(spec, job, data, model_hyper, h)
    asked = (request or {"train": train_hyper}).get("train", {})  # what the caller chose
    h["steps_per_epoch"], h["n_epochs"] = schedule_for(h, global_batch, "steps" in asked)
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    model_path, meta_path = paths_for(name, settings=settings)
    resume_path = model_path.with_name(f"{name}.resume.npz")
    digest = table_digest(table)
    key = jsonable({"arch": arch, "model": model_hyper, "features": data.fs.params, "table": digest,
                    "options": {k: v for k, v in h.items() if k != "verbose"}})
    run = {"key": key, "resume": read_resume(resume_path, key)}
    history, wall, budget_hit = _fit(name, model, spec, job, data, h, global_batch, callbacks,
                                     (resume_path, run), settings=settings)
    if request is None:
        request = jsonable({"arch": arch, "model": model_hyper, "train": train_hyper})
    meta = _sidecar(name, spec, job, data, model, model_hyper, h, request, history, wall,
                    budget_hit, settings=settings)
    meta["table_digest"] = digest
    trained = Trained(model, name, job.classes, history, model_path, meta, settings)
    meta["metrics"] = _score(trained, data.fs, wall, score_on, settings=settings)
    trained.meta = save_pair(model, meta, model_path, meta_path)
    resume_path.unlink(missing_ok=True)
    shown = ", ".join(f"{s} {k} {v:.3f}" for s, m in meta["metrics"].items() for k, v in m.items()
                      if k in ("accuracy", "f1_macro", "roc_auc"))
    print(f"trained {name} in {wall:.0f} s ({meta['epochs_run']} epochs"
          f"{', time budget reached' if budget_hit else ''}); track level: {shown}", flush=True)
    return trained


__all__ = ["Task", "task", "choose_target", "top_tags", "load_or_train", "train", "TrainingError",
           "TRAIN_DEFAULTS", "WAVEFORM_SR"]
