// EngineImpl: the engine thread. Each loop iteration drains the command queue
// (submit/abort/shutdown), then runs one step:
//   out = scheduler.schedule();
//   sampled = runner.forward(build_batch(out), one RowSampling per logit row);
//   scheduler.update(out, sampled); stop checks; events.
// The runner samples (on its device when it can); the engine only says how.
// An embedding request (RequestKind::kEmbed) samples nothing: the step that
// computes its last prompt token asks for that row's hidden state
// (ForwardBatch::hidden_rows) and ends it with the vector (on_pooled).
// Everything below `engine thread state` is touched by the engine thread only.
//
// Memory grows with the work, never with a limit: a sequence's token vector
// grows as it generates (nothing is reserved for max_tokens), and samples
// 1..n-1 of a request (Sequence with its RNG state, StopChecker) are created
// only when it forks after its first token (or when it ends unforked, to send
// their final events). When the engine goes idle after work it drops its
// logits buffer and calls malloc_trim(0) to hand freed heap back to the OS,
// at most once per kTrimInterval (EngineStats::memory_trims counts them).
#include "yun/engine/engine.h"

#include <malloc.h>  // malloc_trim (glibc)

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <mutex>
#include <random>
#include <span>
#include <thread>
#include <unordered_map>

#include "yun/base/blocking_queue.h"
#include "yun/base/thread_name.h"
#include "yun/engine/block_manager.h"
#include "yun/engine/block_pool.h"
#include "yun/engine/scheduler.h"
#include "yun/engine/sequence.h"
#include "yun/engine/speculative.h"
#include "yun/engine/state_slots.h"
#include "yun/engine/state_snapshots.h"
#include "yun/engine/stop_checker.h"
#include "yun/grammar/matcher.h"

namespace yun {

using Clock = std::chrono::steady_clock;

struct RequestState {
  uint64_t id = 0;
  std::shared_ptr<const SamplingParams> params;
  RequestMeta meta;
  RequestSink sink;
  Clock::time_point submit_time;
  std::vector<std::unique_ptr<Sequence>> seqs;      // one per sample
  std::vector<std::unique_ptr<StopChecker>> stops;  // one per sample
  std::vector<bool> ended;                          // per sample: its final event was sent
  int32_t num_finished = 0;
  double queue_time = -1;                // seconds from submit to its first step
  std::vector<double> first_token_time;  // per sample, seconds from submit (-1: none yet)
  uint64_t seed = 0;    // sample i's RNG seed: mix_seed(seed, i)
  bool forked = false;  // samples 1..n-1 have been started
  bool pooling = false;  // RequestKind::kEmbed
  // Token constraints (params->grammar, allowed_token_ids), built at submit:
  // the grammar's start state, cloned into each sample, and the fixed mask
  // of allowed_token_ids (empty when none).
  std::optional<grammar::Matcher> matcher;
  std::vector<uint32_t> allowed_mask;
};

namespace {

// At most one malloc_trim per this interval (trimming walks the whole heap).
constexpr std::chrono::seconds kTrimInterval{1};

struct Command {
  enum Kind { kSubmit, kAbort, kShutdown } kind = kSubmit;
  std::unique_ptr<RequestState> request;
  uint64_t id = 0;
};

uint64_t mix_seed(uint64_t seed, int32_t index) {
  uint64_t x = seed + 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(index);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  return x ^ (x >> 31);
}

class EngineImpl final : public Engine {
 public:
  EngineImpl(const EngineConfig& config, std::unique_ptr<ModelRunner> runner,
             std::shared_ptr<const Tokenizer> tokenizer, int32_t num_blocks, int32_t max_model_len,
             int32_t num_snapshots)
      : config_(config),
        runner_(std::move(runner)),
        tokenizer_(std::move(tokenizer)),
        max_model_len_(max_model_len),
        // Hybrid models (recurrent state): the prefix cache only with state
        // snapshots (a hit restores the state at its boundary).
        pool_(num_blocks, config.block_size,
              config.enable_prefix_cache &&
                  (runner_->state_bytes_per_slot() == 0 || num_snapshots > 0)),
        slots_(runner_->state_bytes_per_slot() > 0 ? config.max_num_seqs : 0),
        // snapshot slots follow the sequences' and speculation's spare slots
        snapshots_(config.max_num_seqs + config.speculative.spare_slots(), num_snapshots,
                   config.state_snapshot_interval),
        blocks_(pool_, &slots_, &snapshots_),
        sched_({config.max_num_seqs, config.max_num_batched_tokens}, blocks_) {
    stats_.num_kv_blocks = num_blocks;
    stats_.block_size = config.block_size;
    stats_.prefix_cache_enabled = pool_.prefix_cache_enabled();
    pool_.set_record_events(static_cast<bool>(config.kv_event_sink));
    if (config.speculative.enabled())  // its spare state slots follow the engine's
      spec_ = std::make_unique<Speculator>(config.speculative, *runner_, blocks_, max_model_len_,
                                           config.max_num_seqs);
    thread_ = std::thread([this] {
      set_current_thread_name("yun-engine");
      loop();
    });
  }
  ~EngineImpl() override { shutdown(); }

