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
from genre_lib.datasets import DatasetError, fma, gtzan, local, mtat, status

# the ci profile without its subsampling, so every fixture file is examined
CI_ALL = dataclasses.replace(PROFILE_TABLE["ci"], max_tracks_per_label=None)


def settings_for(data_dir: Path, dataset: str, profile=CI_ALL):
    return get_settings(dataset=dataset, profile=profile, data_dir=data_dir,
                        work_dir=data_dir.parent / "work", jobs=2)


@pytest.fixture(scope="module")
def gtzan_original(tmp_path_factory):
    data = tmp_path_factory.mktemp("gtzan_orig") / "data"
    # four listed clips per genre and one that no list names (for the eight genres having one)
    info = fr.build_gtzan_original(data / "gtzan", per_genre=4, seconds=3.5, outside=1)
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


def test_gtzan_uses_the_shipped_fault_filtered_split(gtzan_original, capsys):
    data, info = gtzan_original
    assert not list(data.rglob("*_filtered.txt"))          # no lists beside the data
    table = datasets.load_table(progress=False, settings=settings_for(data, "gtzan"))
    out = capsys.readouterr().out
    _contract(table, "gtzan", 30.0)
    # every fixture clip has the split its shipped list gives it
    lists = fr.gtzan_shipped_split()
    assert dict(zip(table["track_id"], table["split"])) == {t: lists[t] for t in table["track_id"]}
    split = info["split"]
    for s in ("train", "valid", "test"):
        assert set(table.loc[table["split"] == s, "track_id"]) == set(split[s])
    # clips in no list are left out of every split, and the report and summary say so
    left_out = split["left_out"]
    assert len(left_out) == 8 and not set(left_out) & set(lists)
    assert not set(left_out) & set(table["track_id"])
    assert table.attrs["outside_split"]["tracks"] == sorted(left_out)
    assert "8 clip(s) on disk left out of every split" in out and "distorted" in out
    assert "left out of every split: 8 track(s) on disk" in datasets.summary(table)
    assert "fault-filtered" in table.attrs["split_source"]
    assert "shipped with genre_lib" in table.attrs["split_source"]
    assert table.attrs["split_rule"] == "official"
    assert "random split" not in out                      # no warning: nothing was asked
    assert f"{930 - 40} listed clip(s) not on disk" in out
    assert table.attrs["listed_not_on_disk"] == 930 - 40
    assert set(table["format"]) == {"au"} and table.attrs["layout"].startswith("original")
    assert table["seconds"].between(3.4, 3.6).all()
    assert table.attrs["skipped"] == {}


def test_gtzan_kaggle_skips_broken_and_short_clips(gtzan_kaggle, capsys):
    data, info = gtzan_kaggle
    settings = settings_for(data, "gtzan")
    table = gtzan.load_table(progress=False, settings=settings)
    out = capsys.readouterr().out
    _contract(table, "gtzan", 30.0)
    skipped = table.attrs["skipped"]
    assert set(skipped) == {"jazz.00054", "rock.00099"}   # both listed for train, so reached
    assert "not a WAV file" in skipped["jazz.00054"]
    assert "too short" in skipped["rock.00099"]
    assert set(table["track_id"]) == set(info["ids"])
    assert table.attrs["layout"] == "Kaggle"
    assert set(table.attrs["kaggle_features_csv"]) == {30, 3}
    assert "features_csv" not in table.attrs      # that name means FMA's features.csv
    # no lists beside the data: the shipped fault-filtered split, no random-split warning
    lists = fr.gtzan_shipped_split()
    assert all(lists[t] == s for t, s in zip(table["track_id"], table["split"]))
    assert "fault-filtered" in out and "shipped with genre_lib" in out and "jazz.00054" in out
    assert "random split" not in out
    assert (pd.crosstab(table["genre"], table["split"]) >= 1).all().all()
    again = gtzan.load_table(progress=False, verbose=False, settings=settings)
    pd.testing.assert_frame_equal(table[["track_id", "split"]], again[["track_id", "split"]])
    text = datasets.summary(table)
    assert "skipped 2 file(s)" in text and "jazz.00054" in text


