"""Run-to-run spread of every model of notebooks 03-08: ``make spread``.

Each model is trained (or, for the classical baselines, searched and fitted) once per training
seed on the same data and the same split (the dataset's seed stays ``GENRE_SEED``, 42 by
default), and scored on the validation and test splits. The table gives mean +- sd (sample
standard deviation over the seeds), min and max, so an instructor can tell a real difference
between two models from seed noise.

* Seed ``GENRE_SEED`` is always one of the seeds: it reuses the models of the regular run
  (``models/<run name>/``, written by ``make run``) when they are current, and otherwise trains
  them there, as the notebooks would. The other seeds train into ``build/spread/seed-<n>/`` and
  never touch the regular run's models or results.
* Genre datasets are scored by accuracy; a dataset with tags only (MagnaTagATune) by macro
  ROC-AUC, and it has no classical baselines or clustering scores (they need one genre per
  track).
* Notebook 07 trains nothing: it reads notebook 04's ``cnn2d``, whose rows stand for it.
* Notebook 08's scores are k-means (k = number of genres, 10 restarts, k-means seed fixed) on
  the test tracks' ``cnn2d`` embeddings of each training seed, with precision at 5.

Writes ``docs/spread_<run name>.md`` (the table, with the seeds, the profile, the date and
the wall time) and ``build/spread/<run name>.csv`` (one row per model, seed and split).

Usage: ``python scripts/spread.py [--seeds 42 43 44] [--only 03 04 ...]``; the dataset and
profile come from ``GENRE_DATASET`` / ``GENRE_PROFILE`` as everywhere (default: synth, full).
In the full profile on 2 CPU cores it takes about an hour per extra seed.
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

HOME = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HOME))

#: the deep models of notebooks 04-06 as the notebooks train them: name -> load_or_train kwargs
DEEP = {
    "04": {"cnn2d": {}, "cnn1d_mel": {}, "cnn1d_waveform": {}},
    "05": {"lstm_mel": {}, "crnn1d": {}, "crnn1d_gru": {"arch": "crnn1d", "rnn": "gru"},
           "crnn2d": {}},
    "06": {"parallel_cnn_rnn": {}, "short_chunk_resnet": {}},
}
EMBEDDING_MODEL = "cnn2d"  # notebooks 07 and 08 read this one


def seed_settings(settings, seed: int):
    """Settings and extra load_or_train kwargs for one training seed."""
    if seed == settings.seed:  # the regular run's models, as the notebooks train them
        return settings, {}
    return settings.with_(work_dir=settings.build_dir / "spread" / f"seed-{seed}"), {"seed": seed}


def classical_rows(settings, seeds) -> list[dict]:
    """Notebook 03: every baseline on both inputs, searched on valid and scored once on test."""
    from genre_lib import analysis, baselines
    from genre_lib.datasets import has_genres, load_table

    table = load_table(settings=settings)
    if not has_genres(table):
        print("  03: no single genre per track; the classical baselines are skipped")
        return []
    X_stats, images, data = analysis.classical_inputs(table, settings=settings)
    splits = {"mfcc_stats": baselines.splits_from_features(X_stats, data, "mfcc_stats"),
              "logmel_32x32": baselines.splits_from_features(images, data, "logmel_32x32")}
    rows = []
    for seed in seeds:
        for name, sp in splits.items():
            run = baselines.run_all(sp, save=False, progress=False, settings=settings.with_(seed=seed))
            for _, r in run.table.iterrows():
                model = f"{r['model']} on {name}"
                rows.append(dict(notebook="03", model=model, seed=seed, split="valid",
                                 metric="accuracy", value=float(r["valid_accuracy"])))
                rows.append(dict(notebook="03", model=model, seed=seed, split="test",
                                 metric="accuracy", value=float(r["accuracy"])))
            print(f"  03 seed {seed} {name}: {len(run.table)} baselines", flush=True)
    return rows


def deep_rows(settings, seeds, notebooks) -> tuple[list[dict], dict]:
    """Notebooks 04-06 (and the cnn2d that 07 and 08 read): accuracy on valid and test."""
    from genre_lib import training

    wanted = [(nb, name, kw) for nb, models in DEEP.items() for name, kw in models.items()
              if nb in notebooks or (name == EMBEDDING_MODEL and {"07", "08"} & set(notebooks))]
    rows, trained_by_seed = [], {}
    for seed in seeds:
        s_settings, extra = seed_settings(settings, seed)
        for nb, name, kw in wanted:
            start = time.perf_counter()
            trained = training.load_or_train(name, **kw, **extra, settings=s_settings)
            meta = trained.meta
            scores = meta["metrics"]
            metric = "accuracy" if "accuracy" in scores["valid"] else "roc_auc"
            for split in ("valid", "test"):
                rows.append(dict(notebook=nb, model=name, seed=seed, split=split, metric=metric,
                                 value=float(scores[split][metric]),
                                 epochs=int(meta["epochs_run"]),
                                 budget_hit=bool(meta.get("time_budget_hit", False)),
                                 train_s=float(meta.get("train_seconds", np.nan))))
            print(f"  {nb} seed {seed} {name}: {metric} valid {scores['valid'][metric]:.3f} "
                  f"test {scores['test'][metric]:.3f}, {meta['epochs_run']} epochs "
                  f"({time.perf_counter() - start:.0f} s here)", flush=True)
            if name == EMBEDDING_MODEL:
                trained_by_seed[seed] = trained
    return rows, trained_by_seed


def clustering_rows(trained_by_seed) -> list[dict]:
    """Notebook 08: k-means on each seed's test embeddings, scored against the genres."""
    from sklearn.metrics import adjusted_mutual_info_score

    from genre_lib import embeddings

    rows = []
    for seed, trained in trained_by_seed.items():
        fs = trained.features(progress=False)
        test = embeddings.track_embeddings(trained, fs, split="test")
        labels, kind = embeddings.reference_labels(test.table)
        if kind != "genre":
            print("  08: no single genre per track; clustering scores skipped")
            return rows
        k = min(len(set(labels)), len(test.table) - 1)
        scores = embeddings.cluster_scores(test.E, labels, k=k, seed=42)
        values = {"NMI": scores["nmi"], "ARI": scores["ari"],
                  "AMI": adjusted_mutual_info_score(labels, scores["clusters"]),
                  "silhouette": scores["silhouette"],
                  "precision@5": embeddings.precision_at_k(test.E, list(labels), k=5)}
        for metric, value in values.items():
            rows.append(dict(notebook="08", model=f"k-means on {EMBEDDING_MODEL} embeddings",
                             seed=seed, split="test", metric=metric, value=float(value)))
        print(f"  08 seed {seed}: " + ", ".join(f"{m} {v:.3f}" for m, v in values.items()),
              flush=True)
    return rows


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """mean +- sd, min, max per notebook, model, split and metric (and epochs for deep models)."""
    keys = ["notebook", "model", "split", "metric"]
    g = rows.groupby(keys, sort=False)["value"]
    out = pd.DataFrame({"n": g.size(), "mean": g.mean(), "sd": g.std(ddof=1),
                        "min": g.min(), "max": g.max()}).reset_index()
    if "epochs" in rows:
        ep = rows.groupby(keys, sort=False).agg(epochs=("epochs", "mean"),
                                                budget_hits=("budget_hit", "sum")).reset_index()
        out = out.merge(ep, on=keys, how="left")
    return out


