"""``python -m cli``: the same as ``posearena`` / ``python main.py``."""

import sys

from cli.app import main

sys.exit(main())
