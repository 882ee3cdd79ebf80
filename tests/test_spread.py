"""scripts/spread.py: the summary is mean +- sample sd per model, split and metric."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

from genre_lib import get_settings

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "spread.py"


def _module():
    spec = importlib.util.spec_from_file_location("spread", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_summary_and_table():
    spread = _module()
    rows = pd.DataFrame([
        dict(notebook="04", model="cnn2d", seed=s, split=split, metric="accuracy", value=v,
             epochs=e, budget_hit=hit, train_s=1.0)
        for s, e, hit, vals in ((42, 30, False, (0.80, 0.70)), (43, 20, True, (0.90, 0.75)),
                                (44, 25, False, (0.85, 0.65)))
        for split, v in zip(("valid", "test"), vals)])
    summary = spread.summarise(rows)
    test = summary[summary["split"] == "test"].iloc[0]
    assert test["n"] == 3 and np.isclose(test["mean"], 0.70)
    assert np.isclose(test["sd"], np.std([0.70, 0.75, 0.65], ddof=1))
    assert test["budget_hits"] == 1 and np.isclose(test["epochs"], 25)
    text = spread.markdown(summary, get_settings(), [42, 43, 44], wall=120.0, n_test=80)
    line = next(li for li in text.splitlines() if li.startswith("| 04 | cnn2d"))
    assert "0.850 ± 0.050" in line and "0.700 ± 0.050" in line and "1 of 3" in line
    assert "0.0125 of accuracy (80 test tracks)" in text


def test_other_seeds_never_write_into_the_regular_run():
    spread = _module()
    settings = get_settings()
    same, extra = spread.seed_settings(settings, settings.seed)
    assert same is settings and extra == {}
    other, extra = spread.seed_settings(settings, settings.seed + 1)
    assert extra == {"seed": settings.seed + 1}
    assert other.models_dir != settings.models_dir and other.results_dir != settings.results_dir
    assert other.data_dir == settings.data_dir  # same data, same cache
