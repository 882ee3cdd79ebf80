"""Fixture trees in the official layouts of GTZAN, FMA and MagnaTagATune, written from numpy.

Nothing here downloads anything: each builder writes a tiny copy of a real dataset's folder
layout and file formats (AU, WAV and MP3 audio through soundfile; FMA's ``tracks.csv`` with
its real three-row header and column names; MagnaTagATune's tab-separated
``annotations_final.csv`` with its 188 real tag columns), including the known faults:

* GTZAN: real clip ids named in the fault-filtered lists shipped with genre_lib (optionally
  some that no list names); in the Kaggle copy ``jazz.00054.wav`` is not a WAV file, and
  optionally a clip is too short;
* FMA: the known faulty fma_small tracks 099134 (garbage bytes named .mp3), 108925 (an empty
  MP3) and 133297 (an MP3 far shorter than a clip);
* MagnaTagATune: an empty MP3 and clips that end up with no tag.

Each builder returns a dict describing what it wrote, so tests can assert exact outcomes.
"""
from __future__ import annotations

import csv
import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf

GTZAN_GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop",
                "reggae", "rock")

# -- audio --------------------------------------------------------------------------------------


def genre_signal(label: int, seconds: float, sr: int = 22050, seed: int = 0) -> np.ndarray:
    """A short, label-dependent test signal: pitch, timbre, pulse rate and noise vary by label.

    Deterministic in (label, seed); different labels are easy to tell apart, so models
    trained on a fixture learn something.
    """
    rng = np.random.default_rng([int(seed), int(label)])
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    f0 = 110.0 * 2 ** ((label % 12) / 4) * rng.uniform(0.97, 1.03)
    y = np.zeros(n)
    for k in range(1, 2 + label % 5):
        y += np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi)) / k
    rate = 1.0 + 0.6 * (label % 8)
    pulse = 0.55 + 0.45 * np.sign(np.sin(2 * np.pi * rate * t + rng.uniform(0, 6)))
    y = 0.3 * y / (np.abs(y).max() + 1e-9) * pulse
    y += rng.standard_normal(n) * (0.01 + 0.02 * (label % 3))
    return np.clip(y, -1, 1).astype(np.float32)


def write_audio(path: Path, y: np.ndarray, sr: int, fmt: str, channels: int = 1) -> Path:
    """Write ``y`` as WAV, AU (16-bit PCM) or MP3 (libsndfile's LAME encoder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.stack([y] * channels, axis=1) if channels > 1 else y
    if fmt == "MP3":
        sf.write(str(path), data, sr, format="MP3")
    else:
        sf.write(str(path), data, sr, format=fmt, subtype="PCM_16")
    return path


def write_not_audio(path: Path, size: int = 4096, seed: int = 0) -> Path:
    """Bytes that are no audio format at all (a 'non-WAV file named .wav')."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    path.write_bytes(b"\x00\x11junk" + rng.integers(0, 256, size, dtype=np.uint8).tobytes())
    return path


