"""A quiet TensorFlow start-up: the one place where the package imports TensorFlow first.

Importing TensorFlow, and its first look for devices, make its C++ side write a handful of
lines straight to file descriptor 2 before Python's logging exists, so neither
``TF_CPP_MIN_LOG_LEVEL`` nor :mod:`logging` can stop them (the pre-init absl notice, the
oneDNN notice, "Could not find cuda drivers", a red ``cuInit`` failure on a machine without
a GPU ...). In a notebook they land in the first cell as a stderr stream and look like a
failure. On a CPU-only machine they are the expected case.

:func:`import_tensorflow` therefore

1. sets ``TF_CPP_MIN_LOG_LEVEL=2`` (unless already set) before TensorFlow is first imported,
   which silences TensorFlow's later INFO and WARNING lines but keeps its errors;
2. points descriptor 2 at a temporary file during ``import tensorflow`` and the first
   ``tf.config.list_physical_devices``;
3. writes back to ``sys.stderr`` every captured line that is not in :data:`NOISE`, a short
   list of known start-up lines. Anything else, and every line when the import fails, still
   reaches the user.

Some of these lines come later than the import: the oneDNN ``DT_BOOL`` notice is logged the
first time a training graph holds a boolean op, so :func:`genre_lib.training.train` runs its
fit inside :func:`capture_fd2` as well (in a notebook only TensorFlow's C++ lines go to
descriptor 2; Python's warnings reach the cell as usual).

What was held back stays readable: :func:`held_back` returns those lines. ``GENRE_DEBUG=1``
in the environment (``python -m genre_lib --debug`` sets it) turns all of this off and shows
TensorFlow's output unchanged.

:func:`install` adds an import hook so that the first ``import tensorflow`` or
``import keras`` anywhere in the process goes through :func:`import_tensorflow`; ``gl.start()``,
the command line and the benchmarks call it, so later imports inside functions stay quiet too.

Notebook: every notebook's first code cell (``gl.start()``).
"""
from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile
import threading
from pathlib import Path

__all__ = ["NOISE", "DEBUG_ENV", "debug", "is_noise", "filter_lines", "capture_fd2",
           "import_tensorflow", "install", "held_back"]

DEBUG_ENV = "GENRE_DEBUG"

# Known start-up lines: (pattern searched in one line, why it is safe to hold back).
NOISE: list[tuple[str, str]] = [
    (r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$",
     "absl's notice that logging is not configured yet (printed once per TensorFlow library)"),
    (r"oneDNN custom operations are on\.",
     "oneDNN CPU kernels are enabled (tiny round-off differences are possible)"),
    (r"This TensorFlow binary is optimized to use available CPU instructions",
     "the pip wheel was not compiled for this CPU's newest instructions"),
    (r"^To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags",
     "second line of the CPU-instructions notice"),
    (r"TF-TRT Warning: Could not find TensorRT",
     "TensorRT (an optional inference optimiser) is not installed"),
    (r"Unable to register cu(DNN|FFT|BLAS) factory: Attempting to register factory for plugin",
     "CUDA libraries registered twice by TensorFlow and XLA (harmless)"),
    (r"computation placer already registered",
     "XLA's computation placer registered twice (harmless)"),
    (r"successful NUMA node read from SysFS had negative value",
     "the GPU's NUMA node is unknown on many virtual machines (harmless)"),
    (r"Created device /job:localhost/replica:0/task:0/device:GPU:\d+ with",
     "a GPU was found and is used (the device line says so)"),
    (r"oneDNN supports DT_BOOL only on platforms with AVX-512\. Falling back to the default "
     r"Eigen-based implementation",
     "a CPU without AVX-512 runs boolean ops with Eigen instead of oneDNN (logged once, during "
     "the first training whose graph holds one, e.g. the AUC metric of a tagger)"),
]
# Only noise on a machine without an NVIDIA GPU: with one, they mean the GPU cannot be used.
NO_GPU_NOISE: list[tuple[str, str]] = [
    (r"Could not find cuda drivers on your machine, GPU will not be used",
     "no GPU driver on a machine without a GPU"),
    (r"failed call to cuInit",
     "CUDA finds no device on a machine without a GPU (the expected case)"),
]

_held_back: list[str] = []
_lock = threading.RLock()
_state = {"imported": False, "busy": False}


