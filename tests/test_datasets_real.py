"""The GTZAN, FMA and MagnaTagATune loaders on fixture trees in their official layouts."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import fixtures_real as fr
import numpy as np
import pandas as pd
import pytest

from genre_lib import datasets
from genre_lib.config import PROFILE_TABLE, get_settings
from genre_lib.datasets import DatasetError, fma, gtzan, local, mtat

# the ci profile without its subsampling, so every fixture file is examined
CI_ALL = dataclasses.replace(PROFILE_TABLE["ci"], max_tracks_per_label=None)


def settings_for(data_dir: Path, dataset: str, profile=CI_ALL):
    return get_settings(dataset=dataset, profile=profile, data_dir=data_dir,
                        work_dir=data_dir.parent / "work", jobs=2)


@pytest.fixture(scope="module")
def gtzan_original(tmp_path_factory):
    data = tmp_path_factory.mktemp("gtzan_orig") / "data"
    info = fr.build_gtzan_original(data / "gtzan", per_genre=4, seconds=3.5, split_lists=True)
    return data, info


@pytest.fixture(scope="module")
def gtzan_kaggle(tmp_path_factory):
    data = tmp_path_factory.mktemp("gtzan_kaggle") / "data"
    # unpacked somewhere unexpected under data/: the loader must still find it
    info = fr.build_gtzan_kaggle(data / "my downloads" / "archive", per_genre=3, seconds=3.5)
    return data, info


@pytest.fixture(scope="module")
def fma_tree(tmp_path_factory):
    data = tmp_path_factory.mktemp("fma") / "data"
    return data, fr.build_fma(data, seconds=3.5)


@pytest.fixture(scope="module")
def mtat_tree(tmp_path_factory):
    data = tmp_path_factory.mktemp("mtat") / "data"
    return data, fr.build_mtat(data / "mtat", seconds=3.5)


def _contract(table: pd.DataFrame, dataset: str, clip_seconds: float) -> None:
    datasets.check_table(table)
    assert table.attrs["dataset"] == dataset
    assert table.attrs["clip_seconds"] == clip_seconds
    assert isinstance(table.attrs["skipped"], dict)
    assert all(Path(p).is_absolute() and Path(p).exists() for p in table["path"])
    assert set(table["split"]) <= {"train", "valid", "test"}


# -- GTZAN --------------------------------------------------------------------------------------


def test_gtzan_original_uses_fault_filtered_lists(gtzan_original):
    data, info = gtzan_original
    table = datasets.load_table(settings_for(data, "gtzan"), progress=False)
    _contract(table, "gtzan", 30.0)
    split = info["split"]
    for s in ("train", "valid", "test"):
        assert set(table.loc[table["split"] == s, "track_id"]) == set(split[s])
    assert not set(split["left_out"]) & set(table["track_id"])   # outside the lists: left out
    assert "fault-filtered" in table.attrs["split_source"]
    assert set(table["format"]) == {"au"} and table.attrs["layout"].startswith("original")
    assert table["seconds"].between(3.4, 3.6).all()
    assert table.attrs["skipped"] == {}


def test_gtzan_kaggle_skips_broken_and_short_clips(gtzan_kaggle, capsys):
    data, info = gtzan_kaggle
    settings = settings_for(data, "gtzan")
    table = gtzan.load_table(settings, progress=False)
    out = capsys.readouterr().out
    _contract(table, "gtzan", 30.0)
    skipped = table.attrs["skipped"]
    assert set(skipped) == {"jazz.00054", "rock.00099"}
    assert "not a WAV file" in skipped["jazz.00054"]
    assert "too short" in skipped["rock.00099"]
    assert set(table["track_id"]) == set(info["ids"])
    assert table.attrs["layout"] == "Kaggle"
    assert set(table.attrs["kaggle_features_csv"]) == {30, 3}
    assert "features_csv" not in table.attrs      # that name means FMA's features.csv
    # no split lists: a seeded stratified split, with the note on why it matters
    assert "fault-filtered" in out and "inflates" in out and "jazz.00054" in out
    assert (pd.crosstab(table["genre"], table["split"]) >= 1).all().all()
    again = gtzan.load_table(settings, progress=False, verbose=False)
    pd.testing.assert_frame_equal(table[["track_id", "split"]], again[["track_id", "split"]])
    text = datasets.summary(table)
    assert "skipped 2 file(s)" in text and "jazz.00054" in text


def test_gtzan_split_options(gtzan_kaggle, gtzan_original):
    data, _ = gtzan_kaggle
    with pytest.raises(DatasetError, match="train_filtered.txt"):
        gtzan.load_table(settings_for(data, "gtzan"), split="filtered", progress=False)
    data, info = gtzan_original
    table = gtzan.load_table(settings_for(data, "gtzan"), split="random", progress=False,
                             verbose=False)
    assert len(table) == len(info["ids"]) and table.attrs["split_source"].startswith("random")


def test_gtzan_ci_profile_subsamples(gtzan_original):
    data, _ = gtzan_original
    tiny = dataclasses.replace(PROFILE_TABLE["ci"], max_tracks_per_label=2)
    table = gtzan.load_table(settings_for(data, "gtzan", tiny), split="random", progress=False,
                             verbose=False)
    counts = table.groupby(["genre", "split"]).size()
    assert counts.max() <= 1 and table["genre"].nunique() == 10


def test_read_split_list(tmp_path):
    p = tmp_path / "train_filtered.txt"
    p.write_text("# comment\nblues/blues.00012.au\njazz.00054.wav\tjazz\n\nRock/rock.00003\n")
    assert gtzan.read_split_list(p) == ["blues.00012", "jazz.00054", "rock.00003"]
    p.write_text("blues/blues.00012.au\nnot a clip\n")
    with pytest.raises(DatasetError, match="line 2"):
        gtzan.read_split_list(p)


def test_gtzan_kaggle_feature_tables(gtzan_kaggle):
    data, info = gtzan_kaggle
    settings = settings_for(data, "gtzan")
    table = gtzan.load_table(settings, progress=False, verbose=False)
    f30 = gtzan.load_features(settings, 30, table)
    assert list(f30.index) == list(table["track_id"])
    assert f30.shape[1] == info["feature_names"] and f30.dtypes.eq(np.float32).all()
    f3 = gtzan.load_features(settings, 3, table)
    assert len(f3) == 10 * len(table) and sorted(set(f3["segment"])) == list(range(10))


def test_validation_is_cached_and_refreshed(gtzan_original, monkeypatch):
    data, info = gtzan_original
    settings = settings_for(data, "gtzan")
    gtzan.load_table(settings, progress=False, verbose=False)        # fills the cache
    calls = []
    real = local.probe_audio
    monkeypatch.setattr(local, "probe_audio", lambda p: calls.append(p) or real(p))
    gtzan.load_table(settings, progress=False, verbose=False)
    assert calls == []
    touched = next(p for p in info["root"].rglob("*.au"))
    st = touched.stat()
    os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    gtzan.load_table(settings, progress=False, verbose=False)
    assert calls == [str(touched.resolve())]


@pytest.mark.parametrize("dataset,hint", [("gtzan", "data download gtzan"),
                                          ("fma_small", "data download fma_metadata"),
                                          ("mtat", "data download mtat")])
def test_missing_dataset_says_where_and_how(tmp_path, dataset, hint):
    settings = settings_for(tmp_path / "data", dataset)
    with pytest.raises(DatasetError) as err:
        datasets.load_table(settings)
    text = str(err.value)
    assert hint in text and "data status" in text and str(tmp_path / "data") in text


# -- FMA ----------------------------------------------------------------------------------------


def test_fma_small_table(fma_tree):
    data, info = fma_tree
    table = datasets.load_table(settings_for(data, "fma_small"), progress=False)
    _contract(table, "fma_small", 30.0)
    assert set(table["track_id"]) == set(info["small_ids"])     # not large, not genre-less
    skipped = table.attrs["skipped"]
    assert set(skipped) == set(info["faulty"])
    assert "cannot decode" in skipped["099134"] and "empty file" in skipped["108925"]
    assert "too short" in skipped["133297"]
    assert all("known faulty" in r for r in skipped.values())
    assert table["genre"].nunique() == 8 and set(table["subset"]) == {"small"}
    assert set(table["split"]) == {"train", "valid", "test"}
    assert {44100, 22050} <= set(table["sample_rate"])           # stereo 44.1 kHz and mono
    rows = info["rows"]
    for tid, split, genre in zip(table["track_id"], table["split"], table["genre"]):
        row = rows[int(tid)]
        assert {"training": "train", "validation": "valid", "test": "test"}[row[("set", "split")]] == split
        assert row[("track", "genre_top")] == genre
    punk = [t for t in table["tags"] if "Punk" in t]
    assert punk and all("Rock" in t for t in punk)
    assert table.attrs["features_csv"].endswith("features.csv")


def test_fma_medium_holds_small_and_medium(fma_tree):
    data, info = fma_tree
    table = fma.load_table(settings_for(data, "fma_medium"), progress=False, verbose=False)
    _contract(table, "fma_medium", 30.0)
    assert set(table["track_id"]) == set(info["small_ids"]) | set(info["medium_ids"])
    assert table["genre"].nunique() == 16
    assert "fma_medium" in table["path"].iloc[0]


def test_fma_features_csv(fma_tree):
    data, _ = fma_tree
    settings = settings_for(data, "fma_small")
    table = fma.load_table(settings, progress=False, verbose=False)
    mfcc = fma.load_features(settings, table)
    assert mfcc.shape == (len(table), 140)
    assert list(mfcc.index) == list(table["track_id"])
    assert mfcc.columns[0] == "mfcc_kurtosis_01" and mfcc.columns[-1] == "mfcc_std_20"
    everything = fma.load_features(settings, groups=None)
    assert everything.shape[1] == 7 * (12 + 20 + 1)


def test_fma_rejects_a_foreign_tracks_csv(tmp_path):
    meta = tmp_path / "data" / "fma_metadata"
    meta.mkdir(parents=True)
    settings = settings_for(tmp_path / "data", "fma_small")
    (meta / "tracks.csv").write_text("track_id,genre\n2,Rock\n5,Pop\n10,Folk\n")
    fr.write_genres_csv(meta / "genres.csv")
    with pytest.raises(DatasetError, match="three-row header"):
        fma.read_tracks(meta / "tracks.csv", settings)
    (meta / "tracks.csv").write_text("track_id,genre\n")
    with pytest.raises(DatasetError, match="3-row header"):
        fma.read_tracks(meta / "tracks.csv", settings)


def test_mp3_decodes_without_ffmpeg(fma_tree):
    from genre_lib import audio

    data, info = fma_tree
    stereo = next(p for t in info["small_ids"] for p in [data / "fma_small" / t[:3] / f"{t}.mp3"]
                  if audio.info(p)["channels"] == 2)
    y = audio.load(stereo, sr=22050, duration=3.0)
    assert y.shape == (66150,) and np.abs(y).max() > 0.05


# -- MagnaTagATune --------------------------------------------------------------------------------


def test_mtat_top50_standard_split(mtat_tree):
    data, info = mtat_tree
    table = datasets.load_table(settings_for(data, "mtat"), progress=False)
    _contract(table, "mtat", 29.1)
    assert table["genre"].isna().all()
    assert table.attrs["skipped"].keys() == {info["empty_id"]}
    assert "empty" in table.attrs["skipped"][info["empty_id"]]
    for mp3_path, split in zip(table["mp3_path"], table["split"]):
        expect = "train" if mp3_path[0] in "0123456789ab" else "valid" if mp3_path[0] == "c" else "test"
        assert split == expect
    names = table.attrs["tag_names"]
    assert 0 < len(names) <= 50
    ann = mtat.read_annotations(data / "mtat" / "annotations_final.csv")
    counts = ann[names].sum().to_numpy()
    assert (np.diff(counts) <= 0).all()                       # most frequent first
    for tags in table["tags"]:
        assert tags == sorted(tags, key=names.index)
    assert table.attrs["untagged"] >= 2
    assert set(info["untagged_ids"]) <= set(table["track_id"])   # kept, not dropped
    assert "distinct tags" in datasets.summary(table)


def test_mtat_synonyms_and_top10(mtat_tree):
    data, info = mtat_tree
    ann = mtat.read_annotations(data / "mtat" / "annotations_final.csv")
    tags = ann.drop(columns=["clip_id", "mp3_path"])
    merged = mtat.merge_synonym_tags(tags)
    assert "woman" not in merged and "female" not in merged
    expect = tags[["female vocal", "female", "woman", "women", "female vocals", "female voice",
                   "female singer", "female singing", "woman singing"]].max(axis=1)
    assert (merged["female vocal"] == expect).all()
    assert merged["female vocal"].sum() > tags["female vocal"].sum()
    table = mtat.load_table(settings_for(data, "mtat"), top_n=10, merge_synonyms=True,
                            progress=False, verbose=False)
    names = table.attrs["tag_names"]
    assert len(names) == 10 and table.attrs["merge_synonyms"] is True
    members = {m for group in mtat.SYNONYMS.values() for m in group}
    assert not members & set(names)
    rare = str(info["rows"][5][0])                 # only rare tags: none left after top-10
    assert table.set_index("track_id").loc[rare, "tags"] == []
    assert table.attrs["untagged"] >= 3


def test_mtat_split_files(mtat_tree, tmp_path):
    data, info = mtat_tree
    rows = info["rows"]
    splits = tmp_path / "split"
    splits.mkdir()
    (splits / "train.txt").write_text("".join(f"{i}\t{r[2]}\n" for i, r in enumerate(rows[:10])))
    (splits / "valid.txt").write_text("".join(f"{r[0]}\n" for r in rows[10:14]))
    np.save(splits / "test.npy", np.array([r[2] for r in rows[14:20]]))
    table = mtat.load_table(settings_for(data, "mtat"), split_files=splits, progress=False,
                            verbose=False)
    by_id = dict(zip(table["track_id"], table["split"]))
    assert set(by_id) <= {str(r[0]) for r in rows[:20]}
    assert all(by_id[str(r[0])] == "train" for r in rows[:10] if str(r[0]) in by_id)
    assert all(by_id[str(r[0])] == "test" for r in rows[14:20])
    assert "split files" in table.attrs["split_source"]


def test_no_usable_file_is_an_error_not_an_empty_table(gtzan_original):
    data, _ = gtzan_original
    with pytest.raises(DatasetError, match="none of the 30 file"):
        gtzan.load_table(settings_for(data, "gtzan"), min_seconds=10.0, progress=False,
                         verbose=False)