def write_empty(path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


# -- GTZAN ----------------------------------------------------------------------------------------

# the fault-filtered lists shipped with genre_lib, read here directly (not through the loader)
GTZAN_LISTS = Path(__file__).resolve().parent.parent / "genre_lib" / "datasets" / "gtzan_filtered"
# the split each successive fixture clip of a genre is drawn from: one of each first, then
# roughly 60/20/20, so three or more clips per genre put tracks in every split
_GTZAN_PICK = ("train", "valid", "test", "train", "train", "train", "valid", "test", "train", "train")


def gtzan_shipped_split() -> dict[str, str]:
    """``{track_id: split}`` of the shipped fault-filtered lists (930 clips)."""
    out = {}
    for s in ("train", "valid", "test"):
        for line in (GTZAN_LISTS / f"{s}_filtered.txt").read_text().split():
            out[line.rsplit("/", 1)[-1].rsplit(".", 1)[0]] = s
    return out


def gtzan_fixture_ids(per_genre: int, genres=GTZAN_GENRES, outside: int = 0) -> dict:
    """Real GTZAN clip ids for a fixture: per genre, ``per_genre`` clips named in the shipped
    lists (the first from train, valid and test, then about 60/20/20), plus ``outside`` clips
    that no list names, for the genres that have such clips (blues and rock have none).

    Returns ``{"ids": [...], "split": {"train": [...], "valid": [...], "test": [...],
    "left_out": [...]}}``, the split being the lists' own.
    """
    shipped = gtzan_shipped_split()
    split = {"train": [], "valid": [], "test": [], "left_out": []}
    ids = []
    for g in genres:
        queues = {s: sorted(t for t, v in shipped.items() if v == s and t.startswith(g + "."))
                  for s in ("train", "valid", "test")}
        for i in range(per_genre):
            s = _GTZAN_PICK[i % len(_GTZAN_PICK)]
            tid = queues[s].pop(0)
            split[s].append(tid)
            ids.append(tid)
        unlisted = [f"{g}.{k:05d}" for k in range(100) if f"{g}.{k:05d}" not in shipped]
        for tid in unlisted[:outside]:
            split["left_out"].append(tid)
            ids.append(tid)
    return {"ids": ids, "split": split}


def _gtzan_clips(folder: Path, ext: str, fmt: str, ids, seconds: float, sr: int) -> list[str]:
    for tid in ids:
        g = tid.split(".")[0]
        write_audio(folder / g / f"{tid}.{ext}",
                    genre_signal(GTZAN_GENRES.index(g), seconds, sr, seed=int(tid[-5:])), sr, fmt)
    return list(ids)


def write_split_lists(folder: Path, split: dict, ext: str = "au") -> None:
    """Fault-filtered-style list files: ``<genre>/<genre>.000NN.<ext>``, one per line."""
    folder.mkdir(parents=True, exist_ok=True)
    for s in ("train", "valid", "test"):
        lines = [f"{t.split('.')[0]}/{t}.{ext}" for t in split[s]]
        (folder / f"{s}_filtered.txt").write_text("\n".join(lines) + "\n")


def build_gtzan_original(root: Path, per_genre: int = 3, seconds: float = 4.0, sr: int = 22050,
                         outside: int = 0) -> dict:
    """The Marsyas release: ``root/genres/<genre>/<genre>.000NN.au`` plus its ``.mf`` lists.

    The clips are real GTZAN ids named in the shipped fault-filtered lists (see
    :func:`gtzan_fixture_ids`), so every split has clips of every genre from three per genre;
    ``outside`` adds clips per genre that no list names (as the 70 faulty clips of the real
    collection). No list is written: the loader uses the shipped ones. ``info["split"]`` is the
    lists' split of the fixture clips (``left_out``: those outside the lists).
    """
    root = Path(root)
    genres_dir = root / "genres"
    chosen = gtzan_fixture_ids(per_genre, outside=outside)
    ids = _gtzan_clips(genres_dir, "au", "AU", chosen["ids"], seconds, sr)
    for g in GTZAN_GENRES:   # the release carries Marsyas collection files too
        (genres_dir / f"{g}.mf").write_text(
            "".join(f"genres/{g}/{t}.au\t{g}\n" for t in ids if t.startswith(g + ".")))
    return {"root": genres_dir, "ids": ids, "sr": sr, "seconds": seconds, "split": chosen["split"]}


# tracks per split (train, valid, test) of each genre in a partial copy (see build_gtzan_partial)
GTZAN_PARTIAL = {
    "classical": (5, 2, 3), "metal": (5, 2, 3), "rock": (5, 2, 3),   # every split
    "disco": (2, 1, 1), "jazz": (2, 1, 1),                            # every split
    "blues": (0, 2, 3),             # valid and test only
    "country": (0, 2, 0),           # valid only
    "reggae": (4, 0, 0),            # train only
    "hiphop": (3, 0, 2),            # train and test, no valid
    "pop": (2, 0, 1),               # train and test, no valid
}


def build_gtzan_partial(root: Path, seconds: float = 3.2, sr: int = 22050) -> dict:
    """Part of GTZAN, as a student might have it, read with the shipped fault-filtered lists.

    Only the clips of :data:`GTZAN_PARTIAL` are on disk (the first listed clips of each split
    of each genre), so blues and country have no training clip, reggae has only training
    clips, and hip-hop and pop have no validation clip. Returns the ids on disk, their split,
    the number of listed clips (``n_listed``) and, per genre, the tracks per split on disk.
    """
    root = Path(root)
    genres_dir = root / "genres"
    shipped = gtzan_shipped_split()
    split = {"train": [], "valid": [], "test": []}
    for g in GTZAN_GENRES:
        for s, n in zip(("train", "valid", "test"), GTZAN_PARTIAL[g]):
            split[s] += sorted(t for t, v in shipped.items() if v == s and t.startswith(g + "."))[:n]
    on_disk = _gtzan_clips(genres_dir, "au", "AU", sorted(split["train"] + split["valid"] + split["test"]),
                           seconds, sr)
    counts = {g: dict(zip(("train", "valid", "test"), GTZAN_PARTIAL[g])) for g in GTZAN_GENRES}
    return {"root": genres_dir, "ids": on_disk, "split": split, "n_listed": len(shipped),
            "counts": counts,
            "complete": sorted(g for g, c in counts.items() if all(c.values())),
            "incomplete": sorted(g for g, c in counts.items() if not all(c.values()))}


def build_gtzan_kaggle(root: Path, per_genre: int = 3, seconds: float = 4.0, sr: int = 22050,
                       short_clip: bool = True, features_csv: bool = True) -> dict:
    """The Kaggle copy: ``root/Data/genres_original/<genre>/<genre>.000NN.wav``.

    ``per_genre`` clips named in the shipped fault-filtered lists (see :func:`gtzan_fixture_ids`),
    plus the broken ``jazz.00054.wav`` (not a WAV file), optionally ``rock.00099.wav`` of only
    0.5 s (both are in the training list, so the loader reaches and skips them), and
    ``features_30_sec.csv`` / ``features_3_sec.csv`` beside the genre folders.
    """
    root = Path(root)
    data = root / "Data"
    folder = data / "genres_original"
    ids = _gtzan_clips(folder, "wav", "WAV", gtzan_fixture_ids(per_genre)["ids"], seconds, sr)
    write_not_audio(folder / "jazz" / "jazz.00054.wav", size=8192)
    bad = {"jazz.00054": "not a WAV file"}
    if short_clip:
        write_audio(folder / "rock" / "rock.00099.wav", genre_signal(9, 0.5, sr), sr, "WAV")
        bad["rock.00099"] = "too short"
    (data / "images_original").mkdir(parents=True, exist_ok=True)
    if features_csv:
        rng = np.random.default_rng(1)
        names = ["chroma_stft_mean", "chroma_stft_var", "rms_mean", "rms_var",
                 "spectral_centroid_mean", "spectral_centroid_var", "tempo"] + \
                [f"mfcc{i}_{s}" for i in range(1, 21) for s in ("mean", "var")]
        for secs, segments in ((30, 1), (3, 10)):
            with open(data / f"features_{secs}_sec.csv", "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["filename", "length"] + names + ["label"])
                for t in ids + ["jazz.00054"]:
                    for s in range(segments):
                        fname = f"{t}.wav" if secs == 30 else f"{t}.{s}.wav"
                        w.writerow([fname, 661794 if secs == 30 else 66149]
                                   + [f"{v:.6f}" for v in rng.normal(size=len(names))]
                                   + [t.split(".")[0]])
    return {"root": folder, "ids": ids, "bad": bad, "sr": sr, "seconds": seconds,
            "feature_names": 7 + 40}


# -- FMA --------------------------------------------------------------------------------------------

FMA_TRACK_COLUMNS = [
    ("album", ["comments", "date_created", "date_released", "engineer", "favorites", "id",
               "information", "listens", "producer", "tags", "title", "tracks", "type"]),
    ("artist", ["active_year_begin", "active_year_end", "associated_labels", "bio", "comments",
                "date_created", "favorites", "id", "latitude", "location", "longitude",
                "members", "name", "related_projects", "tags", "website", "wikipedia_page"]),
    ("set", ["split", "subset"]),
    ("track", ["bit_rate", "comments", "composer", "date_created", "date_recorded", "duration",
               "favorites", "genre_top", "genres", "genres_all", "information", "interest",
               "language_code", "license", "listens", "lyricist", "number", "publisher", "tags",
               "title"]),
]
# real top-level genre ids of FMA
FMA_SMALL_GENRES = {15: "Electronic", 38: "Experimental", 17: "Folk", 21: "Hip-Hop",
                    1235: "Instrumental", 2: "International", 10: "Pop", 12: "Rock"}
FMA_MEDIUM_EXTRA = {3: "Blues", 5: "Classical", 9: "Country", 13: "Easy Listening", 4: "Jazz",
                    8: "Old-Time / Historic", 14: "Soul-RnB", 20: "Spoken"}
FMA_SUBGENRES = {25: ("Punk", 12), 1: ("Avant-Garde", 38)}
FMA_FEATURES = {"chroma_cens": 12, "mfcc": 20, "zcr": 1}
FMA_STATS = ("kurtosis", "max", "mean", "median", "min", "skew", "std")


def _fma_row(tid: int, split: str, subset: str, gid: int, title: str, artist: str,
             artist_id: int, bio: str = "") -> dict:
    genres = [gid] + ([25] if gid == 12 and tid % 2 else []) + ([1] if gid == 38 else [])
    return {("set", "split"): split, ("set", "subset"): subset,
            ("track", "genre_top"): title, ("track", "genres"): str(genres[-1:]),
            ("track", "genres_all"): str(sorted(genres)), ("track", "title"): f"Track {tid}",
            ("track", "duration"): "30", ("track", "tags"): "[]", ("track", "bit_rate"): "320000",
            ("track", "license"): "Attribution", ("track", "date_created"): "2008-11-26 01:48:12",
            ("artist", "id"): str(artist_id), ("artist", "name"): artist,
            ("artist", "bio"): bio, ("artist", "tags"): "[]", ("album", "id"): str(artist_id * 10),
            ("album", "tags"): "[]", ("album", "title"): f"Album of {artist}",
            ("album", "type"): "Album"}


def write_tracks_csv(path: Path, rows: dict[int, dict]) -> None:
    """``tracks.csv`` with FMA's real three-row header and its 52 columns."""
    cols = [(g, c) for g, names in FMA_TRACK_COLUMNS for c in names]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([""] + [g for g, _ in cols])
        w.writerow([""] + [c for _, c in cols])
        w.writerow(["track_id"] + [""] * len(cols))
        for tid, row in sorted(rows.items()):
            w.writerow([tid] + [row.get(c, "") for c in cols])


def write_genres_csv(path: Path) -> None:
    rows = [(gid, title, 0, gid) for gid, title in {**FMA_SMALL_GENRES, **FMA_MEDIUM_EXTRA}.items()]
    rows += [(gid, title, parent, parent) for gid, (title, parent) in FMA_SUBGENRES.items()]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["genre_id", "#tracks", "parent", "title", "top_level"])
        for gid, title, parent, top in sorted(rows):
            w.writerow([gid, 100, parent, title, top])


def write_features_csv(path: Path, track_ids, seed: int = 0) -> None:
    """``features.csv`` with its three header rows (feature, statistics, number) + track_id."""
    cols = [(f, s, f"{i + 1:02d}") for f, n in FMA_FEATURES.items() for s in FMA_STATS
            for i in range(n)]
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["feature"] + [c[0] for c in cols])
        w.writerow(["statistics"] + [c[1] for c in cols])
        w.writerow(["number"] + [c[2] for c in cols])
        w.writerow(["track_id"] + [""] * len(cols))
        for tid in sorted(track_ids):
            w.writerow([tid] + [f"{v:.6e}" for v in rng.normal(size=len(cols))])


