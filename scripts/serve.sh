#!/usr/bin/env bash
# Builds yun and starts `yun serve` on a model directory.
# Usage: scripts/serve.sh MODEL_DIR [yun serve flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)" --target yun
exec build/yun serve --model "$@"
