"""One settings object for the whole curriculum.

Every notebook and command asks :func:`get_settings` which dataset, profile, paths and seed
to use; nothing hard-codes them. Everything is chosen by environment variables:

==================  ===========================================  =========================
variable            meaning                                      default
==================  ===========================================  =========================
``GENRE_DATASET``   a registered dataset: ``synth``, ``gtzan``,  ``synth``
                    ``fma_small``, ``fma_medium``, ``mtat``, or
                    one added with ``datasets.register``
``GENRE_SPLIT``     ``official`` (the dataset's split) or        ``official``
                    ``random`` (seeded, stratified by label)
``GENRE_PROFILE``   ``full`` (the real run) or ``ci`` (tiny)     ``full``
``GENRE_SEED``      seed for splits, generators and training     ``42``
``GENRE_HOME``      project root                                 the checkout, else
                                                                 ``~/genre_lib_course``
``GENRE_DATA_DIR``  where datasets and the feature cache live    ``<home>/data``
``GENRE_WORK_DIR``  where models/, results/, figures/, build/    ``<home>``
                    are written
``GENRE_JOBS``      worker processes for extraction              number of CPU cores
==================  ===========================================  =========================

The prediction service (``python -m genre_lib serve``) reads two limits as well:
``GENRE_MAX_UPLOAD_MB``, the largest upload it accepts (default 50 MB), and
``GENRE_MAX_SECONDS``, the longest audio it analyses (default 600 s).
``GENRE_TRAIN_CAP_S`` replaces the profile's wall-clock safety cap on one training (1800 s
in the full profile); trainings are sized in steps, so the cap only fires on a very slow
machine, and says so.

Notebook: every notebook's first code cell (``print(settings)``).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

PROFILES = ("full", "ci")
SPLIT_RULES = ("official", "random")


def checkout_root() -> Path | None:
    """The git checkout this package runs from (the folder holding ``genre_lib/`` and
    ``notebooks/``), or ``None`` for an installed wheel, as on Colab or after ``pip install``."""
    here = Path(__file__).resolve().parent.parent
    if (here / "genre_lib").is_dir() and (here / "notebooks").is_dir():
        return here
    return None


def on_colab() -> bool:
    """Whether this process is a Google Colab kernel."""
    return bool(os.environ.get("COLAB_RELEASE_TAG")) or "google.colab" in sys.modules


USER_FOLDER = "genre_lib_course"


def user_home() -> Path:
    """Where data and outputs go when there is no checkout and no ``GENRE_HOME``: a visible
    folder ``genre_lib_course`` under ``/content`` on Colab (what its file browser shows), else
    under the user's home folder (``~`` on Linux and macOS, ``%USERPROFILE%`` on Windows)."""
    base = Path("/content") if on_colab() and Path("/content").is_dir() else Path.home()
    return base / USER_FOLDER


def _default_home() -> Path:
    return checkout_root() or user_home()


@dataclass(frozen=True)
class Profile:
    """Sizes that differ between the real run (``full``) and the tiny CI run (``ci``)."""

    name: str
    synth_clips_per_genre: int   # tracks generated per genre for the embedded dataset
    synth_seconds: float         # length of each synthetic clip
    clip_seconds: float | None   # crop real datasets to this (None: their native length)
    max_tracks_per_label: int | None  # subsample real datasets (None: all)
    epochs: int                  # epoch cap of notebook 10's in-memory fits (transfer learning)
    batch_size: int
    train_steps_cap: int | None  # cap on every deep model's step budget (None: the spec's)
    epoch_chunks_cap: int | None  # cap on the chunks of one training epoch (None: the spec's)
    tsne_perplexity: float
    train_time_budget_s: float | None  # safety cap: stop after the epoch that ran past this
    epoch_lines: bool            # print one compact line per training epoch
    baseline_trees: int          # trees of the random forests in the classical baselines
    baseline_rounds: int         # boosting rounds of XGBoost in the classical baselines
    interpret_steps: int         # gradient steps of activation maximisation
    smooth_samples: int          # noisy copies averaged by SmoothGrad
    search_trials_svm: int       # trials of each MFCC + SVM hyper-parameter study
    search_trials_crnn: int      # trials of each CRNN hyper-parameter study
    search_epochs: int           # epoch cap of one CRNN trial
    search_seeds: int            # repeats of each search (sampler seeds) to see its spread
    retrain_seeds: int           # training seeds of the chosen and the default configuration
    retrain_epochs: int          # their epoch cap (the search's, so the scores compare)

    @property
    def is_ci(self) -> bool:
        """True for the tiny CI profile (for display; decisions read the fields above)."""
        return self.name == "ci"


