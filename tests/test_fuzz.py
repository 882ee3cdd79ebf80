"""Fuzz-style robustness (issue 16): a few hundred mutated WAV, MP3 and CSV inputs go through
the loaders. Every outcome must be a valid result or a clear, typed error
(:class:`~genre_lib.audio.AudioError` for audio, :class:`~genre_lib.datasets.DatasetError` for
metadata) naming the file; nothing else may escape, and nothing already computed is lost."""
from __future__ import annotations

import dataclasses
import os
import shutil
import struct
from collections import Counter
from pathlib import Path

import fixtures_real as fr
import numpy as np
import pytest
import soundfile as sf

from genre_lib import audio, datasets
from genre_lib.audio import AudioError
from genre_lib.config import PROFILE_TABLE, get_settings
from genre_lib.datasets import DatasetError

SR = 22050
CI_ALL = dataclasses.replace(PROFILE_TABLE["ci"], max_tracks_per_label=None)


def mutations(data: bytes, n: int, seed: int, header: int = 64):
    """``n`` damaged copies of ``data``: truncations, byte flips (half of them in the header)
    and random overwrites of 4-byte fields, each with a short description."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        b = bytearray(data)
        kind = ("truncate", "flip", "flip-header", "field")[i % 4]
        if kind == "truncate":
            cut = int(rng.integers(0, len(b)))
            b = b[:cut]
        elif kind in ("flip", "flip-header"):
            top = min(header, len(b)) if kind == "flip-header" else len(b)
            for pos in rng.integers(0, top, int(rng.integers(1, 8))):
                b[pos] ^= int(rng.integers(1, 256))
        else:
            pos = int(rng.integers(0, max(1, min(header, len(b) - 4))))
            b[pos:pos + 4] = struct.pack("<I", int(rng.choice([0, 1, 7, 0xFFFF, 0xFFFFFFFF,
                                                                rng.integers(0, 2**32)])))
        yield f"{kind} #{i}", bytes(b)


def _tone(seconds=1.0):
    t = np.arange(int(seconds * SR)) / SR
    return (0.4 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)


def _load_outcome(path: Path) -> str:
    """'ok' for a valid signal, 'error' for a clear AudioError; anything else fails."""
    try:
        y = audio.load(path, sr=SR, duration=2.0)
    except AudioError as exc:
        assert str(path) in str(exc) and exc.reason and "\n" not in exc.reason, repr(exc)
        return "error"
    assert y.dtype == np.float32 and y.ndim == 1 and len(y) == 2 * SR
    assert np.all(np.isfinite(y))
    return "ok"


@pytest.mark.parametrize("fmt, suffix, n", [("WAV", ".wav", 160), ("MP3", ".mp3", 120)])
def test_mutated_audio_loads_or_fails_clearly(tmp_path, fmt, suffix, n):
    clean = tmp_path / f"clean{suffix}"
    sf.write(clean, _tone(), SR, format=fmt)
    outcomes = Counter()
    for i, (what, blob) in enumerate(mutations(clean.read_bytes(), n, seed=len(suffix))):
        path = tmp_path / f"m{i:03d}{suffix}"
        path.write_bytes(blob)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                outcomes[_load_outcome(path)] += 1
            except AssertionError:
                raise
            except Exception as exc:  # anything untyped is a failure of the loader
                pytest.fail(f"{fmt} {what}: {type(exc).__name__}: {exc}")
    print(f"{fmt}: {dict(outcomes)} of {n} mutated files")
    assert sum(outcomes.values()) == n and outcomes["error"] > 0


def test_a_batch_with_damaged_files_keeps_every_good_result(tmp_path):
    """Good and damaged files in one extraction: every good file's features are computed (and
    equal to a clean run's), every damaged file is reported as skipped, nothing else lost."""
    import pandas as pd

    from genre_lib import features

    good, bad = [], []
    for i in range(6):
        p = tmp_path / "audio" / f"good{i}.wav"
        p.parent.mkdir(exist_ok=True)
        sf.write(p, _tone() * (0.5 + 0.1 * i), SR)
        good.append(p)
    for i, (_, blob) in enumerate(mutations(good[0].read_bytes(), 12, seed=7)):
        p = tmp_path / "audio" / f"bad{i}.wav"
        p.write_bytes(blob[: 20 + i])          # cut inside the header: never decodable
        bad.append(p)

    def table_of(paths):
        return pd.DataFrame({"track_id": [p.stem for p in paths], "path": [str(p) for p in paths],
                             "genre": "tone", "split": "train", "tags": [[] for _ in paths]})

    settings = get_settings(dataset="synth", profile="ci", data_dir=tmp_path / "data",
                            work_dir=tmp_path / "work", jobs=2)
    mixed = features.extract(table_of(good + bad), "mfcc_stats", progress=False, settings=settings)
    clean = features.extract(table_of(good), "mfcc_stats", progress=False,
                             settings=settings.with_(data_dir=tmp_path / "d2"))
    assert list(mixed.table["track_id"]) == [p.stem for p in good]
    np.testing.assert_allclose(np.asarray(mixed.X), np.asarray(clean.X), rtol=1e-6)
    skipped = {str(k) for k in mixed.skipped}
    assert skipped == {p.stem for p in bad}, mixed.skipped


