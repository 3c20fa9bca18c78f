#!/usr/bin/env bash
# Creates .venv and installs the project with every edge and server extra, pinned by
# requirements/constraints.txt. Re-runs are cheap: nothing is installed when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
EXTRAS=${ANPR_EXTRAS:-pipeline,detector-tflite,api,training,dev}
stamp_of() { cat pyproject.toml requirements/constraints.txt | sha256sum | cut -c1-16; echo "$EXTRAS"; }

[ -x .venv/bin/python ] || "$PY" -m venv .venv
if [ "$(cat .venv/.installed 2>/dev/null)" != "$(stamp_of)" ]; then
  echo "bootstrap: installing into .venv (first run downloads torch, several GB)" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c requirements/constraints.txt -e ".[$EXTRAS]"
  # Ultralytics pulls opencv-python; both wheels must stay on 4.x (5.x lost CascadeClassifier).
  .venv/bin/python -c "import cv2, sys; sys.exit(0 if hasattr(cv2, 'CascadeClassifier') else 'opencv without CascadeClassifier')"
  stamp_of > .venv/.installed
fi
