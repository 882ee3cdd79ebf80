"""Shared fixtures. Every test that needs data gets a private, tiny copy under tmp."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def ci_settings(tmp_path_factory):
    """Settings in the ci profile whose data and outputs live in a private temp folder."""
    from genre_lib.config import get_settings

    root = tmp_path_factory.mktemp("genre")
    return get_settings(dataset="synth", profile="ci", data_dir=root / "data",
                        work_dir=root / "work", jobs=2)


@pytest.fixture(scope="session")
def ci_table(ci_settings):
    """The ci-profile synthetic dataset table (generated once per test session)."""
    from genre_lib.datasets import load_table

    return load_table(settings=ci_settings)


@pytest.fixture
def private(ci_settings, tmp_path):
    """The ci settings with a feature store of this test's own (the audio stays shared)."""
    return ci_settings.with_(data_dir=tmp_path / "data")


SMALL_MODEL = "small_cnn1d_mel"


@pytest.fixture(scope="session")
def small_model(ci_settings, ci_table):
    """The one small trained model of the session, shared by tests/test_predict.py,
    tests/test_serve.py and tests/test_saved_models.py: the 1D CNN on mel frames (the fastest
    to train), one epoch, saved as ``small_cnn1d_mel`` under ``ci_settings.models_dir``.

    Shared, so never changed in place: a test that edits, damages or renames the saved pair
    copies it (``models.paths_for``) into a work folder of its own first.
    """
    from genre_lib import training

    return training.load_or_train(SMALL_MODEL, arch="cnn1d_mel", epochs=1, settings=ci_settings)


# -- real-layout dataset copies (tests/fixtures_real.py), built once per session ------------------


@pytest.fixture(scope="session")
def partial_gtzan(tmp_path_factory):
    """``(data folder, info)``: a partial GTZAN copy under ``data/gtzan`` read with the shipped
    fault-filtered lists, five genres lacking tracks in some split
    (:func:`fixtures_real.build_gtzan_partial`). Tests and notebooks load it (the loader keeps its
    cache under ``data/cache``); none changes the copy."""
    import fixtures_real as fr

    data = tmp_path_factory.mktemp("gtzan_partial") / "data"
    return data, fr.build_gtzan_partial(data / "gtzan")


@pytest.fixture(scope="session")
def fma_source(tmp_path_factory):
    """A clean FMA small copy (``fma_metadata`` without features.csv and ``fma_small``: three
    tracks of 3.2 s per genre plus the known faulty ones) in the official layout. Tests copy
    the metadata they change and link the audio; none changes the copy."""
    import fixtures_real as fr

    data = tmp_path_factory.mktemp("fma_source") / "data"
    fr.build_fma(data, per_genre=3, seconds=3.2, medium=False, features=False)
    return data
