import os
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import pytest
from fixtures_real import deny_reading

from genre_lib import audio, features
from genre_lib.store import ShardedArray


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


def test_defaults_come_from_the_settings(ci_settings):
    assert features.kind_defaults("logmel", settings=ci_settings) == ci_settings.mel_params
    assert features.kind_defaults("waveform", settings=ci_settings) == {"sr": ci_settings.sample_rate}
    other = ci_settings.with_(n_mels=40, hop_length=256, sample_rate=16000)
    assert features.kind_defaults("mfcc", settings=other) == dict(other.mel_params, n_mfcc=20)
    assert features.MEL_DEFAULTS == features.Settings().mel_params


@pytest.mark.parametrize("kind", sorted(set(features.KINDS) - {"musicnn"}))  # musicnn: test_musicnn.py
def test_row_shape_is_known_before_computing(ci_settings, signal, kind):
    for overrides in ({}, {"hop_length": 300, "n_mels": 40, "n_mfcc": 13}):
        params = features.resolve_params(kind, {
            k: v for k, v in overrides.items() if k in features.KINDS[kind].params}, settings=ci_settings)
        y = signal[: int(round(2.3 * params["sr"]))]  # as audio.load crops
        row = features.compute(y, kind, **params, settings=ci_settings)
        assert features.row_shape(kind, params, 2.3) == row.shape


def _small(table, n=6):
    part = table.groupby("genre").head(1).head(n).reset_index(drop=True)
    part.attrs = dict(table.attrs)
    return part


def test_cache_miss_then_hit(private, ci_table):
    t = _small(ci_table)
    first = features.extract(t, "mfcc_stats", progress=False, settings=private)
    assert not first.from_cache and first.X.shape == (len(t), 140)
    assert isinstance(first.X, np.ndarray)  # a per-track kind lives in memory
    second = features.extract(t, "mfcc_stats", progress=False, settings=private)
    assert second.from_cache
    assert np.array_equal(first.X, second.X)
    assert second.table["track_id"].tolist() == t["track_id"].tolist()


def test_settings_change_the_features(private, ci_table):
    t = _small(ci_table, 3)
    narrow = private.with_(n_mels=40)
    fs = features.extract(t, "logmel", progress=False, settings=narrow)
    assert fs.X.shape[1] == 40 and fs.params["n_mels"] == 40 and fs.params["sr"] == narrow.sample_rate
    assert features.extract(t, "logmel", progress=False, settings=private).X.shape[1] == private.n_mels


def test_parameter_change_never_returns_stale(private, ci_table):
    t = _small(ci_table)
    a = features.extract(t, "logmel", progress=False, n_mels=32, settings=private)
    b = features.extract(t, "logmel", progress=False, n_mels=48, settings=private)
    c = features.extract(t, "logmel", progress=False, n_mels=32, hop_length=1024, settings=private)
    assert a.X.shape[1] == 32 and b.X.shape[1] == 48
    assert c.X.shape[2] < a.X.shape[2]
    assert len({a.cache_path, b.cache_path, c.cache_path}) == 3
    d = features.extract(t.iloc[:3], "logmel", progress=False, n_mels=32, settings=private)
    # a smaller track set is answered from the same entry: its index knows every track
    assert d.from_cache and d.cache_path == a.cache_path and len(d.X) == 3
    assert np.array_equal(np.asarray(d.X), np.asarray(a.X)[:3])
    e = features.extract(t, "logmel", progress=False, n_mels=32, seconds=2.0, settings=private)
    assert e.cache_path != a.cache_path and e.X.shape[2] < a.X.shape[2]


