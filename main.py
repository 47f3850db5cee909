"""PoseArena from a source tree: ``python main.py`` = the installed ``posearena`` command (``cli/app.py``)."""
import sys

import models.thread_policy  # noqa: F401  (before torch loads OpenMP)
from cli.app import build_parser, main  # noqa: F401  (build_parser: re-exported for callers of main.build_parser)

if __name__ == "__main__":
    sys.exit(main())