PROFILE_TABLE = {
    "full": Profile("full", synth_clips_per_genre=40, synth_seconds=30.0, clip_seconds=None,
                    max_tracks_per_label=None, epochs=40, batch_size=32, train_steps_cap=None,
                    epoch_chunks_cap=None, tsne_perplexity=30.0, train_time_budget_s=1800.0,
                    epoch_lines=True, baseline_trees=300,
                    baseline_rounds=200, interpret_steps=200, smooth_samples=8,
                    search_trials_svm=40, search_trials_crnn=6, search_epochs=8, search_seeds=3,
                    retrain_seeds=3, retrain_epochs=8),
    "ci": Profile("ci", synth_clips_per_genre=8, synth_seconds=6.0, clip_seconds=6.0,
                  max_tracks_per_label=8, epochs=2, batch_size=16, train_steps_cap=10,
                  epoch_chunks_cap=80, tsne_perplexity=5.0,
                  train_time_budget_s=None, epoch_lines=False, baseline_trees=60,
                  baseline_rounds=40, interpret_steps=30, smooth_samples=2,
                  search_trials_svm=2, search_trials_crnn=2, search_epochs=1, search_seeds=1,
                  retrain_seeds=1, retrain_epochs=1),
}


class SettingsError(ValueError):
    """A setting (environment variable or override) with an unusable value; the message is one
    line naming the variable, the value and what is allowed."""


def _env_choice(name: str, default: str, allowed: tuple[str, ...] | None) -> str:
    """The variable's value, lower-cased; checked against ``allowed`` unless that is None."""
    value = os.environ.get(name, default).strip().lower() or default
    if allowed is not None and value not in allowed:
        raise SettingsError(f"{name}={value!r} is not one of {', '.join(allowed)}")
    return value


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None


