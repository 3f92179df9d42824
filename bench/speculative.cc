// yun_bench_speculative --model DIR [--tokens 32] [--prompt-len 32] [--reps 3] [--threads N]
// (--reps 0: only the step costs below)
//
// Batch-1 greedy decode speed with speculative decoding (engine/speculative.h)
// against without, on one CPU engine per mode, each with its own runner
// (loaded with the MTP head): "off" (no speculation), "mtp" (the model's MTP
// head drafts), "accept" (every draft forced to the token "off" produced: an
// upper bound, 2 tokens per verify step) and "reject" (every draft forced
// wrong: the worst case, a draft and a rollback per token). Per repetition
// one random prompt runs through every mode in turn (the order rotates), and
// the decode rate (tokens after the first / time from the first to the last)
// of each is divided by that of "off" in the same repetition. Prints one JSON
// object: per mode the median and range of that ratio, the decode tok/s and
// the MTP acceptance rate; and the cost of the gated delta rule for a 2-token
// piece at the model's shapes, recurrent vs chunked (what a verify step paid
// before short pieces took the recurrent form); and the load average.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "yun/compute/cpu/gated_delta.h"
#include "yun/compute/model_runner.h"
#include "yun/engine/engine.h"
#include "yun/engine/sequence.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace yun;

struct Timing {
  std::vector<int32_t> tokens;
  double decode_tok_s = 0;
};

