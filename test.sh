#!/usr/bin/env bash
# Install, make sure Mosquitto and MariaDB run, lint, and run every test: ./test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
scripts/servers.sh
scripts/browser.sh >/dev/null  # Debian chromium for the web app tests
deploy/check.sh --static
.venv/bin/ruff check anpr services tests benchmarks deploy docker training
.venv/bin/python -m pytest "$@"
