"""The dataset registry: one declaration per dataset, read by the settings, the loading path,
``data status`` and the features; extensible while the program runs."""
from __future__ import annotations

import dataclasses

import fixtures_real as fr
import numpy as np
import pandas as pd
import pytest

from genre_lib import datasets, features
from genre_lib.config import PROFILE_TABLE, get_settings
from genre_lib.datasets import DatasetSpec, catalog, registry, status

TOY_GENRES = ("drone", "pulse", "chirp")


def toy_loader(settings, n_per_genre: int = 5, seconds: float = 2.0):
    """A tiny dataset written from numpy: three genres of distinct synthetic signals."""
    root = settings.data_dir / "toy"
    rows = []
    for gi, genre in enumerate(TOY_GENRES):
        for k in range(n_per_genre):
            path = root / genre / f"{genre}.{k:03d}.wav"
            if not path.exists():
                fr.write_audio(path, fr.genre_signal(gi, seconds, 22050, seed=k), 22050, "WAV")
            rows.append({"track_id": f"{genre}.{k:03d}", "path": str(path), "genre": genre,
                         "tags": [genre]})
    table = pd.DataFrame(rows)
    table["split"] = datasets.stratified_split(table["genre"], seed=settings.seed)
    return table[["track_id", "path", "genre", "split", "tags"]]


@pytest.fixture
def toy():
    spec = datasets.register(DatasetSpec("toy", toy_loader, title="three toy genres",
                                         clip_seconds=2.0))
    yield spec
    datasets.unregister("toy")


def test_builtin_declarations_are_the_single_source():
    assert datasets.registered() == ("synth", "gtzan", "fma_small", "fma_medium", "mtat")
    assert list(datasets.SOURCES) == ["gtzan", "fma_metadata", "fma_small", "fma_medium", "mtat"]
    fma_small = datasets.get_spec("fma_small")
    assert [s.name for s in fma_small.sources] == ["fma_metadata", "fma_small"]
    assert fma_small.sources[0] is datasets.get_spec("fma_medium").sources[0]
    assert datasets.get_spec("mtat").has_genres is False
    assert catalog.BUILTIN[0].name == "synth"


def test_unknown_dataset_lists_the_registered_names(toy, monkeypatch):
    monkeypatch.setenv("GENRE_DATASET", "spotify")
    with pytest.raises(ValueError) as err:
        get_settings()
    text = str(err.value)
    assert "GENRE_DATASET='spotify'" in text and "\n" not in text
    assert "synth, gtzan, fma_small, fma_medium, mtat, toy" in text


def test_register_refuses_duplicates_and_bad_declarations(toy):
    with pytest.raises(ValueError, match="already registered"):
        datasets.register(DatasetSpec("toy", toy_loader))
    with pytest.raises(ValueError, match="lower-case"):
        DatasetSpec("Toy Set", toy_loader)
    with pytest.raises(ValueError, match="loader"):
        DatasetSpec("toy2", "not a reference")
    clash = dataclasses.replace(catalog.GTZAN, title="another GTZAN")
    with pytest.raises(ValueError, match="declared differently"):
        datasets.register(DatasetSpec("gtzan2", toy_loader, sources=(clash,)))
    assert "gtzan2" not in datasets.registered()


def test_a_runtime_dataset_loads_and_yields_features(toy, tmp_path, capsys):
    settings = get_settings(dataset="toy", profile="ci", data_dir=tmp_path / "data",
                            work_dir=tmp_path / "work", jobs=1)
    table = datasets.load_table(settings=settings)
    datasets.check_table(table)
    assert table.attrs["dataset"] == "toy" and datasets.labels(table) == sorted(TOY_GENRES)
    assert table.attrs["split_rule"] == "official" and table.attrs["left_out_labels"] == {}
    assert features.default_seconds(table, settings=settings) == 2.0       # from the declaration
    assert features.default_seconds(table, settings=settings.with_(profile=dataclasses.replace(
        PROFILE_TABLE["ci"], clip_seconds=1.0))) == 1.0              # capped by the profile
    fs = features.extract(table, "mfcc_stats", progress=False, settings=settings)
    assert len(fs.table) == len(table) and np.isfinite(np.asarray(fs.X)).all()
    # data status lists it among the datasets that have nothing to download
    text = status.status_report(settings=settings)
    assert "  toy: three toy genres (nothing to download)" in text
    assert "(current: GENRE_DATASET=toy)" in text


def test_the_loading_report_prints_once_per_process(tmp_path, capsys):
    def loader(*, verbose: bool = True, settings):  # a loader that reports, as the built-in ones do
        if verbose:
            print("[toy_report] 15 tracks")
        return toy_loader(settings)

    datasets.register(DatasetSpec("toy_report", loader, clip_seconds=2.0))
    try:
        settings = get_settings(dataset="toy_report", profile="ci", data_dir=tmp_path)
        first = datasets.load_table(settings=settings)
        assert capsys.readouterr().out.count("[toy_report]") == 1
        again = datasets.load_table(settings=settings)             # the same settings: silent
        assert "[toy_report]" not in capsys.readouterr().out
        pd.testing.assert_frame_equal(first, again)
        datasets.load_table(verbose=True, settings=settings)        # asked for: printed again
        assert capsys.readouterr().out.count("[toy_report]") == 1
        datasets.load_table(settings=settings.with_(seed=7))        # other settings: their report
        assert capsys.readouterr().out.count("[toy_report]") == 1
        datasets.load_table(verbose=False, settings=settings.with_(seed=8))
        assert "[toy_report]" not in capsys.readouterr().out
    finally:
        datasets.unregister("toy_report")


def test_unregister_forgets_the_name(toy):
    datasets.unregister("toy")
    with pytest.raises(ValueError, match="not a registered dataset"):
        get_settings(dataset="toy")
    datasets.register(toy)          # the fixture unregisters it again


def test_default_seconds_reads_the_declaration(tmp_path):
    ci = get_settings(dataset="synth", profile="ci", data_dir=tmp_path)
    full = get_settings(dataset="synth", profile="full", data_dir=tmp_path)
    empty = pd.DataFrame()
    assert features.default_seconds(empty, settings=ci) == ci.profile.synth_seconds
    assert features.default_seconds(empty, settings=full) == full.profile.synth_seconds
    gtzan = get_settings(dataset="gtzan", profile="full", data_dir=tmp_path)
    assert features.default_seconds(empty, settings=gtzan) == 30.0
    mtat = pd.DataFrame()
    mtat.attrs["clip_seconds"] = 29.1
    assert features.default_seconds(mtat, settings=gtzan.with_(dataset="mtat")) == 29.1
    assert features.default_seconds(mtat, settings=gtzan.with_(dataset="mtat", profile="ci")) == 6.0


def test_sources_follow_registration(toy):
    extra = dataclasses.replace(catalog.MTAT, name="toy_audio", target="toy_audio")
    spec = datasets.register(DatasetSpec("toy_dl", toy_loader, sources=(extra,)))
    try:
        assert "toy_audio" in registry.SOURCES
    finally:
        datasets.unregister(spec.name)
    assert "toy_audio" not in registry.SOURCES and "mtat" in registry.SOURCES