Timing generate(Engine& e, const std::vector<int32_t>& prompt, int32_t n) {
  SamplingParams p;
  p.temperature = 0;
  p.ignore_eos = true;
  p.max_tokens = n;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Timing t;
  Clock::time_point first{}, last{};
  auto sink = [&](const RequestEvent& ev) {
    std::lock_guard<std::mutex> lk(mu);
    const Clock::time_point now = Clock::now();
    if (t.tokens.empty() && !ev.token_ids.empty()) first = now;
    t.tokens.insert(t.tokens.end(), ev.token_ids.begin(), ev.token_ids.end());
    last = now;
    if (ev.finish) {
      done = true;
      cv.notify_all();
    }
  };
  auto id = e.submit({prompt, p, sink});
  if (!id.is_ok()) {
    std::fprintf(stderr, "submit: %s\n", id.status().to_string().c_str());
    std::exit(1);
  }
  std::unique_lock<std::mutex> lk(mu);
  cv.wait(lk, [&] { return done; });
  const double s = std::chrono::duration<double>(last - first).count();
  t.decode_tok_s = s > 0 ? double(t.tokens.size() - 1) / s : 0;
  return t;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// ms for the delta rule over a 2-token piece in every linear layer, every head.
double delta_ms(const ModelConfig& c, bool chunked, int reps) {
  const int64_t Dk = c.linear_key_head_dim, Dv = c.linear_value_head_dim;
  const int64_t heads = c.linear_num_value_heads;
  int64_t layers = 0;
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers += !c.is_full_attention_layer(i);
  if (layers == 0) return 0;
  std::vector<float> q(2 * Dk, 0.1f), k(2 * Dk, 0.1f), v(2 * Dv, 0.2f), o(2 * Dv);
  std::vector<float> g(2, -0.1f), beta(2, 0.5f), state(size_t(Dk * Dv), 0.01f);
  DeltaHeadArgs a;
  a.n = 2;
  a.Dk = Dk;
  a.Dv = Dv;
  a.q = q.data();
  a.k = k.data();
  a.qk_stride = Dk;
  a.v = v.data();
  a.v_stride = Dv;
  a.o = o.data();
  a.o_stride = Dv;
  a.g = g.data();
  a.beta = beta.data();
  a.gb_stride = 1;
  a.state = state.data();
  const Clock::time_point t0 = Clock::now();
  for (int r = 0; r < reps; ++r)
    for (int64_t i = 0; i < layers * heads; ++i) {
      std::fill(state.begin(), state.end(), 0.01f);
      if (chunked)
        gated_delta_chunked(a, kDeltaChunk);
      else
        gated_delta_recurrent(a);
    }
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / reps;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model;
  int32_t tokens = 32, prompt_len = 32, reps = 3, threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--model")
      model = v;
    else if (a == "--tokens")
      tokens = std::atoi(v.c_str());
    else if (a == "--prompt-len")
      prompt_len = std::atoi(v.c_str());
    else if (a == "--reps")
      reps = std::atoi(v.c_str());
    else if (a == "--threads")
      threads = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  if (model.empty() || tokens < 2 || prompt_len < 1 || reps < 0) {
    std::fprintf(stderr,
                 "usage: yun_bench_speculative --model DIR [--tokens 32] [--prompt-len 32] "
                 "[--reps 3 (0: the step costs only)] [--threads N]\n");
    return 2;
  }
  const std::vector<std::string> modes = {"off", "mtp", "accept", "reject"};
  std::map<std::vector<int32_t>, std::vector<int32_t>> oracle;  // prompt -> "off" output
  std::map<std::string, std::unique_ptr<Engine>> engines;
  int64_t vocab = 0;
  ModelConfig mc;
  for (const std::string& m : modes) {
    if (reps == 0) break;
    CpuRunnerOptions ro;
    ro.num_threads = threads;
    ro.load_mtp = true;
    auto runner = create_cpu_runner(model, ro);
    if (!runner.is_ok()) {
      std::fprintf(stderr, "load: %s\n", runner.status().to_string().c_str());
      return 1;
    }
    vocab = (*runner)->config().vocab_size;
    mc = (*runner)->config();
    EngineConfig cfg;
    cfg.num_kv_blocks = (prompt_len + tokens) / 16 + 4;
    cfg.max_num_seqs = 4;
    cfg.max_model_len = prompt_len + tokens + 16;
    if (m != "off") cfg.speculative.method = "mtp";
    if (m == "accept" || m == "reject") {
      const bool accept = m == "accept";
      cfg.speculative.draft_hook = [&oracle, accept, vocab](const Sequence& s, int32_t d) {
        std::vector<int32_t> prompt(s.tokens.begin(), s.tokens.begin() + s.num_prompt_tokens);
        auto it = oracle.find(prompt);
        const size_t i = size_t(s.num_tokens() - s.num_prompt_tokens);
        if (it == oracle.end() || i >= it->second.size()) return d;
        return accept ? it->second[i] : int32_t((it->second[i] + 1) % vocab);
      };
    }
    auto e = Engine::create(cfg, std::move(*runner), nullptr);
    if (!e.is_ok()) {
      std::fprintf(stderr, "engine: %s\n", e.status().to_string().c_str());
      return 1;
    }
    engines[m] = std::move(*e);
  }
  std::mt19937 rng(1);
  std::map<std::string, std::vector<double>> ratio, rate;
  bool identical = true;
  for (int r = 0; r < reps; ++r) {
    std::vector<int32_t> prompt(static_cast<size_t>(prompt_len));
    for (auto& t : prompt) t = int32_t(rng() % uint32_t(vocab));
    Timing off = generate(*engines["off"], prompt, tokens);
    oracle[prompt] = off.tokens;
    rate["off"].push_back(off.decode_tok_s);
    // The others on the same prompt, in a rotating order.
    for (size_t k = 0; k < 3; ++k) {
      const std::string& m = modes[1 + (k + size_t(r)) % 3];
      Timing t = generate(*engines[m], prompt, tokens);
      identical = identical && t.tokens == off.tokens;
      rate[m].push_back(t.decode_tok_s);
      ratio[m].push_back(t.decode_tok_s / off.decode_tok_s);
    }
  }
  double load[3] = {0, 0, 0};
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
    std::fclose(f);
  }
  std::printf("{\"model\": \"%s\", \"tokens\": %d, \"prompt_len\": %d, \"reps\": %d,\n",
              model.c_str(), tokens, prompt_len, reps);
  std::printf(" \"greedy_identical\": %s, \"off_decode_tok_s\": %.3f,\n",
              identical ? "true" : "false", median(rate["off"]));
  for (size_t k = 1; k < modes.size() && reps > 0; ++k) {
    const std::string& m = modes[k];
    auto& v = ratio[m];
    const EngineStats s = engines[m]->stats();
    std::printf(
        " \"%s\": {\"speedup_median\": %.3f, \"speedup_min\": %.3f, \"speedup_max\": %.3f, "
        "\"decode_tok_s\": %.3f, \"drafts\": %lld, \"accepted\": %lld, \"acceptance\": %.3f},\n",
        m.c_str(), median(v), *std::min_element(v.begin(), v.end()),
        *std::max_element(v.begin(), v.end()), median(rate[m]), (long long)s.spec_draft_tokens,
        (long long)s.spec_accepted_tokens,
        s.spec_draft_tokens ? double(s.spec_accepted_tokens) / double(s.spec_draft_tokens) : 0.0);
  }
  for (auto& [m, e] : engines) e->shutdown();
  engines.clear();
  // One runner step by step: a decode step (1 row), a verify step (2 rows),
  // a verify step with its snapshot, and the MTP draft (1 row), each on its
  // own sequence, interleaved, median of 7 (15 with --reps 0).
  std::map<std::string, std::vector<double>> step_ms;
  {
    CpuRunnerOptions ro;
    ro.num_threads = threads;
    ro.load_mtp = true;
    auto runner = create_cpu_runner(model, ro);
    if (!runner.is_ok()) return 1;
    ModelRunner& r = **runner;
    vocab = r.config().vocab_size;
    mc = r.config();
    const int32_t iters = reps == 0 ? 15 : 7, bs = 16;
    const int32_t len = prompt_len + 2 * iters + 2, nb = (len + bs - 1) / bs;
    if (!r.allocate_kv_cache({4 * nb, bs}).is_ok() || !r.allocate_state_slots(4).is_ok()) return 1;
    std::vector<int32_t> prompt(static_cast<size_t>(prompt_len));
    for (auto& t : prompt) t = int32_t(rng() % uint32_t(vocab));
    std::vector<float> logits;
    std::vector<int32_t> ctx(3, prompt_len);
    auto batch = [&](int32_t seq, int32_t start, int32_t n, bool all) {
      ForwardBatch b;
      SeqSlice q;
      q.num_tokens = n;
      q.context_len = start + n;
      for (int32_t i = 0; i < nb; ++i) q.block_table.push_back(seq * nb + i);
      q.state_slot = seq;
      for (int32_t j = 0; j < n; ++j) {
        b.token_ids.push_back(int32_t((start + j) % vocab));
        b.positions.push_back(start + j);
        if (all || j + 1 == n) b.logit_rows.push_back(j);
      }
      b.seqs.push_back(q);
      return b;
    };
    for (int32_t seq = 0; seq < 3; ++seq) {
      ForwardBatch b = batch(seq, 0, prompt_len, false);
      b.token_ids = prompt;
      if (!r.forward(b, logits).is_ok()) return 1;
    }
    auto time = [&](const char* name, auto fn) {
      const Clock::time_point t0 = Clock::now();
      if (!fn()) std::exit(1);
      step_ms[name].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    };
    for (int32_t it = 0; it < iters; ++it) {
      time("decode_1_row", [&] {
        const bool ok = r.forward(batch(0, ctx[0], 1, false), logits).is_ok();
        ++ctx[0];
        return ok;
      });
      time("mtp_draft", [&] {
        ForwardBatch m = batch(0, ctx[0] - 1, 1, false);
        return r.mtp_forward(m, std::vector<int32_t>{0}, logits).is_ok();
      });
      time("verify_2_rows", [&] {
        const bool ok = r.forward(batch(1, ctx[1], 2, true), logits).is_ok();
        ctx[1] += 2;
        return ok;
      });
      time("verify_2_rows_snapshot", [&] {
        ForwardBatch b = batch(2, ctx[2], 2, true);
        b.seqs[0].captures = {{1, 3}};
        const bool ok = r.forward(b, logits).is_ok();
        ctx[2] += 2;
        return ok;
      });
    }
  }
  std::printf(" \"step_ms\": {");
  bool first_key = true;
  for (auto& [k, v] : step_ms) {
    std::printf("%s\"%s\": %.2f", first_key ? "" : ", ", k.c_str(), median(v));
    first_key = false;
  }
  std::printf("},\n");
  std::vector<double> rec, chk;
  for (int i = 0; i < 5; ++i) {
    rec.push_back(delta_ms(mc, false, 3));
    chk.push_back(delta_ms(mc, true, 3));
  }
  std::printf(" \"delta_rule_2_tokens_ms\": {\"recurrent\": %.3f, \"chunked\": %.3f},\n",
              median(rec), median(chk));
  std::printf(" \"loadavg\": [%.2f, %.2f, %.2f]}\n", load[0], load[1], load[2]);
  return identical ? 0 : 1;
}
