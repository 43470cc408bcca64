#!/usr/bin/env bash
# Rebuilds the synthetic world and the bundled models from scratch, with the exact commands that
# made the committed ones (see models/*/README.md). On 2 CPU cores this takes several hours; the
# result is deterministic up to floating-point summation order (BLAS threads).
#   tools/world/build.sh [WORKDIR]   (default: runs/world-build)
set -euo pipefail
cd "$(dirname "$0")/../.."
W=${1:-runs/world-build}
LR="node bin/lightreasoner.js"
mkdir -p "$W"
$LR make-data --split train --count 100000 --seed 1 --out "$W/train.jsonl"
$LR make-data --split dev --count 1000 --seed 1 --out "$W/dev.jsonl"
$LR train-tokenizer --input "$W/train.jsonl" --vocab-size 1024 --chat --out "$W/tokenizer"
# The Expert, with exports along the way: an earlier export is the Amateur.
$LR pretrain --tokenizer "$W/tokenizer" --train "$W/train.jsonl" --dev "$W/dev.jsonl" --out "$W/expert" \
  --steps 6000 --batch-size 16 --lr 2e-3 --warmup-steps 200 --eval-steps 500 --eval-count 200 --save-steps 500 \
  --export-steps 500,1000,1500,2000,3000,4000 --seed 0 --resume
echo "Expert: $W/expert; Amateur candidates: $W/expert/step-*"