def _env_positive(name: str, default: float) -> float:
    """A positive number from the environment (the service's limits)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise SettingsError(f"{name}={raw!r} must be a positive, finite number")
    return value


SEED_RANGE = (0, 2**32 - 1)  # what NumPy, TensorFlow and scikit-learn all accept


@dataclass(frozen=True)
class Settings:
    """The dataset, profile, paths and seed in force. Build it with :func:`get_settings`."""

    dataset: str = "synth"       # checked against the dataset registry
    profile: Profile = field(default_factory=lambda: PROFILE_TABLE["full"])
    seed: int = 42
    home: Path = field(default_factory=_default_home)
    data_dir: Path | None = None
    work_dir: Path | None = None
    jobs: int = 0
    sample_rate: int = 22050     # every signal is resampled to this on load
    n_fft: int = 2048            # STFT window of the log-mel spectrogram (samples)
    hop_length: int = 512        # STFT hop (samples): 23.2 ms at 22,050 Hz
    n_mels: int = 128            # mel bands
    waveform_sr: int = 11025     # the raw-waveform model reads audio at half the usual rate
    split: str = "official"      # GENRE_SPLIT: the dataset's 'official' split or a 'random' one
    max_upload_mb: float = 50.0  # GENRE_MAX_UPLOAD_MB: largest upload `serve` accepts
    max_seconds: float = 600.0   # GENRE_MAX_SECONDS: longest audio `serve` analyses

    def __post_init__(self):
        # the registry imports no settings, so this import makes no circle
        from .datasets.registry import check_name

        check_name(self.dataset)
        if self.split not in SPLIT_RULES:
            raise SettingsError(f"GENRE_SPLIT={self.split!r} is not one of {', '.join(SPLIT_RULES)}")
        if not SEED_RANGE[0] <= int(self.seed) <= SEED_RANGE[1]:
            raise SettingsError(f"GENRE_SEED={self.seed} is out of range: use a whole number from "
                                f"{SEED_RANGE[0]} to {SEED_RANGE[1]}")
        object.__setattr__(self, "home", Path(self.home))
        if self.data_dir is None:
            object.__setattr__(self, "data_dir", self.home / "data")
        if self.work_dir is None:
            object.__setattr__(self, "work_dir", self.home)
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        object.__setattr__(self, "work_dir", Path(self.work_dir))
        if self.jobs <= 0:
            object.__setattr__(self, "jobs", os.cpu_count() or 1)
        for var, folder in (("GENRE_DATA_DIR", self.data_dir), ("GENRE_WORK_DIR", self.work_dir)):
            if folder.exists() and not folder.is_dir():
                raise SettingsError(f"{var}={folder} is a file, not a folder")

    # -- names and folders ------------------------------------------------------------------
    @property
    def run_name(self) -> str:
        """``synth`` for the full profile, ``synth-ci`` for the CI profile, and ``-random``
        after the dataset's name when a random split replaces the official one.

        Outputs of the tiny CI profile (or of another split) never overwrite the real run's
        models or results.
        """
        name = self.dataset if self.split == "official" else f"{self.dataset}-{self.split}"
        return name if self.profile.name == "full" else f"{name}-{self.profile.name}"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def models_dir(self) -> Path:
        return self.work_dir / "models" / self.run_name

    @property
    def results_dir(self) -> Path:
        return self.work_dir / "results" / self.run_name

    @property
    def figures_dir(self) -> Path:
        return self.work_dir / "figures" / self.run_name

    @property
    def build_dir(self) -> Path:
        return self.work_dir / "build"

    def figure_path(self, name: str) -> Path:
        """Where figure ``name`` (a stable file stem, no extension) is saved."""
        self.figures_dir.mkdir(parents=True, exist_ok=True)
        return self.figures_dir / f"{name}.png"

    @property
    def mel_params(self) -> dict:
        """The log-mel parameters in force (the cache key and every model read these)."""
        return dict(sr=self.sample_rate, n_fft=self.n_fft, hop_length=self.hop_length,
                    n_mels=self.n_mels, fmin=0.0, fmax=None)

    def with_(self, **changes) -> Settings:
        """A copy with some fields changed (``profile`` may be given by name)."""
        if isinstance(changes.get("profile"), str):
            changes["profile"] = PROFILE_TABLE[changes["profile"]]
        return replace(self, **changes)

    @property
    def notebooks_dir(self) -> Path:
        """The course's notebooks: ``notebooks/`` of the checkout, else the copies installed
        with the package (``genre_lib/notebooks/`` of the wheel)."""
        here = self.home / "notebooks"
        if here.is_dir():
            return here
        return Path(__file__).resolve().parent / "notebooks"

    def __str__(self) -> str:
        return (f"dataset={self.dataset}  profile={self.profile.name}  seed={self.seed}\n"
                f"data: {self.data_dir}\noutputs: {self.work_dir} (run name {self.run_name})")

    def where_note(self) -> str | None:
        """One line saying where data and outputs go when no checkout is around the package
        and no ``GENRE_HOME`` chose the folder; ``None`` otherwise."""
        if checkout_root() is not None or os.environ.get("GENRE_HOME"):
            return None
        if not (self.data_dir.is_relative_to(self.home) or self.work_dir.is_relative_to(self.home)):
            return None
        return (f"no course checkout found, so data and outputs go under {self.home} "
                "(GENRE_HOME chooses another folder)")


def get_settings(**overrides) -> Settings:
    """Settings from the environment, with keyword overrides taking precedence."""
    env = os.environ
    kwargs = dict(
        dataset=_env_choice("GENRE_DATASET", "synth", None),   # checked by Settings
        split=_env_choice("GENRE_SPLIT", "official", SPLIT_RULES),
        profile=PROFILE_TABLE[_env_choice("GENRE_PROFILE", "full", PROFILES)],
        seed=_env_int("GENRE_SEED", 42),
        jobs=_env_int("GENRE_JOBS", 0),
        max_upload_mb=_env_positive("GENRE_MAX_UPLOAD_MB", 50.0),
        max_seconds=_env_positive("GENRE_MAX_SECONDS", 600.0),
    )
    if env.get("GENRE_HOME"):
        kwargs["home"] = Path(env["GENRE_HOME"])
    if env.get("GENRE_DATA_DIR"):
        kwargs["data_dir"] = Path(env["GENRE_DATA_DIR"])
    if env.get("GENRE_WORK_DIR"):
        kwargs["work_dir"] = Path(env["GENRE_WORK_DIR"])
    if isinstance(overrides.get("profile"), str):
        overrides["profile"] = PROFILE_TABLE[overrides["profile"]]
    if env.get("GENRE_TRAIN_CAP_S"):
        cap = _env_positive("GENRE_TRAIN_CAP_S", 1800.0)
        for holder in (kwargs, overrides):
            if "profile" in holder:
                holder["profile"] = replace(holder["profile"], train_time_budget_s=cap)
    kwargs.update(overrides)
    return Settings(**kwargs)

