"""TensorFlow's start-up lines stay out of notebooks, the command line and the benchmarks,
while anything else written to stderr (a real error) still shows (issue 18)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from notebook_outputs import assert_clean_outputs, output_problems

from genre_lib import quiet

ROOT = Path(__file__).resolve().parent.parent

# what TensorFlow 2.21 writes on a CPU-only machine (ids and times shortened)
STARTUP = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1795341249.811106    7687 port.cc:153] oneDNN custom operations are on. You may see \
slightly different numerical results due to floating-point round-off errors from different \
computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.
I0000 00:00:1795341249.812267    7687 cudart_stub.cc:31] Could not find cuda drivers on your \
machine, GPU will not be used.
E0000 00:00:1795341253.390796    7687 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA \
error: Failed call to cuInit: UNKNOWN ERROR (303)
"""
REAL = "E0000 00:00:1795341253.4 7687 kernel.cc:42] Could not open libfoo.so: no such file\n"


def _env(**extra):
    """The environment of a student's shell: no TF_CPP_MIN_LOG_LEVEL, no GENRE_DEBUG."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", quiet.DEBUG_ENV)}
    env.update(MPLBACKEND="Agg", PYTHONPATH=str(ROOT), **extra)
    return env


def _run(args, timeout=300, **env):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=_env(**env), capture_output=True,
                          text=True, timeout=timeout)


# -- the filter --------------------------------------------------------------------------------
def test_startup_lines_are_noise_on_a_machine_without_gpu():
    shown, held = quiet.filter_lines(STARTUP + REAL, gpu_present=False)
    assert shown == REAL
    assert len(held) == 4


def test_cuda_complaints_show_on_a_machine_with_a_gpu():
    shown, _ = quiet.filter_lines(STARTUP, gpu_present=True)
    assert "failed call to cuInit" in shown and "Could not find cuda drivers" in shown
    assert "oneDNN" not in shown and "absl::InitializeLog" not in shown


@pytest.mark.parametrize("line", [
    "Traceback (most recent call last):",
    "ImportError: libcudart.so.12: cannot open shared object file",
    "F0000 00:00:1.0 1 check.cc:1] Check failed: status.ok()",
    "W0000 00:00:1.0 1 op_kernel.cc:1] OUT_OF_RANGE: End of sequence",
])
def test_anything_else_is_shown(line):
    assert not quiet.is_noise(line, gpu_present=False)


def test_every_allow_list_entry_says_why():
    for pattern, why in quiet.NOISE + quiet.NO_GPU_NOISE:
        assert pattern and len(why) > 10


# -- the capture -------------------------------------------------------------------------------
def test_capture_holds_back_noise_and_replays_the_rest(capfd, monkeypatch):
    monkeypatch.setattr(quiet, "has_nvidia_gpu", lambda: False)
    before = len(quiet.held_back())
    with quiet.capture_fd2():
        os.write(2, (STARTUP + REAL).encode())
        print("a Python warning", file=sys.stderr)
    err = capfd.readouterr().err  # (under pytest, sys.stderr is not fd 2: the order may differ)
    assert sorted(err.splitlines(keepends=True)) == sorted([REAL, "a Python warning\n"])
    assert len(quiet.held_back()) == before + 4


def test_capture_replays_when_the_block_fails(capfd, monkeypatch):
    monkeypatch.setattr(quiet, "has_nvidia_gpu", lambda: False)
    with pytest.raises(ImportError), quiet.capture_fd2():
        os.write(2, (STARTUP + "the real reason\n").encode())
        raise ImportError("tensorflow is broken")
    assert capfd.readouterr().err == "the real reason\n"
    os.write(2, b"fd 2 is back\n")
    assert capfd.readouterr().err == "fd 2 is back\n"


# -- whole processes ---------------------------------------------------------------------------
def test_start_prints_one_device_line_and_nothing_on_stderr():
    res = _run(["-c", "import genre_lib as gl; gl.start()"])
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    devices = [line for line in res.stdout.splitlines() if line.startswith("device: ")]
    assert len(devices) == 1
    if not quiet.has_nvidia_gpu():
        assert devices[0] == f"device: CPU only ({os.cpu_count()} cores): float32"


def test_later_first_imports_of_keras_are_quiet_too():
    code = ("from genre_lib import quiet; quiet.install(); import keras; import tensorflow as tf; "
            "print(float(keras.ops.sum(keras.ops.ones(3)))); print(len(quiet.held_back()))")
    res = _run(["-c", code])
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    assert res.stdout.splitlines()[0] == "3.0"


def test_debug_shows_tensorflow_unchanged():
    res = _run(["-c", "import genre_lib as gl; gl.start()"], GENRE_DEBUG="1")
    assert res.returncode == 0, res.stderr
    assert "absl::InitializeLog" in res.stderr or "oneDNN" in res.stderr


@pytest.mark.parametrize("args", [["-m", "genre_lib", "--help"], ["-m", "genre_lib", "run", "--help"],
                                  ["benchmarks/features.py", "--help"],
                                  ["benchmarks/training.py", "--help"]])
def test_command_line_and_benchmarks_start_without_stderr(args):
    res = _run(args, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""


def test_cli_debug_flag_reaches_the_notebook_kernels(monkeypatch):
    from genre_lib import __main__ as cli

    monkeypatch.delenv(quiet.DEBUG_ENV, raising=False)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    cli._quiet_tensorflow(debug=True)
    assert os.environ[quiet.DEBUG_ENV] == "1" and os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    assert quiet.debug()


# -- in a real Jupyter kernel (fd 2 is a pipe the kernel forwards as a stderr stream) ----------
def _execute(nb, env, monkeypatch, cwd):
    from nbclient import NotebookClient

    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)   # as a student's `jupyter lab`
    monkeypatch.delenv(quiet.DEBUG_ENV, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def test_kernel_capture_keeps_real_errors(monkeypatch, tmp_path):
    from nbformat.v4 import new_code_cell, new_notebook

    code = ("import os\nfrom genre_lib import quiet\nquiet.has_nvidia_gpu = lambda: False\n"
            f"with quiet.capture_fd2():\n    os.write(2, {(STARTUP + REAL).encode()!r})")
    nb = _execute(new_notebook(cells=[new_code_cell(code)]), {"PYTHONPATH": str(ROOT)},
                  monkeypatch, tmp_path)
    streams = [o for o in nb.cells[0].outputs if o.output_type == "stream"]
    assert "".join(o.text for o in streams if o.name == "stderr") == REAL
    assert output_problems(nb)  # the checker notices a C++ line that is not known noise


def test_checker_allows_deliberate_errors_only():
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    bad = new_code_cell("1/0", outputs=[new_output("error", ename="ZeroDivisionError",
                                                   evalue="division by zero", traceback=[])])
    nb = new_notebook(cells=[bad])
    assert output_problems(nb)
    bad.metadata["tags"] = ["raises-exception"]
    assert_clean_outputs(nb)
    noisy = new_code_cell("", outputs=[new_output("stream", name="stderr", text=STARTUP)])
    noisy.metadata["tags"] = ["raises-exception"]
    assert output_problems(new_notebook(cells=[noisy]))


def test_eda_notebook_in_a_kernel_has_clean_outputs(monkeypatch, tmp_path):
    """The first notebook, ci profile, started like ``jupyter lab``: no TensorFlow start-up
    lines on stderr, no errors, and one device line in the first cell."""
    import nbformat

    path = ROOT / "notebooks" / "01_eda.ipynb"
    env = {"GENRE_PROFILE": "ci", "GENRE_DATASET": "synth", "GENRE_DATA_DIR": str(tmp_path / "data"),
           "GENRE_WORK_DIR": str(tmp_path / "work"), "MPLBACKEND": "Agg", "GENRE_JOBS": "2"}
    nb = _execute(nbformat.read(path, as_version=4), env, monkeypatch, path.parent)
    assert_clean_outputs(nb, path.name)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert [o.name for o in first.outputs if o.output_type == "stream"] == ["stdout"] * len(
        [o for o in first.outputs if o.output_type == "stream"])
    printed = "".join(o.text for o in first.outputs if o.output_type == "stream")
    assert sum(line.startswith("device: ") for line in printed.splitlines()) == 1


@pytest.mark.parametrize("names, expected", [
    ([], f"CPU only ({os.cpu_count()} cores): float32"),
    (["NVIDIA H100 80GB HBM3"],
     "1 GPU (NVIDIA H100 80GB HBM3): mixed precision on (float16 compute, float32 weights)"),
    (["NVIDIA A100", "NVIDIA A100"],
     "2 GPUs (2x NVIDIA A100): mixed precision on (float16 compute, float32 weights), "
     "MirroredStrategy data parallelism"),
])
def test_device_line_names_gpus_and_precision(monkeypatch, names, expected):
    from types import SimpleNamespace

    from genre_lib.devices import describe_device

    devices = [SimpleNamespace(name=f"/physical_device:GPU:{i}") for i in range(len(names))]
    details = {d.name: {"device_name": n} for d, n in zip(devices, names)}
    config = SimpleNamespace(list_physical_devices=lambda kind=None: devices,
                             experimental=SimpleNamespace(get_device_details=lambda d: details[d.name]))
    monkeypatch.setattr(quiet, "import_tensorflow", lambda: SimpleNamespace(config=config))
    assert describe_device() == expected  # the one description of the device


DT_BOOL = ("E0000 00:00:1796600000.1 9 util.cc:131] oneDNN supports DT_BOOL only on platforms with "
           "AVX-512. Falling back to the default Eigen-based implementation\n")


def test_a_notice_tensorflow_logs_mid_training_is_held_back_and_real_errors_still_show(
        capfd, ci_settings, ci_table):
    """The oneDNN DT_BOOL notice comes from TensorFlow's C++ side during the first training of
    a graph with a boolean op (on CPUs without AVX-512); it is written here to descriptor 2
    from inside the fit, as TensorFlow writes it."""
    import keras

    from genre_lib import training

    class Notice(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            os.write(2, (DT_BOOL + REAL).encode())

    capfd.readouterr()
    training.load_or_train("quiet_fit", arch="cnn1d_mel", epochs=1, force=True, callbacks=[Notice()],
                           settings=ci_settings)
    err = capfd.readouterr().err
    assert "DT_BOOL" not in err
    assert "Could not open libfoo.so" in err
    assert any("DT_BOOL" in line for line in quiet.held_back())
