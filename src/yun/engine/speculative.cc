#include "yun/engine/speculative.h"

#include <algorithm>

#include "yun/base/json_limits.h"

namespace yun {

Result<SpeculativeConfig> parse_speculative_config(std::string_view text) {
  YUN_ASSIGN_OR_RETURN(nlohmann::json j,
                       parse_json_bounded<nlohmann::json>(text, JsonLimits::request()));
  const std::string where;  // the caller names the flag
  if (!j.is_object()) return invalid_argument(where + "expected a JSON object");
  SpeculativeConfig c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const nlohmann::json& v = it.value();
    if (k == "method" || k == "model") {
      if (!v.is_string()) return invalid_argument(where + "'" + k + "' must be a string");
      if (k == "method") c.method = v.get<std::string>();
    } else if (k == "min_acceptance") {
      if (!v.is_number() || !(v.get<double>() >= 0.0 && v.get<double>() <= 1.0))
        return invalid_argument(where + "min_acceptance must be a number in [0, 1]");
      c.min_acceptance = v.get<double>();
    } else if (k == "probe_drafts") {
      if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 1000000)
        return invalid_argument(where + "probe_drafts must be an integer >= 1");
      c.probe_drafts = int32_t(v.get<int64_t>());
    } else if (k == "num_speculative_tokens" || k == "disable_by_batch_size") {
      if (!v.is_number_integer()) return invalid_argument(where + "'" + k + "' must be an integer");
      const int64_t n = v.get<int64_t>();
      if (k == "num_speculative_tokens") {
        if (n != 1)
          return invalid_argument(where + "num_speculative_tokens " + std::to_string(n) +
                                  " is not supported (only 1)");
        c.num_speculative_tokens = 1;
      } else {
        if (n < 2 || n > 1024)
          return invalid_argument(where + "disable_by_batch_size must be in [2, 1024]");
        c.disable_by_batch_size = int32_t(n);
      }
    } else {
      return invalid_argument(where + "unknown key '" + k + "'");
    }
  }
  if (c.method == "qwen3_5_mtp" || c.method == "qwen3_next_mtp") c.method = "mtp";
  if (c.method != "mtp")
    return invalid_argument(where + "method must be \"mtp\" (the model's own MTP head)");
  return c;
}

Speculator::Speculator(const SpeculativeConfig& config, ModelRunner& runner, BlockManager& blocks,
                       int32_t max_model_len, int32_t first_spare_slot)
    : config_(config),
      runner_(runner),
      blocks_(blocks),
      max_model_len_(max_model_len),
      first_spare_slot_(first_spare_slot) {}

void Speculator::add_drafts(const SchedulerOutput& out, ForwardBatch& batch,
                            std::vector<RowSampling>& rows) {
  step_active_ = active(out);
  verify_.clear();
  extra_.clear();
  slice_start_.assign(batch.seqs.size(), 0);
  slice_rows_.assign(batch.seqs.size(), 0);
  for (size_t i = 0; i < batch.seqs.size(); ++i) {
    slice_start_[i] = batch.seqs[i].token_start;
    slice_rows_[i] = batch.seqs[i].num_tokens;
  }
  if (!step_active_ || drafts_.empty()) return;
  const bool has_state = runner_.state_bytes_per_slot() > 0;
  const int32_t last_spare = first_spare_slot_ + config_.spare_slots();
  int32_t spare = first_spare_slot_;
  // Rebuild the rows with one verify row after each drafted sequence's row.
  ForwardBatch nb;
  std::vector<RowSampling> nrows;
  std::vector<int32_t> row_map(size_t(batch.total_tokens()), -1);
  size_t logit_i = 0;
  for (size_t i = 0; i < batch.seqs.size(); ++i) {
    const ScheduledSeq& ss = out.seqs[i];
    Sequence* s = ss.seq;
    SeqSlice slice = batch.seqs[i];
    const int32_t old_start = slice.token_start;
    slice.token_start = nb.total_tokens();
    for (int32_t j = 0; j < slice.num_tokens; ++j) {
      row_map[size_t(old_start + j)] = nb.total_tokens();
      nb.token_ids.push_back(batch.token_ids[size_t(old_start + j)]);
      nb.positions.push_back(slice.context_len - slice.num_tokens + j);
    }
    std::optional<int32_t> draft;
    if (ss.sample) {
      const RowSampling& row = rows[logit_i];
      auto d = drafts_.find(s);
      if (ss.num_tokens == 1 && s->num_output() >= 1 && d != drafts_.end() &&
          d->second.position == s->num_tokens() && s->num_tokens() < max_model_len_ &&
          s->num_output() + 1 < s->params->max_tokens &&
          // greedy with nothing that edits the row (logprobs are fine)
          row.options.greedy() && !row.edits_logits() &&
          (!has_state || (s->state_slot >= 0 && spare < last_spare)) &&
          // a step that takes or restores a prefix-cache snapshot is not drafted
          slice.captures.empty() && slice.restore_slot < 0 && blocks_.allocate_slots(*s, 2)) {
        draft = d->second.token;
      }
      nb.logit_rows.push_back(slice.token_start + slice.num_tokens - 1);
      nrows.push_back(row);
      ++logit_i;
    }
    if (draft) {
      nb.token_ids.push_back(*draft);
      nb.positions.push_back(slice.context_len);
      slice.num_tokens += 1;
      slice.context_len += 1;
      slice.block_table.assign(s->block_table.begin(),
                               s->block_table.begin() + blocks_.blocks_for(slice.context_len));
      Verify v;
      v.seq = s;
      v.result_index = nb.logit_rows.size();
      v.draft = *draft;
      v.state_slot = s->state_slot;
      if (has_state) {
        v.snapshot = spare++;
        slice.captures.push_back({1, v.snapshot});  // the state after the real row
      }
      nb.logit_rows.push_back(slice.token_start + 1);
      nrows.push_back(nrows.back());  // plain greedy: the history is not read
      verify_.push_back(v);
    }
    slice_start_[i] = slice.token_start;
    slice_rows_[i] = slice.num_tokens;
    nb.seqs.push_back(std::move(slice));
  }
  if (verify_.empty()) return;
  for (int32_t r : batch.hidden_rows) nb.hidden_rows.push_back(row_map[size_t(r)]);
  batch = std::move(nb);
  rows = std::move(nrows);
}

