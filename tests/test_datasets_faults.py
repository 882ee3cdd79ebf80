"""Issue 16, dataset items: damaged metadata, unreadable files and odd rows, each in the exact
situation, must give a clear one-line error naming the file, or a reported skip; never a
silently wrong table or a traceback."""
from __future__ import annotations

import builtins
import csv
import dataclasses
import os
import shutil
from pathlib import Path

import fixtures_real as fr
import pytest

from genre_lib import datasets
from genre_lib.config import PROFILE_TABLE, get_settings
from genre_lib.datasets import DatasetError, fma, mtat, status

CI_ALL = dataclasses.replace(PROFILE_TABLE["ci"], max_tracks_per_label=None)


def settings_for(data_dir: Path, dataset: str):
    return get_settings(dataset=dataset, profile=CI_ALL, data_dir=data_dir,
                        work_dir=data_dir.parent / "work", jobs=2)


def one_line_error(call, match: str) -> str:
    with pytest.raises(DatasetError, match=match) as err:
        call()
    text = str(err.value)
    assert "\n" not in text, text
    return text


# -- (1) a truncated FMA tracks.csv --------------------------------------------------------------


def _fma_copy(src: Path, dst: Path) -> Path:
    """A private copy of the metadata (audio linked by folder) whose tracks.csv may be cut."""
    (dst / "fma_metadata").mkdir(parents=True)
    shutil.copy(src / "fma_metadata" / "genres.csv", dst / "fma_metadata" / "genres.csv")
    os.symlink(src / "fma_small", dst / "fma_small")
    return dst / "fma_metadata" / "tracks.csv"


def _cut_points(text: str) -> dict[str, int]:
    """Where to cut tracks.csv: mid-row, inside a genre_top value, inside a quoted field."""
    top, sub = list(csv.reader(text.splitlines()[:2]))
    col = next(i for i, c in enumerate(sub) if c == "genre_top")
    row_start = text.index("\n133297,") + 1          # a Rock track; no quoted comma before genre_top
    fields = text[row_start:text.index("\n", row_start)].split(",")
    assert fields[col] == "Rock"
    genre_at = row_start + sum(len(f) + 1 for f in fields[:col])
    last_start = text.rstrip("\n").rfind("\n") + 1
    quoted = text.index('"Plays ""loud"" music,')
    return {
        "mid-row": last_start + (len(text) - last_start) // 2,
        "inside genre_top": genre_at + 2,
        "inside a quoted field": quoted + 12,
        "after a line break inside a quoted field": text.index("from Geneva", quoted),
    }


def test_truncated_tracks_csv_is_refused(fma_source, tmp_path):
    full = (fma_source / "fma_metadata" / "tracks.csv").read_text(encoding="utf-8")
    for i, (where, cut) in enumerate(_cut_points(full).items()):
        data = tmp_path / f"case{i}" / "data"
        tracks = _fma_copy(fma_source, data)
        tracks.write_text(full[:cut], encoding="utf-8")
        settings = settings_for(data, "fma_small")
        text = one_line_error(lambda s=settings: datasets.load_table(progress=False, settings=s),
                              "tracks.csv")
        assert str(tracks) in text, where
        assert "cut off" in text or "middle of a row" in text, (where, text)


