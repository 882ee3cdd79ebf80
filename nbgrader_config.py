"""nbgrader configuration of the course (docs/instructors.md).

Read by every ``nbgrader`` command run from the repository root and by ``make student`` /
``make autograde`` (``python -m genre_lib.grading``). One assignment per notebook: the
assignment ``02_correlation_and_projections`` is ``notebooks/02_correlation_and_projections.ipynb``.
"""
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when it reads this file)

REPO = Path(__file__).resolve().parent
# genre_lib must be importable here (the stub preprocessor below) and in the grading kernels
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
# nbgrader runs `alembic` (its database migrations) from PATH: put this interpreter's bin first,
# so a virtual environment works without being activated (as `make` uses it)
BIN = str(Path(sys.executable).parent)
if BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join(p for p in (BIN, os.environ.get("PATH")) if p)

# -- the course layout: everything generated lives under <work dir>/build/ (git-ignored) ---------
BUILD = Path(os.environ.get("GENRE_WORK_DIR") or REPO).resolve() / "build"
c.CourseDirectory.root = str(BUILD)
c.CourseDirectory.course_id = "music-genre-classification"
c.CourseDirectory.source_directory = "source"          # build/source/<NN_topic>/<NN_topic>.ipynb
c.CourseDirectory.release_directory = "release"        # the student versions
c.CourseDirectory.submitted_directory = "submitted"    # build/submitted/<student>/<NN_topic>/
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = f"sqlite:///{BUILD / 'gradebook.db'}"

# -- the student version ------------------------------------------------------------------------
# The stub sets each answer variable to None instead of raising NotImplementedError, so the
# student version runs top to bottom and its visible checks report "not answered yet".
from nbgrader.converters import GenerateAssignment  # noqa: E402

from genre_lib.grading import StubAnswers  # noqa: E402

c.GenerateAssignment.preprocessors = [StubAnswers if p.__name__ == "ClearSolutions" else p
                                      for p in GenerateAssignment.class_traits()["preprocessors"].default()]
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE"}  # used only where no answer name is found
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# -- grading runs: the tiny `ci` profile, and a timeout that training cells fit in ----------------
# Every check compares with a reference computed in the same run, so a grading run in the `ci`
# profile scores a submission made in any profile. GENRE_GRADING_PROFILE=full grades on the real
# sizes (hours for notebooks 04-09).
os.environ["GENRE_PROFILE"] = os.environ.get("GENRE_GRADING_PROFILE", "ci")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
c.Execute.timeout = int(os.environ.get("GENRE_GRADING_TIMEOUT", "1800"))  # seconds per cell
c.Execute.startup_timeout = 300   # a kernel on a busy machine can take a while to start
c.Execute.interrupt_on_timeout = True
c.Execute.kernel_name = "python3"  # jupyter_client runs the "python" of a kernelspec as this interpreter
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:"]
