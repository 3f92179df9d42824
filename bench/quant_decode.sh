#!/usr/bin/env bash
# Batch-1 decode of a random Qwen2.5-0.5B-shaped checkpoint in bf16 and as
# Q8_0, Q4_0 and Q4_K_M GGUF files written by `yun quantize` (issue 17):
# build/bench/yun_bench_decode on each, alternating, ROUNDS rounds, 2
# threads, median and range of decode tok/s and of the fraction of the
# bandwidth bound, bound = membw (measured in the same run) / bytes read per
# token. Bytes per token = the file's size (the model is tied, so the
# embedding is read once per token as the output projection; metadata is a
# few kB).
# Usage: bench/quant_decode.sh [BUILD_DIR]   (ROUNDS=3 TOKENS=48 PROMPT=16)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
MODEL=${MODEL:-/tmp/yun-random-qwen2.5-0.5b}
ROUNDS=${ROUNDS:-3}
TOKENS=${TOKENS:-48}
PROMPT=${PROMPT:-16}
[ -f "$MODEL/model.safetensors" ] || "$BUILD/tools/make_random_checkpoint" --preset qwen2.5-0.5b --out "$MODEL"
for t in q8_0 q4_0 q4_k_m; do
  [ -f "$MODEL-$t.gguf" ] || "$BUILD/yun" quantize "$MODEL" "$MODEL-$t.gguf" --type "$t"
done
OUT=/tmp/yun-bench-quant-decode.txt
: > "$OUT"
run() {  # name path bytes
  "$BUILD/bench/yun_bench_decode" --model "$2" --threads 2 --tokens "$TOKENS" \
    --prompt-len "$PROMPT" | python3 -c '
import json, sys
r = json.load(sys.stdin); b = float(sys.argv[2])
print(sys.argv[1], r["decode_tps_median"], r["decode_tps_median"] * b / (r["membw_gbs"] * 1e9))
' "$1" "$3" >> "$OUT"
}
size() { stat -c %s "$1"; }
for i in $(seq "$ROUNDS"); do
  run bf16 "$MODEL" "$(size "$MODEL/model.safetensors")"
  for t in q8_0 q4_0 q4_k_m; do run "$t" "$MODEL-$t.gguf" "$(size "$MODEL-$t.gguf")"; done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$OUT" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    k, tps, frac = line.split()
    runs.setdefault(k, []).append((float(tps), float(frac)))
print("| weights | decode tok/s median (range) | fraction of bandwidth bound median (range) |")
print("|---|---|---|")
for k, v in runs.items():
    t = [x[0] for x in v]; f = [x[1] for x in v]
    print(f"| {k} | {statistics.median(t):.1f} ({min(t):.1f}-{max(t):.1f}) | "
          f"{statistics.median(f):.2f} ({min(f):.2f}-{max(f):.2f}) |")
PY