# -- metadata ---------------------------------------------------------------------------------------
def _check_table_or_error(load, where: str) -> str:
    try:
        table = load()
    except DatasetError as exc:
        assert "\n" not in str(exc), str(exc)
        return "error"
    except Exception as exc:
        pytest.fail(f"{where}: {type(exc).__name__}: {exc}")
    datasets.check_table(table)
    assert table["track_id"].is_unique and len(table) > 0
    return "ok"


def _clean_source(tmp_path_factory, dataset: str, build) -> Path:
    data = tmp_path_factory.mktemp(f"{dataset}_fuzz") / "data"
    build(data)
    settings = get_settings(dataset=dataset, profile=CI_ALL, data_dir=data,
                            work_dir=data.parent / "work", jobs=1)
    assert len(datasets.load_table(progress=False, settings=settings))  # the clean copy loads
    return data


def _fuzz_metadata(dataset: str, clean: bytes, place, tmp_path, seed: int, header: int) -> Counter:
    """60 mutated copies of one metadata file, each put in a data folder by ``place`` and
    loaded; returns how many gave a table and how many a clear error."""
    outcomes = Counter()
    for i, (what, blob) in enumerate(mutations(clean, 60, seed=seed, header=header)):
        data = tmp_path / f"c{i}"
        place(data, blob)
        settings = get_settings(dataset=dataset, profile=CI_ALL, data_dir=data,
                                work_dir=tmp_path / "work", jobs=1)
        outcomes[_check_table_or_error(lambda s=settings: datasets.load_table(progress=False, settings=s),
                                       f"{dataset} metadata {what}")] += 1
    print(f"{dataset} metadata: {dict(outcomes)} of 60")
    return outcomes


def test_mutated_fma_tracks_csv_gives_a_table_or_a_clear_error(fma_source, tmp_path):
    def place(data, blob):
        (data / "fma_metadata").mkdir(parents=True)
        shutil.copy(fma_source / "fma_metadata" / "genres.csv", data / "fma_metadata")
        os.symlink(fma_source / "fma_small", data / "fma_small")
        (data / "fma_metadata" / "tracks.csv").write_bytes(blob)

    clean = (fma_source / "fma_metadata" / "tracks.csv").read_bytes()
    place(tmp_path / "clean", clean)      # the clean copy loads (fma_source: tests/conftest.py)
    settings = get_settings(dataset="fma_small", profile=CI_ALL, data_dir=tmp_path / "clean",
                            work_dir=tmp_path / "work", jobs=1)
    assert len(datasets.load_table(progress=False, settings=settings))
    outcomes = _fuzz_metadata("fma_small", clean, place, tmp_path, seed=3, header=600)
    assert outcomes["error"] > 0 and outcomes["ok"] > 0


@pytest.fixture(scope="module")
def mtat_source(tmp_path_factory):
    return _clean_source(tmp_path_factory, "mtat", lambda d: fr.build_mtat(d / "mtat"))


def test_mutated_mtat_annotations_give_a_table_or_a_clear_error(mtat_source, tmp_path):
    def place(data, blob):
        (data / "mtat").mkdir(parents=True)
        os.symlink(mtat_source / "mtat" / "mp3", data / "mtat" / "mp3")
        (data / "mtat" / "annotations_final.csv").write_bytes(blob)

    clean = (mtat_source / "mtat" / "annotations_final.csv").read_bytes()
    outcomes = _fuzz_metadata("mtat", clean, place, tmp_path, seed=4, header=2000)
    assert outcomes["error"] > 0 and outcomes["ok"] > 0


@pytest.fixture(scope="module")
def gtzan_source(tmp_path_factory):
    data = tmp_path_factory.mktemp("gtzan_fuzz") / "data"
    info = fr.build_gtzan_original(data / "gtzan", per_genre=3, seconds=3.2)
    fr.write_split_lists(data / "gtzan", info["split"])      # lists beside the data, as a user's
    return data


def test_mutated_gtzan_split_lists_give_a_table_or_a_clear_error(gtzan_source, tmp_path):
    """A damaged list beside the data (which would replace the shipped fault-filtered lists)
    gives a table or a one-line DatasetError naming the list, never anything else."""
    def place(data, blob):
        (data / "gtzan").mkdir(parents=True)
        os.symlink(gtzan_source / "gtzan" / "genres", data / "gtzan" / "genres")
        for name in ("valid_filtered.txt", "test_filtered.txt"):
            shutil.copy(gtzan_source / "gtzan" / name, data / "gtzan" / name)
        (data / "gtzan" / "train_filtered.txt").write_bytes(blob)

    clean = (gtzan_source / "gtzan" / "train_filtered.txt").read_bytes()
    outcomes = Counter()
    for i, (what, blob) in enumerate(mutations(clean, 40, seed=5, header=len(clean))):
        data = tmp_path / f"c{i}"
        place(data, blob)
        settings = get_settings(dataset="gtzan", profile=CI_ALL, data_dir=data,
                                work_dir=tmp_path / "work", jobs=1)
        outcomes[_check_table_or_error(
            lambda s=settings: datasets.load_table(progress=False, validate=False, verbose=False, settings=s),
            f"gtzan train list {what}")] += 1
    print(f"gtzan lists: {dict(outcomes)} of 40")
    assert outcomes["error"] > 0 and outcomes["ok"] > 0
