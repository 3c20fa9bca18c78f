#!/usr/bin/env bash
# Run the whole edge pipeline in one process (no broker, no database) over footage:
#   ./run.sh ../shared/data/videos/parkpow_cars.mp4 [--show] [--max-fps 5]
# Writes output/<date-time>/ (annotated mp4, reads and events CSV); output/latest points at the last finished run.
set -euo pipefail
CALLER=$PWD  # relative paths in the arguments are the caller's
cd "$(dirname "$0")"
scripts/bootstrap.sh
# With no model configured, use the models shipped in ../shared/data where it is there (a development
# machine without model hubs); elsewhere each library fetches its model on first use and caches it.
DATA=${ANPR_SHARED_DATA:-../shared/data}
if [ -d "$DATA/models" ]; then
  export DETECTOR_MODEL=${DETECTOR_MODEL:-$DATA/models/fallback/yolo11n_int8.tflite}
  export OCR_LOCALISER_MODEL=${OCR_LOCALISER_MODEL:-$DATA/models/plates/openalpr_us/us.xml}
  export OCR_READER_MODEL=${OCR_READER_MODEL:-$DATA/models/peers/fast_plate_ocr/cct_xs_v1_global.onnx}
  # plates of any layout (long EU, two-row) and the second reader: docs/accuracy.md, round 3
  export OCR_SECOND_LOCALISER_MODEL=${OCR_SECOND_LOCALISER_MODEL-$DATA/models/plates/yolov8n_plate/plate_detector_model_1.pt}
  export OCR_SECOND_READER_MODEL=${OCR_SECOND_READER_MODEL-$DATA/models/peers/fast_plate_ocr/cct_xs_v2_global.onnx}
fi
[ $# -gt 0 ] || set -- "$(realpath -m "$DATA")/videos/parkpow_cars.mp4"
exec .venv/bin/python -m services.pipeline --relative-to "$CALLER" "$@"
