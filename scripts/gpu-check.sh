#!/usr/bin/env bash
# GPU check of the CUDA backend, the one script to run on a GPU machine:
#   1. builds yun_cuda_tests and yun for the GPU found (sm_90a on Hopper);
#   2. runs every CUDA op test (incl. CudaSampling: device sampling vs
#      CpuSampler) and the golden comparison (CudaRunnerGolden: the tiny
#      Qwen2/Qwen3/Llama/Qwen3-MoE/YaRN checkpoints vs float64 HF logits);
#   3. the golden models through the `yun` binary: `yun run --device cuda`
#      greedy ids with host sampling (YUN_CUDA_SAMPLING=host) and with device
#      sampling (=device) must be equal; both are compared with --device cpu
#      (bf16 vs float32: equal or a late divergence on near-ties, reported,
#      not a failure); plus a seeded top-k run, host vs device sampling;
#   4. runs the perf mode (YUN_CUDA_PERF=1): per-op GB/s and TFLOP/s, and the
#      runner benchmark on a synthetic Qwen3-8B-shaped model (prefill, decode
#      with CUDA graphs at batch 1..64), and `yun bench` on qwen3-e2e on the
#      GPU (host and device sampling) and the CPU;
#   5. prints a short table last.
# Usage: scripts/gpu-check.sh [--no-build] [build-dir]      (default build-gpu)
#   --no-build: use <build-dir>/tests/yun_cuda_tests and <build-dir>/yun as
#   they are (built on a machine with the project's dependencies, for sm_90a,
#   -DYUN_STATIC_DEPS=ON, and carried over; they need only
#   libcudart/libcublas/libcublasLt from the CUDA 13 toolkit).
# Logs go to $OUT when set (the device tool's folder), else <build-dir>/gpu-check.
set -uo pipefail
cd "$(dirname "$0")/.."
do_build=1
if [ "${1:-}" = "--no-build" ]; then do_build=0; shift; fi
build=${1:-build-gpu}
out=${OUT:-$build/gpu-check}
mkdir -p "$out"

arch=${YUN_CUDA_ARCH:-}
if [ -z "$arch" ] && command -v nvidia-smi >/dev/null; then
  nvidia-smi > "$out/nvidia-smi.txt" 2>&1
  cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '. ')
  case "$cap" in
    90) arch=90a-real ;;
    "") ;;
    *) arch="${cap}-real" ;;
  esac
fi
arch=${arch:-90a-real}
echo "gpu-check: CUDA architectures $arch, logs in $out"

# CMAKE_CUDA_STANDARD=17: CMake 3.25 does not know nvcc's C++20 flag (see the
# backend's NOTES.md); harmless where cmake/cuda.cmake already handles it.
t0=$(date +%s)
if [ "$do_build" = 1 ]; then
  if ! cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DYUN_CUDA=ON -DYUN_BUILD_BENCH=OFF \
       -DCMAKE_CUDA_ARCHITECTURES="$arch" -DCMAKE_CUDA_STANDARD=17 > "$out/configure.log" 2>&1; then
    tail -30 "$out/configure.log"; exit 1
  fi
  if ! cmake --build "$build" -j"$(nproc)" --target yun_cuda_tests yun > "$out/build.log" 2>&1; then
    grep -E "error" "$out/build.log" | head -30; exit 1
  fi
fi
t1=$(date +%s)
echo "gpu-check: build step $((t1 - t0)) s"
ldd "$build/tests/yun_cuda_tests" "$build/yun" > "$out/ldd.txt" 2>&1
if grep -q "not found" "$out/ldd.txt"; then
  echo "gpu-check: missing shared libraries:"; grep "not found" "$out/ldd.txt"
  # the CUDA image ships the toolkit's libraries in Python wheels too
  for d in /usr/local/cuda/lib64 $(python3 -c 'import nvidia, os; print(" ".join(os.path.join(p, sub, "lib") for p in nvidia.__path__ for sub in ("cublas", "cuda_runtime", "cu13")))' 2>/dev/null); do
    [ -d "$d" ] && export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
  done
fi

export YUN_TEST_DATA="$PWD/tests/data"
bin="$build/tests/yun_cuda_tests"

"$bin" > "$out/tests.log" 2>&1
rc_tests=$?
# The golden comparison again with the untiled attention for prefill rows.
YUN_CUDA_PREFILL=generic "$bin" --gtest_filter='*Golden*' > "$out/tests-generic-prefill.log" 2>&1
rc_generic=$?
t2=$(date +%s)

