#!/usr/bin/env bash
# Reproduce the second-reader experiment (a negative result, see README.md): synthetic plates, the base model
# (synthetic + eu/br boxes, no US image), one fine-tune per fold of the 448 US crops, and the out-of-fold crop
# benchmark blended with fast-plate-ocr. CPU, about 20 min on 2 shared cores. Usage: run_all.sh WORKDIR [v1|v2]
set -euo pipefail
W=${1:-/tmp/usp}
V=${2:-v1}
D=/work/shared/data
mkdir -p "$W"
T="nice -n 10 python -m training.us_plates.train --synth $W/synth.npz"
if [ "$V" = v1 ]; then FT="--steps 220 --lr 1e-3 --us-share 0.5"; else FT="--steps 600 --lr 2e-3 --us-share 0.75"; fi
[ -f "$W/synth.npz" ] || nice -n 10 python -m training.us_plates.make_synth "$W/synth.npz" --count 24000
[ -f "$W/base.pt" ] || $T --out "$W/base" --steps 700 --lr 3e-3
mkdir -p "$W/$V"
for k in 0 1 2 3 4; do
  [ -f "$W/$V/fold$k.onnx" ] || $T --init "$W/base.pt" --out "$W/$V/fold$k" $FT \
    --us-crops $D/openalpr_seg_and_ocr/us --folds 5 --fold $k --exclude-plates-of $D/openalpr_benchmarks/us
done
python -m training.us_plates.blended_benchmark $D/openalpr_seg_and_ocr/us "$W/$V" --folds 5
