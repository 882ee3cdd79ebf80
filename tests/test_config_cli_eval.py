import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from genre_lib import evaluation, exercises
from genre_lib.config import get_settings


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GENRE_DATASET", "gtzan")
    monkeypatch.setenv("GENRE_PROFILE", "ci")
    monkeypatch.setenv("GENRE_SEED", "7")
    monkeypatch.setenv("GENRE_WORK_DIR", str(tmp_path))
    s = get_settings()
    assert (s.dataset, s.profile.name, s.seed) == ("gtzan", "ci", 7)
    assert s.run_name == "gtzan-ci" and s.models_dir == tmp_path / "models" / "gtzan-ci"
    monkeypatch.setenv("GENRE_DATASET", "spotify")
    with pytest.raises(ValueError, match="GENRE_DATASET"):
        get_settings()


def test_full_profile_keeps_dataset_name():
    s = get_settings(dataset="synth", profile="full")
    assert s.run_name == "synth" and s.figures_dir.name == "synth"


def test_aggregate_tracks_mean_and_vote():
    classes = ["a", "b"]
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.45, 0.55],   # t1: mean says a, vote says b
                      [0.2, 0.8], [0.3, 0.7]])
    out = evaluation.aggregate_tracks(["t1", "t1", "t1", "t2", "t2"], proba, classes)
    assert out.loc["t1", "mean"] == "a" and out.loc["t1", "vote"] == "b"
    assert out.loc["t2", "mean"] == "b" == out.loc["t2", "vote"]
    assert out.loc["t1", "a"] == pytest.approx((0.9 + 0.4 + 0.45) / 3)


def test_metrics_and_result_rows(tmp_path):
    s = get_settings(work_dir=tmp_path, profile="ci")
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1]])
    y_true = ["x", "y", "y"]
    m = evaluation.classification_metrics(y_true, ["x", "z", "x"], proba, ["x", "y", "z"])
    assert m["accuracy"] == pytest.approx(1 / 3)
    assert m["top2_accuracy"] == pytest.approx(1.0)
    row = evaluation.result_row("svm", "test", m, wall_time_s=1.234, settings=s)
    path = evaluation.save_result(row, settings=s)
    saved = json.loads(path.read_text())
    assert saved["split"] == "test" and saved["model"] == "svm" and "numpy" in saved["versions"]
    with pytest.raises(ValueError):
        evaluation.result_row("svm", "validation", m, settings=s)
    table = evaluation.comparison_table(evaluation.load_results(settings=s), "gtzan")
    assert table["origin"].str.startswith("published").sum() >= 5
    assert (table["origin"] == "measured here (test split)").sum() == 1


def test_tag_metrics_score_only_tags_that_vary():
    Y = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 1], [0, 0, 1]], np.float32)  # tags 2, 3 never vary
    P = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.5], [0.8, 0.2, 0.5], [0.4, 0.1, 0.5]])
    m = evaluation.tag_metrics(Y, P)
    assert m["roc_auc"] == pytest.approx(1.0) and m["pr_auc"] == pytest.approx(1.0)
    assert (m["n"], m["n_tags_scored"]) == (4, 1)
    assert evaluation.tag_metrics(Y[:, 1:], P[:, 1:]) == {"n": 4}


def test_summary_table_reads_the_recorded_metrics():
    from types import SimpleNamespace

    meta = {"label": "2D CNN", "n_params": 10, "epochs_run": 2, "train_seconds": 1.5,
            "metrics": {"test": {"accuracy": 0.81234, "f1_macro": 0.8, "n": 20}}}
    table = evaluation.summary_table([SimpleNamespace(name="cnn2d", meta=meta),
                                      SimpleNamespace(name="bare", meta={"arch": "crnn1d"})])
    assert table.loc[0, "accuracy"] == 0.8123 and table.loc[0, "architecture"] == "2D CNN"
    assert table.loc[1, "architecture"] == "crnn1d" and np.isnan(table.loc[1, "accuracy"])
    assert (table["split"] == "test").all() and "n" not in table


