#!/usr/bin/env bash
# Peak RSS of the four edge services, each its own process over the running Mosquitto, on one video:
#   benchmarks/edge_rss.sh [VIDEO]        (default ../shared/data/videos/us_gate_sequence.mp4)
# Models as run.sh picks them on this machine; MQTT_HOST/MQTT_PORT as for the services (127.0.0.1:1883).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${ANPR_SHARED_DATA:-../shared/data}
VIDEO=${1:-$DATA/videos/us_gate_sequence.mp4}
export DETECTOR_MODEL=${DETECTOR_MODEL:-$DATA/models/fallback/yolo11n_int8.tflite}
export OCR_LOCALISER_MODEL=${OCR_LOCALISER_MODEL:-$DATA/models/plates/openalpr_us/us.xml}
export OCR_READER_MODEL=${OCR_READER_MODEL:-$DATA/models/peers/fast_plate_ocr/cct_xs_v1_global.onnx}
export OCR_SECOND_LOCALISER_MODEL=${OCR_SECOND_LOCALISER_MODEL-$DATA/models/plates/yolov8n_plate/plate_detector_model_1.pt}
export OCR_SECOND_READER_MODEL=${OCR_SECOND_READER_MODEL-$DATA/models/peers/fast_plate_ocr/cct_xs_v2_global.onnx}
export ANPR_TOPIC_PREFIX=rss$$ ANPR_ENV_FILE=/nonexistent/.env CAPTURE_SOURCE=$VIDEO CAPTURE_PACE=fast
WORK=$(mktemp -d)
export AGGREGATOR_STATE_FILE=$WORK/state.json
trap 'for pid in $(jobs -p); do pkill -TERM -P "$pid" || true; done; rm -rf "$WORK"' EXIT
for s in aggregator ocr detector; do
  # A client id of its own: another run's services with the default ids would take over the sessions.
  MQTT_CLIENT_ID=$ANPR_TOPIC_PREFIX-$s /usr/bin/time -f "%M" -o "$WORK/$s.rss" .venv/bin/python -m "services.$s" 2>"$WORK/$s.log" &
done
# Frames published before a consumer subscribed would be lost: wait until all three say online.
for _ in $(seq 180); do
  online=$(mosquitto_sub -h "${MQTT_HOST:-127.0.0.1}" -p "${MQTT_PORT:-1883}" -t "$ANPR_TOPIC_PREFIX/status/+" -W 1 2>/dev/null | grep -c '"online"' || true)
  [ "$online" -ge 3 ] && break
done
MQTT_CLIENT_ID=$ANPR_TOPIC_PREFIX-capture /usr/bin/time -f "%M" -o "$WORK/capture.rss" \
  .venv/bin/python -m services.capture 2>"$WORK/capture.log"
sleep 2
for pid in $(jobs -p); do pkill -TERM -P "$pid" || true; done  # the services, not /usr/bin/time, which reports
wait || true
for s in capture detector ocr aggregator; do
  printf '%-10s peak RSS %5d MB\n' "$s" $(( $(tail -1 "$WORK/$s.rss") / 1024 ))
done
