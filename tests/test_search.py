"""The hyper-parameter search: studies stored in SQLite that resume and can be shared by
processes, best-so-far curves, importance with its fallback, the SVM search and nested CV on
the ci data, and CRNN trials that prune, clean up and never touch the test split."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from genre_lib import search  # noqa: E402


@pytest.fixture
def settings(ci_settings, tmp_path):
    return ci_settings.with_(work_dir=tmp_path)


def _toy(trial):
    x = trial.suggest_float("x", -2, 2)
    trial.suggest_categorical("noise", ["a", "b"])
    return -(x - 0.5) ** 2


# -- samplers, pruners, storage -------------------------------------------------------------
def test_sampler_and_pruner_names():
    assert isinstance(search.make_sampler("tpe", 0, 40), optuna.samplers.TPESampler)
    assert isinstance(search.make_sampler("random", 0), optuna.samplers.RandomSampler)
    assert isinstance(search.make_pruner("median"), optuna.pruners.MedianPruner)
    assert isinstance(search.make_pruner("halving"), optuna.pruners.SuccessiveHalvingPruner)
    assert isinstance(search.make_pruner("none"), optuna.pruners.NopPruner)
    assert [search.startup_trials(n) for n in (2, 8, 40, 400)] == [2, 2, 10, 10]
    with pytest.raises(ValueError, match="sampler"):
        search.make_sampler("grid", 0)
    with pytest.raises(ValueError, match="pruner"):
        search.make_pruner("hyperband")


def test_study_is_stored_and_resumes_only_the_missing_trials(settings):
    study = search.open_study("toy", "toy-tpe-seed0", "tpe", 0, 5, space={"x": [-2, 2]}, settings=settings)
    assert search.run_study(study, _toy, 3, quiet=True)["ran"] == 3
    path = search.storage_path("toy", settings=settings)
    assert path.is_file() and path.parent == settings.models_dir / "search"
    again = search.open_study("toy", "toy-tpe-seed0", "tpe", 0, 5, space={"x": [-2, 2]}, settings=settings)
    assert len(search.finished(again)) == 3
    info = search.run_study(again, _toy, 5, quiet=True)
    assert (info["ran"], info["finished"]) == (2, 5)
    assert search.run_study(again, _toy, 5, quiet=True)["ran"] == 0
    frame = search.trials_frame(again)
    assert list(frame["number"]) == [0, 1, 2, 3, 4] and set(frame["sampler"]) == {"tpe"}


def test_a_changed_space_starts_the_study_afresh(settings, capsys):
    study = search.open_study("toy", "s", space={"epochs": 1}, settings=settings)
    search.run_study(study, _toy, 2, quiet=True)
    fresh = search.open_study("toy", "s", space={"epochs": 2}, settings=settings)
    assert len(search.finished(fresh)) == 0 and "afresh" in capsys.readouterr().out


def test_two_processes_share_one_study(settings):
    code = textwrap.dedent(f"""
        from genre_lib.config import get_settings
        from genre_lib import search
        s = get_settings(dataset="synth", profile="ci", data_dir={str(settings.data_dir)!r},
                         work_dir={str(settings.work_dir)!r})
        def f(trial):
            import time
            time.sleep(0.05)
            return -(trial.suggest_float("x", -2, 2) - 0.5) ** 2
        st = search.open_study("shared", "shared", "random", {{seed}}, 10, space={{"x": 1}}, settings=s)
        search.run_study(st, f, 10, quiet=True)
    """)
    # the usual order: create the study, then start the workers that share it
    search.open_study("shared", "shared", "random", 0, 10, space={"x": 1}, settings=settings)
    procs = [subprocess.Popen([sys.executable, "-c", code.replace("{seed}", str(i))])
             for i in (0, 1)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    study = search.open_study("shared", "shared", "random", 0, 10, space={"x": 1}, settings=settings)
    # MaxTrialsCallback stops both at the budget (one trial over when they finish together)
    assert 10 <= len(search.finished(study)) <= 11


# -- tables and importance ------------------------------------------------------------------
def _study_with(values, sampler="random", seed=0):
    from optuna.distributions import FloatDistribution
    from optuna.trial import TrialState, create_trial

    study = optuna.create_study(direction="maximize", study_name=f"{sampler}-{seed}")
    study.set_user_attr("sampler", sampler)
    study.set_user_attr("seed", seed)
    rng = np.random.default_rng(seed)
    for v in values:
        state = TrialState.PRUNED if v is None else TrialState.COMPLETE
        study.add_trial(create_trial(state=state, value=v, params={"x": float(rng.uniform())},
                                     distributions={"x": FloatDistribution(0, 1)},
                                     intermediate_values={0: 0.1}))
    return study


def test_best_so_far_carries_over_pruned_trials():
    curves = search.best_so_far([_study_with([0.3, None, 0.5, 0.4]), _study_with([0.6], "tpe")])
    first = curves[curves["sampler"] == "random"]
    assert list(first["trial"]) == [1, 2, 3, 4]
    assert list(first["best"]) == [0.3, 0.3, 0.5, 0.5]
    assert list(curves.loc[curves["sampler"] == "tpe", "best"]) == [0.6]


def test_compare_samplers_and_mean_sd():
    studies = [_study_with([0.2, 0.4], "tpe", 0), _study_with([0.5, None], "tpe", 1),
               _study_with([0.3, 0.1], "random", 0)]
    table = search.compare_samplers(studies).set_index("sampler")
    assert table.loc["tpe", "searches"] == 2 and table.loc["tpe", "best_mean"] == pytest.approx(0.45)
    assert table.loc["tpe", "pruned"] == pytest.approx(0.5)
    assert table.loc["tpe", "best"] == "0.4500 ± 0.0707 (n=2)"
    assert search.mean_sd([0.5], digits=3) == "0.500 ± n/a (n=1)" and search.mean_sd([]) == "n/a"


def test_importances_fall_back_gracefully_and_rank_what_matters():
    few = search.importances(_study_with([0.1, 0.2]))
    assert few.isna().all() and "at least" in few.attrs["note"]
    flat = search.importances(_study_with([0.5] * 6))
    assert flat.isna().all() and "same" in flat.attrs["note"]
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(_toy, n_trials=30)
    imp = search.importances(search.pooled([study]))
    assert imp.index[0] == "x" and imp.sum() == pytest.approx(1.0)
    assert "fANOVA" in imp.attrs["note"]


# -- the SVM search on the ci data ------------------------------------------------------------
@pytest.fixture(scope="module")
def bank(ci_settings, ci_table):
    return search.MfccBank(ci_table, settings=ci_settings)


def test_svm_search_scores_on_valid_and_test_only_when_asked(settings, bank):
    study = search.search_svm(bank, "tpe", 0, n_trials=3, quiet=True, settings=settings)
    frame = search.trials_frame(study)
    assert len(frame) == 3 and frame["value"].between(0, 1).all()
    assert set(frame["n_mfcc"]) <= set(search.N_MFCC)
    best = study.best_params
    assert search.valid_score(bank, best) == pytest.approx(study.best_value)
    scores = search.test_score(bank, best)
    assert set(scores) == {"valid_accuracy", "test_accuracy"}
    assert scores["valid_accuracy"] == pytest.approx(study.best_value)
    default = search.test_score(bank, search.SVM_DEFAULT)
    assert 0 <= default["test_accuracy"] <= 1


def test_nested_cv_keeps_test_out(bank):
    frame = search.nested_cv(bank, n_trials=2, outer=2, inner=2)
    sp = bank(20)
    assert list(frame["fold"]) == [1, 2]
    assert frame["dev_tracks"].add(frame["held_out_tracks"]).eq(len(sp.y_train) + len(sp.y_valid)).all()
    assert frame[["inner_best_cv", "outer_accuracy"]].stack().between(0, 1).all()


# -- CRNN trials ------------------------------------------------------------------------------
def test_crnn_trials_prune_complete_and_leave_nothing_behind(settings):
    pytest.importorskip("tensorflow")
    prune_all = optuna.create_study(direction="maximize",
                                    pruner=optuna.pruners.ThresholdPruner(lower=1.1))
    prune_all.optimize(search.crnn_objective("p", 0, epochs=1, settings=settings), n_trials=1)
    assert prune_all.trials[0].state.name == "PRUNED"
    assert prune_all.trials[0].intermediate_values  # reported after the epoch
    keep = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=1))
    keep.optimize(search.crnn_objective("k", 0, epochs=1, settings=settings), n_trials=1)
    t = keep.trials[0]
    assert t.state.name == "COMPLETE" and 0 <= t.value <= 1 and t.user_attrs["epochs_run"] == 1
    assert set(t.params) == set(search.CRNN_SPACE)
    trials_dir = search.search_dir(settings=settings) / "trials"
    assert not any(trials_dir.iterdir())  # scratch folders removed
    assert not settings.results_dir.exists() or not any(settings.results_dir.iterdir())
    assert [p.name for p in settings.models_dir.iterdir()] == ["search"]  # no curriculum model


def test_a_configuration_trained_with_the_same_seed_in_another_study_is_not_trained_again(
        settings, capsys):
    """TPE and random search with one seed draw the same start-up configuration: the second
    study replays the first one's result (training is deterministic) instead of training."""
    pytest.importorskip("tensorflow")
    tpe = search.search_crnn("tpe", 7, n_trials=1, epochs=1, settings=settings)
    rnd = search.search_crnn("random", 7, n_trials=1, epochs=1, settings=settings)
    first, second = tpe.trials[0], rnd.trials[0]
    assert first.params == second.params and second.value == first.value
    assert second.intermediate_values == first.intermediate_values
    assert second.user_attrs["reused_from"] == "crnn-tpe-seed7 #0"
    assert "reused_from" not in first.user_attrs
    assert "the same training as crnn-tpe-seed7 #0" in capsys.readouterr().out
    other_seed = search.search_crnn("random", 8, n_trials=1, epochs=1, settings=settings)
    assert "reused_from" not in other_seed.trials[0].user_attrs  # another seed trains


