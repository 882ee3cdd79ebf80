"""``python -m genre_lib.grading``: the commands behind make student, autograde and html."""
import sys

from . import main

sys.exit(main())
