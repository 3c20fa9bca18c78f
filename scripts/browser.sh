#!/usr/bin/env bash
# A headless browser for the web app's end-to-end tests (tests/web), without downloading browsers:
# Debian's chromium from apt, and Playwright's Python package (the driver only) in .venv; axe-core
# for the accessibility test from the npm registry, at the version locked in tests/web/package-lock.json.
# Never `playwright install`: the tests launch /usr/bin/chromium by path.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$REPO/.venv}"
PLAYWRIGHT_SPEC="${PLAYWRIGHT_SPEC:-playwright>=1.45}"

if [[ ! -x /usr/bin/chromium ]]; then
  SUDO=""
  [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core
fi

if ! "$VENV/bin/python" -c "import playwright" 2>/dev/null; then
  "$VENV/bin/pip" install "$PLAYWRIGHT_SPEC"
fi

if [[ ! -f "$REPO/tests/web/node_modules/axe-core/axe.min.js" ]]; then
  if ! command -v npm >/dev/null; then
    SUDO=""
    [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends npm
  fi
  npm ci --prefix "$REPO/tests/web" --no-audit --no-fund
fi

/usr/bin/chromium --version
"$VENV/bin/python" -c "from importlib.metadata import version; print('playwright', version('playwright'))"
node -e "console.log('axe-core', require('$REPO/tests/web/node_modules/axe-core/package.json').version)"
