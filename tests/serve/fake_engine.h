// Test doubles for the serve tests: a byte-level tokenizer, a trivial chat
// template and an Engine that "generates" a scripted text one byte per token
// on its own thread, honoring max_tokens, n, logprobs and abort, and keeps
// the last prompt it was given.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

#include "yun/engine/engine.h"
#include "yun/text/chat_template.h"
#include "yun/text/tokenizer.h"

namespace yun::serve::testing {

class ByteTokenizer : public Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int32_t> ids;
    for (unsigned char c : text) ids.push_back(c);
    return ids;
  }
  std::string decode(const std::vector<int32_t>& ids, bool) const override {
    std::string s;
    for (int32_t id : ids)
      if (id >= 0 && id < 256) s += static_cast<char>(id);
    return s;
  }
  std::string token_bytes(int32_t id) const override {
    return id >= 0 && id < 256 ? std::string(1, static_cast<char>(id)) : "";
  }
  bool is_special(int32_t) const override { return false; }
  int32_t vocab_size() const override { return 256; }
  std::optional<int32_t> token_to_id(std::string_view t) const override {
    if (t.size() == 1) return static_cast<unsigned char>(t[0]);
    return std::nullopt;
  }
  std::string id_to_token(int32_t id) const override { return token_bytes(id); }
  const std::string& bos_token() const override { return empty_; }
  const std::string& eos_token() const override { return empty_; }
  const std::string& pad_token() const override { return empty_; }
  const std::string& chat_template() const override { return empty_; }

 private:
  std::string empty_;
};

// "role: content\n" per message, then "assistant:" (+ "<think>\n" when
// enable_thinking is true).
class SimpleTemplate : public ChatTemplate {
 public:
  Result<std::string> render(const ChatTemplateInputs& in) const override {
    std::string s;
    for (const auto& m : in.messages) {
      s += m["role"].get<std::string>() + ": " +
           (m["content"].is_string() ? m["content"].get<std::string>() : "") + "\n";
    }
    if (!in.tools.is_null()) s += "tools: " + std::to_string(in.tools.size()) + "\n";
    if (in.add_generation_prompt) s += "assistant:";
    if (in.extra.value("enable_thinking", false)) s += "<think>\n";
    return s;
  }
};

class FakeEngine : public Engine {
 public:
  explicit FakeEngine(std::string script, int step_us = 200)
      : script_(std::move(script)), step_us_(step_us) {
    config_.vocab_size = 256;
    config_.generation.temperature = 0.7;
    thread_ = std::thread([this] { loop(); });
  }
  ~FakeEngine() override { shutdown(); }

  Result<uint64_t> submit(GenerateRequest r) override {
    if (r.prompt_ids.empty()) return invalid_argument("empty prompt");
    if (static_cast<int64_t>(r.prompt_ids.size()) + r.params.max_tokens > max_len_) {
      return invalid_argument("prompt + max_tokens past max_model_len");
    }
    std::lock_guard<std::mutex> lock(mu_);
    last_prompt_ = r.prompt_ids;
    uint64_t id = ++next_id_;
    Req q;
    q.id = id;
    q.r = std::move(r);
    q.produced.assign(q.r.params.n, 0);
    q.done.assign(q.r.params.n, false);
    q.start = std::chrono::steady_clock::now();
    reqs_.push_back(std::move(q));
    ++submitted;
    return id;
  }
  void abort(uint64_t id) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& q : reqs_) {
      if (q.id == id) q.aborted = true;
    }
  }
  EngineStats stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    EngineStats s;
    s.num_running = static_cast<int64_t>(reqs_.size());
    s.num_waiting = waiting.load();
    s.kv_cache_usage = reqs_.empty() ? 0.0 : 0.5;
    s.generation_tokens_total = generated_;
    return s;
  }
  const ModelConfig& model_config() const override { return config_; }
  // The prompt of the last submitted request.
  std::vector<int32_t> last_prompt() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_prompt_;
  }
  int32_t max_model_len() const override { return max_len_; }
  void shutdown() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  std::atomic<int64_t> waiting{0};
  std::atomic<bool> paused{false};  // while set, no request makes progress
  std::atomic<int> aborted_count{0};
  std::atomic<int> submitted{0};
  int32_t max_len_ = 4096;

 private:
  struct Req {
    uint64_t id = 0;
    GenerateRequest r;
    std::vector<int> produced;
    std::vector<bool> done;
    bool aborted = false;
    std::chrono::steady_clock::time_point start;
  };

  void loop() {
    while (!stop_) {
      std::this_thread::sleep_for(std::chrono::microseconds(step_us_));
      if (paused) continue;
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = reqs_.begin(); it != reqs_.end();) {
        Req& q = *it;
        bool all_done = true;
        for (int i = 0; i < q.r.params.n; ++i) {
          if (q.done[i]) continue;
          RequestEvent ev;
          ev.request_id = q.id;
          ev.index = i;
          ev.usage.prompt_tokens = static_cast<int32_t>(q.r.prompt_ids.size());
          ev.time_since_submit =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - q.start).count();
          if (q.aborted || stop_) {
            ev.finish = FinishReason::kAbort;
          } else {
            int k = q.produced[i]++;
            char c = script_[k % script_.size()];
            ev.token_ids = {static_cast<unsigned char>(c)};
            ev.text = std::string(1, c);
            if (q.r.params.logprobs >= 0) {
              TokenLogprob lp{ev.token_ids[0], -0.5f, {}};
              for (int t = 0; t < q.r.params.logprobs; ++t) lp.top.push_back({'a' + t, -1.0f - t});
              ev.logprobs.push_back(lp);
            }
            ++generated_;
            if (q.produced[i] >= q.r.params.max_tokens) {
              ev.finish = FinishReason::kLength;
            } else if (!q.r.params.ignore_eos &&
                       q.produced[i] >= static_cast<int>(script_.size())) {
              ev.finish = FinishReason::kStop;
            }
          }
          ev.usage.completion_tokens = q.produced[i];
          if (ev.finish) q.done[i] = true;
          if (ev.finish == FinishReason::kAbort) ++aborted_count;
          all_done = all_done && q.done[i];
          q.r.sink(ev);
        }
        it = all_done ? reqs_.erase(it) : std::next(it);
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& q : reqs_) {
      for (int i = 0; i < q.r.params.n; ++i) {
        if (q.done[i]) continue;
        RequestEvent ev;
        ev.request_id = q.id;
        ev.index = i;
        ev.finish = FinishReason::kAbort;
        q.r.sink(ev);
      }
    }
    reqs_.clear();
  }

  std::string script_;
  int step_us_;
  ModelConfig config_;
  mutable std::mutex mu_;
  std::list<Req> reqs_;
  std::vector<int32_t> last_prompt_;
  uint64_t next_id_ = 0;
  int64_t generated_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace yun::serve::testing