def build_fma(root: Path, per_genre: int = 3, seconds: float = 4.0, sr: int = 22050,
              medium: bool = True, features: bool = True) -> dict:
    """``root/fma_metadata/`` plus ``root/fma_small/NNN/NNNNNN.mp3`` (and ``fma_medium``).

    Per small genre ``per_genre`` tracks (first valid, second test, rest training); with
    ``medium``, two tracks per extra genre in ``fma_medium`` (whose tree also holds the small
    tracks, as the real archive does). The known faulty tracks are small Rock tracks:
    099134 (garbage bytes), 108925 (empty), 133297 (0.4 s). One ``large`` track is in
    ``tracks.csv`` only and must never appear.
    """
    root = Path(root)
    rows: dict[int, dict] = {}
    small_ids, medium_ids = [], []
    tid = 2
    for gi, (gid, title) in enumerate(FMA_SMALL_GENRES.items()):
        for k in range(per_genre):
            split = "validation" if k == 0 else "test" if k == 1 else "training"
            bio = "Plays \"loud\" music,\nfrom Geneva, Switzerland" if k == 0 else ""
            rows[tid] = _fma_row(tid, split, "small", gid, title, f"artist {gi}-{k % 2}",
                                 100 + gi * 10 + k % 2, bio)
            small_ids.append(tid)
            tid += 37
    faulty = {99134: "garbage", 108925: "empty", 133297: "short"}
    for f in faulty:
        rows[f] = _fma_row(f, "training", "small", 12, "Rock", "artist faulty", 999)
    if medium:
        for gi, (gid, title) in enumerate(FMA_MEDIUM_EXTRA.items()):
            for k in range(2):
                split = "training" if k == 0 else "test"
                rows[tid] = _fma_row(tid, split, "medium", gid, title, f"artist m{gi}",
                                     500 + gi, "")
                medium_ids.append(tid)
                tid += 41
    rows[150000] = _fma_row(150000, "training", "large", 12, "Rock", "artist large", 777)
    rows[150001] = _fma_row(150001, "training", "small", 12, "", "no genre", 778)

    meta = root / "fma_metadata"
    write_tracks_csv(meta / "tracks.csv", rows)
    write_genres_csv(meta / "genres.csv")
    if features:
        write_features_csv(meta / "features.csv", rows)

    def audio_path(folder: str, t: int) -> Path:
        s = f"{t:06d}"
        return root / folder / s[:3] / f"{s}.mp3"

    label = {title: i for i, title in enumerate({**FMA_SMALL_GENRES, **FMA_MEDIUM_EXTRA}.values())}
    for i, t in enumerate(small_ids + medium_ids):
        folder = "fma_small" if t in small_ids else "fma_medium"
        # the real files are 44.1 kHz stereo; a few are written so, the rest smaller (faster)
        rate, channels = (44100, 2) if i % 8 == 0 else (sr, 1)
        y = genre_signal(label[rows[t][("track", "genre_top")]], seconds, rate, seed=t)
        write_audio(audio_path(folder, t), y, rate, "MP3", channels=channels)
    write_not_audio(audio_path("fma_small", 99134), size=2048, seed=3)
    write_empty(audio_path("fma_small", 108925))
    write_audio(audio_path("fma_small", 133297), genre_signal(7, 0.4, sr), sr, "MP3")
    write_audio(audio_path("fma_small", 150001), genre_signal(7, seconds, sr), sr, "MP3")
    if medium:   # the medium archive holds the small tracks too
        for t in small_ids + [99134, 108925, 133297, 150001]:
            target = audio_path("fma_medium", t)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(audio_path("fma_small", t), target)
    return {"root": root, "metadata": meta, "small_ids": [f"{t:06d}" for t in small_ids],
            "medium_ids": [f"{t:06d}" for t in medium_ids],
            "faulty": {f"{t:06d}": kind for t, kind in faulty.items()}, "rows": rows}