def markdown(summary: pd.DataFrame, settings, seeds, wall: float, n_test: int | None) -> str:
    def cell(r):
        return f"{r['mean']:.3f} ± {r['sd']:.3f}" if r["n"] > 1 else f"{r['mean']:.3f}"

    wide = []
    for (nb, model, metric), grp in summary.groupby(["notebook", "model", "metric"], sort=False):
        row = {"notebook": nb, "model": model, "metric": metric}
        for _, r in grp.iterrows():
            row[r["split"]] = cell(r)
            row[f"{r['split']} range"] = f"{r['min']:.3f}-{r['max']:.3f}"
            if "epochs" in r and pd.notna(r.get("epochs")):
                row["epochs (mean)"] = f"{r['epochs']:.1f}"
                row["stopped by the safety cap"] = f"{int(r['budget_hits'])} of {int(r['n'])}"
        wide.append(row)
    table = pd.DataFrame(wide).fillna("")
    cols = [c for c in ["notebook", "model", "metric", "valid", "valid range", "test",
                        "test range", "epochs (mean)", "stopped by the safety cap"] if c in table]
    header = "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n"
    body = "".join("| " + " | ".join(str(r[c]) for c in cols) + " |\n" for _, r in table.iterrows())
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    one_track = f" One test track is {1 / n_test:.4f} of accuracy ({n_test} test tracks)." \
        if n_test else ""
    return (f"# Run-to-run spread: {settings.dataset}, {settings.profile.name} profile\n\n"
            f"Produced by `make spread` (`python scripts/spread.py`) on {when} in "
            f"{wall / 60:.0f} min. Training seeds {', '.join(map(str, seeds))}; the data and "
            f"its split are the same for every seed (dataset seed {settings.seed}). Each cell "
            f"is mean ± sample sd over the seeds, with the range beside it.{one_track} "
            "Scores are per track (mean probability over a track's chunks). The SVM, k-NN "
            "and logistic regression baselines are deterministic given the data, so their sd "
            "is 0; the trees, the forest, XGBoost and every network draw random numbers. "
            "Notebook 07 "
            "trains nothing: it reads notebook 04's `cnn2d`. Notebook 08 clusters the test "
            "tracks' `cnn2d` embeddings of each training seed (k-means, k = number of genres, "
            "fixed k-means seed). Deep models train for their step budget (early stopping on "
            "the validation loss may end them sooner: the epochs column); the last column counts "
            "the trainings that the wall-clock safety cap cut short on this machine (it should "
            "read 0: a cut model is not the one the seed gives elsewhere).\n\n" + header + body)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--only", nargs="+", default=["03", "04", "05", "06", "07", "08"],
                        help="notebook numbers (03-08)")
    args = parser.parse_args(argv)

    import genre_lib as gl

    settings = gl.start(device=False)
    seeds = [settings.seed] + [s for s in args.seeds if s != settings.seed]
    start = time.perf_counter()
    rows = []
    if "03" in args.only:
        rows += classical_rows(settings, seeds)
    deep, trained_by_seed = deep_rows(settings, seeds, args.only)
    rows += deep
    if "08" in args.only:
        rows += clustering_rows(trained_by_seed)
    wall = time.perf_counter() - start
    frame = pd.DataFrame(rows)
    out_csv = settings.build_dir / "spread" / f"{settings.run_name}.csv"
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out_csv, index=False)
    from genre_lib.datasets import load_table

    table = load_table(settings=settings)
    n_test = int((table["split"] == "test").sum()) or None
    text = markdown(summarise(frame), settings, seeds, wall, n_test)
    out_md = HOME / "docs" / f"spread_{settings.run_name}.md"
    out_md.write_text(text)
    print(text)
    print(f"wrote {out_md.relative_to(HOME)} and {out_csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