Status Speculator::take_results(std::vector<RowSampling>& rows,
                                std::vector<SampleResult>& results) {
  accepted_.clear();
  for (size_t k = verify_.size(); k-- > 0;) {
    const Verify& v = verify_[k];
    if (v.result_index >= results.size() || v.result_index == 0)
      return internal_error("speculative: verify row missing from the results");
    const bool ok = results[v.result_index - 1].token == v.draft;
    ++stats_.drafts;
    Tally& t = tally_[v.seq];
    if (t.request_id != v.seq->request_id || t.index != v.seq->index)
      t = Tally{v.seq->request_id, v.seq->index, 0, 0};
    ++t.drafts;
    t.accepted += ok;
    if (ok) {
      ++stats_.accepted;
      extra_[v.seq] = results[v.result_index];
      accepted_[v.seq] = true;
    } else if (v.snapshot >= 0) {
      // The state after t0 only: what a step without the draft would leave.
      YUN_RETURN_IF_ERROR(runner_.copy_state_slot(v.snapshot, v.state_slot));
    }
    results.erase(results.begin() + std::ptrdiff_t(v.result_index));
    if (v.result_index < rows.size()) rows.erase(rows.begin() + std::ptrdiff_t(v.result_index));
  }
  return Status::ok();
}

std::optional<SampleResult> Speculator::extra_token(const Sequence* seq) {
  auto it = extra_.find(seq);
  if (it == extra_.end()) return std::nullopt;
  SampleResult r = it->second;
  extra_.erase(it);
  return r;
}

Status Speculator::draft(const SchedulerOutput& out) {
  drafts_.clear();
  extra_.clear();
  if (!step_active_) return Status::ok();
  ForwardBatch mb;
  std::vector<int32_t> src;
  std::vector<Sequence*> want;
  // Keep the tallies of this step's sequences only (a finished sequence's
  // address may be reused).
  std::unordered_map<const Sequence*, Tally> kept;
  for (const ScheduledSeq& ss : out.seqs)
    if (auto it = tally_.find(ss.seq); it != tally_.end() &&
                                       it->second.request_id == ss.seq->request_id &&
                                       it->second.index == ss.seq->index)
      kept.insert(*it);
  tally_ = std::move(kept);
  for (size_t i = 0; i < out.seqs.size() && i < slice_start_.size(); ++i) {
    Sequence* s = out.seqs[i].seq;
    if (s->status != SeqStatus::kRunning || s->pooling) continue;
    if (auto it = tally_.find(s); it != tally_.end() && gave_up(it->second)) continue;
    // The rows of this step that stand: num_computed - first of them.
    const int32_t first = s->num_computed - out.seqs[i].num_tokens - (accepted_.count(s) ? 1 : 0);
    const int32_t m = s->num_computed - first;
    if (first < 0 || m < 1 || m > slice_rows_[i] || s->num_computed >= s->num_tokens()) continue;
    SeqSlice slice;
    slice.token_start = mb.total_tokens();
    slice.num_tokens = m;
    slice.context_len = first + m;
    for (int32_t j = 0; j < m; ++j) {
      mb.token_ids.push_back(s->tokens[size_t(first + j + 1)]);
      mb.positions.push_back(first + j);
      src.push_back(slice_start_[i] + j);
    }
    slice.block_table.assign(s->block_table.begin(),
                             s->block_table.begin() + blocks_.blocks_for(slice.context_len));
    if (s->num_computed == s->num_tokens() - 1 && s->num_output() >= 1) {
      mb.logit_rows.push_back(slice.token_start + m - 1);
      want.push_back(s);
    }
    mb.seqs.push_back(std::move(slice));
  }
  if (mb.seqs.empty()) return Status::ok();
  YUN_RETURN_IF_ERROR(runner_.mtp_forward(mb, src, logits_));
  const int64_t V = runner_.config().vocab_size;
  for (size_t k = 0; k < want.size(); ++k) {
    const float* row = logits_.data() + int64_t(k) * V;
    int32_t token = int32_t(std::max_element(row, row + V) - row);
    if (config_.draft_hook) token = config_.draft_hook(*want[k], token);
    if (token < 0 || token >= V) continue;
    drafts_[want[k]] = Draft{want[k]->num_tokens(), token};
  }
  return Status::ok();
}

}  // namespace yun