# -- MagnaTagATune ---------------------------------------------------------------------------------

# the 188 tag columns of annotations_final.csv, in the file's order
MTAT_TAGS = (
    "no voice", "singer", "duet", "plucking", "hard rock", "world", "bongos", "harpsichord",
    "female singing", "clasical", "sitar", "chorus", "female opera", "male vocal", "vocals",
    "clarinet", "heavy", "silence", "beats", "men", "woodwind", "funky", "no strings", "chimes",
    "foreign", "no piano", "horns", "classical", "female", "no voices", "soft rock", "eerie",
    "spacey", "jazz", "guitar", "quiet", "no beat", "banjo", "electric", "solo", "violins",
    "folk", "female voice", "wind", "happy", "ambient", "new age", "synth", "funk",
    "no singing", "middle eastern", "trumpet", "percussion", "drum", "airy", "voice",
    "repetitive", "birds", "space", "strings", "bass", "harpsicord", "medieval", "male voice",
    "girl", "keyboard", "acoustic", "loud", "classic", "string", "drums", "electronic",
    "not classical", "chanting", "no violin", "not rock", "no guitar", "organ", "no vocal",
    "talking", "choral", "weird", "opera", "soprano", "fast", "acoustic guitar",
    "electric guitar", "male singer", "man singing", "classical guitar", "country", "violin",
    "electro", "reggae", "tribal", "dark", "male opera", "no vocals", "irish", "electronica",
    "horn", "operatic", "arabic", "lol", "low", "instrumental", "trance", "chant", "strange",
    "drone", "synthesizer", "heavy metal", "modern", "disco", "bells", "man", "deep",
    "fast beat", "industrial", "hard", "harp", "no flute", "jungle", "pop", "lute",
    "female vocal", "oboe", "mellow", "orchestral", "viola", "light", "echo", "piano", "celtic",
    "male vocals", "orchestra", "eastern", "old", "flutes", "punk", "spanish", "sad", "sax",
    "slow", "male", "blues", "vocal", "indian", "no singer", "scary", "india", "woman",
    "woman singing", "rock", "dance", "piano solo", "guitars", "no drums", "jazzy", "singing",
    "cello", "calm", "female vocals", "voices", "different", "techno", "clapping", "house",
    "monks", "flute", "not opera", "not english", "oriental", "beat", "upbeat", "soft", "noise",
    "choir", "female singer", "rap", "metal", "hip hop", "quick", "water", "baroque", "women",
    "fiddle", "english",
)
# the published top-50 tags, most frequent first (used to give the fixture a realistic skew)
MTAT_TOP50 = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast",
    "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male",
    "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman",
    "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man", "classic", "choir",
    "voice", "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello",
    "no voice", "weird", "country", "metal", "female voice", "choral",
)


