"""Every figure of the curriculum. Each function takes ``ax=None`` (or makes its own figure),
returns the Axes (or Figure), and can save to ``figures/<run name>/<name>.png``.

Themes live in submodules and are all re-exported here, so ``gl.plotting.waveform`` works.
"""
from .analysis import *  # noqa: F401,F403
from .basics import *  # noqa: F401,F403
from .interpret import *  # noqa: F401,F403
from .mel import *  # noqa: F401,F403
from .search import *  # noqa: F401,F403
from .tagging import *  # noqa: F401,F403
from .training import *  # noqa: F401,F403
