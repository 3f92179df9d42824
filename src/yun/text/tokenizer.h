// Tokenizer: Hugging Face tokenizer.json (byte-level BPE) + tokenizer_config.json.
//
// encode() is byte-exact with the `tokenizers` library for the supported
// components (NFC/none/Sequence normalizers; Split(regex)/ByteLevel
// pre-tokenizers; BPE model; ByteLevel decoder; added tokens with their flags).
// A Tokenizer is immutable after load and safe to use from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "yun/base/status.h"

namespace yun {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Loads DIR/tokenizer.json and DIR/tokenizer_config.json (optional).
  // While a tokenizer loaded from the same bytes of both files is alive (an
  // earlier load's, kept by its caller), gives that one instead of parsing
  // again (a tokenizer is immutable: one instance serves any number of
  // models and threads); the same files (real path, size, modification
  // time) are not even read again. Thread-safe.
  // Errors: kNotFound (no tokenizer.json), kInvalidArgument naming the problem.
  static Result<std::shared_ptr<Tokenizer>> load(const std::string& dir);
  // From file contents (tokenizer_config may be empty).
  static Result<std::shared_ptr<Tokenizer>> from_json(const std::string& tokenizer_json,
                                                      const std::string& tokenizer_config_json);

  // Text -> ids, like HF encode(text, add_special_tokens=False). Special/added
  // tokens written in the text are matched. `text` must be valid UTF-8
  // (invalid bytes are replaced with U+FFFD first).
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;

  // Ids -> text, like HF decode(ids, skip_special_tokens=...). Bytes that are
  // not valid UTF-8 become U+FFFD. Unknown ids are skipped.
  virtual std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const = 0;

  // The raw bytes of one token after the ByteLevel decoder (may be a partial
  // UTF-8 character); empty for unknown ids. For the incremental detokenizer.
  virtual std::string token_bytes(int32_t id) const = 0;
  virtual bool is_special(int32_t id) const = 0;

  virtual int32_t vocab_size() const = 0;  // highest id + 1, added tokens included
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  virtual std::string id_to_token(int32_t id) const = 0;  // vocabulary string

  // From tokenizer_config.json (strings, empty when absent).
  virtual const std::string& bos_token() const = 0;
  virtual const std::string& eos_token() const = 0;
  virtual const std::string& pad_token() const = 0;
  virtual const std::string& chat_template() const = 0;  // empty when absent
};

}  // namespace yun