def build_mtat(root: Path, per_dir: int = 2, seconds: float = 4.0, sr: int = 16000,
               seed: int = 0) -> dict:
    """``root/annotations_final.csv`` + ``root/mp3/<hex>/<artist>-<album>-NN-<title>-a-b.mp3``.

    ``per_dir`` clips in each of the 16 folders, tags drawn with a skew that follows the
    published frequency order. Two clips have no tag at all, one clip carries only rare tags
    (so it has none after a top-10 selection), ``woman``/``female`` appear apart so merging
    changes counts, and one MP3 file is empty.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    rows = []
    clip_id = 2
    weights = {t: 0.7 * 0.93 ** i for i, t in enumerate(MTAT_TOP50)}
    hexes = "0123456789abcdef"
    for h in hexes:
        for k in range(per_dir):
            artist = f"artist_{h}{k}"
            name = f"{h}/{artist}-some_album-{k + 1:02d}-a_title-{30 * k}-{30 * k + 29}.mp3"
            tags = {t for t, p in weights.items() if rng.random() < p}
            rows.append([clip_id, tags, name])
            clip_id += 7
    rows[3][1] = set()                       # untagged clips
    rows[13][1] = set()
    rows[5][1] = {"lol", "water"}            # only rare tags
    rows[6][1] = {"woman", "female vocals"}  # synonyms only
    rows[8][1] = {"female", "woman singing"}
    empty = rows[10][2]
    path = root / "annotations_final.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\n")
        w.writerow(["clip_id", *MTAT_TAGS, "mp3_path"])
        for cid, tags, name in rows:
            w.writerow([cid, *[int(t in tags) for t in MTAT_TAGS], name])
    label_of = {t: i for i, t in enumerate(MTAT_TOP50)}
    for cid, tags, name in rows:
        target = root / "mp3" / name
        if name == empty:
            write_empty(target)
            continue
        lab = min((label_of[t] for t in tags if t in label_of), default=0)
        write_audio(target, genre_signal(lab, seconds, sr, seed=cid), sr, "MP3")
    with open(root / "clip_info_final.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\n")
        w.writerow(["clip_id", "track_number", "title", "artist", "album", "url",
                    "segmentStart", "segmentEnd", "original_url", "mp3_path"])
        for cid, _, name in rows:
            w.writerow([cid, 1, "a title", name.split("/")[1].split("-")[0], "some album", "",
                        0, 29, "", name])
    return {"root": root, "rows": rows, "empty": empty,
            "ids": [str(r[0]) for r in rows], "empty_id": str(rows[10][0]),
            "untagged_ids": [str(rows[3][0]), str(rows[13][0])]}


# -- archives for the download tests ---------------------------------------------------------------


def make_tar_gz(folder: Path, out: Path, arcname: str | None = None) -> Path:
    """``folder`` packed as a gzip tarball (its top folder kept as ``arcname``)."""
    with tarfile.open(out, "w:gz") as tar:
        tar.add(folder, arcname=arcname or Path(folder).name)
    return out


def make_zip(folder: Path, out: Path, top: str | None = None) -> Path:
    """``folder``'s content zipped, under a top folder ``top`` (or at the archive's root)."""
    folder = Path(folder)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            rel = p.relative_to(folder).as_posix()
            zf.write(p, f"{top}/{rel}" if top else rel)
    return out


def split_file(path: Path, parts: int) -> list[Path]:
    """Cut a file into ``parts`` byte ranges named ``<name>.001``, ``.002``... (like MTAT's zip)."""
    data = Path(path).read_bytes()
    step = -(-len(data) // parts)
    out = []
    for i in range(parts):
        p = Path(f"{path}.{i + 1:03d}")
        p.write_bytes(data[i * step:(i + 1) * step])
        out.append(p)
    return out


def sha256(path: Path) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()


__all__ = [n for n in dir() if n.startswith(("build_", "write_", "make_", "genre_signal",
                                              "split_file", "sha256", "GTZAN", "FMA", "MTAT"))]


def deny_reading(monkeypatch, path) -> None:
    """Make ``path`` unreadable for this process, as a file without read permission is (tests
    run as root, where ``chmod 000`` does not stop reads, so ``open`` refuses it instead)."""
    import builtins

    real_open = builtins.open

    def refusing_open(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refusing_open)
