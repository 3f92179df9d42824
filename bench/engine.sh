#!/usr/bin/env bash
# Engine benchmark (issue: serving engine): `yun bench` on a random
# Qwen2.5-0.5B-shaped bf16 checkpoint, all in one run on the same machine:
#   1. generated tokens/s at concurrency 1, 8 and 32 (batching speed-up);
#   2. time to first token with a 1,000-token shared system prompt, prefix
#      cache on vs off (--no-prefix-cache).
# Prints the JSON of each run to $OUT_DIR and a table last.
#   3. hybrid prefix cache (Qwen3.5, Gated DeltaNet state snapshots): the same
#      prefix workload on a random Qwen3.5-0.8B-shaped checkpoint and on its
#      4-layer cut, cache on vs off alternated REPS times (median and range of
#      the TTFT ratio), and the hit rate against a Qwen3 model's (tiny preset).
# Usage: bench/engine.sh [BUILD_DIR]   (default build; makes the checkpoint if missing)
#   env ONLY=hybrid: only part 3; ONLY=qwen: parts 1-2; REPS (default 3);
#   SNAPSHOT_INTERVAL: --state-snapshot-interval for the hybrid runs (default: the engine's).
#   env DTYPE=bfloat16: every run with `--dtype bfloat16` (bf16 activations, not
#   exact; see `yun run --help`), JSON in $OUT_DIR-bf16 by default.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
MODEL=${MODEL:-/tmp/yun-random-qwen2.5-0.5b}
DTYPE=${DTYPE:-float32}
OUT_DIR=${OUT_DIR:-/tmp/yun-bench-engine$([ "$DTYPE" = float32 ] || echo "-$DTYPE")}
mkdir -p "$OUT_DIR"
ONLY=${ONLY:-}
[ "$ONLY" = hybrid ] || [ -f "$MODEL/model.safetensors" ] || "$BUILD/tools/make_random_checkpoint" --preset qwen2.5-0.5b --out "$MODEL"
YUN="$BUILD/yun"
run() {  # name, then yun bench flags
  local name=$1; shift
  "$YUN" bench --model "$MODEL" --dtype "$DTYPE" "$@" > "$OUT_DIR/$name.json"
}
if [ "$ONLY" != hybrid ]; then
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
fi
[ "$ONLY" = qwen ] && exit 0
# 3. Hybrid prefix cache.
REPS=${REPS:-3}
H08=${H08_MODEL:-/tmp/yun-random-qwen3.5-0.8b}
H4=${H4_MODEL:-/tmp/yun-random-qwen3.5-0.8b-4layers}
Q3=${Q3_MODEL:-/tmp/yun-random-qwen3-tiny}
[ -f "$H08/model.safetensors" ] || "$BUILD/tools/make_random_checkpoint" --preset qwen3.5-0.8b --out "$H08"
[ -f "$H4/model.safetensors" ] || "$BUILD/tools/make_random_checkpoint" --preset qwen3.5-0.8b --layers 4 --out "$H4"
[ -f "$Q3/model.safetensors" ] || "$BUILD/tools/make_random_checkpoint" --preset tiny --out "$Q3"
SNAP=()
[ -n "${SNAPSHOT_INTERVAL:-}" ] && SNAP=(--state-snapshot-interval "$SNAPSHOT_INTERVAL")
PREFIX=(--input-len 1016 --output-len 4 --concurrency 1 --shared-prefix-len 1000)
uptime > "$OUT_DIR/hybrid_load.txt"
"$YUN" bench --model "$Q3" --dtype "$DTYPE" "${PREFIX[@]}" --num-prompts 4 > "$OUT_DIR/qwen3_prefix_on.json"
for m in ${HYBRID_MODELS:-h4 h08}; do
  model=$H4; [ $m = h08 ] && model=$H08
  for i in $(seq 1 "$REPS"); do  # alternated: on, off, on, off, ...
    "$YUN" bench --model "$model" --dtype "$DTYPE" "${SNAP[@]}" "${PREFIX[@]}" --num-prompts 4 > "$OUT_DIR/${m}_on_$i.json"
    # Off: every prompt is a miss, so 2 of them give the same p50 in half the time.
    "$YUN" bench --model "$model" --dtype "$DTYPE" "${SNAP[@]}" "${PREFIX[@]}" --num-prompts 2 --no-prefix-cache > "$OUT_DIR/${m}_off_$i.json"
  done
done
uptime >> "$OUT_DIR/hybrid_load.txt"
python3 - "$OUT_DIR" "$REPS" <<'PY'
import json, sys, os, statistics
d, reps = sys.argv[1], int(sys.argv[2])
ld = lambda n: json.load(open(os.path.join(d, n + ".json")))
q3 = ld("qwen3_prefix_on")["prefix_cache_hit_rate"]
print("| hybrid (Qwen3.5 layout) | TTFT p50 on / off (median) | off/on: median [range] | hit rate (Qwen3 tiny: %.3f) | snapshots |" % q3)
print("|---|---|---|---|---|")
ms = os.environ.get("HYBRID_MODELS", "h4 h08").split()
for m, label in [(m, {"h4": "0.8B shape, 4 layers", "h08": "Qwen3.5-0.8B shape"}[m]) for m in ms]:
    on = [ld(f"{m}_on_{i}") for i in range(1, reps + 1)]
    off = [ld(f"{m}_off_{i}") for i in range(1, reps + 1)]
    t_on = [r["ttft_ms"]["p50"] for r in on]
    t_off = [r["ttft_ms"]["p50"] for r in off]
    ratio = [b / a for a, b in zip(t_on, t_off)]
    hit = on[-1]["prefix_cache_hit_rate"]
    print(f"| {label} | {statistics.median(t_on):.0f} / {statistics.median(t_off):.0f} ms | "
          f"{statistics.median(ratio):.2f}x [{min(ratio):.2f}-{max(ratio):.2f}] | "
          f"{hit:.3f} ({hit / q3:.2f} of Qwen3) | {on[-1].get('state_snapshot_capacity', 0)} slots, "
          f"{on[-1].get('state_snapshot_restores', 0)} restores |")
print("load:", open(os.path.join(d, "hybrid_load.txt")).read().replace("\n", " / "))
PY
