#!/usr/bin/env bash
# CPU benchmarks: memory bandwidth, matmul kernels, end-to-end decode.
# The end-to-end rows run in the default exact mode (float32 activations) and,
# for the first model, also with --bf16 (`--dtype bfloat16`: bf16 activations,
# reported separately because it is not exact) and with --no-mmap (weights read
# into huge pages instead of mapped).
# Makes random-weight Qwen2.5-0.5B and Qwen3-1.7B checkpoints in /tmp (once),
# builds the bench targets, runs them and prints a table (raw JSON lines go to
# $OUT_DIR/*.jsonl).
# Usage: scripts/bench-cpu.sh [--threads N] [--tokens 64] [--prompt-len 512]
#   env: BUILD (default build), MODELS ("qwen2.5-0.5b qwen3-1.7b"), OUT_DIR (/tmp/yun-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
MODELS=${MODELS:-"qwen2.5-0.5b qwen3-1.7b"}
OUT_DIR=${OUT_DIR:-/tmp/yun-bench}
threads=0 tokens=64 prompt_len=512
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --tokens) tokens=$2; shift 2 ;;
    --prompt-len) prompt_len=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT_DIR"

if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release
fi
# Other modules may be mid-edit in a shared tree: fall back to binaries already built.
cmake --build "$BUILD" -j"$(nproc)" --target yun_bench_membw yun_bench_matmul yun_bench_decode \
  make_random_checkpoint || echo "bench-cpu: build failed, using existing binaries" >&2
for b in bench/yun_bench_membw bench/yun_bench_matmul bench/yun_bench_decode; do
  [[ -x "$BUILD/$b" ]] || { echo "bench-cpu: $BUILD/$b missing" >&2; exit 1; }
done
tool=$(find "$BUILD" -type f -name make_random_checkpoint -perm -u+x | head -1)

for m in $MODELS; do
  dir=/tmp/yun-random-$m
  if [[ ! -f "$dir/model.safetensors" ]]; then
    echo "making $dir ..." >&2
    "$tool" --preset "$m" --out "$dir"
  fi
done

targs=()
[[ "$threads" != 0 ]] && targs=(--threads "$threads")
"$BUILD/bench/yun_bench_membw" "${targs[@]}" | tee "$OUT_DIR/membw.jsonl"
"$BUILD/bench/yun_bench_matmul" "${targs[@]}" | tee "$OUT_DIR/matmul.jsonl"
# The compute-bound sizes again with bf16 activations (vdpbf16ps, where the CPU has it).
: > "$OUT_DIR/matmul_bf16.jsonl"
for m in 32 512; do
  "$BUILD/bench/yun_bench_matmul" "${targs[@]}" --m $m --bf16 | tee -a "$OUT_DIR/matmul_bf16.jsonl"
done
: > "$OUT_DIR/decode.jsonl"
for m in $MODELS; do
  dir=/tmp/yun-random-$m
  cat "$dir"/*.safetensors > /dev/null  # page cache, for the time-to-first-token figure
  "$BUILD/bench/yun_bench_decode" --model "$dir" "${targs[@]}" --tokens "$tokens" \
    --prompt-len "$prompt_len" | tee -a "$OUT_DIR/decode.jsonl"
done
first=$(set -- $MODELS; echo "$1")
"$BUILD/bench/yun_bench_decode" --model "/tmp/yun-random-$first" "${targs[@]}" --tokens "$tokens" \
  --prompt-len "$prompt_len" --bf16 | tee -a "$OUT_DIR/decode.jsonl"
"$BUILD/bench/yun_bench_decode" --model "/tmp/yun-random-$first" "${targs[@]}" --tokens "$tokens" \
  --prompt-len "$prompt_len" --no-mmap | tee -a "$OUT_DIR/decode.jsonl"

python3 - "$OUT_DIR" <<'PY'
import json, sys, os
d = sys.argv[1]
rows = lambda f: [json.loads(l) for l in open(os.path.join(d, f)) if l.startswith("{")]
bw = rows("membw.jsonl")[0]
print(f"\nmemory read bandwidth: {bw['median_gbs']:.1f} GB/s (best {bw['best_gbs']:.1f}),"
      f" {bw['threads']} threads")
mm = rows("matmul.jsonl")
env = mm[0]
print(f"matmul kernel {env['kernel']}, FMA peak {env['fma_peak_gflops']:.0f} GFLOP/s\n")
print(f"{'shape':22} {'M':>4} {'us':>10} {'GB/s':>7} {'%membw':>7} {'GFLOP/s':>8} {'%peak':>6}")
for r in mm[1:]:
    print(f"{r['shape']:22} {r['M']:>4} {r['us']:>10.1f} {r['weight_gbs']:>7.2f}"
          f" {100*r['frac_membw']:>6.1f}% {r['gflops']:>8.1f} {100*r['frac_fma_peak']:>5.1f}%")
mb = [r for r in rows("matmul_bf16.jsonl") if r["bench"] == "matmul"]
benv = [r for r in rows("matmul_bf16.jsonl") if r["bench"] == "matmul_env"]
if mb and benv and benv[0]["bf16_peak_gflops"] > 0:
    print(f"\nbf16 activations: vdpbf16ps peak {benv[0]['bf16_peak_gflops']:.0f} GFLOP/s")
    print(f"{'shape':22} {'M':>4} {'us':>10} {'GFLOP/s':>8} {'%bf16peak':>9}")
    for r in mb:
        print(f"{r['shape']:22} {r['M']:>4} {r['us']:>10.1f} {r['gflops']:>8.1f}"
              f" {100*r['frac_bf16_peak']:>8.1f}%")
print(f"\n{'model':32} {'mode':>16} {'prefill tok/s':>13} {'decode tok/s':>12} {'bound tok/s':>11}"
      f" {'%bound':>7} {'TTFT s':>7}")
for r in rows("decode.jsonl"):
    mode = ("bf16" if r.get("bf16") else "float32") + (" no-mmap" if r.get("no_mmap") else "")
    print(f"{os.path.basename(r['model']):32} {mode:>16} {r['prefill_tps']:>13.1f} {r['decode_tps']:>12.2f}"
          f" {r['bound_tps']:>11.2f} {100*r['frac_of_bound']:>6.1f}% "
          f"{r['time_to_first_token_s']:>7.2f}")
PY
