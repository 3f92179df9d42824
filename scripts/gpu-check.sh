#!/usr/bin/env bash
# GPU check of the CUDA backend, the one script to run on a GPU machine:
#   1. builds yun_cuda_tests for the GPU found (sm_90a on Hopper);
#   2. runs every CUDA op test and the golden comparison (CudaRunnerGolden:
#      the tiny Qwen2/Qwen3/Llama/Qwen3-MoE/YaRN checkpoints vs float64 HF logits);
#   3. runs the perf mode (YUN_CUDA_PERF=1): per-op GB/s and TFLOP/s, and the
#      runner benchmark on a synthetic Qwen3-8B-shaped model (prefill, decode
#      with CUDA graphs at batch 1..64);
#   4. prints a short table last.
# Usage: scripts/gpu-check.sh [--no-build] [build-dir]      (default build-gpu)
#   --no-build: use <build-dir>/tests/yun_cuda_tests as it is (built on a
#   machine with the project's dependencies, for sm_90a, and carried over;
#   it needs only libcudart/libcublas/libcublasLt from the CUDA 13 toolkit).
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
  if ! cmake --build "$build" -j"$(nproc)" --target yun_cuda_tests > "$out/build.log" 2>&1; then
    grep -E "error" "$out/build.log" | head -30; exit 1
  fi
fi
t1=$(date +%s)
echo "gpu-check: build step $((t1 - t0)) s"
ldd "$build/tests/yun_cuda_tests" > "$out/ldd.txt" 2>&1
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
YUN_CUDA_PERF=1 "$bin" --gtest_filter='CudaOps.*:CudaRunnerPerf.*' > "$out/perf.log" 2>&1
rc_perf=$?
t3=$(date +%s)

echo
echo "== device"
grep -m1 "^device:" "$out/tests.log" || head -12 "$out/nvidia-smi.txt" 2>/dev/null
echo "== tests ($((t2 - t1)) s, rc=$rc_tests)"
grep -E "^\[  (PASSED|FAILED|SKIPPED) \]|tests from .* ran" "$out/tests.log" | head -40
grep -E "Failure|rel err|max diff|Expected|Which is" "$out/tests.log" | head -30
echo "golden with YUN_CUDA_PREFILL=generic: rc=$rc_generic"
grep -E "^\[  FAILED" "$out/tests-generic-prefill.log" | head
echo "== perf ($((t3 - t2)) s, rc=$rc_perf): op, shape, median time, bandwidth, rate"
grep "^PERF" "$out/perf.log" | sed 's/^PERF //'
grep -E "^\[  FAILED" "$out/perf.log" | head
echo "gpu-check: tests rc=$rc_tests generic-prefill rc=$rc_generic perf rc=$rc_perf"
[ "$rc_tests" = 0 ] && [ "$rc_generic" = 0 ] && [ "$rc_perf" = 0 ]
