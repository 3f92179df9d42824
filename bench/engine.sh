#!/usr/bin/env bash
# Engine benchmark (issue: serving engine): `yun bench` on a random
# Qwen2.5-0.5B-shaped bf16 checkpoint, all in one run on the same machine:
#   1. generated tokens/s at concurrency 1, 8 and 32 (batching speed-up);
#   2. time to first token with a 1,000-token shared system prompt, prefix
#      cache on vs off (--no-prefix-cache).
# Prints the JSON of each run to $OUT_DIR and a table last.
# Usage: bench/engine.sh [BUILD_DIR]   (default build; makes the checkpoint if missing)
#   env DTYPE=bfloat16: every run with `--dtype bfloat16` (bf16 activations, not
#   exact; see `yun run --help`), JSON in $OUT_DIR-bf16 by default.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
MODEL=${MODEL:-/tmp/yun-random-qwen2.5-0.5b}
DTYPE=${DTYPE:-float32}
OUT_DIR=${OUT_DIR:-/tmp/yun-bench-engine$([ "$DTYPE" = float32 ] || echo "-$DTYPE")}
mkdir -p "$OUT_DIR"
[ -f "$MODEL/model.safetensors" ] || "$BUILD/tools/make_random_checkpoint" --preset qwen2.5-0.5b --out "$MODEL"
YUN="$BUILD/yun"
run() {  # name, then yun bench flags
  local name=$1; shift
  "$YUN" bench --model "$MODEL" --dtype "$DTYPE" "$@" > "$OUT_DIR/$name.json"
}
# Throughput vs concurrency: prompts of 32 tokens, 32 generated tokens each.
run c1  --num-prompts 4  --input-len 32 --output-len 32 --concurrency 1
run c8  --num-prompts 8  --input-len 32 --output-len 32 --concurrency 8
run c32 --num-prompts 32 --input-len 32 --output-len 32 --concurrency 32
# Prefix caching: 1,000 shared tokens + 16 own tokens, 4 generated, one at a time.
run prefix_on  --num-prompts 4 --input-len 1016 --output-len 4 --concurrency 1 --shared-prefix-len 1000
run prefix_off --num-prompts 4 --input-len 1016 --output-len 4 --concurrency 1 --shared-prefix-len 1000 --no-prefix-cache
python3 - "$OUT_DIR" <<'PY'
import json, sys, os
d = sys.argv[1]
r = {n: json.load(open(os.path.join(d, n + ".json"))) for n in ["c1", "c8", "c32", "prefix_on", "prefix_off"]}
g = {n: r[n]["generated_tokens_per_s"] for n in ["c1", "c8", "c32"]}
print("| run | generated tok/s | vs c1 |")
print("|---|---|---|")
for n in ["c1", "c8", "c32"]:
    print(f"| {n} | {g[n]:.1f} | {g[n]/g['c1']:.2f}x |")
on, off = r["prefix_on"]["ttft_ms"]["p50"], r["prefix_off"]["ttft_ms"]["p50"]
print(f"| TTFT p50, 1000-token shared prefix | cache on {on:.0f} ms, off {off:.0f} ms | {off/on:.2f}x |")
print(f"| prefix-cache hit rate (on) | {r['prefix_on']['prefix_cache_hit_rate']:.3f} | |")
PY