def test_comparison_labels_baselines_and_origins(tmp_path):
    s = get_settings(work_dir=tmp_path, profile="ci", dataset="gtzan")
    for model, extra in (("svc on mfcc_stats", {"features": "mfcc_stats"}),
                         ("rf", {"features": "mfcc_stats"}), ("cnn2d", {"arch": "cnn2d"}),
                         ("crnn1d", {"arch": "crnn1d"})):
        row = evaluation.result_row(model, "test", {"accuracy": 0.5}, **extra, settings=s)
        evaluation.save_result(row, settings=s)
    table = evaluation.comparison(names=["cnn2d"], settings=s)
    ours = table[table["origin"] == "measured here (test split)"]["system"].tolist()
    assert ours[0] == "cnn2d" and "crnn1d" not in ours  # deep models first, limited to names
    assert set(ours) == {"cnn2d", "svc on mfcc_stats", "rf on mfcc_stats"}
    assert table["origin"].str.startswith("published").any()


def test_exercise_checks_fail_helpfully():
    assert exercises.expect_shape(np.zeros((2, 3)), (2, None))
    with pytest.raises(AssertionError, match="expected shape"):
        exercises.expect_shape(np.zeros(3), (2,))
    with pytest.raises(AssertionError, match="largest gap"):
        exercises.expect_close([1.0, 2.0], [1.0, 2.5])
    with pytest.raises(AssertionError, match="outside"):
        exercises.expect_between(5, 0, 1)


def test_cli_data_summary(ci_settings, ci_table):
    env = {"GENRE_PROFILE": "ci", "GENRE_DATA_DIR": str(ci_settings.data_dir),
           "GENRE_WORK_DIR": str(ci_settings.work_dir), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "genre_lib", "data", "summary"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"{len(ci_table)} tracks" in out.stdout and "blues" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "genre_lib", "frobnicate"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2


def test_committed_notebooks_carry_no_outputs():
    import glob

    import nbformat

    paths = sorted(glob.glob(str(get_settings().home / "notebooks" / "*.ipynb")))
    assert paths, "no notebooks found"
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs, f"{p}: a code cell carries outputs; clear them"
                assert cell.execution_count is None, f"{p}: execution counts are committed"


def test_results_table_joins_valid_rows(tmp_path, capsys):
    from genre_lib.runner import print_results

    s = get_settings(work_dir=tmp_path, profile="ci")
    print_results(settings=s)
    assert "no test results" in capsys.readouterr().out
    for split, acc in (("valid", 0.9), ("test", 0.7)):
        row = evaluation.result_row("cnn", split, {"accuracy": acc, "f1_macro": acc}, settings=s)
        evaluation.save_result(row, settings=s)
    print_results(markdown=True, settings=s)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("| model | accuracy") and len(out) == 3
    assert "| cnn | 0.700 | 0.700 |" in out[2] and "0.900" in out[2]


def test_results_table_ranks_on_validation_not_test(tmp_path, capsys):
    from genre_lib.runner import print_results

    s = get_settings(work_dir=tmp_path, profile="ci")
    for model, valid, test in (("later_on_test", 0.9, 0.6), ("better_on_test", 0.8, 0.7)):
        for split, acc in (("valid", valid), ("test", test)):
            row = evaluation.result_row(model, split, {"accuracy": acc}, settings=s)
            evaluation.save_result(row, settings=s)
    print_results(markdown=True, settings=s)
    rows = capsys.readouterr().out.splitlines()[2:]
    assert [r.split("|")[1].strip() for r in rows] == ["later_on_test", "better_on_test"]


def test_course_reports_are_cited_by_their_authors_beside_their_figures():
    from genre_lib.evaluation import comparison_table, published

    gtzan = published("gtzan")
    chourdakis = gtzan[gtzan["source"].str.startswith("Chourdakis")]
    assert sorted(chourdakis["value"]) == [0.7826, 0.7860]
    assert (chourdakis["setting"] == "GTZAN fault-filtered (443/197/290)").all()
    table = comparison_table(pd.DataFrame(), "mtat", metric="roc_auc", columns=("pr_auc",))
    neacsu = table[table["origin"].str.contains("Neacșu-Miclea")]
    assert len(neacsu) == 3 and neacsu["roc_auc"].min() == 0.3855  # the degenerate tagger
    assert neacsu["pr_auc"].notna().sum() == 2