def test_gtzan_split_options(gtzan_kaggle, gtzan_original, tmp_path, capsys):
    data, _ = gtzan_kaggle
    default = gtzan.load_table(progress=False, verbose=False, settings=settings_for(data, "gtzan"))
    filtered = gtzan.load_table(split="filtered", progress=False,
                                verbose=False, settings=settings_for(data, "gtzan"))
    pd.testing.assert_frame_equal(default[["track_id", "split"]], filtered[["track_id", "split"]])
    with pytest.raises(DatasetError, match="split_dir"):          # asked for, not there
        gtzan.load_table(split_dir=tmp_path, progress=False, settings=settings_for(data, "gtzan"))
    with pytest.raises(ValueError, match="split must be"):
        gtzan.load_table(split="official", progress=False, settings=settings_for(data, "gtzan"))
    data, info = gtzan_original
    capsys.readouterr()
    table = gtzan.load_table(split="random", progress=False, settings=settings_for(data, "gtzan"))
    out = capsys.readouterr().out
    # a random split only on request: every clip on disk, those outside the lists included
    assert len(table) == len(info["ids"]) and table.attrs["split_source"].startswith("random")
    assert set(info["split"]["left_out"]) <= set(table["track_id"])
    assert table.attrs["split_rule"] == "random" and "outside_split" not in table.attrs
    assert "warning: a random split was asked for" in out and "artist" in out


def test_genre_split_random_gives_the_random_split_with_the_warning(gtzan_original, capsys):
    data, info = gtzan_original
    settings = get_settings(dataset="gtzan", profile=CI_ALL, data_dir=data, split="random",
                            work_dir=data.parent / "work", jobs=2)
    table = datasets.load_table(progress=False, settings=settings)
    out = capsys.readouterr().out
    assert out.count("warning: a random split was asked for") == 1     # once, not twice
    assert "GENRE_SPLIT=random" in out and "artist" in out and "inflated" in out
    assert table.attrs["split_rule"] == "random"
    assert set(table["track_id"]) == set(info["ids"])
    assert (pd.crosstab(table["genre"], table["split"]) >= 1).all().all()
    lists = fr.gtzan_shipped_split()
    listed = [t for t in table["track_id"] if t in lists]
    assert any(lists[t] != s for t, s in zip(table["track_id"], table["split"]) if t in listed)
    assert "split rule: random" in datasets.summary(table)
    # data status says which split the loader uses
    assert "split: random (GENRE_SPLIT=random)" in status.status_report(settings=settings)


def test_lists_beside_the_data_replace_the_shipped_ones(tmp_path, capsys):
    data = tmp_path / "data"
    info = fr.build_gtzan_original(data / "gtzan", per_genre=3, seconds=3.2)
    ids = info["ids"]
    # a split of our own, which differs from the shipped one, beside the genre folders
    own = {"train": [t for t in ids if t in info["split"]["valid"] + info["split"]["test"]],
           "valid": [t for t in ids if t in info["split"]["train"]], "test": []}
    own["test"], own["train"] = own["train"][::2], own["train"][1::2]
    fr.write_split_lists(data / "gtzan", own)
    table = datasets.load_table(progress=False, settings=settings_for(data, "gtzan"))
    out = capsys.readouterr().out
    for s in ("train", "valid", "test"):
        assert set(table.loc[table["split"] == s, "track_id"]) == set(own[s])
    assert "beside the data" in table.attrs["split_source"] and "replace" in out
    assert "the published split has 443/197/290" in out
    assert f"lists found beside the data in {data / 'gtzan'}" in status.status_report(
        settings=settings_for(data, "gtzan"))
    # copies of the shipped lists (an older download fetched them) are recognised as such
    for name in ("train", "valid", "test"):
        (data / "gtzan" / f"{name}_filtered.txt").write_bytes(
            (fr.GTZAN_LISTS / f"{name}_filtered.txt").read_bytes())
    table = gtzan.load_table(progress=False, verbose=False, settings=settings_for(data, "gtzan"))
    assert "identical to those shipped" in table.attrs["split_source"]
    # an incomplete set beside the data is ignored, with a note; the shipped lists are used
    (data / "gtzan" / "valid_filtered.txt").unlink()
    table = gtzan.load_table(progress=False, settings=settings_for(data, "gtzan"))
    out = capsys.readouterr().out
    assert "incomplete split lists" in out and "shipped with genre_lib" in table.attrs["split_source"]
    lists = fr.gtzan_shipped_split()
    assert all(lists[t] == s for t, s in zip(table["track_id"], table["split"]))


