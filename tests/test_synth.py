import numpy as np
import pandas as pd

from genre_lib.datasets import check_table, load_table, stratified_split, summary, synth


def test_render_is_deterministic_by_seed():
    a, ta = synth.render_clip("jazz", 3.0, [1, 2, 3])
    b, tb = synth.render_clip("jazz", 3.0, [1, 2, 3])
    c, _ = synth.render_clip("jazz", 3.0, [1, 2, 4])
    assert np.array_equal(a, b) and ta == tb
    assert not np.array_equal(a, c)
    assert a.dtype == np.float32 and len(a) == 3 * synth.SR
    assert np.max(np.abs(a)) <= 1.0 and np.max(np.abs(a)) > 0.05


def test_genre_traits_differ_as_designed():
    # classical mostly has no drums (a clip may borrow a neighbour's rhythm), metal is
    # always distorted, and hip-hop keeps to its tempo range
    classical = [synth.render_clip("classical", 1.0, [7, i])[1] for i in range(20)]
    no_drums = [tr for tr in classical if tr["rhythm"] == "none"]
    assert len(no_drums) >= 14 and all("no drums" in tr["tags"] for tr in no_drums)
    assert any(tr["borrowed"] for tr in classical)  # the overlap that keeps the task honest
    for i in range(6):
        _, tr = synth.render_clip("metal", 1.0, [7, i])
        assert "distorted" in tr["tags"]
    tempos = [synth.render_clip("hiphop", 1.0, [3, i])[1]["tempo"] for i in range(10)]
    assert all(75 <= t <= 100 for t in tempos)


def test_table_contract_and_splits(ci_settings, ci_table):
    check_table(ci_table)
    assert len(ci_table) == len(synth.GENRES) * ci_settings.profile.synth_clips_per_genre
    assert set(ci_table["genre"]) == set(synth.GENRE_NAMES)
    assert set(ci_table["split"]) == {"train", "valid", "test"}
    per = pd.crosstab(ci_table["genre"], ci_table["split"])
    assert (per["test"] >= 1).all() and (per["valid"] >= 1).all()
    assert all(isinstance(t, list) and t for t in ci_table["tags"])
    assert "summary" and "tracks" in summary(ci_table)


def test_regeneration_is_identical_and_cached(ci_settings, ci_table):
    root = synth.dataset_dir(settings=ci_settings)
    path = root / "audio" / "blues" / "blues.00000.wav"
    before = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    again = load_table(settings=ci_settings)  # manifest matches: no rebuild
    assert path.stat().st_mtime_ns == mtime
    assert again["split"].tolist() == ci_table["split"].tolist()
    other = ci_settings.with_(data_dir=ci_settings.data_dir.parent / "data2")
    synth.build(progress=False, settings=other)
    assert (synth.dataset_dir(settings=other) / "audio" / "blues" / "blues.00000.wav").read_bytes() == before


def test_stratified_split_groups_never_straddle():
    labels = ["a"] * 30 + ["b"] * 30
    groups = [f"artist{i // 3}" for i in range(60)]
    split = stratified_split(labels, seed=1, groups=groups)
    frame = pd.DataFrame({"g": groups, "s": split})
    assert (frame.groupby("g")["s"].nunique() == 1).all()
    assert np.array_equal(split, stratified_split(labels, seed=1, groups=groups))
