#!/usr/bin/env bash
# Re-resolve requirements.in into requirements.lock in a throw-away venv.
set -euo pipefail
cd "$(dirname "$0")/.."
d=$(mktemp -d); python3 -m venv "$d"; "$d/bin/pip" install -q -r requirements.in
{ head -2 requirements.lock; "$d/bin/pip" freeze; } > requirements.lock.new && mv requirements.lock.new requirements.lock
rm -rf "$d"