def test_shipped_lists_are_package_data():
    """The three lists and their README (source, ISC notice) are found by importlib.resources,
    are the published files byte for byte, and pyproject.toml installs them with the package."""
    import hashlib
    import tomllib
    from fnmatch import fnmatch
    from importlib import resources

    folder = resources.files("genre_lib.datasets").joinpath("gtzan_filtered")
    expected = {  # SHA-256 of the published files, and their number of clips
        "train_filtered.txt": ("2b04966cef1486f1a7767b74271533fa23e220388db804a1937835e1fc4fa3fa", 443),
        "valid_filtered.txt": ("f8fbee7c52397a0e0f3a91dc54fedecb2e27f5bdc9a9daeab8cb10d077e26956", 197),
        "test_filtered.txt": ("09cafa6a89ce0a27f30ed250d56ecb4d03c22fffb5a693f96c7ae655ee02ac72", 290)}
    readme = folder.joinpath("README.md").read_text()
    for name, (digest, n) in expected.items():
        blob = folder.joinpath(name).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == digest and digest in readme
        assert len(blob.decode().split()) == n
    assert "jordipons/sklearn-audio-transfer-learning" in readme and "ISC" in readme
    assert "Permission to use, copy, modify, and/or distribute this software" in readme
    assert "Copyright (c) 2019, Jordi Pons" in readme
    assert sorted(gtzan.shipped_split_lists()) == ["test", "train", "valid"]
    assignment = gtzan.split_assignment()
    assert len(assignment) == 930 and sum(v == "valid" for v in assignment.values()) == 197
    root = Path(__file__).resolve().parent.parent
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = [*expected, "README.md"]
    assert all(any(fnmatch(f, g) for g in globs["genre_lib.datasets.gtzan_filtered"]) for f in shipped)


def test_gtzan_ci_profile_subsamples(gtzan_original):
    data, _ = gtzan_original
    tiny = dataclasses.replace(PROFILE_TABLE["ci"], max_tracks_per_label=2)
    table = gtzan.load_table(split="random", progress=False,
                             verbose=False, settings=settings_for(data, "gtzan", tiny))
    counts = table.groupby(["genre", "split"]).size()
    assert counts.max() <= 1 and table["genre"].nunique() == 10
    table = gtzan.load_table(progress=False, verbose=False, settings=settings_for(data, "gtzan", tiny))
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
    table = gtzan.load_table(progress=False, verbose=False, settings=settings)
    f30 = gtzan.load_features(table, 30, settings=settings)
    assert list(f30.index) == list(table["track_id"])
    assert f30.shape[1] == info["feature_names"] and f30.dtypes.eq(np.float32).all()
    f3 = gtzan.load_features(table, 3, settings=settings)
    assert len(f3) == 10 * len(table) and sorted(set(f3["segment"])) == list(range(10))


def test_validation_is_cached_and_refreshed(gtzan_original, monkeypatch):
    data, info = gtzan_original
    settings = settings_for(data, "gtzan")
    gtzan.load_table(progress=False, verbose=False, settings=settings)        # fills the cache
    calls = []
    real = local.probe_audio
    monkeypatch.setattr(local, "probe_audio", lambda p: calls.append(p) or real(p))
    gtzan.load_table(progress=False, verbose=False, settings=settings)
    assert calls == []
    first = info["split"]["train"][0]                 # a listed clip: the loader probes it
    touched = info["root"] / first.split(".")[0] / f"{first}.au"
    st = touched.stat()
    os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    gtzan.load_table(progress=False, verbose=False, settings=settings)
    assert calls == [str(touched.resolve())]


@pytest.mark.parametrize("dataset,hint", [("gtzan", "data download gtzan"),
                                          ("fma_small", "data download fma_metadata"),
                                          ("mtat", "data download mtat")])