def test_retrain_saves_by_seed_loads_again_and_reads_test_last(settings, capsys):
    pytest.importorskip("tensorflow")
    config = search.default_config(settings=settings)
    assert config["optimizer"] == "adam" and config["rnn_layers"] == 1
    first = search.retrain({**config, "units": 16}, "default", [3], epochs=1, settings=settings)
    again = search.retrain({**config, "units": 16}, "default", [3], epochs=1, settings=settings)
    assert "loaded" in capsys.readouterr().out.splitlines()[-1]
    assert first[0].meta["seed"] == again[0].meta["seed"] == 3
    assert set(first[0].meta["metrics"]) == {"valid"}
    valid = search.seed_table(again)
    test = search.test_scores(again)
    assert list(valid["split"]) == ["valid"] and list(test["split"]) == ["test"]
    assert test["accuracy"].between(0, 1).all()
    where = search.search_dir(settings=settings) / "retrained" / "models" / settings.run_name
    assert first[0].path.parent == where


def test_best_params_over_studies():
    a, b = _study_with([0.2, 0.7], "tpe"), _study_with([0.5, None], "random")
    params, value, where = search.best_params([a, b])
    assert value == 0.7 and where == a.study_name and set(params) == {"x"}
    with pytest.raises(ValueError):
        search.best_params([_study_with([None])])


