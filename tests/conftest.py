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

    return load_table(ci_settings)
