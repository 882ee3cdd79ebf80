"""Prediction-service benchmark: how fast a saved model answers for one 30 s song.

For one clip (a 30 s synthetic song, written as WAV), two ways of analysing it, side by side
in one run:

* **full clip**: every consecutive chunk of the whole file, averaged (what the notebooks
  score);
* **7 s window**: only the middle 7 s (two or three chunks), the shortcut of the GTZAN
  transfer-learning study's service (1.9 s for a 30 s song, 0.94 s with a 7 s window).

For each it prints

1. **in-process**: ``Predictor.predict`` on the file (load, log-mel, chunks, model,
   average): the median of each round's share of ``--repeats``, the best round kept;
2. **over HTTP, one client**: ``POST /predict`` to ``python -m genre_lib serve`` started as a
   process on a free local port, p50 and p95 latency of ``--requests`` requests made one after
   another (upload included, as a user waits for it);
3. **over HTTP, ``--clients`` clients at once**: requests per second for ``--requests``
   requests.

The real-time factor (RTF) is seconds taken per second of audio in the file: 0.01 means a
30 s song is answered in 0.3 s. (``benchmarks/training.py`` states its inverse, seconds of
audio per second.) The modes alternate in rounds, so a neighbour's load spike hurts both
alike; the load average is printed before and after. Target: a 30 s clip answered in under
0.5 s on 2 CPU cores, full clip.

Run: ``python benchmarks/serve.py [--model NAME] [--requests 40] [--clients 4]`` (about a
minute on 2 CPU cores after the service has started). The model: ``--model``, else the best
saved model of the current run by validation score, else ``cnn2d`` trained now.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genre_lib import quiet  # noqa: E402

quiet.install()  # before anything imports TensorFlow: its start-up lines stay out of the output

import numpy as np  # noqa: E402

from genre_lib import audio, serve, training  # noqa: E402
from genre_lib.config import get_settings  # noqa: E402
from genre_lib.datasets import synth  # noqa: E402


def choose_model(name: str | None, settings) -> str:
    if name:
        return name
    try:
        return serve.best_model(settings=settings)
    except serve.NoModelError:
        print("no saved model: training cnn2d first")
        return training.load_or_train("cnn2d", settings=settings).name


def percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def in_process(predictor, path, window, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        predictor.result(path, window=window)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def one_client(client, data: bytes, window, n: int) -> list[float]:
    params = {"window": window or 0}
    times = []
    for _ in range(n):
        started = time.perf_counter()
        answer = client.post("/predict", params=params, files={"file": ("song.wav", data)})
        times.append(time.perf_counter() - started)
        answer.raise_for_status()
    return times


def many_clients(client, data: bytes, window, n: int, clients: int) -> float:
    params = {"window": window or 0}

    def call(_):
        return client.post("/predict", params=params, files={"file": ("song.wav", data)}).status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        codes = list(pool.map(call, range(n)))
    wall = time.perf_counter() - started
    if codes != [200] * n:
        raise RuntimeError(f"{sum(c != 200 for c in codes)} of {n} requests failed")
    return n / wall


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="a saved model of the current run")
    ap.add_argument("--seconds", type=float, default=30.0, help="length of the clip (default 30)")
    ap.add_argument("--window", type=float, default=7.0, help="the middle window (default 7)")
    ap.add_argument("--requests", type=int, default=40, help="requests per mode and measurement")
    ap.add_argument("--clients", type=int, default=4, help="concurrent clients for requests/s")
    ap.add_argument("--repeats", type=int, default=20, help="in-process repeats per mode")
    ap.add_argument("--rounds", type=int, default=2, help="rounds of alternating modes")
    args = ap.parse_args(argv)

    import httpx

    settings = get_settings()
    name = choose_model(args.model, settings)
    predictor = serve.Predictor.load(name, settings=settings)
    folder = Path(tempfile.mkdtemp(prefix="genre_bench_serve_"))
    y, _ = synth.render_clip("rock", args.seconds, settings.seed)
    path = audio.write_wav(folder / "song.wav", y, settings.sample_rate)
    data = path.read_bytes()
    load = [os.getloadavg()[0]]
    modes = {f"full clip ({args.seconds:g} s)": None, f"{args.window:g} s window": args.window}
    rows = {m: {"inproc": [], "lat": [], "rps": []} for m in modes}
    per_round = max(1, args.requests // args.rounds)
    repeats = max(1, args.repeats // args.rounds)
    with serve.Service(model=name) as service, httpx.Client(base_url=service.url, timeout=120) as client:
        for window in modes.values():  # warm both paths once
            one_client(client, data, window, 2)
        for _ in range(args.rounds):
            for mode, window in modes.items():
                rows[mode]["inproc"].append(in_process(predictor, path, window, repeats))
                rows[mode]["lat"] += one_client(client, data, window, per_round)
                rows[mode]["rps"].append(many_clients(client, data, window, per_round, args.clients))
    load.append(os.getloadavg()[0])
    report(rows, predictor, settings, args, len(data), per_round * args.rounds, load)
    return 0


def report(rows: dict, predictor, settings, args, size: int, n: int, load: list) -> None:
    """The table: in-process seconds, HTTP p50/p95, real-time factors, requests/s."""
    label = predictor.trained.meta.get("label")
    print(f"\nprediction service: model {predictor.name} ({label}, {settings.run_name}), a "
          f"{args.seconds:g} s WAV clip ({size / 1e6:.1f} MB) on {os.cpu_count()} CPU cores; "
          f"load average {load[0]:.1f} before, {load[1]:.1f} after")
    print(f"RTF = seconds taken / {args.seconds:g} s of audio; {n} HTTP requests per mode one after "
          f"another, and as many from {args.clients} clients at once\n")
    head = (f"{'mode':<20}{'in-process s':>13}{'RTF':>8}{'HTTP p50 s':>12}{'p95 s':>8}{'RTF p50':>9}"
            f"{'requests/s':>12}")
    print(head)
    print("-" * len(head))
    for mode, r in rows.items():
        inproc = min(r["inproc"])
        p50, p95 = percentile(r["lat"], 50), percentile(r["lat"], 95)
        print(f"{mode:<20}{inproc:>13.3f}{inproc / args.seconds:>8.4f}{p50:>12.3f}{p95:>8.3f}"
              f"{p50 / args.seconds:>9.4f}{max(r['rps']):>12.1f}")
    full_p50 = percentile(next(iter(rows.values()))["lat"], 50)
    verdict = "met" if full_p50 < 0.5 else "NOT met"
    print(f"\ntarget: a {args.seconds:g} s clip answered in under 0.5 s over HTTP, full clip (p50): "
          f"{full_p50:.3f} s, {verdict}")


if __name__ == "__main__":
    sys.exit(main())
