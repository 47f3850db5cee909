#!/usr/bin/env bash
# Install what is needed (see bootstrap.sh) and run the whole test suite (pytest-xvfb starts Xvfb itself).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"