def test_array_kinds_read_from_the_store(private, ci_table):
    t = _small(ci_table)
    fs = features.extract(t, "logmel", progress=False, settings=private)
    X = fs.X
    assert isinstance(X, ShardedArray) and fs.cache_path.is_dir()
    dense = features.extract(t, "logmel", progress=False, use_cache=False, settings=private).X
    assert isinstance(dense, np.ndarray) and np.array_equal(np.asarray(X), dense)
    assert (len(X), X.shape, X.ndim, X.dtype) == (len(dense), dense.shape, 3, np.float32)
    assert np.array_equal(X[2], dense[2]) and np.array_equal(X[1, ..., 5:9], dense[1, ..., 5:9])
    assert np.array_equal(X[:, :, :6], dense[:, :, :6])  # as tests/test_embeddings.py uses it
    assert np.allclose(X.mean(axis=2), dense.mean(axis=2), atol=1e-4)  # plotting's mean spectrum


def test_logmel_32x32_images_equal_the_notebook_computation(private, ci_table):
    from genre_lib import analysis

    t = _small(ci_table)
    images = features.extract(t, "logmel_32x32", progress=False, settings=private)
    mel = features.extract(t, "logmel", progress=False, settings=private)
    assert isinstance(images.X, np.ndarray) and images.X.shape == (len(t), 1024)
    assert np.array_equal(images.X, analysis.downsample_images(np.asarray(mel.X), (32, 32)))
    again = features.extract(t, "logmel_32x32", progress=False, settings=private)
    assert again.from_cache and np.array_equal(again.X, images.X)


def _with_bad_files(table, tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all" * 50)
    extra = pd.DataFrame([
        dict(track_id="bad.empty", path=str(empty), genre="blues", split="train", tags=[]),
        dict(track_id="bad.junk", path=str(junk), genre="rock", split="test", tags=[]),
    ])
    out = pd.concat([table[extra.columns], extra], ignore_index=True)
    out.attrs = dict(table.attrs)
    return out, junk


def test_bad_tracks_are_skipped_listed_and_listed_again_from_the_cache(private, ci_table, tmp_path, capsys):
    t = _small(ci_table, 4)
    table, _ = _with_bad_files(t, tmp_path)
    fs = features.extract(table, "mfcc_stats", progress=False, settings=private)
    assert len(fs.X) == len(t) and set(fs.skipped) == {"bad.empty", "bad.junk"}
    assert "empty file" in fs.skipped["bad.empty"] and not fs.transient
    assert "bad.junk" not in fs.table["track_id"].tolist()
    out = capsys.readouterr().out
    assert "skipped 2" in out and "bad.junk" in out
    again = features.extract(table, "mfcc_stats", progress=False, settings=private)
    out = capsys.readouterr().out
    assert again.from_cache and set(again.skipped) == {"bad.empty", "bad.junk"}
    assert "skipped 2" in out and "bad.junk" in out and "remembered from an earlier run" in out


def test_a_fixed_file_is_read_again(private, ci_table, tmp_path):
    t = _small(ci_table, 3)
    table, junk = _with_bad_files(t, tmp_path)
    assert "bad.junk" in features.extract(table, "mfcc_stats", progress=False, settings=private).skipped
    junk.write_bytes(Path(t["path"].iloc[0]).read_bytes())  # the file is replaced by good audio
    fs = features.extract(table, "mfcc_stats", progress=False, settings=private)
    assert "bad.junk" not in fs.skipped and "bad.junk" in fs.table["track_id"].tolist()
    assert np.array_equal(fs.X[-1], fs.X[0])  # the same audio, computed in another process




def test_unreadable_file_is_not_remembered_as_bad(private, ci_table, monkeypatch, capsys):
    t = _small(ci_table, 4)
    victim = t["path"].iloc[1]
    with monkeypatch.context() as m:
        deny_reading(m, victim)
        fs = features.extract(t, "logmel", progress=False, jobs=1, settings=private)
    tid = t["track_id"].iloc[1]
    assert tid in fs.transient and tid in fs.skipped and len(fs.X) == 3
    assert "Permission denied" in fs.transient[tid]
    assert "not remembered" in capsys.readouterr().out
    calls = []
    real = features._work
    monkeypatch.setattr(features, "_work", lambda path, *a: calls.append(path) or real(path, *a))
    again = features.extract(t, "logmel", progress=False, jobs=1, settings=private)
    assert calls == [victim] and not again.skipped and len(again.X) == 4


def test_io_error_in_the_loader_is_not_remembered(private, ci_table, monkeypatch):
    t = _small(ci_table, 3)
    victim = t["path"].iloc[0]
    real_load = audio.load

    def failing(path, *a, **k):
        if str(path) == victim:
            raise OSError(5, "Input/output error")
        return real_load(path, *a, **k)

    with monkeypatch.context() as m:
        m.setattr(audio, "load", failing)
        fs = features.extract(t, "mfcc_stats", progress=False, jobs=1, settings=private)
    assert t["track_id"].iloc[0] in fs.transient
    again = features.extract(t, "mfcc_stats", progress=False, jobs=1, settings=private)
    assert not again.skipped and len(again.X) == 3


def test_content_change_with_same_size_and_mtime_is_noticed(private, ci_table, tmp_path):
    t = _small(ci_table, 3).copy()
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    y = audio.load(t["path"].iloc[0], sr=None)
    audio.write_wav(a, y, 22050)
    audio.write_wav(b, y[::-1].copy(), 22050)  # the same size, other audio
    t.loc[0, "path"] = str(a)
    first = features.extract(t, "logmel", progress=False, settings=private)
    st = a.stat()
    a.write_bytes(b.read_bytes())
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns))  # the same size and modification time
    assert a.stat().st_size == st.st_size and a.stat().st_mtime_ns == st.st_mtime_ns
    second = features.extract(t, "logmel", progress=False, settings=private)
    assert not second.from_cache
    assert not np.array_equal(second.X[0], first.X[0]) and np.array_equal(second.X[1], first.X[1])


