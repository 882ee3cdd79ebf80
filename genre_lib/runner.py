"""The main job: execute every notebook in order, headless, into ``build/``.

Used by ``make run`` (``python -m genre_lib run``). A failing notebook is reported with the
cell that failed and its executed copy is still written; the others still run, and the
command exits non-zero at the end.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

from .config import Settings, get_settings


def notebook_paths(*, settings: Settings | None = None) -> list[Path]:
    """The course's notebooks in order: the checkout's, or those installed with the package."""
    settings = settings or get_settings()
    return sorted(settings.notebooks_dir.glob("[0-9][0-9]_*.ipynb"))


INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def execute(path: Path, out_dir: Path, timeout: int = 3600) -> tuple[bool, float, str]:
    """Execute one notebook into ``out_dir``; returns (ok, seconds, error message)."""
    from .extras import require

    require("jupyter", "executing notebooks (python -m genre_lib run)")
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    out_dir.mkdir(parents=True, exist_ok=True)
    # the kernel works in the folder of the executed copy: an installed package's notebook
    # folder may be read-only, and no notebook reads or writes relative paths
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(out_dir)}})
    start = time.perf_counter()
    error = ""
    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / f"{path.stem}.kernel.log"
    try:  # the kernel process's own stderr (not a cell's output) goes to a log file
        with open(log_path, "w") as log:
            # matplotlib's inline backend, so executed notebooks keep their figures: a kernel
            # inherits MPLBACKEND, and the Agg that make sets for the tests draws nothing inline
            client.execute(stderr=log, env={**os.environ, "MPLBACKEND": INLINE_BACKEND})
    except CellExecutionError as exc:
        error = str(exc).strip().splitlines()[-1] if str(exc).strip() else "cell failed"
    except Exception as exc:  # a kernel death or a timeout
        error = f"{type(exc).__name__}: {exc}"
    elapsed = time.perf_counter() - start
    nbformat.write(nb, out_dir / path.name)
    if error:
        error += f" (kernel log: {log_path})"
    return not error, elapsed, error


# -- what an executed notebook must not show -----------------------------------------------
ERROR_TAGS = {"raises-exception", "shows-error"}
STARTUP = re.compile(
    r"^[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+\s+\S+:\d+\]"   # a C++ (absl/glog) log line
    r"|absl::InitializeLog|oneDNN custom operations|cuda drivers|cuInit|TF-TRT"
    r"|Unable to register cu(DNN|FFT|BLAS) factory|computation placer|cpu_feature_guard"
    r"|This TensorFlow binary is optimized",
    re.MULTILINE)
ERROR_WORDS = re.compile(r"Error|Traceback")


def _texts(output) -> list[str]:
    kind = output.get("output_type")
    if kind == "stream":
        return [output.get("text", "")]
    if kind == "error":
        return ["\n".join([output.get("ename", ""), output.get("evalue", ""),
                           *output.get("traceback", [])])]
    data = output.get("data", {})
    return [data[k] if isinstance(data[k], str) else "".join(data[k])
            for k in ("text/plain", "text/markdown") if k in data]


def output_problems(nb) -> list[str]:
    """Every output of an executed notebook a student should not see, one line each (empty when
    clean): TensorFlow or absl C++ log lines on stderr (:mod:`genre_lib.quiet` should have held
    them back), and "Error" or "Traceback" in any output of a cell not tagged
    ``raises-exception`` or ``shows-error`` (cells that demonstrate an error on purpose)."""
    problems = []
    number = 0
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        number += 1
        tags = set(cell.get("metadata", {}).get("tags", []))
        for output in cell.get("outputs", []):
            where = f"code cell {number}"
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                hit = STARTUP.search(output.get("text", ""))
                if hit:
                    line = output["text"][hit.start():].splitlines()[0]
                    problems.append(f"{where}: TensorFlow start-up line on stderr: {line[:160]}")
            if tags & ERROR_TAGS:
                continue
            if output.get("output_type") == "error":
                problems.append(f"{where}: {output.get('ename')}: {output.get('evalue', '')[:160]}")
                continue
            for text in _texts(output):
                hit = ERROR_WORDS.search(text)
                if hit:
                    start = text.rfind("\n", 0, hit.start()) + 1
                    line = text[start:].splitlines()[0]
                    problems.append(f"{where}: output holds {hit.group()!r}: {line[:160]}")
    return problems



def _read(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4)


def _load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages, where the platform has them (not on Windows)."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def times_line(times: dict[str, float]) -> str:
    """One line with each notebook's wall time, its number standing for its name, and the
    machine's load beside them (a busy machine makes every time longer)."""
    parts = ", ".join(f"{stem[:2]} {secs:.0f}" for stem, secs in times.items())
    load = _load_average()
    where = f"; load average {load[0]:.1f} on {os.cpu_count()} cores" if load else ""
    return f"time per notebook (s): {parts}{where}"


