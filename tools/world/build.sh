#!/usr/bin/env bash
# Rebuilds the synthetic world and the bundled models from scratch, with the exact commands that
# made the committed ones (see models/*/README.md). On 2 CPU cores this takes several hours; the
# result is deterministic up to floating-point summation order (BLAS threads).
# The instruct world's Expert takes about 3.5 hours of 2 CPU cores, the base world (build-base.sh, run
# last; BASE_WORLD=0 leaves it out) about 3.7 more.
#   tools/world/build.sh [WORKDIR]   (default: runs/world-build)
set -euo pipefail
cd "$(dirname "$0")/../.."
W=${1:-runs/world-build}
LR="node bin/lightreasoner.js"
mkdir -p "$W"
$LR make-data --split train --count 100000 --seed 1 --out "$W/train.jsonl"
$LR make-data --split train --count 100000 --seed 2 --out "$W/train-b.jsonl"
$LR make-data --split dev --count 1000 --seed 1 --out "$W/dev.jsonl"
# Training questions for the dev-split sweeps in docs/experiments.md (never used for pretraining).
$LR make-data --split train --count 400 --seed 5 --out "$W/sample-q400.jsonl"
$LR train-tokenizer --input "$W/train.jsonl" --vocab-size 1024 --chat --out "$W/tokenizer"
# Phase 1, with exports along the way: the step-1000 export is the Amateur.
$LR pretrain --tokenizer "$W/tokenizer" --train "$W/train.jsonl" --dev "$W/dev.jsonl" --out "$W/expert-phase1" \
  --steps 6000 --batch-size 16 --lr 2e-3 --warmup-steps 200 --eval-steps 500 --eval-count 200 --save-steps 500 \
  --export-steps 500,1000,1500,2000,3000,4000 --seed 0 --resume
# Phase 2: continued pretraining on a second, disjoint set of training problems -> the Expert.
$LR pretrain --init "$W/expert-phase1" --tokenizer "$W/tokenizer" --train "$W/train-b.jsonl" --dev "$W/dev.jsonl" \
  --out "$W/expert" --steps 5000 --batch-size 16 --lr 1e-3 --warmup-steps 200 --eval-steps 1000 --eval-count 200 \
  --save-steps 500 --export-steps 2500 --seed 1 --resume
# A separately trained small Amateur (0.5M parameters) tried in docs/experiments.md; five minutes.
if [ "${EXPERIMENTS:-0}" = 1 ]; then
  $LR pretrain --tokenizer "$W/tokenizer" --train "$W/train.jsonl" --dev "$W/dev.jsonl" --out "$W/amateur-small" \
    --hidden 128 --layers 2 --heads 4 --kv-heads 2 --intermediate 384 --steps 3000 --batch-size 16 --lr 3e-3 \
    --warmup-steps 200 --eval-steps 1000 --eval-count 200 --save-steps 500 --seed 0 --resume
fi
# The bundled pair: the final Expert and its step-1000 export as the Amateur (docs/experiments.md says why).
# install NAME:SRC ...: copies each model's files into models/NAME, keeping the model card there.
install() {
  for pair in "$@"; do
    name=${pair%%:*}; src=${pair#*:}
    cp "$src"/{config.json,model.safetensors,tokenizer.json,tokenizer_config.json} "models/$name/"
  done
  echo "copied into $(printf 'models/%s ' "${@%%:*}")(model cards kept)"
}
if [ "${INSTALL_MODELS:-0}" = 1 ]; then
  install "expert:$W/expert" "amateur:$W/expert-phase1/step-1000"
else
  echo "Expert: $W/expert; Amateur: $W/expert-phase1/step-1000 (INSTALL_MODELS=1 copies them into models/)"
fi
# The base-regime world (docs/experiments.md §5, the default demo's pair): about 3.7 hours more,
# resumable like everything above. Its models/expert and models/amateur are the bundled
# models/base-expert and models/base-amateur (float32: bf16 storage changes their answers, §5.5).
if [ "${BASE_WORLD:-1}" = 1 ]; then
  tools/world/build-base.sh "$W/base-world"
  if [ "${INSTALL_MODELS:-0}" = 1 ]; then
    install "base-expert:$W/base-world/models/expert" "base-amateur:$W/base-world/models/amateur"
  fi
fi
