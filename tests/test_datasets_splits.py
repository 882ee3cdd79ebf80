"""Issue 17: partial copies whose split leaves a label without tracks in some split.

The situation: GTZAN's official fault-filtered lists (shipped with genre_lib) name ten genres,
but only part of the audio is on disk, so some genres appear in one or two splits only. The
shared loading path must leave those genres out of every split, say so with their counts, and
expose the labels it kept.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import fixtures_real as fr
import pandas as pd
import pytest

from genre_lib import datasets
from genre_lib.config import PROFILE_TABLE, get_settings

CI_ALL = dataclasses.replace(PROFILE_TABLE["ci"], max_tracks_per_label=None)


def settings_for(data_dir: Path, dataset: str, **changes):
    return get_settings(dataset=dataset, profile=CI_ALL, data_dir=data_dir,
                        work_dir=data_dir.parent / "work", jobs=2, **changes)


def test_labels_missing_from_a_split_are_left_out_and_reported(partial_gtzan, capsys):
    data, info = partial_gtzan
    table = datasets.load_table(progress=False, settings=settings_for(data, "gtzan"))
    out = capsys.readouterr().out
    kept = info["complete"]
    assert kept == ["classical", "disco", "jazz", "metal", "rock"]
    assert table.attrs["labels"] == kept and datasets.labels(table) == kept
    assert sorted(table["genre"].unique()) == kept
    per = pd.crosstab(table["genre"], table["split"])
    assert (per[["train", "valid", "test"]] >= 1).all().all()
    left = table.attrs["left_out_labels"]
    assert set(left) == set(info["incomplete"]) == {"blues", "country", "hiphop", "pop", "reggae"}
    for genre in left:
        assert left[genre] == info["counts"][genre]
    assert left["blues"] == {"train": 0, "valid": 2, "test": 3}
    assert left["reggae"] == {"train": 4, "valid": 0, "test": 0}
    # the listed clips present keep their lists' split
    lists = fr.gtzan_shipped_split()
    assert all(lists[t] == s for t, s in zip(table["track_id"], table["split"]))
    # the loader's report: clips listed but absent, then the labels left out with counts
    n_absent = info["n_listed"] - len(info["ids"])
    assert f"{n_absent} listed clip(s) not on disk" in out
    assert table.attrs["listed_not_on_disk"] == n_absent
    assert "left out 5 label(s) without tracks in every split" in out
    assert "blues (train 0, valid 2, test 3)" in out and "country (train 0, valid 2, test 0)" in out
    assert "hiphop (train 3, valid 0, test 2)" in out
    assert table.attrs["split_rule"] == "official"
    # a subset of the table still knows every kept label (class count and chance level)
    test_only = table[table["split"] == "test"]
    assert datasets.labels(test_only) == kept


def test_summary_names_rule_counts_and_left_out_labels(partial_gtzan, capsys, monkeypatch):
    data, _ = partial_gtzan
    table = datasets.load_table(progress=False, verbose=False, settings=settings_for(data, "gtzan"))
    text = datasets.summary(table)
    assert "split rule: official (fault-filtered" in text
    assert "left out 5 label(s)" in text and "pop (train 2, valid 0, test 1)" in text
    lines = text.splitlines()
    header = next(ln for ln in lines if "train" in ln and "valid" in ln and "test" in ln)
    assert header.split() == ["split", "train", "valid", "test"]
    disco = next(ln for ln in lines if ln.startswith("disco"))
    assert disco.split() == ["disco", "2", "1", "1"]
    # the command line prints the same summary
    from genre_lib.__main__ import main

    for key, value in {"GENRE_DATASET": "gtzan", "GENRE_PROFILE": "ci",
                       "GENRE_DATA_DIR": str(data)}.items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    assert main(["data", "summary"]) == 0
    printed = capsys.readouterr().out
    assert "split rule: official" in printed and "left out 5 label(s)" in printed


def test_random_split_setting(partial_gtzan, capsys, monkeypatch):
    data, info = partial_gtzan
    monkeypatch.setenv("GENRE_SPLIT", "random")
    settings = get_settings(dataset="gtzan", profile=CI_ALL, data_dir=data,
                            work_dir=data.parent / "work", jobs=2)
    assert settings.split == "random"
    table = datasets.load_table(progress=False, settings=settings)
    out = capsys.readouterr().out
    assert "GENRE_SPLIT=random" in out and "artist" in out          # the warning
    assert table.attrs["split_rule"] == "random"
    # every clip on disk takes part; only country (2 clips, too few to split) is left out
    assert set(table.attrs["left_out_labels"]) == {"country"}
    assert len(table) == len(info["ids"]) - 2
    again = datasets.load_table(progress=False, verbose=False, settings=settings)
    assert table["split"].tolist() == again["split"].tolist()       # seeded: stable
    assert "split rule: random" in datasets.summary(table)
    monkeypatch.setenv("GENRE_SPLIT", "shuffled")
    with pytest.raises(ValueError, match="GENRE_SPLIT"):
        get_settings()


def test_random_split_applies_to_every_dataset(tmp_path_factory, capsys):
    data = tmp_path_factory.mktemp("fma_random") / "data"
    fr.build_fma(data, per_genre=3, seconds=3.2, medium=False, features=False)
    official = datasets.load_table(progress=False, verbose=False, settings=settings_for(data, "fma_small"))
    capsys.readouterr()
    shuffled = datasets.load_table(progress=False, settings=settings_for(data, "fma_small", split="random"))
    out = capsys.readouterr().out
    assert "GENRE_SPLIT=random" in out and "artist" in out
    assert shuffled.attrs["split_rule"] == "random" and official.attrs["split_rule"] == "official"
    assert "replaces: official set/split" in shuffled.attrs["split_source"]
    assert set(shuffled["track_id"]) == set(official["track_id"])
    assert datasets.labels(shuffled) == datasets.labels(official)


def test_tags_missing_from_a_split_leave_the_vocabulary(tmp_path_factory):
    data = tmp_path_factory.mktemp("mtat_split") / "data"
    fr.build_mtat(data / "mtat", per_dir=2, seconds=3.2)
    table = datasets.load_table(progress=False, verbose=False, settings=settings_for(data, "mtat"))
    kept = datasets.labels(table)
    assert kept and table.attrs["tag_names"] == kept
    for tag in kept:
        for split in ("train", "valid", "test"):
            assert any(tag in ts for ts, s in zip(table["tags"], table["split"]) if s == split)
    assert all(set(ts) <= set(kept) for ts in table["tags"])
    assert table.attrs["left_out_labels"]                 # the two valid clips lack most tags
    assert table.attrs["untagged"] == sum(1 for t in table["tags"] if not t)


def test_too_few_complete_labels_is_an_error(tmp_path):
    data = tmp_path / "data"
    root = data / "gtzan"
    split = {"train": ["blues.00000", "jazz.00000"], "valid": ["blues.00001"],
             "test": ["blues.00002", "jazz.00001"]}
    fr.write_split_lists(root, split)
    for gi, g in enumerate(("blues", "jazz")):
        for k in range(3 if g == "blues" else 2):
            fr.write_audio(root / "genres" / g / f"{g}.{k:05d}.au", fr.genre_signal(gi, 3.2), 22050, "AU")
    with pytest.raises(datasets.DatasetError, match=r"only 1 label\(s\).*jazz \(train 1, valid 0"):
        datasets.load_table(progress=False, verbose=False, settings=settings_for(data, "gtzan"))