def run_all(only: list[str] | None = None, *, settings: Settings | None = None) -> int:
    """Build the dataset, execute the notebooks, print a results summary; return an exit code."""
    settings = settings or get_settings()
    from . import quiet

    quiet.install()  # sets TF_CPP_MIN_LOG_LEVEL for the kernels too (unless GENRE_DEBUG)
    print(settings)
    if settings.where_note():
        print(settings.where_note())
    from .datasets import load_table, summary

    table = load_table(settings=settings)
    print(summary(table))
    paths = notebook_paths(settings=settings)
    if only:
        paths = [p for p in paths if any(p.name.startswith(o) or o in p.stem for o in only)]
    out_dir = settings.build_dir / settings.run_name
    failures, times = [], {}
    total = time.perf_counter()
    for p in paths:
        print(f"\n=== {p.name} ...", flush=True)
        ok, secs, err = execute(p, out_dir)
        times[p.stem] = round(secs, 1)
        problems = output_problems(_read(out_dir / p.name)) if ok else []
        state = "ok" if ok and not problems else "FAILED"
        print(f"    {state} in {secs:.0f} s -> {out_dir / p.name}", flush=True)
        if not ok:
            print(f"    {err}")
        for problem in problems:
            print(f"    output a student should not see: {problem}")
        if state == "FAILED":
            failures.append(p.name)
    print(f"\nexecuted {len(paths)} notebook(s) in {time.perf_counter() - total:.0f} s; "
          f"figures in {settings.figures_dir}")
    print(times_line(times))
    if times:
        from .store.files import atomic_write

        record = {"seconds": times, "load_average": _load_average(), "cores": os.cpu_count()}
        text = json.dumps(record, indent=1)
        atomic_write(out_dir / "times.json", lambda fh: fh.write(text.encode("utf-8")))
    print_results(settings=settings)
    if failures:
        print(f"\n{len(failures)} notebook(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


def print_results(markdown: bool = False, *, settings: Settings | None = None) -> None:
    """The test-split results of this run, one line per model, ordered by validation accuracy
    (the split models are chosen on; test is shown beside it, never used to rank)."""
    settings = settings or get_settings()
    from .evaluation import load_results, test_rows_with_valid

    every = load_results(settings=settings)
    if not len(every) or "accuracy" not in every.columns:
        print("no test results recorded yet")
        return
    res = test_rows_with_valid(every, "accuracy")
    res = res[res["accuracy"].notna()]
    if not len(res):
        print("no test results recorded yet")
        return
    cols = [c for c in ("model", "accuracy", "f1_macro", "top3_accuracy", "valid_accuracy",
                        "wall_time_s") if c in res.columns]
    order = ["valid_accuracy", "model"] if "valid_accuracy" in cols else ["model"]
    res = res[cols].sort_values(order, ascending=[False, True][:len(order)], na_position="last",
                                kind="stable")
    if markdown:
        print("| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
        for _, row in res.iterrows():
            cells = [f"{v:.3f}" if isinstance(v, float) and c != "wall_time_s" else
                     ("" if v is None or v != v else str(v)) for c, v in row.items()]
            print("| " + " | ".join(cells) + " |")
        return
    print(f"\ntest-split results ({settings.run_name}):")
    print(res.to_string(index=False))