def debug() -> bool:
    """True when ``GENRE_DEBUG`` asks to see TensorFlow's start-up output unchanged."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


def has_nvidia_gpu() -> bool:
    """Whether the machine shows an NVIDIA GPU to Linux (device nodes or driver entries) and
    ``CUDA_VISIBLE_DEVICES`` does not hide every GPU."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    gpus = Path("/proc/driver/nvidia/gpus")
    if gpus.is_dir() and any(gpus.iterdir()):
        return True
    return any(re.fullmatch(r"nvidia\d+", p.name) for p in Path("/dev").glob("nvidia*"))


def is_noise(line: str, gpu_present: bool | None = None) -> bool:
    """Whether ``line`` is a known, harmless start-up line (see :data:`NOISE`)."""
    rules = list(NOISE)
    if not (has_nvidia_gpu() if gpu_present is None else gpu_present):
        rules += NO_GPU_NOISE
    return any(re.search(pattern, line) for pattern, _ in rules)


def filter_lines(text: str, gpu_present: bool | None = None) -> tuple[str, list[str]]:
    """Split captured output into (what to show, the noise lines held back)."""
    if gpu_present is None:
        gpu_present = has_nvidia_gpu()
    shown, noise = [], []
    for line in text.splitlines(keepends=True):
        if not line.strip():
            continue
        (noise if is_noise(line.rstrip("\n"), gpu_present) else shown).append(line)
    return "".join(shown), [n.rstrip("\n") for n in noise]


@contextlib.contextmanager
def capture_fd2():
    """Send descriptor 2 to a temporary file for the block, then replay what is not noise.

    The replay goes to ``sys.stderr`` (in a Jupyter kernel: the cell's stderr stream), also
    when the block raises. Without a usable descriptor 2 the block simply runs.
    """
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        saved = None
    if saved is None:
        yield
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()  # Python-level writes made during the block land in tmp too
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            shown, noise = filter_lines(tmp.read().decode("utf-8", errors="replace"))
            _held_back.extend(noise)
            if shown:
                sys.stderr.write(shown)
                sys.stderr.flush()


def _first_device_query(tf) -> None:
    """The first device query initialises CUDA (and prints its complaint when there is none)."""
    config = getattr(tf, "config", None)
    if config is not None:
        config.list_physical_devices()


def import_tensorflow():
    """Import TensorFlow (and look for devices once) without its start-up noise; returns it.

    Safe to call any number of times; only the first call does the work.
    """
    if debug():
        import tensorflow as tf

        return tf
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _lock:
        if not _state["imported"]:
            _state["busy"] = True
            try:
                with capture_fd2():
                    import tensorflow as tf

                    _first_device_query(tf)
                _state["imported"] = True
            finally:
                _state["busy"] = False
    import tensorflow as tf

    return tf


class _QuietLoader(importlib.abc.Loader):
    """Runs the real loader of ``tensorflow`` or ``keras`` inside :func:`capture_fd2`."""

    def __init__(self, loader, name: str):
        self._loader, self._name = loader, name

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        try:
            with _lock:
                _state["busy"] = True
                try:
                    with capture_fd2():
                        self._loader.exec_module(module)
                        tf = sys.modules.get("tensorflow")
                        if tf is not None:
                            _first_device_query(tf)
                    _state["imported"] = "tensorflow" in sys.modules
                finally:
                    _state["busy"] = False
        finally:  # the module keeps its real loader
            module.__loader__ = self._loader
            if getattr(module, "__spec__", None) is not None:
                module.__spec__.loader = self._loader

    def __getattr__(self, attr):
        return getattr(self._loader, attr)


class _Finder(importlib.abc.MetaPathFinder):
    """Catches the first top-level import of ``tensorflow`` or ``keras`` in the process."""

    names = ("tensorflow", "keras")

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.names or _state["imported"] or _state["busy"] or debug():
            return None
        if "tensorflow" in sys.modules:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _QuietLoader(spec.loader, fullname)
                return spec
        return None


def install() -> None:
    """Make the first ``import tensorflow``/``import keras`` of this process quiet (idempotent).

    Also sets ``TF_CPP_MIN_LOG_LEVEL=2`` unless it is set or ``GENRE_DEBUG`` is on.
    """
    if debug():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


def held_back() -> list[str]:
    """The start-up lines this process did not show (for the curious, or a bug report)."""
    return list(_held_back)
