import librosa
import numpy as np
import pandas as pd
import pytest

from genre_lib import features
from genre_lib.features import CacheError


@pytest.fixture(scope="module")
def signal():
    rng = np.random.default_rng(0)
    t = np.arange(3 * 22050) / 22050
    return (0.3 * np.sin(2 * np.pi * 330 * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


def test_logmel_matches_librosa(signal):
    ours = features.logmel(signal, 22050)
    ref = librosa.power_to_db(librosa.feature.melspectrogram(y=signal, sr=22050))
    assert ours.shape == ref.shape == (128, 1 + len(signal) // 512)
    assert np.max(np.abs(ours - ref)) < 1e-2  # dB, float32 against float64 paths


def test_logmel_matches_librosa_other_parameters(signal):
    ours = features.logmel(signal, 22050, n_fft=1024, hop_length=256, n_mels=64, fmax=8000)
    ref = librosa.power_to_db(librosa.feature.melspectrogram(
        y=signal, sr=22050, n_fft=1024, hop_length=256, n_mels=64, fmax=8000))
    assert np.max(np.abs(ours - ref)) < 1e-2


def test_mfcc_matches_librosa(signal):
    ours = features.mfcc(signal, 22050, n_mfcc=20)
    ref = librosa.feature.mfcc(y=signal, sr=22050, n_mfcc=20)
    assert ours.shape == ref.shape
    assert np.allclose(ours, ref, atol=0.05)


def test_summary_vector_layout():
    frames = np.vstack([np.arange(10.0), np.ones(10)])
    vec, names = features.summarise(frames)
    assert vec.shape == (14,) and len(names) == 14
    assert names[0] == "mfcc00_mean" and names[2] == "mfcc00_std"
    assert vec[0] == pytest.approx(4.5) and vec[1] == pytest.approx(1.0)
    assert np.isfinite(vec).all()  # constant row: skew/kurtosis would be nan
    assert len(features.summary_names(20)) == 140


def _small(table, n=6):
    part = table.groupby("genre").head(1).head(n).reset_index(drop=True)
    part.attrs = dict(table.attrs)
    return part


def test_cache_miss_then_hit(ci_settings, ci_table):
    t = _small(ci_table)
    first = features.extract(t, "mfcc_stats", ci_settings, progress=False)
    assert not first.from_cache and first.X.shape == (len(t), 140)
    second = features.extract(t, "mfcc_stats", ci_settings, progress=False)
    assert second.from_cache
    assert np.array_equal(first.X, second.X)
    assert second.table["track_id"].tolist() == t["track_id"].tolist()


def test_parameter_change_never_returns_stale(ci_settings, ci_table):
    t = _small(ci_table)
    a = features.extract(t, "logmel", ci_settings, progress=False, n_mels=32)
    b = features.extract(t, "logmel", ci_settings, progress=False, n_mels=48)
    c = features.extract(t, "logmel", ci_settings, progress=False, n_mels=32, hop_length=1024)
    assert a.X.shape[1] == 32 and b.X.shape[1] == 48
    assert c.X.shape[2] < a.X.shape[2]
    assert len({a.cache_path, b.cache_path, c.cache_path}) == 3
    d = features.extract(t.iloc[:3], "logmel", ci_settings, progress=False, n_mels=32)
    assert d.cache_path != a.cache_path and len(d.X) == 3  # another track set, another entry


def test_corrupt_and_truncated_entries_are_rebuilt(ci_settings, ci_table):
    t = _small(ci_table)
    good = features.extract(t, "mfcc_stats", ci_settings, progress=False, n_mfcc=13)
    path = good.cache_path
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF  # flip one byte of the payload
    path.write_bytes(bytes(data))
    with pytest.raises(CacheError, match="checksum"):
        features.read_entry(path)
    with pytest.warns(UserWarning, match="rebuilt"):
        again = features.extract(t, "mfcc_stats", ci_settings, progress=False, n_mfcc=13)
    assert not again.from_cache and np.array_equal(again.X, good.X)
    path.write_bytes(path.read_bytes()[:100])  # truncated
    with pytest.raises(CacheError, match="truncated"):
        features.read_entry(path)
    with pytest.warns(UserWarning):
        assert np.array_equal(features.extract(t, "mfcc_stats", ci_settings, progress=False,
                                               n_mfcc=13).X, good.X)
    path.write_bytes(b"garbage")
    with pytest.raises(CacheError, match="header"):
        features.read_entry(path)


def test_bad_tracks_are_skipped_and_listed(ci_settings, ci_table, tmp_path, capsys):
    t = _small(ci_table, 4).copy()
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all" * 50)
    extra = pd.DataFrame([
        dict(track_id="bad.empty", path=str(empty), genre="blues", split="train", tags=[]),
        dict(track_id="bad.junk", path=str(junk), genre="rock", split="test", tags=[]),
    ])
    table = pd.concat([t[extra.columns], extra], ignore_index=True)
    fs = features.extract(table, "mfcc_stats", ci_settings, progress=False)
    assert len(fs.X) == len(t) and set(fs.skipped) == {"bad.empty", "bad.junk"}
    assert "empty file" in fs.skipped["bad.empty"]
    assert "bad.junk" not in fs.table["track_id"].tolist()
    out = capsys.readouterr().out
    assert "skipped 2" in out and "bad.junk" in out


def test_interrupted_extraction_resumes_without_losing_work(ci_settings, ci_table, monkeypatch):
    t = ci_table.head(8).reset_index(drop=True)
    t.attrs = dict(ci_table.attrs)
    calls = []
    real = features._work

    def flaky(path, *a):
        calls.append(path)
        if len(calls) == 6:
            raise KeyboardInterrupt  # the student pressed stop
        return real(path, *a)

    monkeypatch.setattr(features, "_work", flaky)
    with pytest.raises(KeyboardInterrupt):
        features.extract(t, "mfcc_stats", ci_settings, progress=False, jobs=1,
                         checkpoint_every=2, n_mfcc=7)
    assert len(calls) == 6
    calls.clear()
    fs = features.extract(t, "mfcc_stats", ci_settings, progress=False, jobs=1,
                          checkpoint_every=2, n_mfcc=7)
    assert len(calls) == 3  # five were saved before the interrupt; three remain
    assert fs.X.shape == (8, 49) and not fs.cache_path.with_suffix(".partial").exists()
    calls.clear()
    monkeypatch.setattr(features, "_work", real)
    fresh = features.extract(t, "mfcc_stats", ci_settings, progress=False, use_cache=False, n_mfcc=7)
    assert np.allclose(fresh.X, fs.X)


def test_unknown_kind_and_parameter(ci_settings, ci_table):
    with pytest.raises(ValueError, match="unknown feature kind"):
        features.extract(ci_table, "chroma", ci_settings)
    with pytest.raises(TypeError, match="n_mfcc"):
        features.extract(ci_table, "logmel", ci_settings, n_mfcc=3)


def test_featureset_subset_by_split_mask_and_positions(ci_settings, ci_table):
    fs = features.extract(ci_table, "mfcc_stats", ci_settings, progress=False)
    test = fs.subset("test")
    assert set(test.table["split"]) == {"test"} and len(test.X) == len(test.table)
    assert test.table.attrs == fs.table.attrs
    X, table = fs.split("test")
    assert np.array_equal(test.X, X) and test.table["track_id"].tolist() == table["track_id"].tolist()
    two = fs.subset([0, 2])
    assert two.table["track_id"].tolist() == fs.table["track_id"].iloc[[0, 2]].tolist()
    assert np.array_equal(two.X, fs.X[[0, 2]])
    mask = np.zeros(len(fs.X), bool)
    mask[1] = True
    assert fs.subset(mask).table["track_id"].tolist() == [fs.table["track_id"].iloc[1]]
