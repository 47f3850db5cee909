#!/usr/bin/env bash
# Creates/updates the project-local virtual environment (.venv) from requirements.lock and makes sure the
# Debian packages a Qt window needs are present. Fast when nothing changed (a stamp holds the lock's hash).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "PoseArena needs Python >= 3.11 (found: $("$PY" --version 2>&1 || echo none))." >&2; exit 1
fi

# Debian packages for Qt under X (Xvfb when there is no display).
DEB_PKGS="xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0 libgl1 libegl1 libglib2.0-0 libfontconfig1 libdbus-1-3"
missing=""
if command -v dpkg-query >/dev/null 2>&1; then
  for p in $DEB_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
fi
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian packages Qt needs:$missing"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing) >/dev/null
  else
    echo "Qt windows need these Debian packages, please install them:" >&2
    echo "    sudo apt-get install -y$missing" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv ..."
  "$PY" -m venv .venv
fi
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
have=$(cat .venv/.posearena-stamp 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  echo "Installing pinned dependencies into .venv (first time: about a minute) ..."
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.lock 2>&1 | { grep -v "^WARNING: Location" || true; }
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "pip install failed" >&2; exit 1; }
  echo "$want" > .venv/.posearena-stamp
fi
