#!/usr/bin/env bash
# GGUF / Q8_0 decode benchmark (issue 17): batch-1 decode of a random
# Qwen2.5-0.5B-shaped checkpoint, bf16 safetensors vs the same weights as a
# Q8_0 and a Q4_0 GGUF written by `yun quantize`, alternating, median of PAIRS pairs,
# 2 threads each. With LLAMA_BENCH=/path/to/llama-bench (llama.cpp built
# outside this repository), llama.cpp runs on the same GGUF file in the same
# loop (`llama-bench -m FILE -t 2 -p 0 -n 32`).
# Usage: bench/gguf.sh [BUILD_DIR]   (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
MODEL=${MODEL:-/tmp/yun-random-qwen2.5-0.5b}
GGUF=${GGUF:-$MODEL-q8_0.gguf}
GGUF4=${GGUF4:-$MODEL-q4_0.gguf}
PAIRS=${PAIRS:-3}
[ -f "$MODEL/model.safetensors" ] || "$BUILD/tools/make_random_checkpoint" --preset qwen2.5-0.5b --out "$MODEL"
[ -f "$GGUF" ] || "$BUILD/yun" quantize "$MODEL" "$GGUF" --type q8_0
[ -f "$GGUF4" ] || "$BUILD/yun" quantize "$MODEL" "$GGUF4" --type q4_0
yun_tps() {  # model path -> generated tok/s at concurrency 1
  "$BUILD/yun" bench --model "$1" --threads 2 --num-prompts 2 --input-len 16 --output-len 32 \
    --concurrency 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["generated_tokens_per_s"])'
}
llama_tps() {
  "$LLAMA_BENCH" -m "$GGUF" -t 2 -p 0 -n 32 -o json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["avg_ts"])'
}
: > /tmp/yun-bench-gguf.txt
for i in $(seq "$PAIRS"); do
  echo "bf16 $(yun_tps "$MODEL")" >> /tmp/yun-bench-gguf.txt
  echo "q8_0 $(yun_tps "$GGUF")" >> /tmp/yun-bench-gguf.txt
  echo "q4_0 $(yun_tps "$GGUF4")" >> /tmp/yun-bench-gguf.txt
  [ -z "${LLAMA_BENCH:-}" ] || echo "llama.cpp-q8_0 $(llama_tps)" >> /tmp/yun-bench-gguf.txt
done
python3 - <<'PY'
import statistics
runs = {}
for line in open("/tmp/yun-bench-gguf.txt"):
    k, v = line.split()
    runs.setdefault(k, []).append(float(v))
print("| weights | decode tok/s (median) | runs |")
print("|---|---|---|")
for k, v in runs.items():
    print(f"| {k} | {statistics.median(v):.1f} | {', '.join(f'{x:.1f}' for x in v)} |")
PY
