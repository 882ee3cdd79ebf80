"""Bad settings give one line naming the variable, the value and what is allowed."""
import subprocess
import sys

import pytest

from genre_lib.config import SettingsError, get_settings


@pytest.mark.parametrize("var, value, words", [
    ("GENRE_SEED", "abc", "GENRE_SEED='abc' is not a whole number"),
    ("GENRE_SEED", "-1", "GENRE_SEED=-1 is out of range"),
    ("GENRE_SEED", str(2**32), "out of range"),
    ("GENRE_JOBS", "two", "GENRE_JOBS='two' is not a whole number"),
    ("GENRE_PROFILE", "foo", "GENRE_PROFILE='foo' is not one of full, ci"),
    ("GENRE_SPLIT", "sideways", "GENRE_SPLIT='sideways' is not one of official, random"),
    ("GENRE_DATASET", "bogus", "GENRE_DATASET='bogus' is not a registered dataset"),
])
def test_bad_variable_is_named(monkeypatch, var, value, words):
    monkeypatch.setenv(var, value)
    with pytest.raises(ValueError) as err:
        get_settings()
    assert words in str(err.value) and "\n" not in str(err.value)


def test_seed_range_edges_are_accepted(monkeypatch):
    for seed in ("0", str(2**32 - 1)):
        monkeypatch.setenv("GENRE_SEED", seed)
        assert get_settings().seed == int(seed)


def test_data_dir_that_is_a_file_is_called_a_file(monkeypatch, tmp_path):
    f = tmp_path / "data.txt"
    f.write_text("not a folder")
    monkeypatch.setenv("GENRE_DATA_DIR", str(f))
    with pytest.raises(SettingsError, match=r"GENRE_DATA_DIR=.*data.txt is a file, not a folder"):
        get_settings()


def test_random_split_has_its_own_output_folders(tmp_path):
    s = get_settings(dataset="gtzan", split="random", profile="ci", work_dir=tmp_path)
    assert s.run_name == "gtzan-random-ci"
    assert get_settings(dataset="gtzan", profile="full").run_name == "gtzan"


@pytest.mark.parametrize("var, value", [("GENRE_SEED", "abc"), ("GENRE_DATASET", "bogus")])
def test_command_line_reports_bad_settings_in_one_line(var, value, tmp_path):
    env = {"PATH": "/usr/bin:/bin", var: value, "GENRE_WORK_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "genre_lib", "data", "status"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert var in out.stderr and "Traceback" not in out.stderr, out.stderr
