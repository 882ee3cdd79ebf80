"""The command line: ``python -m genre_lib COMMAND``.

    run [NOTEBOOK ...]        build the dataset and execute the notebooks into build/
    data build                generate the embedded synthetic dataset
    data summary              tracks per split and label for the current dataset
    data status               which datasets are present, missing, and where to put archives
    data download NAME        fetch and unpack a real dataset (checksummed)
    features [KIND ...]       fill the feature cache for the current dataset
    results [--markdown]      print this run's test-split results
    predict FILE ...          genre (or tags) of audio files, with probabilities; --json, --model
    serve                     the HTTP prediction service and its upload page (127.0.0.1:8000)

The dataset and profile come from GENRE_DATASET and GENRE_PROFILE (see genre_lib.config).
TensorFlow's start-up lines are held back (genre_lib.quiet); --debug shows them, and every
TensorFlow log line, unchanged (also in the notebooks that `run` executes).
"""
from __future__ import annotations

import argparse
import os
import sys

from .config import get_settings


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genre_lib", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true",
                        help="show TensorFlow's start-up and log lines unchanged")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="execute the notebooks headless into build/")
    p_run.add_argument("notebooks", nargs="*", help="only these (e.g. 01 03_baseline)")
    p_data = sub.add_parser("data", help="datasets: build, summary, status, download")
    p_data.add_argument("action", choices=["build", "summary", "status", "download"])
    p_data.add_argument("name", nargs="?", help="dataset to download")
    p_data.add_argument("--force", action="store_true", help="rebuild or re-download")
    p_feat = sub.add_parser("features", help="fill the feature cache")
    p_feat.add_argument("kinds", nargs="*", default=["logmel", "mfcc_stats"])
    p_res = sub.add_parser("results", help="print the test-split results of this run")
    p_res.add_argument("--markdown", action="store_true", help="as a Markdown table")
    _add_serving_commands(sub)
    args = parser.parse_args(argv)
    _quiet_tensorflow(args.debug)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for people; --debug shows the traceback
        if args.debug:
            raise
        reason = " ".join(str(exc).split()) or type(exc).__name__
        print(f"error: {reason}  (run with --debug for the traceback)", file=sys.stderr)
        return 1


def _run(args) -> int:
    """Carry out the parsed command; errors propagate to :func:`main`."""
    settings = get_settings()

    if args.command == "run":
        from .runner import run_all

        return run_all(only=args.notebooks or None, settings=settings)
    if args.command == "data":
        return _data(args, settings=settings)
    if args.command == "features":
        from . import features
        from .datasets import load_table

        table = load_table(settings=settings)
        for kind in args.kinds:
            print(features.extract(table, kind, settings=settings))
        return 0
    if args.command == "results":
        from .runner import print_results

        print_results(markdown=args.markdown, settings=settings)
        return 0
    if args.command in ("predict", "serve"):
        return _serving(args, settings=settings)
    return 2


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def _add_serving_commands(sub) -> None:
    """The ``predict`` and ``serve`` subcommands (genre_lib.serve)."""
    model_help = "a saved model of this run (default: the best by validation score)"
    window_help = "analyse only SECONDS from the middle of each file (default: the whole file)"
    p_pred = sub.add_parser("predict", help="genre (or tags) of audio files, with probabilities")
    p_pred.add_argument("files", nargs="+", metavar="FILE", help="audio files (WAV, FLAC, OGG, MP3 ...)")
    p_pred.add_argument("--model", help=model_help)
    p_pred.add_argument("--json", action="store_true", help="one JSON array of results on stdout")
    p_pred.add_argument("--top", type=int, default=5, help="classes shown per file (default 5)")
    p_pred.add_argument("--window", type=_seconds, metavar="SECONDS", help=window_help)
    p_pred.add_argument("--abstain-below", type=float, metavar="P",
                        help="say 'not sure' when the top genre's probability is below P "
                             "(choose P on validation, as notebook 12 does; default: always answer)")
    p_serve = sub.add_parser("serve", help="the HTTP prediction service and its upload page")
    p_serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p_serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p_serve.add_argument("--model", help=model_help)
    p_serve.add_argument("--window", type=_seconds, metavar="SECONDS", help=window_help)
    p_serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def _serving(args, *, settings) -> int:
    from . import serve

    if args.command == "predict":
        return serve.print_predictions(args.files, args.model, as_json=args.json, top=args.top,
                                       window=args.window, abstain_below=args.abstain_below,
                                       settings=settings)
    serve.run(args.model, args.host, args.port, window=args.window, log_level=args.log_level,
              settings=settings)
    return 0


def _quiet_tensorflow(debug: bool) -> None:
    """Before anything can import TensorFlow: hold back its start-up lines, or (``--debug``)
    show all of its output, in this process and in the notebook kernels it starts."""
    from . import quiet

    if debug:
        os.environ[quiet.DEBUG_ENV] = "1"
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
    quiet.install()


def _data(args, *, settings) -> int:
    from .datasets import DatasetError, load_table, summary

    try:
        if args.action == "build":
            from .datasets import synth

            print(f"synthetic dataset in {synth.build(force=args.force, settings=settings)}")
            return 0
        if args.action == "summary":
            print(summary(load_table(settings=settings)))
            return 0
        from .datasets import download

        if args.action == "status":
            print(download.status_report(settings=settings))
            return 0
        if not args.name:
            print("data download needs a NAME: " + ", ".join(download.SOURCES), file=sys.stderr)
            return 2
        download.download(args.name, force=args.force, settings=settings)
        return 0
    except (DatasetError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
