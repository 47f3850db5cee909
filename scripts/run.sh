#!/usr/bin/env bash
# Install what is needed (see bootstrap.sh) and start PoseArena. Without a display it runs under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && command -v xvfb-run >/dev/null 2>&1; then
  echo "No display found: running under Xvfb (virtual screen)."
  exec xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python main.py "$@"
fi
exec .venv/bin/python main.py "$@"