def test_missing_genres_all_is_a_loud_warning(fma_source, tmp_path, capsys):
    data = tmp_path / "data"
    tracks = _fma_copy(fma_source, data)
    with open(fma_source / "fma_metadata" / "tracks.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    col = next(i for i, (g, c) in enumerate(zip(rows[0], rows[1])) if c == "genres_all")
    with open(tracks, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([r[:col] + r[col + 1:] for r in rows])
    with pytest.warns(UserWarning, match="no track/genres_all column"):
        table = fma.load_table(progress=False, settings=settings_for(data, "fma_small"))
    assert "warning:" in capsys.readouterr().out
    assert all(t == [] for t in table["tags"]) and table["genre"].notna().all()


# -- (2) unreadable files and link loops ----------------------------------------------------------


def test_unreadable_file_and_link_loop_are_reported_skips(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    info = fr.build_gtzan_original(data / "gtzan", per_genre=4, seconds=3.2)
    # each a genre's second training clip, so both genres keep clips in every split
    blues, jazz = (next(t for t in info["split"]["train"][::-1] if t.startswith(g))
                   for g in ("blues", "jazz"))
    denied = info["root"] / "blues" / f"{blues}.au"
    looped = info["root"] / "jazz" / f"{jazz}.au"
    looped.unlink()
    os.symlink(looped.name, looped)                            # a link to itself
    os.symlink(data / "gtzan", data / "gtzan" / "loop")        # a folder loop
    real_open = builtins.open
    fr.deny_reading(monkeypatch, denied)
    settings = settings_for(data, "gtzan")
    table = datasets.load_table(progress=False, verbose=False, settings=settings)
    skipped = table.attrs["skipped"]
    assert "Permission denied" in skipped[blues]
    assert "symbolic links" in skipped[jazz]
    text = datasets.summary(table)
    assert f"{blues}: cannot read" in text and f"{jazz}: cannot read" in text
    report = status.status_report(settings=settings)
    assert "[present] gtzan" in report and "40 clips" in report   # the loop is listed
    # the command line reports the same, with no traceback
    from genre_lib.__main__ import main

    for key, value in {"GENRE_DATASET": "gtzan", "GENRE_PROFILE": "ci",
                       "GENRE_DATA_DIR": str(data)}.items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    assert main(["data", "summary"]) == 0 and main(["data", "status"]) == 0
    out = capsys.readouterr().out
    assert f"{blues}: cannot read (Permission denied)" in out and "[present] gtzan" in out
    # an access failure is not remembered: once readable, the file is used
    monkeypatch.setattr(builtins, "open", real_open)
    again = datasets.load_table(progress=False, verbose=False, settings=settings)
    assert blues not in again.attrs["skipped"]


# -- (8) GTZAN lists and MagnaTagATune rows -------------------------------------------------------


def test_empty_gtzan_test_list_is_refused(tmp_path):
    data = tmp_path / "data"
    info = fr.build_gtzan_original(data / "gtzan", per_genre=4, seconds=3.2)
    fr.write_split_lists(data / "gtzan", info["split"])     # lists beside the data replace the
    (data / "gtzan" / "test_filtered.txt").write_text("")    # shipped ones: a damaged one is refused
    text = one_line_error(lambda: datasets.load_table(progress=False, settings=settings_for(data, "gtzan")),
                          "names no clip")
    assert str(data / "gtzan" / "test_filtered.txt") in text


@pytest.fixture
def mtat_rows(tmp_path):
    """A MagnaTagATune copy and a function rewriting its annotation rows."""
    data = tmp_path / "data"
    info = fr.build_mtat(data / "mtat", per_dir=2, seconds=3.2)
    path = data / "mtat" / "annotations_final.csv"

    def edit(change) -> Path:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh, delimiter="\t"))
        change(rows)
        with open(path, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
        return path

    return data, info, edit


def test_mtat_row_without_path_is_missing(mtat_rows):
    data, info, edit = mtat_rows
    clip = info["ids"][4]

    def drop_path(rows):
        rows[5][-1] = ""

    edit(drop_path)
    table = datasets.load_table(progress=False, verbose=False, settings=settings_for(data, "mtat"))
    reason = table.attrs["skipped"][clip]
    assert reason.startswith("missing") and "mp3_path" in reason and "row 6" in reason
    assert "directory" not in reason and clip not in set(table["track_id"])


def test_mtat_tag_value_two_is_rejected(mtat_rows):
    data, info, edit = mtat_rows
    col = fr.MTAT_TAGS.index("guitar") + 1

    def two(rows):
        rows[3][col] = "2"

    path = edit(two)
    text = one_line_error(lambda: mtat.read_annotations(path), r"row 4 \(clip_id")
    assert str(path) in text and "'guitar' is '2'" in text
    one_line_error(lambda: datasets.load_table(progress=False, settings=settings_for(data, "mtat")),
                   "must hold 0 or 1")


def test_mtat_duplicate_clip_id_is_an_error(mtat_rows):
    data, info, edit = mtat_rows

    def duplicate(rows):
        rows[7][0] = rows[2][0]

    path = edit(duplicate)
    text = one_line_error(lambda: mtat.read_annotations(path), "appears in rows 3, 8")
    assert str(path) in text and f"clip_id {info['ids'][1]}" in text