def test_interrupted_extraction_resumes_without_losing_work(private, ci_table, monkeypatch):
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
        features.extract(t, "mfcc_stats", progress=False, jobs=1, shard_rows=2, n_mfcc=7, settings=private)
    assert len(calls) == 6
    calls.clear()
    fs = features.extract(t, "mfcc_stats", progress=False, jobs=1, shard_rows=2, n_mfcc=7, settings=private)
    assert len(calls) == 3  # five were saved before the interrupt; three remain
    assert fs.X.shape == (8, 49)
    assert not [p for p in fs.cache_path.iterdir() if ".tmp-" in p.name]
    monkeypatch.setattr(features, "_work", real)
    fresh = features.extract(t, "mfcc_stats", progress=False, use_cache=False, n_mfcc=7, settings=private)
    assert np.allclose(fresh.X, fs.X)


def test_unknown_kind_and_parameter(ci_settings, ci_table):
    with pytest.raises(ValueError, match="unknown feature kind"):
        features.extract(ci_table, "spectral_flux", settings=ci_settings)
    with pytest.raises(TypeError, match="n_mfcc"):
        features.extract(ci_table, "logmel", n_mfcc=3, settings=ci_settings)


def test_featureset_subset_by_split_mask_and_positions(ci_settings, ci_table):
    fs = features.extract(ci_table, "mfcc_stats", progress=False, settings=ci_settings)
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


def test_subset_of_a_sharded_featureset_stays_lazy(private, ci_table):
    t = _small(ci_table, 6)
    fs = features.extract(t, "logmel", progress=False, settings=private)
    part = fs.subset([4, 1])
    assert isinstance(part.X, ShardedArray) and part.X.shape == (2,) + fs.X.shape[1:]
    assert np.array_equal(part.X[0], fs.X[4]) and np.array_equal(np.asarray(part.X), fs.X[[4, 1]])
    X, table = fs.split("train")
    assert isinstance(X, ShardedArray) and len(X) == len(table)
