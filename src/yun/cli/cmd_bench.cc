// `yun bench`: offline throughput/latency of the engine on synthetic prompts.
// N random prompts of L token ids (the first S shared by all), O generated
// tokens each (EOS ignored), at most C requests in flight. Prints one JSON
// object: requests/s, prompt/generated tokens/s, TTFT and TPOT percentiles,
// prefix-cache hit rate, preemptions. Exit 2 for bad flags or a bad model.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "yun/base/blocking_queue.h"
#include "yun/base/exit_code.h"
#include "yun/cli/args.h"
#include "yun/cli/command.h"
#include "yun/cli/engine_flags.h"
#include "yun/cli/progress.h"
#include "yun/engine/engine.h"

namespace yun::cli {
namespace {

using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

constexpr const char* kBenchHelp =
    "Usage: yun bench --model DIR [options]\n"
    "\n"
    "Measures offline throughput and latency on synthetic random prompts (no\n"
    "tokenizer needed) and prints one JSON object.\n"
    "\n"
    "Example:\n"
    "  yun bench --model ./Qwen2.5-0.5B --num-prompts 64 --input-len 256 --output-len 64 \\\n"
    "            --concurrency 32 --shared-prefix-len 128\n"
    "\n"
    "Workload:\n"
    "  --num-prompts N         requests in all (default 32)\n"
    "  --input-len L           prompt tokens per request (default 128)\n"
    "  --output-len O          generated tokens per request, EOS ignored (default 64)\n"
    "  --concurrency C         most requests in flight (default 8)\n"
    "  --shared-prefix-len S   the first S prompt tokens are the same for every request\n"
    "                          (default 0; exercises the prefix cache)\n"
    "  --temperature T         sampling temperature (default 0: greedy)\n"
    "  --seed S                seed for the synthetic prompts (default 0)\n"
    "  --no-warmup             skip the one warm-up request\n"
    "\n"
    "Output fields: requests_per_s, prompt_tokens_per_s, generated_tokens_per_s,\n"
    "ttft_ms / tpot_ms {mean, p50, p99} (time to first token; time per output token\n"
    "after the first), prefix_cache_hit_rate (prompt tokens served from the cache),\n"
    "preemptions.\n"
    "\n";

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double pos = q * (v.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

json stats_json(const std::vector<double>& v_s) {
  std::vector<double> ms;
  for (double s : v_s) ms.push_back(s * 1000);
  double mean = 0;
  for (double x : ms) mean += x;
  mean = ms.empty() ? 0 : mean / ms.size();
  return json{{"mean", mean}, {"p50", percentile(ms, 0.5)}, {"p99", percentile(ms, 0.99)}};
}

struct Progress {
  double first_token = -1;  // seconds since submit
  double finish = 0;
  int32_t completion = 0;
  bool done = false;
  bool error = false;
};

int run_bench(const std::vector<std::string>& argv) {
  std::set<std::string> value_flags = {"--model",      "--num-prompts", "--input-len",
                                       "--output-len", "--concurrency", "--shared-prefix-len",
                                       "--seed",       "--temperature"};
  std::set<std::string> bool_flags = {"--help", "-h", "--no-warmup"};
  value_flags.insert(engine_value_flags().begin(), engine_value_flags().end());
  bool_flags.insert(engine_bool_flags().begin(), engine_bool_flags().end());
  auto parsed = Args::parse(argv, value_flags, bool_flags);
  if (!parsed) return fail(2, "bench: " + parsed.status().message() + " (see yun bench --help)");
  const Args& args = *parsed;
  if (args.has("--help") || args.has("-h")) {
    std::cout << kBenchHelp << engine_flags_help();
    return 0;
  }
  const std::string model = args.get_string("--model", "");
  if (model.empty()) return fail(2, "bench: --model DIR is required (see yun bench --help)");
  if (!args.positional().empty())
    return fail(2, "bench: unexpected argument '" + args.positional()[0] + "'");
  auto get = [&](const char* name, int64_t def, int64_t lo) -> Result<int64_t> {
    YUN_ASSIGN_OR_RETURN(int64_t v, args.get_int(name, def));
    if (v < lo || v > 100000000)
      return invalid_argument(std::string(name) + " must be >= " + std::to_string(lo));
    return v;
  };
  auto n = get("--num-prompts", 32, 1);
  auto in_len = get("--input-len", 128, 1);
  auto out_len = get("--output-len", 64, 1);
  auto conc = get("--concurrency", 8, 1);
  auto prefix = get("--shared-prefix-len", 0, 0);
  auto seed = get("--seed", 0, 0);
  auto temp = args.get_double("--temperature", 0.0);
  for (const Status& s : {n.status(), in_len.status(), out_len.status(), conc.status(),
                          prefix.status(), seed.status(), temp.status()}) {
    if (!s.is_ok()) return fail(2, "bench: " + s.message());
  }
  if (*prefix > *in_len) return fail(2, "bench: --shared-prefix-len must be <= --input-len");
  auto flags = parse_engine_flags(args);
  if (!flags) return fail(2, "bench: " + flags.status().message());

  auto engine = create_engine_for_model(model, *flags, nullptr);
  if (!engine) return fail(exit_code_for(engine.status()), "bench: " + engine.status().message());
  Engine& e = **engine;
  const int64_t vocab = std::max<int64_t>(e.model_config().vocab_size, 2);

  // Synthetic prompts: a shared prefix, then per-request random ids.
  std::mt19937_64 rng(static_cast<uint64_t>(*seed));
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(vocab - 1));
  std::vector<int32_t> shared(*prefix);
  for (auto& t : shared) t = tok(rng);
  auto make_prompt = [&] {
    std::vector<int32_t> p = shared;
    while (static_cast<int64_t>(p.size()) < *in_len) p.push_back(tok(rng));
    return p;
  };
  SamplingParams params;
  params.temperature = *temp;
  params.max_tokens = static_cast<int32_t>(*out_len);
  params.ignore_eos = true;
  params.seed = static_cast<uint64_t>(*seed);

  BlockingQueue<std::pair<size_t, RequestEvent>> events;
  auto submit = [&](size_t i, std::vector<int32_t> prompt) {
    return e.submit({std::move(prompt), params, [&events, i](const RequestEvent& ev) {
                       events.push({i, ev});
                     }});
  };

  if (!args.has("--no-warmup")) {  // distinct tokens: does not warm the prefix cache
    std::vector<int32_t> w(std::min<int64_t>(*in_len, 16));
    for (auto& t : w) t = tok(rng);
    SamplingParams wp = params;
    wp.max_tokens = 2;
    auto id = e.submit({w, wp, [&events](const RequestEvent& ev) { events.push({SIZE_MAX, ev}); }});
    if (!id) {
      e.shutdown();
      return fail(2, "bench: " + id.status().message());
    }
    while (auto ev = events.pop()) {
      if (ev->second.finish) break;
    }
  }
  const EngineStats before = e.stats();

  std::vector<Progress> prog(*n);
  ProgressBar bar(*n);
  size_t next = 0, in_flight = 0, finished = 0;
  const auto start = Clock::now();
  while (finished < prog.size()) {
    while (next < prog.size() && in_flight < static_cast<size_t>(*conc)) {
      auto id = submit(next, make_prompt());
      if (!id) {
        e.shutdown();
        return fail(2, "bench: " + id.status().message());
      }
      ++next;
      ++in_flight;
    }
    auto ev = events.pop();
    if (!ev) break;
    if (ev->first >= prog.size()) continue;
    Progress& p = prog[ev->first];
    const RequestEvent& r = ev->second;
    if (!r.token_ids.empty() && p.first_token < 0) p.first_token = r.time_since_submit;
    p.completion = r.usage.completion_tokens;
    if (r.finish) {
      p.finish = r.time_since_submit;
      p.done = true;
      p.error = *r.finish == FinishReason::kError;
      --in_flight;
      bar.update(++finished);
    }
  }
  const double duration = std::chrono::duration<double>(Clock::now() - start).count();
  bar.finish();
  const EngineStats after = e.stats();
  e.shutdown();

  std::vector<double> ttft, tpot;
  int64_t generated = 0, errors = 0;
  for (const Progress& p : prog) {
    generated += p.completion;
    errors += p.error ? 1 : 0;
    if (p.first_token >= 0) ttft.push_back(p.first_token);
    if (p.completion > 1) tpot.push_back((p.finish - p.first_token) / (p.completion - 1));
  }
  const int64_t queries = after.prefix_cache_queries - before.prefix_cache_queries;
  const int64_t hits = after.prefix_cache_hits - before.prefix_cache_hits;
  json out;
  out["model"] = model;
  out["num_prompts"] = *n;
  out["input_len"] = *in_len;
  out["output_len"] = *out_len;
  out["concurrency"] = *conc;
  out["shared_prefix_len"] = *prefix;
  out["prefix_cache"] = flags->engine.enable_prefix_cache;
  out["duration_s"] = duration;
  out["requests_per_s"] = *n / duration;
  out["prompt_tokens_per_s"] = static_cast<double>(*n * *in_len) / duration;
  out["generated_tokens_per_s"] = generated / duration;
  out["total_tokens_per_s"] = (static_cast<double>(*n * *in_len) + generated) / duration;
  out["ttft_ms"] = stats_json(ttft);
  out["tpot_ms"] = stats_json(tpot);
  out["prefix_cache_hit_rate"] = queries > 0 ? static_cast<double>(hits) / queries : 0.0;
  out["preemptions"] = after.num_preemptions - before.num_preemptions;
  out["num_kv_blocks"] = after.num_kv_blocks;
  if (after.state_snapshot_capacity > 0) {  // hybrids: the prefix cache's state snapshots
    out["state_snapshot_capacity"] = after.state_snapshot_capacity;
    out["state_snapshots_taken"] = after.state_snapshots_taken - before.state_snapshots_taken;
    out["state_snapshot_restores"] = after.state_snapshot_restores - before.state_snapshot_restores;
  }
  out["errors"] = errors;
  std::printf("%s\n", out.dump(2).c_str());
  return errors > 0 ? 1 : 0;
}

}  // namespace

YUN_COMMAND("bench", "measure offline throughput and latency on synthetic prompts", run_bench);

}  // namespace yun::cli
