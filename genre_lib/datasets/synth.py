"""The embedded default dataset: procedurally generated music, deterministic by seed.

Ten genres named after GTZAN's. Each genre is a recipe of musically motivated traits:

* **tempo** range in BPM (neighbouring genres overlap);
* **rhythm** pattern on a 16-step grid: four-on-the-floor, backbeat, shuffle, jazz swing,
  boom-bap, one-drop, double-kick, or no drums at all;
* **harmony**: major or minor key, a chord progression drawn from the genre's usual ones,
  triads or seventh chords;
* **instrumentation and timbre**: additive partials with plucked, struck, bowed or blown
  envelopes, noise drums, and distortion (``tanh`` waveshaping);
* **dynamics**: slow swells for classical music, a compressed level for pop and disco.

Every clip draws its own key, tempo, instruments, mix and noise level, and with some
probability borrows the rhythm or an instrument of a neighbouring genre, so the task is not
trivial. Each clip also carries multi-label tags (instruments present, tempo class, mode,
drums or not, distortion, swing, dynamics) for the tagging notebooks.

Notebook: 12_serving.ipynb (a longer song to time the service); every notebook reads it by
default, through :func:`genre_lib.datasets.load_table`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import audio
from ..config import Settings, get_settings
from ..store.files import atomic_write
from .contract import DatasetError, stratified_split
from .splits import summary  # noqa: F401  (re-exported, as before)

VERSION = 1  # bump when the generator changes: stored datasets are then rebuilt
SR = 22050

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)

# -- drum patterns on a 16-step grid (one bar of 4/4): step lists for kick, snare, hat ------
RHYTHMS = {
    "none": ((), (), ()),
    "four_on_floor": ((0, 4, 8, 12), (4, 12), (2, 6, 10, 14)),
    "backbeat": ((0, 8, 10), (4, 12), (0, 2, 4, 6, 8, 10, 12, 14)),
    "shuffle": ((0, 8), (4, 12), (0, 2, 4, 6, 8, 10, 12, 14)),
    "swing": ((0, 8), (6, 14), (0, 4, 6, 8, 12, 14)),
    "boom_bap": ((0, 7, 10), (4, 12), tuple(range(0, 16, 2))),
    "one_drop": ((8,), (8,), (0, 2, 4, 6, 8, 10, 12, 14)),
    "double_kick": (tuple(range(16)), (4, 12), (0, 4, 8, 12)),
}
SWUNG = {"shuffle", "swing"}

# -- the genre recipes ------------------------------------------------------------------------
@dataclass(frozen=True)
class Genre:
    name: str
    tempo: tuple[float, float]
    rhythms: tuple[str, ...]          # first is typical, the others occasional
    p_major: float
    progressions: tuple[tuple[int, ...], ...]
    sevenths: float                   # probability of seventh chords
    comp: tuple[str, ...]             # chord instruments to choose from
    lead: tuple[str, ...]             # melody instruments to choose from ('' = none)
    comp_pattern: str                 # 'sustain', 'offbeat', 'eighths', 'stabs', 'arp'
    bass: str                         # 'root', 'walking', 'octave', 'sparse', 'none', 'eighths'
    drive: tuple[float, float]        # distortion drive range (1 = clean)
    swell: float                      # depth of slow dynamic swells
    noise: tuple[float, float]        # background noise level range
    neighbours: tuple[str, ...]


GENRES = (
    Genre("blues", (70, 120), ("shuffle", "swing", "backbeat"), 0.5,
          ((0, 0, 0, 0, 3, 3, 0, 0, 4, 3, 0, 4),), 0.9, ("piano", "guitar", "organ"),
          ("guitar", "sax", "brass"), "stabs", "walking", (1.0, 2.5), 0.15, (0.005, 0.02),
          ("jazz", "rock", "country")),
    Genre("classical", (60, 110), ("none",), 0.55, ((0, 3, 4, 0), (0, 5, 3, 4), (0, 4, 5, 3)),
          0.2, ("strings", "piano"), ("flute", "strings", "piano"), "sustain", "root",
          (1.0, 1.0), 0.6, (0.002, 0.01), ("jazz", "pop")),
    Genre("country", (90, 140), ("backbeat", "shuffle"), 0.85, ((0, 3, 4, 0), (0, 0, 3, 4)),
          0.1, ("guitar", "piano"), ("guitar", "flute", ""), "eighths", "root",
          (1.0, 1.3), 0.1, (0.004, 0.015), ("blues", "rock", "pop")),
    Genre("disco", (110, 130), ("four_on_floor", "backbeat"), 0.6, ((0, 5, 1, 4), (5, 4, 0, 0)),
          0.5, ("strings", "guitar", "synth"), ("brass", "synth", "strings"), "offbeat",
          "octave", (1.0, 1.2), 0.05, (0.004, 0.012), ("pop", "hiphop")),
    Genre("hiphop", (75, 100), ("boom_bap", "backbeat"), 0.3, ((0, 5), (0, 5, 2, 6)), 0.4,
          ("piano", "synth", "organ"), ("synth", "", ""), "stabs", "sparse", (1.0, 1.5), 0.05,
          (0.006, 0.02), ("reggae", "disco", "pop")),
    Genre("jazz", (90, 170), ("swing", "shuffle", "none"), 0.6, ((1, 4, 0, 0), (0, 5, 1, 4)),
          0.95, ("piano", "guitar", "organ"), ("sax", "brass", "piano"), "stabs", "walking",
          (1.0, 1.0), 0.25, (0.003, 0.012), ("blues", "classical")),
    Genre("metal", (120, 190), ("double_kick", "backbeat"), 0.1, ((0, 5, 6, 0), (0, 6, 5, 6)),
          0.0, ("dist_guitar",), ("dist_guitar", ""), "eighths", "eighths", (6.0, 14.0),
          0.05, (0.01, 0.03), ("rock",)),
    Genre("pop", (95, 130), ("backbeat", "four_on_floor"), 0.8, ((0, 4, 5, 3), (5, 3, 0, 4)),
          0.2, ("piano", "synth", "guitar"), ("synth", "flute", "piano"), "eighths", "root",
          (1.0, 1.4), 0.1, (0.003, 0.012), ("disco", "rock", "country")),
    Genre("reggae", (65, 95), ("one_drop", "boom_bap"), 0.6, ((0, 3, 4, 3), (0, 4)), 0.2,
          ("guitar", "organ", "piano"), ("organ", "brass", ""), "offbeat", "sparse",
          (1.0, 1.5), 0.05, (0.005, 0.02), ("hiphop", "pop")),
    Genre("rock", (100, 160), ("backbeat", "double_kick", "shuffle"), 0.5,
          ((0, 3, 4, 3), (0, 6, 3, 0)), 0.05, ("dist_guitar", "guitar", "organ"),
          ("dist_guitar", "guitar", ""), "eighths", "eighths", (2.0, 7.0), 0.08,
          (0.006, 0.02), ("metal", "blues", "pop")),
)
GENRE_NAMES = tuple(g.name for g in GENRES)
BY_NAME = {g.name: g for g in GENRES}

# -- instruments: partial amplitudes, envelope and character ----------------------------------
@dataclass(frozen=True)
class Instrument:
    partials: tuple[float, ...]
    attack: float          # seconds
    decay: float | None    # exponential decay time constant; None = sustained
    release: float
    vibrato: float = 0.0   # relative depth
    inharmonic: float = 0.0
    breath: float = 0.0    # noise mixed into the note
    octave: int = 0


def _rolloff(n, power, odd_boost=1.0):
    return tuple((1.0 / k ** power) * (odd_boost if k % 2 else 1.0) for k in range(1, n + 1))


INSTRUMENTS = {
    "piano": Instrument(_rolloff(8, 1.6), 0.004, 0.7, 0.05, inharmonic=0.0008),
    "guitar": Instrument(_rolloff(10, 1.1, 1.4), 0.003, 0.35, 0.04),
    "dist_guitar": Instrument(_rolloff(6, 1.0), 0.003, 1.2, 0.03, octave=-1),
    "bass": Instrument(_rolloff(5, 2.0), 0.005, 0.5, 0.04, octave=-2),
    "strings": Instrument(_rolloff(12, 1.0), 0.15, None, 0.12, vibrato=0.004),
    "organ": Instrument((1.0, 0.8, 0.6, 0.5, 0.0, 0.4, 0.0, 0.3), 0.01, None, 0.02),
    "brass": Instrument(_rolloff(10, 0.8), 0.06, None, 0.06, vibrato=0.002),
    "synth": Instrument(_rolloff(14, 1.0), 0.03, None, 0.08, vibrato=0.001),
    "flute": Instrument((1.0, 0.35, 0.12, 0.05), 0.08, None, 0.08, vibrato=0.005, breath=0.08,
                        octave=1),
    "sax": Instrument(_rolloff(8, 1.0), 0.04, None, 0.05, vibrato=0.004, breath=0.03),
}
TAG_OF_INSTRUMENT = {"dist_guitar": "electric guitar", "sax": "saxophone"}


def _midi_hz(m):
    return 440.0 * 2.0 ** ((np.asarray(m, dtype=np.float64) - 69.0) / 12.0)


class _Renderer:
    """Renders notes and drum hits for one clip, caching repeated ones."""

    def __init__(self, rng: np.random.Generator, drive: float):
        self.rng = rng
        self.drive = drive
        self.cache: dict = {}
        self.drum_hits = self._make_drums()

    def note(self, name: str, midi: int, n: int) -> np.ndarray:
        key = (name, midi, n)
        hit = self.cache.get(key)
        if hit is None:
            hit = self.cache[key] = self._render(INSTRUMENTS[name], name, midi, n)
        return hit

    def _render(self, inst: Instrument, name: str, midi: int, n: int) -> np.ndarray:
        t = np.arange(n, dtype=np.float32) / SR
        f0 = float(_midi_hz(midi + 12 * inst.octave))
        phase = 2 * np.pi * f0 * t
        if inst.vibrato:
            phase = phase + (inst.vibrato * f0 / 5.5) * np.sin(2 * np.pi * 5.5 * t)
        y = np.zeros(n, dtype=np.float32)
        for k, amp in enumerate(inst.partials, start=1):
            fk = k * f0 * (1 + inst.inharmonic * k * k)
            if amp == 0 or fk >= SR / 2 - 500:
                continue
            y += np.float32(amp) * np.sin(phase * (fk / f0)).astype(np.float32)
        if inst.breath:
            y += inst.breath * self.rng.standard_normal(n).astype(np.float32)
        env = np.minimum(1.0, t / max(inst.attack, 1e-4))
        if inst.decay is not None:
            env = env * np.exp(-t / (inst.decay * (1.0 + 220.0 / max(f0, 55.0)) / 2))
        rel = int(inst.release * SR)
        if 0 < rel < n:
            env[-rel:] *= np.linspace(1.0, 0.0, rel, dtype=np.float32)
        y *= env.astype(np.float32)
        if name == "dist_guitar" or self.drive > 1.0:
            drive = self.drive if name == "dist_guitar" else 1.0 + (self.drive - 1.0) * 0.3
            y = np.tanh(drive * y) / np.tanh(drive)
        return y / (np.max(np.abs(y)) + 1e-9)

    def _make_drums(self):
        rng = self.rng
        t = np.arange(int(0.35 * SR)) / SR
        f = 45 + 90 * np.exp(-t / 0.04)
        kick = np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-t / 0.12)
        ts = t[: int(0.25 * SR)]
        noise = rng.standard_normal(len(ts))
        snare = (0.7 * noise * np.exp(-ts / 0.06)
                 + 0.5 * np.sin(2 * np.pi * rng.uniform(170, 220) * ts) * np.exp(-ts / 0.05))
        th = t[: int(0.06 * SR)]
        hat_noise = np.diff(rng.standard_normal(len(th) + 1))
        hat = 0.5 * hat_noise * np.exp(-th / 0.015)
        return {k: v.astype(np.float32) for k, v in (("kick", kick), ("snare", snare), ("hat", hat))}


def _add(buf, y, start, gain):
    if start < 0:               # a hit jittered before the clip's start
        y, start = y[-start:], 0
    if start >= len(buf):
        return
    end = min(len(buf), start + len(y))
    buf[start:end] += gain * y[: end - start]


def _chord(scale, degree, seventh, dom7):
    if dom7:
        return [scale[degree % 7], scale[degree % 7] + 4, scale[degree % 7] + 7, scale[degree % 7] + 10]
    notes = [scale[(degree + i) % 7] + 12 * ((degree + i) // 7) for i in (0, 2, 4)]
    if seventh:
        notes.append(scale[(degree + 6) % 7] + 12 * ((degree + 6) // 7))
    return notes


@dataclass
class _Plan:
    """What one clip draws before any sound is made (the order of draws is part of the seed)."""

    genre: str
    g: Genre
    borrowed: Genre | None
    tempo: float
    rhythm: str
    major: bool
    key: int
    progression: tuple[int, ...]
    seventh: bool
    comp: str
    lead: str
    drive: float

    @property
    def scale(self):
        return MAJOR if self.major else MINOR

    @property
    def swing(self) -> bool:
        return self.rhythm in SWUNG


def _plan(genre: str, rng: np.random.Generator) -> _Plan:
    g = BY_NAME[genre]
    borrowed = None
    if rng.random() < 0.2 and g.neighbours:   # borrow a trait from a neighbouring genre
        borrowed = BY_NAME[g.neighbours[rng.integers(len(g.neighbours))]]
    tempo = float(rng.uniform(*g.tempo))
    rhythm_pool = (borrowed or g).rhythms if borrowed is not None and rng.random() < 0.5 else g.rhythms
    rhythm = rhythm_pool[0] if rng.random() < 0.7 else rhythm_pool[rng.integers(len(rhythm_pool))]
    major = bool(rng.random() < g.p_major)
    key = int(rng.integers(0, 12))
    progression = g.progressions[rng.integers(len(g.progressions))]
    seventh = bool(rng.random() < g.sevenths)
    comp_pool = g.comp + ((borrowed.comp[0],) if borrowed is not None else ())
    comp = comp_pool[rng.integers(len(comp_pool))]
    lead = g.lead[rng.integers(len(g.lead))]
    drive = float(rng.uniform(*g.drive))
    return _Plan(genre, g, borrowed, tempo, rhythm, major, key, progression, seventh, comp, lead,
                 drive)


_COMP_PATTERNS = {"sustain": [(0, 16)], "offbeat": [(2, 2), (6, 2), (10, 2), (14, 2)],
                  "eighths": [(i, 2) for i in range(0, 16, 2)],
                  "stabs": [(0, 3), (6, 2), (10, 3)],
                  "arp": [(i, 2) for i in range(0, 16, 2)]}


def _bass_line(plan: _Plan, root: int, walk: int) -> list:
    """(step, length in steps, midi note) of one bar's bass line."""
    scale, kind = plan.scale, plan.g.bass
    if kind == "walking":
        return [(i * 4, 4, root - 12 + scale[(walk + i) % 7]) for i in range(4)]
    if kind == "octave":
        return [(i, 2, root - 12 + 12 * ((i // 2) % 2)) for i in range(0, 16, 2)]
    if kind == "eighths":
        return [(i, 2, root - 12) for i in range(0, 16, 2)]
    if kind == "sparse":
        return [(0, 6, root - 12), (8, 4, root - 12 + 7)]
    kick_steps = RHYTHMS[plan.rhythm][0]
    return [(s, 4, root - 12) for s in (kick_steps or (0, 8)) if s % 4 == 0] or [(0, 8, root - 12)]


def _render_bar(plan: _Plan, b: int, walk: int, tracks: dict, rng, renderer, step: float) -> None:
    """Add bar ``b`` of drums, chords, bass and melody to the ``tracks`` buffers."""
    def step_time(i):  # swing delays the off-beat eighth notes
        return i * step + (step * 2 / 3 if plan.swing and i % 4 == 2 else 0.0)

    t0 = b * 16 * step
    base = 48 + plan.key if plan.key < 7 else 36 + plan.key   # chord register around C3-C4
    degree = plan.progression[b % len(plan.progression)]
    dom7 = plan.genre == "blues" and plan.seventh
    notes = [base + x for x in _chord(plan.scale, degree, plan.seventh, dom7)]
    root = notes[0]
    if plan.genre == "metal" or plan.comp == "dist_guitar":
        notes = [root, root + 7, root + 12]          # power chord
    kick_steps, snare_steps, hat_steps = RHYTHMS[plan.rhythm]
    for name, steps, gain in (("kick", kick_steps, 0.9), ("snare", snare_steps, 0.6),
                              ("hat", hat_steps, 0.35)):
        for s in steps:
            jitter = rng.normal(0, 0.004)
            _add(tracks["drums"], renderer.drum_hits[name], int((t0 + step_time(s) + jitter) * SR),
                 gain * rng.uniform(0.8, 1.0))
    for s, length in _COMP_PATTERNS[plan.g.comp_pattern]:
        dur = int(length * step * SR)
        for m in notes:
            _add(tracks["chords"], renderer.note(plan.comp, m, dur), int((t0 + step_time(s)) * SR),
                 1.0 / len(notes))
    if plan.g.bass != "none":
        for s, length, m in _bass_line(plan, root, walk):
            _add(tracks["bass"], renderer.note("bass", m + 12, int(length * step * SR)),
                 int((t0 + step_time(s)) * SR), 0.9)
    if plan.lead:   # melody: notes from the scale, density by genre
        density = 0.55 if plan.genre in ("jazz", "classical", "blues") else 0.35
        for s in range(0, 16, 2):
            if rng.random() < density:
                m = 60 + plan.key + plan.scale[rng.integers(7)] + (12 if rng.random() < 0.3 else 0)
                length = 2 if rng.random() < 0.6 else 4
                _add(tracks["melody"], renderer.note(plan.lead, m, int(length * step * SR)),
                     int((t0 + step_time(s)) * SR), 0.8)


def _tags(plan: _Plan, level: float) -> list[str]:
    instruments = {plan.comp, "bass"} | ({plan.lead} if plan.lead else set()) \
        | ({"drums"} if plan.rhythm != "none" else set())
    tags = sorted(TAG_OF_INSTRUMENT.get(i, i) for i in instruments)
    tags.append("slow" if plan.tempo < 90 else "fast" if plan.tempo > 135 else "medium tempo")
    tags.append("major" if plan.major else "minor")
    if plan.drive > 3.0 or "dist_guitar" in instruments:
        tags.append("distorted")
    if plan.swing:
        tags.append("swing")
    tags.append("loud" if level > 0.7 else "soft" if level < 0.4 else None)
    if plan.rhythm == "none":
        tags.append("no drums")
    return [x for x in tags if x]


def render_clip(genre: str, seconds: float, seed) -> tuple[np.ndarray, dict]:
    """Render one clip of ``genre``; returns (signal, traits). Deterministic in ``seed``.

    Notebook: 12_serving.ipynb (a longer song to time the service).
    """
    rng = np.random.default_rng(seed)
    plan = _plan(genre, rng)
    renderer = _Renderer(rng, plan.drive)
    n = int(round(seconds * SR))
    step = 60.0 / plan.tempo / 4
    tracks = {k: np.zeros(n, np.float32) for k in ("drums", "bass", "chords", "melody")}
    walk = 0
    for b in range(int(np.ceil(seconds / (16 * step)))):
        _render_bar(plan, b, walk, tracks, rng, renderer, step)
        if plan.g.bass == "walking":
            walk += 2

    g = plan.g
    gains = {"drums": rng.uniform(0.5, 1.0) if plan.rhythm != "none" else 0.0,
             "bass": rng.uniform(0.4, 0.9), "chords": rng.uniform(0.4, 0.9),
             "melody": rng.uniform(0.3, 0.8) if plan.lead else 0.0}
    y = sum(gains[k] * tracks[k] for k in ("drums", "bass", "chords", "melody"))
    t = np.arange(n, dtype=np.float32) / SR
    if g.swell:
        swell_hz = rng.uniform(0.03, 0.12)
        y *= (1.0 - g.swell / 2) + (g.swell / 2) * np.sin(2 * np.pi * swell_hz * t + rng.uniform(0, 6.28))
    peak = np.max(np.abs(y)) + 1e-9
    level = rng.uniform(0.25, 0.9)
    y = y / peak * level
    noise_level = rng.uniform(*g.noise)
    y = y + noise_level * rng.standard_normal(n).astype(np.float32)
    y = np.clip(y, -1.0, 1.0).astype(np.float32)
    traits = dict(tempo=round(plan.tempo, 1), key=plan.key, mode="major" if plan.major else "minor",
                  rhythm=plan.rhythm, comp=plan.comp, lead=plan.lead or "none",
                  drive=round(plan.drive, 2),
                  borrowed=plan.borrowed.name if plan.borrowed is not None else "",
                  tags=_tags(plan, level))
    return y, traits


# -- building and loading the dataset -----------------------------------------------------------
def dataset_dir(*, settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    return settings.data_dir / "synth" / settings.profile.name


def _clip_seed(seed: int, genre_index: int, clip: int):
    return [int(seed), VERSION, genre_index, clip]


def _write_one(root: Path, genre_index: int, clip: int, seconds: float, seed: int) -> dict:
    genre = GENRE_NAMES[genre_index]
    y, traits = render_clip(genre, seconds, _clip_seed(seed, genre_index, clip))
    track_id = f"{genre}.{clip:05d}"
    rel = Path("audio") / genre / f"{track_id}.wav"
    audio.write_wav(root / rel, y, SR)
    traits["tags"] = "|".join(traits["tags"])
    return dict(track_id=track_id, path=str(rel), genre=genre, **traits)


def build(force: bool = False, progress: bool = True, *, settings: Settings | None = None) -> Path:
    """Generate the dataset for the settings' profile under ``data/synth/<profile>/``.

    Skips the work when a complete copy with the same version, seed and size exists.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    settings = settings or get_settings()
    root = dataset_dir(settings=settings)
    manifest = {"version": VERSION, "seed": settings.seed, "sr": SR,
                "clips_per_genre": settings.profile.synth_clips_per_genre,
                "seconds": settings.profile.synth_seconds, "genres": list(GENRE_NAMES)}
    mpath = root / "manifest.json"
    if not force and mpath.exists() and (root / "metadata.csv").exists():
        try:
            if json.loads(mpath.read_text()) == manifest:
                return root
        except ValueError:
            pass  # unreadable manifest: rebuild
    root.mkdir(parents=True, exist_ok=True)
    jobs = [(gi, c) for gi in range(len(GENRES)) for c in range(manifest["clips_per_genre"])]
    rows = Parallel(n_jobs=settings.jobs, batch_size=4)(
        delayed(_write_one)(root, gi, c, manifest["seconds"], settings.seed)
        for gi, c in tqdm(jobs, desc="generating synth clips", disable=not progress, unit="clip"))
    meta = pd.DataFrame(rows)
    meta["split"] = stratified_split(meta["genre"], seed=settings.seed)
    table_text, manifest_text = meta.to_csv(index=False), json.dumps(manifest, indent=1)
    atomic_write(root / "metadata.csv", lambda fh: fh.write(table_text.encode("utf-8")))
    atomic_write(mpath, lambda fh: fh.write(manifest_text.encode("utf-8")))  # last: marks it complete
    return root


def load_table(build_if_missing: bool = True, *, settings: Settings | None = None) -> pd.DataFrame:
    """The synthetic dataset's table (generating it first when missing or stale)."""
    settings = settings or get_settings()
    root = dataset_dir(settings=settings)
    if build_if_missing:
        build(settings=settings)
    meta_path = root / "metadata.csv"
    if not meta_path.exists():
        raise DatasetError(f"{meta_path}: missing; run `python -m genre_lib data build`")
    meta = pd.read_csv(meta_path, keep_default_na=False)
    meta["track_id"] = meta["track_id"].astype(str)
    meta["path"] = [str(root / p) for p in meta["path"]]
    meta["tags"] = [t.split("|") if t else [] for t in meta["tags"]]
    cols = ["track_id", "path", "genre", "split", "tags"]
    table = meta[cols + [c for c in meta.columns if c not in cols]]
    table.attrs["dataset"] = "synth"
    table.attrs["skipped"] = {}
    table.attrs["split_source"] = f"the dataset's own: random, stratified by genre, seed {settings.seed}"
    return table


def status_line(*, settings: Settings | None = None) -> str:
    """The ``data status`` line: for which profiles the synthetic dataset is built."""
    settings = settings or get_settings()
    root = settings.data_dir / "synth"
    built = sorted(p.name for p in root.iterdir() if (p / "metadata.csv").exists()) \
        if root.exists() else []
    return "embedded synthetic dataset: " + (
        f"built for profile(s) {', '.join(built)}" if built else
        "not built yet (built on first use, or python -m genre_lib data build)")


__all__ = ["GENRES", "GENRE_NAMES", "render_clip", "build", "load_table", "status_line", "summary"]
