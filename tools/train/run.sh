#!/usr/bin/env bash
# Reproduces models/ringlm-kjv-3.7m.gguf from scratch: corpus, tokenizer, training, export, verification.
# About 1-1.5 hours on a 2-core machine (one torch thread). Not part of CI. See tools/train/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

NAME=ringlm-kjv-3.7m
WORK=tools/train/work
PY=/usr/bin/python3  # Debian's python, which has python3-torch (not a pyenv/venv python)
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1

if ! command -v bible >/dev/null || ! "$PY" -c 'import torch, sentencepiece, numpy' 2>/dev/null \
   || [ ! -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ]; then
  echo "run.sh: missing packages; install them with:" >&2
  echo "  apt-get install -y python3-torch python3-sentencepiece python3-numpy libopenblas0-pthread bible-kjv-text" >&2
  exit 1
fi

mkdir -p "$WORK" models
"$PY" tools/train/prepare.py --work "$WORK"
"$PY" tools/train/tokenizer.py --work "$WORK"
# One thread: the result depends on the thread count (summation order), and nice keeps other work responsive.
nice -n 19 "$PY" tools/train/train.py --work "$WORK" --threads 1 "$@" 2>&1 | tee "$WORK/train.log"
"$PY" tools/train/export.py --work "$WORK" --name "$NAME"
node tools/train/export-gguf.mjs "$WORK/export/manifest.json" "models/$NAME.gguf"
"$PY" tools/train/verify.py "models/$NAME.gguf" --work "$WORK"
sha256sum "models/$NAME.gguf"