  Result<uint64_t> submit(GenerateRequest request) override;
  void abort(uint64_t request_id) override {
    Command c;
    c.kind = Command::kAbort;
    c.id = request_id;
    queue_.push(std::move(c));
  }
  EngineStats stats() const override {
    std::lock_guard<std::mutex> lk(stats_mu_);
    return stats_;
  }
  const ModelConfig& model_config() const override { return runner_->config(); }
  int32_t max_model_len() const override { return max_model_len_; }
  void shutdown() override {
    {
      std::lock_guard<std::mutex> lk(submit_mu_);
      if (stopped_) return;
      stopped_ = true;
      Command c;
      c.kind = Command::kShutdown;
      queue_.push(std::move(c));
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop();
  void handle(Command& c);
  void step();
  void on_token(Sequence* seq, const SampleResult& r);
  // Speculation: the accepted draft's verify token of `seq`, if any.
  void on_extra_token(Sequence* seq);
  // A pooling sequence's prompt is computed: its final event carries `hidden`.
  void on_pooled(Sequence* seq, std::span<const float> hidden);
  // Submit checks of an embedding request (RequestKind::kEmbed).
  Status validate_embed(const GenerateRequest& request, int32_t len) const;
  // Token constraints of one logit row (engine/sampling_params.h): fills
  // row.allowed (the grammar's mask, and allowed_token_ids) and row.banned
  // (min_tokens, bad words) from buffers of this step, slot `k`.
  void constrain_row(Sequence& s, size_t k, RowSampling& row);
  // Feeds a generated token to the sample's grammar. Error: the grammar
  // refuses it. *finished: the grammar allows nothing more.
  Status advance_grammar(Sequence& s, int32_t token, bool* finished) const;
  void fork(RequestState& req);
  // Appends sample req.seqs.size() of `req` (its Sequence and StopChecker),
  // not yet scheduled. Any thread (touches only `req`).
  void add_sample(RequestState& req, std::span<const int32_t> prompt) const;
  // Creates the samples an unforked request has not created yet.
  void create_samples(RequestState& req) const;
  // Idle: returns freed memory to the OS (rate-limited), then waits for the
  // next command.
  std::optional<Command> wait_idle();
  // Ends every unfinished sample of `req` with `reason`.
  void end_request(RequestState& req, FinishReason reason, const Status& error);
  void end_seq(Sequence* seq, FinishReason reason, const Status& error);
  RequestEvent make_event(const Sequence& seq) const;
  void publish_stats();
  // Hands the prefix cache's events of this step to config_.kv_event_sink.
  void flush_kv_events();

  const EngineConfig config_;
  std::unique_ptr<ModelRunner> runner_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  const int32_t max_model_len_;

  BlockingQueue<Command> queue_;
  std::mutex submit_mu_;
  bool stopped_ = false;  // GUARDED_BY(submit_mu_)
  std::atomic<uint64_t> next_id_{1};
  mutable std::mutex stats_mu_;
  EngineStats stats_;  // GUARDED_BY(stats_mu_)
  std::thread thread_;

  // Engine thread state.
  BlockPool pool_;
  StateSlots slots_;  // recurrent-state slots (hybrid models; else 0)
  StateSnapshots snapshots_;  // their prefix-cache snapshots (after the slots)
  BlockManager blocks_;
  Scheduler sched_;
  std::unordered_map<uint64_t, std::unique_ptr<RequestState>> requests_;
  std::vector<uint64_t> done_;  // requests to erase at the end of a step
  std::vector<RowSampling> rows_;       // this step's sampling, one per logit row
  std::vector<SampleResult> results_;  // what the runner drew for rows_
  // Per-row constraint buffers of this step (constrain_row): masks of
  // mask_words_ words each, and banned ids.
  std::vector<uint32_t> masks_;
  size_t mask_words_ = 0;
  std::vector<std::vector<int32_t>> banned_;
  int64_t prompt_tokens_total_ = 0, generation_tokens_total_ = 0, steps_ = 0;
  bool trim_pending_ = false;  // work ran since the last trim
  Clock::time_point last_trim_{};
  int64_t memory_trims_ = 0;
  std::unique_ptr<Speculator> spec_;  // config_.speculative enabled
};

Result<uint64_t> EngineImpl::submit(GenerateRequest request) {
  const int32_t len = static_cast<int32_t>(request.prompt_ids.size());
  if (len == 0) return invalid_argument("prompt is empty");
  const int64_t vocab = runner_->config().vocab_size;
  YUN_RETURN_IF_ERROR(request.params.validate(vocab));
  YUN_RETURN_IF_ERROR(request.meta.validate());
  for (int32_t t : request.prompt_ids) {
    if (t < 0 || (vocab > 0 && t >= vocab)) {
      return invalid_argument("prompt token id " + std::to_string(t) +
                              " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    }
  }
  if (request.kind == RequestKind::kEmbed) {
    YUN_RETURN_IF_ERROR(validate_embed(request, len));
  } else if (static_cast<int64_t>(len) + request.params.max_tokens > max_model_len_) {
    return invalid_argument("this model's maximum context length is " +
                            std::to_string(max_model_len_) + " tokens, but " +
                            std::to_string(len + int64_t{request.params.max_tokens}) +
                            " were requested (" + std::to_string(len) + " in the prompt, " +
                            std::to_string(request.params.max_tokens) + " to generate)");
  }
  if (blocks_.blocks_for(len) > pool_.num_blocks()) {
    return invalid_argument(
        "prompt of " + std::to_string(len) + " tokens needs " +
        std::to_string(blocks_.blocks_for(len)) + " KV blocks but the whole KV cache has " +
        std::to_string(pool_.num_blocks()) + " (raise --num-kv-blocks or --kv-cache-memory)");
  }

  auto req = std::make_unique<RequestState>();
  req->id = next_id_.fetch_add(1);
  req->params = std::make_shared<const SamplingParams>(std::move(request.params));
  req->meta = request.meta;
  req->sink = std::move(request.sink);
  req->submit_time = Clock::now();
  req->pooling = request.kind == RequestKind::kEmbed;
  const SamplingParams& p = *req->params;
  if (p.grammar) req->matcher.emplace(p.grammar);
  if (!p.allowed_token_ids.empty()) {
    req->allowed_mask.assign((size_t(std::max<int64_t>(vocab, 1)) + 31) / 32, 0u);
    for (int32_t t : p.allowed_token_ids) req->allowed_mask[size_t(t) / 32] |= 1u << (t % 32);
  }
  // Unseeded requests: a per-thread generator seeded once from the OS
  // (a std::random_device per request cost ~0.1 ms on the submit path).
  thread_local std::mt19937_64 seeder{(uint64_t(std::random_device{}()) << 32) ^
                                      std::random_device{}()};
  req->seed = p.seed ? *p.seed : seeder();
  add_sample(*req, request.prompt_ids);  // samples 1..n-1: at the fork
  req->ended.assign(p.n, false);
  req->first_token_time.assign(p.n, -1.0);
  const uint64_t id = req->id;
  std::lock_guard<std::mutex> lk(submit_mu_);
  if (stopped_) return unavailable("the engine is shutting down");
  Command c;
  c.kind = Command::kSubmit;
  c.request = std::move(req);
  queue_.push(std::move(c));
  return id;
}

Status EngineImpl::validate_embed(const GenerateRequest& request, int32_t len) const {
  if (!runner_->supports_hidden_states()) {
    return unimplemented("embeddings are not implemented on the " + runner_->device_name() +
                         " runner yet");
  }
  if (request.params.n != 1) return invalid_argument("an embedding request has n == 1");
  if (len > max_model_len_) {
    return invalid_argument("this model's maximum context length is " +
                            std::to_string(max_model_len_) + " tokens, but the input has " +
                            std::to_string(len));
  }
  return Status::ok();
}

void EngineImpl::add_sample(RequestState& req, std::span<const int32_t> prompt) const {
  const int32_t i = static_cast<int32_t>(req.seqs.size());
  auto s = std::make_unique<Sequence>();
  s->request_id = req.id;
  s->index = i;
  s->params = req.params;
  s->meta = req.meta;
  s->tokens.assign(prompt.begin(), prompt.end());  // grows as it generates
  s->num_prompt_tokens = static_cast<int32_t>(prompt.size());
  s->rng.seed(mix_seed(req.seed, i));
  if (req.matcher) {
    s->matcher = req.matcher->clone();
    s->grammar_active = req.params->grammar_after_token_id < 0;
  }
  s->request = &req;
  s->pooling = req.pooling;
  req.seqs.push_back(std::move(s));
  req.stops.push_back(
      std::make_unique<StopChecker>(req.params, config_.eos_token_ids, tokenizer_, max_model_len_));
}

void EngineImpl::create_samples(RequestState& req) const {
  const Sequence& first = *req.seqs[0];
  std::span<const int32_t> prompt(first.tokens.data(), first.num_prompt_tokens);
  while (static_cast<int32_t>(req.seqs.size()) < req.params->n) add_sample(req, prompt);
}

std::optional<Command> EngineImpl::wait_idle() {
  if (trim_pending_) {
    const Clock::time_point now = Clock::now();
    if (now - last_trim_ < kTrimInterval) {
      // Trimmed recently: trim when the interval is over, unless work comes.
      if (auto c = queue_.pop_for(last_trim_ + kTrimInterval - now)) return c;
    }
    trim_pending_ = false;
    runner_->release_scratch();  // up to max_num_seqs x vocab floats of logits
    masks_ = {};                 // and as many token masks
    banned_ = {};
    if (requests_.empty()) requests_ = decltype(requests_)();  // its bucket array
    malloc_trim(0);
    last_trim_ = Clock::now();
    ++memory_trims_;
    publish_stats();
  }
  return queue_.pop();
}

void EngineImpl::loop() {
  bool stop = false;
  while (!stop) {
    std::optional<Command> cmd = sched_.has_work() ? queue_.try_pop() : wait_idle();
    while (cmd) {
      if (cmd->kind == Command::kShutdown)
        stop = true;
      else
        handle(*cmd);
      cmd = queue_.try_pop();
    }
    if (stop) break;
    step();
    publish_stats();
    trim_pending_ = true;
  }
  // Abort what is left (and anything submitted concurrently with shutdown).
  while (auto c = queue_.try_pop()) {
    if (c->kind == Command::kSubmit) handle(*c);
  }
  std::vector<uint64_t> ids;
  for (auto& [id, r] : requests_) ids.push_back(id);
  for (uint64_t id : ids) end_request(*requests_[id], FinishReason::kAbort, Status());
  requests_.clear();
  flush_kv_events();
  publish_stats();
}

void EngineImpl::handle(Command& c) {
  if (c.kind == Command::kSubmit) {
    RequestState* r = c.request.get();
    requests_[r->id] = std::move(c.request);
    sched_.add(r->seqs[0].get());
    if (r->params->n == 1) r->forked = true;
  } else if (c.kind == Command::kAbort) {
    auto it = requests_.find(c.id);
    if (it == requests_.end()) return;
    end_request(*it->second, FinishReason::kAbort, Status());
    requests_.erase(it);
  }
}

RequestEvent EngineImpl::make_event(const Sequence& seq) const {
  RequestEvent ev;
  ev.request_id = seq.request_id;
  ev.index = seq.index;
  ev.usage.prompt_tokens = seq.num_prompt_tokens;
  ev.usage.cached_prompt_tokens = std::max(0, seq.num_cached_prompt_tokens);
  ev.usage.completion_tokens = seq.num_output();
  ev.time_since_submit =
      std::chrono::duration<double>(Clock::now() - seq.request->submit_time).count();
  ev.queue_time = seq.request->queue_time;
  ev.first_token_time = seq.request->first_token_time[seq.index];
  return ev;
}

void EngineImpl::end_seq(Sequence* seq, FinishReason reason, const Status& error) {
  RequestState& req = *seq->request;
  if (req.ended[seq->index]) return;
  req.ended[seq->index] = true;
  sched_.finish(seq);  // safe for a sample that never started
  RequestEvent ev = make_event(*seq);
  ev.text = req.stops[seq->index]->flush();
  ev.finish = reason;
  ev.error = error;
  ++req.num_finished;
  if (req.sink) req.sink(ev);
}

void EngineImpl::end_request(RequestState& req, FinishReason reason, const Status& error) {
  if (!req.forked) create_samples(req);  // every sample gets its final event
  for (auto& s : req.seqs) end_seq(s.get(), reason, error);
}

void EngineImpl::fork(RequestState& req) {
  req.forked = true;
  create_samples(req);
  Sequence* parent = req.seqs[0].get();
  for (size_t i = req.seqs.size(); i-- > 1;) {
    Sequence* child = req.seqs[i].get();
    child->num_cached_prompt_tokens = blocks_.share_prompt_blocks(*parent, *child);
    sched_.add_front(child);
  }
}

Status EngineImpl::advance_grammar(Sequence& s, int32_t token, bool* finished) const {
  *finished = false;
  if (!s.matcher) return Status::ok();
  if (!s.grammar_active) {
    s.grammar_active = token == s.params->grammar_after_token_id;
    return Status::ok();
  }
  if (!s.matcher->accept_token(token)) {
    return invalid_argument("token " + std::to_string(token) +
                            " was generated but the response format does not allow it");
  }
  *finished = s.matcher->is_finished();
  return Status::ok();
}

void EngineImpl::constrain_row(Sequence& s, size_t k, RowSampling& row) {
  static const std::vector<int32_t> kNone;
  const SamplingParams& p = *s.params;
  const RequestState& req = *s.request;
  const StopChecker& stop = *req.stops[s.index];
  const bool min_ban = s.num_output() < p.min_tokens;
  row.banned = min_ban ? stop.min_tokens_banned() : kNone;
  if (!p.bad_words_ids.empty()) {
    std::vector<int32_t>& b = banned_[k];
    b.clear();
    if (min_ban) b = stop.min_tokens_banned();
    std::span<const int32_t> out(s.tokens.data() + s.num_prompt_tokens, size_t(s.num_output()));
    for (const auto& w : p.bad_words_ids) {
      const size_t n = w.size() - 1;  // tokens that must precede the banned one
      if (n <= out.size() && std::equal(w.begin(), w.end() - 1, out.end() - n)) b.push_back(w.back());
    }
    row.banned = b;
  }
  if (!s.matcher || !s.grammar_active) {
    row.allowed = req.allowed_mask;
    return;
  }
  uint32_t* m = masks_.data() + k * mask_words_;
  s.matcher->fill_mask(m);
  const size_t words = s.matcher->grammar().vocab()->mask_words();
  for (size_t w = 0; w < req.allowed_mask.size() && w < words; ++w) m[w] &= req.allowed_mask[w];
  row.allowed = std::span<const uint32_t>(m, words);
}

void EngineImpl::on_token(Sequence* seq, const SampleResult& r) {
  RequestState& req = *seq->request;
  if (!req.forked) fork(req);
  bool grammar_done = false;
  if (Status gs = advance_grammar(*seq, r.token, &grammar_done); !gs.is_ok()) {
    end_seq(seq, FinishReason::kError, gs);
    if (req.num_finished == req.params->n) done_.push_back(req.id);
    return;
  }
  ++generation_tokens_total_;
  if (req.first_token_time[seq->index] < 0) {
    req.first_token_time[seq->index] =
        std::chrono::duration<double>(Clock::now() - req.submit_time).count();
  }
  StopDecision d = req.stops[seq->index]->append(r.token, seq->num_output(), seq->num_tokens());
  if (grammar_done && !d.finish) {
    // The grammar allows nothing more: the structured reply is complete.
    d.finish = FinishReason::kStop;
    d.text += req.stops[seq->index]->flush();
  }
  RequestEvent ev = make_event(*seq);
  ev.token_ids.push_back(r.token);
  ev.text = std::move(d.text);
  if (req.params->logprobs >= 0) ev.logprobs.push_back(r.logprob);
  if (d.finish) {
    ev.finish = d.finish;
    ev.stop_reason = std::move(d.stop_reason);
    sched_.finish(seq);
    req.ended[seq->index] = true;
    ++req.num_finished;
    if (req.num_finished == req.params->n) done_.push_back(req.id);
  }
  if (req.sink) req.sink(ev);
}

void EngineImpl::on_pooled(Sequence* seq, std::span<const float> hidden) {
  RequestState& req = *seq->request;
  RequestEvent ev = make_event(*seq);
  ev.embedding.assign(hidden.begin(), hidden.end());
  ev.finish = FinishReason::kStop;
  sched_.finish(seq);  // its blocks go back; full ones stay in the prefix cache
  req.ended[seq->index] = true;
  ++req.num_finished;
  done_.push_back(req.id);
  if (req.sink) req.sink(ev);
}

void EngineImpl::step() {
  SchedulerOutput out = sched_.schedule();
  for (Sequence* s : out.failed) {
    RequestState& req = *s->request;
    // Too long for the whole KV pool: ends like a length limit.
    if (!req.forked)
      end_request(req, FinishReason::kLength, Status());
    else
      end_seq(s, FinishReason::kLength, Status());
    if (req.num_finished == req.params->n) done_.push_back(req.id);
  }
  if (!out.empty()) {
    ++steps_;
    ForwardBatch batch = sched_.build_batch(out);
    const Clock::time_point now = Clock::now();
    for (const ScheduledSeq& ss : out.seqs) {
      RequestState& req = *ss.seq->request;
      if (req.queue_time < 0) {
        req.queue_time = std::chrono::duration<double>(now - req.submit_time).count();
      }
      if (ss.seq->num_computed < ss.seq->num_prompt_tokens) {
        prompt_tokens_total_ +=
            std::min(ss.num_tokens, ss.seq->num_prompt_tokens - ss.seq->num_computed);
      }
    }
    rows_.clear();
    size_t num_rows = 0, words = 0;
    for (const ScheduledSeq& ss : out.seqs) {
      if (!ss.sample) continue;
      ++num_rows;
      if (ss.seq->matcher) words = std::max(words, ss.seq->matcher->grammar().vocab()->mask_words());
    }
    mask_words_ = words;
    if (masks_.size() < num_rows * words) masks_.resize(num_rows * words);
    if (banned_.size() < num_rows) banned_.resize(num_rows);
    for (const ScheduledSeq& ss : out.seqs) {
      if (!ss.sample) continue;
      Sequence* s = ss.seq;
      RowSampling row;
      row.options = s->params->sampling_options();
      row.tokens = s->tokens;
      row.num_prompt = s->num_prompt_tokens;
      row.logit_bias = s->params->logit_bias;
      row.rng = &s->rng;
      constrain_row(*s, rows_.size(), row);
      rows_.push_back(row);
    }
    if (spec_) spec_->add_drafts(out, batch, rows_);
    Status st = runner_->forward(batch, rows_, results_);
    if (spec_ && st.is_ok() && results_.size() == rows_.size())
      st = spec_->take_results(rows_, results_);
    const size_t hidden_size = static_cast<size_t>(runner_->config().hidden_size);
    std::span<const float> hidden = runner_->hidden_states();
    if (st.is_ok() && hidden.size() != batch.hidden_rows.size() * hidden_size)
      st = internal_error("runner returned the wrong number of hidden states");
    if (!st.is_ok() || results_.size() != rows_.size()) {
      if (st.is_ok()) st = internal_error("runner returned the wrong number of samples");
      for (const ScheduledSeq& ss : out.seqs) {
        RequestState& req = *ss.seq->request;
        if (req.num_finished < req.params->n) end_request(req, FinishReason::kError, st);
        if (req.num_finished == req.params->n) done_.push_back(req.id);
      }
    } else {
      std::vector<int32_t> sampled;
      sampled.reserve(results_.size());
      for (const SampleResult& r : results_) sampled.push_back(r.token);
      sched_.update(out, sampled);
      size_t k = 0, h = 0;
      for (const ScheduledSeq& ss : out.seqs) {
        if (ss.sample) on_token(ss.seq, results_[k++]);
        if (spec_) on_extra_token(ss.seq);
        if (ss.pool) on_pooled(ss.seq, hidden.subspan(hidden_size * h++, hidden_size));
      }
      // Next drafts. A failed MTP pass only means no drafts next step.
      if (spec_) (void)spec_->draft(out).is_ok();
    }
  }
  for (uint64_t id : done_) requests_.erase(id);
  done_.clear();
  flush_kv_events();
}

void EngineImpl::on_extra_token(Sequence* seq) {
  std::optional<SampleResult> r = spec_->extra_token(seq);
  if (!r || seq->status != SeqStatus::kRunning) return;  // finished on the token before
  ++seq->num_computed;  // the draft's KV is in the cache and its state in the slot
  blocks_.commit_full_blocks(*seq);
  seq->tokens.push_back(r->token);
  on_token(seq, *r);
}

void EngineImpl::flush_kv_events() {
  if (config_.kv_event_sink && pool_.has_events()) config_.kv_event_sink(pool_.take_events());
}

void EngineImpl::publish_stats() {
  std::lock_guard<std::mutex> lk(stats_mu_);
  stats_.num_running = sched_.num_running();
  stats_.num_waiting = sched_.num_waiting();
  stats_.num_kv_blocks = pool_.num_blocks();
  stats_.kv_cache_usage = static_cast<double>(pool_.num_used()) / pool_.num_blocks();
  stats_.prefix_cache_queries = sched_.prefix_queries();
  stats_.prefix_cache_hits = sched_.prefix_hits();
  stats_.prompt_tokens_total = prompt_tokens_total_;
  stats_.generation_tokens_total = generation_tokens_total_;
  stats_.num_preemptions = sched_.num_preemptions();
  stats_.num_state_snapshots = snapshots_.num_committed();
  stats_.state_snapshot_capacity = snapshots_.capacity();
  stats_.state_snapshots_taken = snapshots_.num_taken();
  stats_.state_snapshot_restores = snapshots_.num_restored();
  stats_.state_snapshot_evictions = snapshots_.num_evicted();
  stats_.steps = steps_;
  stats_.memory_trims = memory_trims_;
  if (spec_) {
    stats_.spec_draft_tokens = spec_->stats().drafts;
    stats_.spec_accepted_tokens = spec_->stats().accepted;
  }
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::create(const EngineConfig& config,
                                               std::unique_ptr<ModelRunner> runner,
                                               std::shared_ptr<const Tokenizer> tokenizer) {
  if (!runner) return invalid_argument("no model runner");
  if (config.block_size <= 0 || config.block_size > 1024) {
    return invalid_argument("block_size must be in [1, 1024]");
  }
  if (config.max_num_seqs <= 0) return invalid_argument("max_num_seqs must be > 0");
  if (config.max_num_batched_tokens <= 0) {
    return invalid_argument("max_num_batched_tokens must be > 0");
  }
  const ModelConfig& mc = runner->config();
  int64_t max_len = config.max_model_len > 0 ? config.max_model_len : mc.max_position_embeddings;
  if (config.max_model_len < 0) return invalid_argument("max_model_len must be >= 0");
  if (mc.max_position_embeddings > 0 && max_len > mc.max_position_embeddings) {
    return invalid_argument("max_model_len " + std::to_string(max_len) +
                            " exceeds the model's max_position_embeddings " +
                            std::to_string(mc.max_position_embeddings));
  }
  if (max_len <= 0) return invalid_argument("max_model_len unknown: set it explicitly");
  max_len = std::min<int64_t>(max_len, std::numeric_limits<int32_t>::max() / 2);
  // The runner plans its KV cache (its backend's default size, e.g. what the
  // GPU has left); the pool gets exactly what it allocated.
  KvCacheBudget budget;
  budget.block_size = config.block_size;
  budget.num_blocks = config.num_kv_blocks;
  budget.memory_bytes = config.kv_cache_memory;
  budget.max_model_len = max_len;
  budget.max_num_seqs = config.max_num_seqs;
  if (config.state_snapshot_interval <= 0)
    return invalid_argument("state_snapshot_interval must be > 0");
  if (config.enable_prefix_cache) {  // hybrids: state snapshots share the budget
    budget.state_snapshot_bytes = static_cast<int64_t>(runner->state_bytes_per_slot());
    budget.state_snapshot_interval = config.state_snapshot_interval;
  }
  YUN_ASSIGN_OR_RETURN(KvCacheSpec spec, runner->plan_kv_cache(budget));
  YUN_RETURN_IF_ERROR(runner->allocate_kv_cache(spec));
  if (config.speculative.enabled() && !runner->supports_mtp())
    return invalid_argument("speculative decoding (method \"" + config.speculative.method +
                            "\") needs the model's MTP head, which the " +
                            runner->device_name() + " runner has not loaded");
  // One recurrent-state slot per running sequence, then speculation's spare
  // slots, then the prefix cache's snapshots (none without such layers).
  const int32_t num_snapshots = runner->state_bytes_per_slot() > 0 ? spec.num_state_snapshots : 0;
  YUN_RETURN_IF_ERROR(runner->allocate_state_slots(
      runner->state_bytes_per_slot() > 0
          ? config.max_num_seqs + config.speculative.spare_slots() + num_snapshots
          : 0));
  const KvCacheSpec got = runner->kv_cache_spec();
  if (got.block_size != config.block_size || got.num_blocks < 1) {
    return internal_error("runner allocated a KV cache of " + std::to_string(got.num_blocks) +
                          " blocks of " + std::to_string(got.block_size) + " tokens, planned " +
                          std::to_string(spec.num_blocks) + " of " +
                          std::to_string(spec.block_size));
  }
  const int32_t num_blocks = got.num_blocks;
  return std::unique_ptr<Engine>(new EngineImpl(config, std::move(runner), std::move(tokenizer),
                                                num_blocks, static_cast<int32_t>(max_len),
                                                num_snapshots));
}

}  // namespace yun