# -- figures ----------------------------------------------------------------------------------
def test_search_figures_draw_without_warnings():
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from genre_lib import plotting

    rng = np.random.default_rng(0)
    curves = search.best_so_far([_study_with(list(rng.uniform(0.3, 0.9, 5)), s, seed)
                                 for s in ("tpe", "random") for seed in (0, 1)])
    trials = pd.DataFrame({"sampler": ["tpe"] * 6 + ["random"] * 6, "value": rng.uniform(0.2, 0.9, 12),
                           "lr": 10 ** rng.uniform(-4, -3, 12), "units": rng.choice([64, 256], 12),
                           "schedule": rng.choice(["plateau", "step"], 12)})
    trials.loc[2, "value"] = np.nan  # a pruned trial is left out
    imp = pd.DataFrame({"random trials": [0.7, np.nan, 0.3], "all trials": [0.6, 0.1, 0.3]},
                       index=["lr", "units", "schedule"])
    seeds = pd.DataFrame({"config": ["best"] * 4 + ["default"] * 4,
                          "split": ["valid", "valid", "test", "test"] * 2,
                          "accuracy": rng.uniform(0.5, 0.9, 8)})
    nested = pd.DataFrame({"fold": [1, 2, 3], "inner_best_cv": [0.8, 0.82, 0.79],
                           "outer_accuracy": [0.75, 0.8, 0.85]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plotting.best_so_far(curves)
        assert len(ax.get_legend().get_texts()) == 2 and ax.get_xlabel() == "trial"
        assert plotting.param_importances(imp).get_xlim() == (0, 1.1)
        axes = plotting.search_slices(trials, ["lr", "units", "schedule"], log=("lr",))
        assert len(axes) == 3 and axes[0].get_xscale() == "log"
        assert sum(len(c.get_offsets()) for c in axes[1].collections) == 11
        ax = plotting.parallel_coordinates(trials, ["lr", "units", "schedule"], log=("lr",))
        assert len(ax.get_lines()) >= 11 + 1  # one per completed trial, and the best again
        plotting.seed_spread(seeds)
        plotting.nested_scores(nested)
    plt.close("all")
