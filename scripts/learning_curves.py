"""Learning curves of the deep models of notebooks 04-06: ``make curves``.

Each model is trained with 3 seeds on the current dataset (default ``synth``, full profile),
for a long step budget and without early stopping, and its validation loss and chunk accuracy
are recorded after every epoch (an epoch is the model's ``epoch_chunks``, default 512 chunks =
16 steps of 32). The learning-rate schedule runs as in a normal training, so the curves are the
ones a normal training follows until it stops.

From the curves the script reports, per model: the step at which the mean validation loss over
the seeds is lowest, the best mean validation accuracy and the first step that comes within
0.01 of it, and where early stopping with the model's current patience would have stopped
each seed. Those numbers are what the budgets in ``genre_lib/models/__init__.py`` were chosen
from (see ``docs/training_budgets.md``).

Writes ``build/curves/<run name>/curves.csv`` (one row per model, seed and epoch; written after
every training, so an interrupted run keeps what it measured), ``docs/learning_curves.png``
and ``docs/learning_curves_<run name>.md``. Trainings go to ``build/curves/``: the regular
run's models and results are never touched.

Usage: ``python scripts/learning_curves.py [--steps 800] [--seeds 42 43 44] [--only cnn2d ...]``
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

#: the models of notebooks 04-06 as those notebooks train them: name -> load_or_train kwargs
MODELS = {"cnn2d": {}, "cnn1d_mel": {}, "cnn1d_waveform": {}, "lstm_mel": {}, "crnn1d": {},
          "crnn1d_gru": {"arch": "crnn1d", "rnn": "gru"}, "crnn2d": {}, "parallel_cnn_rnn": {},
          "short_chunk_resnet": {}}


def _never_stop():
    import keras

    class NeverStop(keras.callbacks.Callback):
        """Runs after early stopping in the same epoch and lets the training go on, so the
        curve covers the whole budget (the wall-clock cap is undone too)."""

        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = False

    return NeverStop()


def would_stop(val_loss: np.ndarray, patience: int) -> int:
    """The number of epochs early stopping with ``patience`` would have run."""
    best, wait = np.inf, 0
    for i, v in enumerate(val_loss):
        if v < best:
            best, wait = v, 0
        else:
            wait += 1
            if wait >= patience:
                return i + 1
    return len(val_loss)


def measure(settings, names, seeds, steps: int, out_csv: Path) -> pd.DataFrame:
    """Train every model once per seed and return (and keep writing) the per-epoch curves."""
    from genre_lib import models, training
    from genre_lib.datasets import load_table

    table = load_table(settings=settings)
    rows = pd.read_csv(out_csv).to_dict("records") if out_csv.exists() else []
    done = {(r["model"], int(r["seed"])) for r in rows}
    for name in names:
        kwargs = {"arch": name, **MODELS.get(name, {})}
        spec = models.spec(kwargs.get("arch", name))
        h = {**training.TRAIN_DEFAULTS, **spec.train}
        for seed in seeds:
            if (name, seed) in done:
                continue
            start = time.perf_counter()
            trained = training.load_or_train(f"curve-{name}-s{seed}", table, force=True, steps=steps,
                                             seed=seed, score_on=("valid",),
                                             callbacks=[_never_stop()], settings=settings, **kwargs)
            hist, meta = trained.history, trained.meta
            per_epoch = meta["train_hyper"]["steps_per_epoch"]
            accuracy = hist.get("val_accuracy", [np.nan] * len(hist["val_loss"]))
            for e, loss in enumerate(hist["val_loss"]):
                rows.append({"model": name, "seed": seed, "epoch": e + 1, "step": (e + 1) * per_epoch,
                             "val_loss": loss, "val_accuracy": accuracy[e],
                             "loss": hist["loss"][e], "patience": int(h["patience"]),
                             "epoch_chunks": int(meta["train_hyper"]["epoch_chunks"]),
                             "seconds": round(time.perf_counter() - start, 1)})
            pd.DataFrame(rows).to_csv(out_csv, index=False)
    return pd.DataFrame(rows)


def summarise(curves: pd.DataFrame) -> pd.DataFrame:
    """Per model: where the mean curve is best, and where early stopping would have stopped."""
    out = []
    for name, part in curves.groupby("model", sort=False):
        mean = part.groupby("step")[["val_loss", "val_accuracy"]].mean()
        best_acc = float(mean["val_accuracy"].max())
        near = int(mean.index[(mean["val_accuracy"] >= best_acc - 0.01).to_numpy()][0])
        stops = [would_stop(s.sort_values("epoch")["val_loss"].to_numpy(), int(s["patience"].iloc[0]))
                 * int(s["step"].iloc[0]) for _, s in part.groupby("seed")]
        out.append({"model": name, "seeds": part["seed"].nunique(),
                    "steps measured": int(part["step"].max()),
                    "lowest mean val loss at step": int(mean["val_loss"].idxmin()),
                    "best mean val accuracy": round(best_acc, 3),
                    "first step within 0.01 of it": near,
                    "early stopping (current patience) stops at steps": ", ".join(map(str, stops)),
                    "seconds per 100 steps": round(100 * float(part.groupby("seed")["seconds"].max().mean())
                                                   / int(part["step"].max()), 1)})
    return pd.DataFrame(out)


def plot(curves: pd.DataFrame, path: Path) -> None:
    """Validation loss and accuracy against steps, one panel per model, one line per seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(curves["model"]))
    fig, axes = plt.subplots(2, len(names), figsize=(2.6 * len(names), 5), sharex=False, squeeze=False)
    for j, name in enumerate(names):
        part = curves[curves["model"] == name]
        for seed, s in part.groupby("seed"):
            axes[0, j].plot(s["step"], s["val_loss"], lw=1, label=f"seed {seed}")
            axes[1, j].plot(s["step"], s["val_accuracy"], lw=1)
        axes[0, j].set_title(name, fontsize=9)
        axes[1, j].set_xlabel("optimiser steps")
    axes[0, 0].set_ylabel("validation loss")
    axes[1, 0].set_ylabel("validation accuracy (chunks)")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--only", nargs="+", default=list(MODELS))
    args = parser.parse_args(argv)
    import genre_lib as gl

    settings = gl.start()
    settings = settings.with_(work_dir=settings.build_dir / "curves")
    out = settings.work_dir / settings.run_name
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    curves = measure(settings, args.only, args.seeds, args.steps, out / "curves.csv")
    table = summarise(curves)
    print(table.to_string(index=False))
    plot(curves, HOME / "docs" / "img" / f"learning_curves_{settings.run_name}.png")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    (HOME / "docs" / f"learning_curves_{settings.run_name}.md").write_text(
        f"# Learning curves: {settings.run_name}\n\nMeasured by `python scripts/learning_curves.py "
        f"--steps {args.steps}` on {stamp} (seeds {', '.join(map(str, args.seeds))}; "
        f"{time.perf_counter() - start:.0f} s this run). Validation loss and chunk accuracy after "
        "every epoch, without early stopping.\n\n"
        f"![curves](img/learning_curves_{settings.run_name}.png)\n\n"
        + table.to_markdown(index=False) + "\n")


if __name__ == "__main__":
    main()