def test_missing_dataset_says_where_and_how(tmp_path, dataset, hint):
    settings = settings_for(tmp_path / "data", dataset)
    with pytest.raises(DatasetError) as err:
        datasets.load_table(settings=settings)
    text = str(err.value)
    assert hint in text and "data status" in text and str(tmp_path / "data") in text


# -- FMA ----------------------------------------------------------------------------------------


def test_fma_small_table(fma_tree):
    data, info = fma_tree
    table = datasets.load_table(progress=False, settings=settings_for(data, "fma_small"))
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
    table = fma.load_table(progress=False, verbose=False, settings=settings_for(data, "fma_medium"))
    _contract(table, "fma_medium", 30.0)
    assert set(table["track_id"]) == set(info["small_ids"]) | set(info["medium_ids"])
    assert table["genre"].nunique() == 16
    assert "fma_medium" in table["path"].iloc[0]


def test_fma_features_csv(fma_tree):
    data, _ = fma_tree
    settings = settings_for(data, "fma_small")
    table = fma.load_table(progress=False, verbose=False, settings=settings)
    mfcc = fma.load_features(table, settings=settings)
    assert mfcc.shape == (len(table), 140)
    assert list(mfcc.index) == list(table["track_id"])
    assert mfcc.columns[0] == "mfcc_kurtosis_01" and mfcc.columns[-1] == "mfcc_std_20"
    everything = fma.load_features(groups=None, settings=settings)
    assert everything.shape[1] == 7 * (12 + 20 + 1)


def test_fma_rejects_a_foreign_tracks_csv(tmp_path):
    meta = tmp_path / "data" / "fma_metadata"
    meta.mkdir(parents=True)
    settings = settings_for(tmp_path / "data", "fma_small")
    (meta / "tracks.csv").write_text("track_id,genre\n2,Rock\n5,Pop\n10,Folk\n")
    fr.write_genres_csv(meta / "genres.csv")
    with pytest.raises(DatasetError, match="three-row header"):
        fma.read_tracks(meta / "tracks.csv", settings=settings)
    (meta / "tracks.csv").write_text("track_id,genre\n")
    with pytest.raises(DatasetError, match="3-row header"):
        fma.read_tracks(meta / "tracks.csv", settings=settings)


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
    table = datasets.load_table(progress=False, settings=settings_for(data, "mtat"))
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
    table = mtat.load_table(top_n=10, merge_synonyms=True,
                            progress=False, verbose=False, settings=settings_for(data, "mtat"))
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
    table = mtat.load_table(split_files=splits, progress=False,
                            verbose=False, settings=settings_for(data, "mtat"))
    by_id = dict(zip(table["track_id"], table["split"]))
    assert set(by_id) <= {str(r[0]) for r in rows[:20]}
    assert all(by_id[str(r[0])] == "train" for r in rows[:10] if str(r[0]) in by_id)
    assert all(by_id[str(r[0])] == "test" for r in rows[14:20])
    assert "split files" in table.attrs["split_source"]


def test_no_usable_file_is_an_error_not_an_empty_table(gtzan_original):
    data, info = gtzan_original
    listed = len(info["ids"]) - len(info["split"]["left_out"])     # only listed clips are probed
    with pytest.raises(DatasetError, match=f"none of the {listed} file"):
        gtzan.load_table(min_seconds=10.0, progress=False,
                         verbose=False, settings=settings_for(data, "gtzan"))


def test_lists_naming_au_files_count_as_the_shipped_ones(tmp_path):
    """The upstream lists name clips with .au, the shipped copies with .wav: same split."""
    from genre_lib.datasets import gtzan

    shipped = gtzan.shipped_split_lists()
    au = {}
    for split, res in shipped.items():
        path = tmp_path / f"{split}_filtered.txt"
        path.write_text(res.read_text().replace(".wav", ".au"))
        au[split] = path
    assert gtzan._same_as_shipped(au)
    moved = dict(au)
    text = au["train"].read_text().splitlines()
    (tmp_path / "valid2.txt").write_text("\n".join(au["valid"].read_text().splitlines() + text[:1]))
    (tmp_path / "train2.txt").write_text("\n".join(text[1:]))
    moved.update(train=tmp_path / "train2.txt", valid=tmp_path / "valid2.txt")
    assert not gtzan._same_as_shipped(moved)
