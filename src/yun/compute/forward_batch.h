// ForwardBatch: one step's work for the model, as plain data.
//
// A ragged batch over a paged KV cache. Tokens of all sequences are
// flattened; sequence s owns rows [token_start, token_start + num_tokens).
// Its tokens sit at positions [context_len - num_tokens, context_len): the
// first context_len - num_tokens positions are already in the KV cache (an
// earlier chunk, earlier decode steps, or a prefix-cache hit). Position p of a
// sequence lives in KV block block_table[p / block_size], slot p % block_size.
// The same shape covers prefill, chunked prefill, decode and prefix hits.
//
// Hybrid models (Qwen3.5: linear-attention layers) also keep a recurrent
// state per sequence, in the runner's state slot `state_slot` (see
// ModelRunner::allocate_state_slots): it holds the state after the first
// context_len - num_tokens tokens, and a slice starting at position 0 starts
// from a zero state. Models without such layers ignore state_slot.
#pragma once

#include <cstdint>
#include <vector>

namespace yun {

struct SeqSlice {
  int32_t token_start = 0;   // first row in ForwardBatch::token_ids
  int32_t num_tokens = 0;    // query rows this step (>= 1)
  int32_t context_len = 0;   // tokens in the KV cache after this step
  std::vector<int32_t> block_table;  // KV block ids, covers context_len
  int32_t state_slot = -1;           // recurrent-state slot (hybrid models only)
  // Speculative verification (hybrid models): snapshot_slots[j] receives a
  // copy of the state after row j of this slice (position context_len -
  // num_tokens + j + 1), so a rejected draft can be rolled back with
  // ModelRunner::copy_state_slot. At most num_tokens - 1 entries, each a
  // slot no other slice of the batch uses. Models without state ignore it.
  std::vector<int32_t> snapshot_slots;
};

struct ForwardBatch {
  std::vector<int32_t> token_ids;  // [total_tokens]
  std::vector<int32_t> positions;  // [total_tokens], position of each row
  std::vector<SeqSlice> seqs;
  // Rows whose logits are wanted (usually the last row of each sequence),
  // in the order the logits are returned.
  std::vector<int32_t> logit_rows;
  // Rows whose final normed hidden state (the lm_head input, hidden_size
  // floats) is wanted, in the order ModelRunner::hidden_states() returns
  // them: what an embedding request pools. A row may be in both lists.
  std::vector<int32_t> hidden_rows;

  int32_t total_tokens() const { return static_cast<int32_t>(token_ids.size()); }
};

}  // namespace yun
