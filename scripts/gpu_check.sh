#!/usr/bin/env bash
# The GPU path, exercised on a machine with an NVIDIA GPU: the device line, the training
# benchmark (training samples/s and the inference real-time factor, with mixed precision), then
# notebooks 04 and 10 in the full profile, with their times and the results table.
#
#   bash scripts/gpu_check.sh            # from a checkout with `make setup` done
#
# Outputs go to build/gpu_check/ (GENRE_WORK_DIR), so a CPU run's models are not reused.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export GENRE_WORK_DIR=${GENRE_WORK_DIR:-$PWD/build/gpu_check}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
mkdir -p "$GENRE_WORK_DIR"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "nvidia-smi: no GPU visible"
"$PY" -c "import genre_lib as gl; gl.start()"
"$PY" benchmarks/training.py
time "$PY" -m genre_lib run 04 10
"$PY" -m genre_lib results
