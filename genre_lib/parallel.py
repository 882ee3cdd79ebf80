"""One function over many items: in this process, on local worker processes, or on a Dask
cluster, with results streamed back as they are ready.

* ``jobs=1``: in this process, in order (easy to debug and to test);
* ``jobs=N``: N local processes (joblib's loky pool), in order; a worker exits as soon as the
  process that started it is gone, so a killed run leaves no workers behind;
* ``scheduler=...``: a Dask cluster (``dask.distributed``), in completion order, with a bounded
  number of tasks in flight so memory stays flat. ``scheduler`` is a ``distributed.Client``, a
  cluster object, an address (``tcp://host:8786``) or ``local[:N]`` (a ``LocalCluster`` of N
  single-threaded worker processes on this machine, N=2 by default).

The function and its arguments travel to the workers by pickling (between processes of one
user, or a cluster the user runs), so the function must be importable there: on a cluster,
every worker needs this package installed and the input files at the same paths.

Notebook: none directly; ``features.extract`` fills the feature store through :func:`imap`.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from itertools import islice

_watching: list = []


def watch_parent() -> None:
    """In a local pool worker: exit as soon as the process that started the pool is gone."""
    if _watching or not multiprocessing.current_process().name.startswith("LokyProcess"):
        return
    parent = os.getppid()
    _watching.append(parent)

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="genre-parent-watch", daemon=True).start()


def _call(func: Callable, args: tuple):
    watch_parent()
    return func(*args)


def _call_batch(func: Callable, batch: list, start: int) -> tuple[int, list]:
    return start, [func(*args) for args in batch]


def connect(scheduler, timeout: float = 30.0):
    """(client, things to close) for what ``scheduler`` names (see the module's docstring)."""
    from .extras import require

    require("cluster", "a Dask scheduler (GENRE_SCHEDULER)")
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        return scheduler, []
    if hasattr(scheduler, "scheduler_address"):
        client = Client(scheduler)
        return client, [client]
    text = str(scheduler).strip()
    if text == "local" or text.startswith("local:"):
        cluster = LocalCluster(n_workers=int(text.partition(":")[2] or 2), threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
        return client, [client, cluster]
    try:
        client = Client(text, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise RuntimeError(f"cannot reach the Dask scheduler at {text} (GENRE_SCHEDULER): {exc}") from None
    return client, [client]


def _imap_dask(func, items, scheduler) -> Iterator:
    from distributed import as_completed

    client, owned = connect(scheduler)
    try:
        threads = max(1, sum(client.nthreads().values()))
        print(f"running on the Dask cluster at {client.scheduler.address}: {threads} worker thread(s)")
        size = max(1, min(8, len(items) // (4 * threads)))  # several items per task: less overhead
        batches = iter(range(0, len(items), size))
        pending = as_completed()

        def submit(start):
            pending.add(client.submit(_call_batch, func, items[start:start + size], start, pure=False))

        for start in islice(batches, 3 * threads):  # a bounded window of tasks in flight
            submit(start)
        for future in pending:
            start, results = future.result()
            future.release()
            nxt = next(batches, None)
            if nxt is not None:
                submit(nxt)
            yield from enumerate(results, start)
    finally:
        for thing in owned:
            with contextlib.suppress(Exception):
                thing.close()


def imap(func: Callable, items: list, jobs: int = 1, scheduler=None) -> Iterator[tuple[int, object]]:
    """``(i, func(*items[i]))`` for every item, as a generator (close it to stop early).

    Local runs give results in order; a Dask cluster in the order they finish.
    """
    items = list(items)
    if scheduler:
        yield from _imap_dask(func, items, scheduler)
        return
    if jobs == 1 or len(items) == 1:
        for i, args in enumerate(items):
            yield i, func(*args)
        return
    from joblib import Parallel, delayed

    out = Parallel(n_jobs=jobs, return_as="generator", batch_size="auto")(
        delayed(_call)(func, args) for args in items)
    try:
        yield from enumerate(out)
    finally:
        out.close()  # an interrupted run cancels what its workers have not started