# 3. The golden models through `yun run` (JSON output: output_ids).
yun="$build/yun"
ids_of() {  # ids_of LOG: the output_ids of a --json run, or "error"
  python3 -c 'import json,sys
try: print(",".join(map(str, json.load(open(sys.argv[1]))["output_ids"])))
except Exception: print("error")' "$1"
}
run_rc=0
e2e_rows=()
for m in tests/data/golden/models/*/; do
  name=$(basename "$m")
  common=(run --model "$m" --prompt-ids 1,2,3,4,5,6,7,8 -n 24 --ignore-eos --json --max-model-len 256)
  "$yun" "${common[@]}" --temperature 0 --device cpu > "$out/run-$name-cpu.json" 2> "$out/run-$name-cpu.err"
  YUN_CUDA_SAMPLING=host "$yun" "${common[@]}" --temperature 0 --device cuda > "$out/run-$name-host.json" 2> "$out/run-$name-host.err"
  YUN_CUDA_SAMPLING=device "$yun" "${common[@]}" --temperature 0 --device cuda > "$out/run-$name-dev.json" 2> "$out/run-$name-dev.err"
  YUN_CUDA_SAMPLING=host "$yun" "${common[@]}" --temperature 0.8 --top-k 20 --top-p 0.9 --seed 7 --device cuda > "$out/run-$name-topk-host.json" 2> "$out/run-$name-topk-host.err"
  YUN_CUDA_SAMPLING=device "$yun" "${common[@]}" --temperature 0.8 --top-k 20 --top-p 0.9 --seed 7 --device cuda > "$out/run-$name-topk-dev.json" 2> "$out/run-$name-topk-dev.err"
  cpu=$(ids_of "$out/run-$name-cpu.json"); host=$(ids_of "$out/run-$name-host.json")
  dev=$(ids_of "$out/run-$name-dev.json")
  th=$(ids_of "$out/run-$name-topk-host.json"); td=$(ids_of "$out/run-$name-topk-dev.json")
  same_prefix=$(python3 -c 'import sys
a, b = sys.argv[1].split(","), sys.argv[2].split(",")
n = 0
while n < min(len(a), len(b)) and a[n] == b[n]: n += 1
print(n)' "$cpu" "$host")
  verdict=ok
  if [ "$host" = error ] || [ "$host" != "$dev" ] || [ "$th" = error ] || [ "$th" != "$td" ]; then
    verdict=FAIL; run_rc=1
  fi
  e2e_rows+=("$(printf '%-16s %-5s greedy host==device: %-3s  top-k host==device: %-3s  cpu==cuda first %s/24 ids' \
    "$name" "$verdict" "$([ "$host" = "$dev" ] && echo yes || echo no)" \
    "$([ "$th" = "$td" ] && echo yes || echo no)" "$same_prefix")")
done
t3=$(date +%s)

# 4. Benchmarks.
YUN_CUDA_PERF=1 "$bin" --gtest_filter='CudaOps.*:CudaSampling.*:CudaRunnerPerf.*' > "$out/perf.log" 2>&1
rc_perf=$?
bench=(bench --model tests/data/golden/models/qwen3-e2e --num-prompts 64 --input-len 128
       --output-len 64 --concurrency 32 --max-model-len 1024)
YUN_CUDA_SAMPLING=host "$yun" "${bench[@]}" --device cuda > "$out/bench-cuda-host.json" 2> "$out/bench-cuda-host.err"
YUN_CUDA_SAMPLING=device "$yun" "${bench[@]}" --device cuda > "$out/bench-cuda-device.json" 2> "$out/bench-cuda-device.err"
"$yun" "${bench[@]}" --device cpu --num-prompts 16 > "$out/bench-cpu.json" 2> "$out/bench-cpu.err"
"$yun" "${bench[@]}" --device cuda --no-cuda-graphs > "$out/bench-cuda-nographs.json" 2> "$out/bench-cuda-nographs.err"
t4=$(date +%s)

echo
echo "== device"
grep -m1 "^device:" "$out/tests.log" || head -12 "$out/nvidia-smi.txt" 2>/dev/null
echo "== tests ($((t2 - t1)) s, rc=$rc_tests)"
grep -E "^\[  (PASSED|FAILED|SKIPPED) \]|tests from .* ran" "$out/tests.log" | head -40
grep -E "Failure|rel err|max diff|Expected|Which is" "$out/tests.log" | head -30
echo "golden with YUN_CUDA_PREFILL=generic: rc=$rc_generic"
grep -E "^\[  FAILED" "$out/tests-generic-prefill.log" | head
echo "== yun run on the golden models ($((t3 - t2)) s, rc=$run_rc)"
printf '%s\n' "${e2e_rows[@]}"
echo "== perf ($((t4 - t3)) s, rc=$rc_perf): op, shape, median time, bandwidth, rate"
grep "^PERF" "$out/perf.log" | sed 's/^PERF //'
grep -E "^\[  FAILED" "$out/perf.log" | head
echo "== yun bench, qwen3-e2e, 128 in / 64 out: config, req/s, prompt tok/s, gen tok/s, tpot p50 ms"
for f in cuda-host cuda-device cuda-nographs cpu; do
  python3 -c 'import json,sys
try:
  j = json.load(open(sys.argv[1]))
  print("%-14s %8.2f %10.1f %10.1f %8.2f" % (sys.argv[2], j["requests_per_s"], j["prompt_tokens_per_s"],
        j["generated_tokens_per_s"], j["tpot_ms"]["p50"]))
except Exception as e: print("%-14s error (%s)" % (sys.argv[2], e))' "$out/bench-$f.json" "$f"
done
echo "gpu-check: tests rc=$rc_tests generic-prefill rc=$rc_generic yun-run rc=$run_rc perf rc=$rc_perf"
[ "$rc_tests" = 0 ] && [ "$rc_generic" = 0 ] && [ "$run_rc" = 0 ] && [ "$rc_perf" = 0 ]
