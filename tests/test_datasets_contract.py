import pandas as pd
import pytest

from genre_lib.datasets import check_table, has_genres, has_tags, primary_label


def _tags_only():
    tags = [["guitar", "rock"], ["guitar"], ["piano", "quiet"], [], ["rock"], ["sitar"]]
    return pd.DataFrame({"track_id": [str(i) for i in range(6)], "path": "", "genre": None,
                         "split": "train", "tags": tags})


def test_primary_label_for_tag_only_tables():
    t = _tags_only()
    assert not has_genres(t) and has_tags(t)
    labels = primary_label(t, top=3).tolist()
    # guitar (2) and rock (2) lead; the clip with both gets the more frequent first-ranked tag
    assert labels[0] in ("guitar", "rock") and labels[1] == "guitar"
    assert labels[3] == "(no tag)" and labels[4] == "rock"
    assert "other" in labels  # sitar or quiet/piano fall outside the top 3


def test_primary_label_prefers_genre():
    t = _tags_only().assign(genre=["a", "b", "a", "b", "a", "b"])
    assert has_genres(t) and primary_label(t).tolist() == ["a", "b", "a", "b", "a", "b"]


def test_check_table_rejects_broken_contracts():
    good = _tags_only()
    check_table(good)
    with pytest.raises(ValueError, match="lacks"):
        check_table(good.drop(columns=["split"]))
    with pytest.raises(ValueError, match="repeats"):
        check_table(pd.concat([good, good.head(1)]))
    with pytest.raises(ValueError, match="unknown split"):
        check_table(good.assign(split="validation"))
    with pytest.raises(ValueError, match="lists"):
        check_table(good.assign(tags="rock"))
