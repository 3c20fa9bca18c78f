#!/usr/bin/env bash
# Run the whole edge pipeline in one process (no broker, no database) over footage:
#   ./run.sh ../shared/data/videos/parkpow_cars.mp4 [--show] [--max-fps 5]
# Writes output/detected_vehicles_and_plates.mp4, output/detected_vehicles_and_plates.csv, output/events.csv.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
# With no model configured, use the models shipped in ../shared/data (this machine has no model hub).
DATA=${ANPR_SHARED_DATA:-../shared/data}
if [ -d "$DATA/models" ]; then
  export DETECTOR_MODEL=${DETECTOR_MODEL:-$DATA/models/fallback/yolo11n_int8.tflite}
  export OCR_LOCALISER_MODEL=${OCR_LOCALISER_MODEL:-$DATA/models/plates/openalpr_us/us.xml}
  export OCR_READER_MODEL=${OCR_READER_MODEL:-$DATA/models/peers/fast_plate_ocr/cct_xs_v1_global.onnx}
fi
exec .venv/bin/python -m services.pipeline "${@:-$DATA/videos/parkpow_cars.mp4}"
