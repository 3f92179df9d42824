// Qwen3.5's text assets through src/yun/text, without the real files (none is
// available offline): a synthetic tokenizer.json in the published layout, built
// here, and the Qwen3.5 chat template (tests/data/templates/qwen3_5.jinja; its
// provenance is in tests/data/templates/README.md).
//
// What differs from Qwen3, and what each test covers:
// - the pre-tokenizer regex keeps Unicode combining marks (\p{M}) with their
//   letters and out of punctuation runs (Qwen3: \p{L} only);
// - a 248,320-row vocabulary: 248,044 BPE tokens, then 33 added tokens at the
//   top ids (<|endoftext|> 248044 ... <|audio_pad|> 248076; Qwen3's 26 shifted
//   by 96,401, then seven audio/TTS tokens), the rest of the rows unused;
// - the chat template: tools as <function=...><parameter=...> XML, content
//   lists with images and videos, thinking on by default, read from
//   chat_template.jinja beside a tokenizer_config.json without chat_template.
// The synthetic vocabulary has the 256 byte symbols, filler rows, and merged
// words at the ids just below the added tokens (so BPE output above 151k is
// exercised too).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_util.h"
#include "yun/base/mapped_file.h"
#include "yun/text/byte_level.h"
#include "yun/text/model_text.h"
#include "yun/text/tokenizer.h"

namespace yun {
namespace {

using Json = nlohmann::ordered_json;

// Qwen3.5's Split regex (as llama.cpp's LLAMA_VOCAB_PRE_TYPE_QWEN35 and the
// onnxruntime-extensions Qwen3.5 matcher transcribe it) and Qwen3's.
const char* const kQwen35Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen3Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

constexpr int32_t kFirstAdded = 248044;
constexpr int32_t kModelVocab = 248320;  // config.json vocab_size (embedding rows)

struct Added {
  int32_t id;
  const char* content;
  bool special;
};
const Added kAdded[] = {
    {248044, "<|endoftext|>", true},      {248045, "<|im_start|>", true},
    {248046, "<|im_end|>", true},         {248047, "<|object_ref_start|>", true},
    {248048, "<|object_ref_end|>", true}, {248049, "<|box_start|>", true},
    {248050, "<|box_end|>", true},        {248051, "<|quad_start|>", true},
    {248052, "<|quad_end|>", true},       {248053, "<|vision_start|>", true},
    {248054, "<|vision_end|>", true},     {248055, "<|vision_pad|>", true},
    {248056, "<|image_pad|>", true},      {248057, "<|video_pad|>", true},
    {248058, "<tool_call>", false},       {248059, "</tool_call>", false},
    {248060, "<|fim_prefix|>", false},    {248061, "<|fim_middle|>", false},
    {248062, "<|fim_suffix|>", false},    {248063, "<|fim_pad|>", false},
    {248064, "<|repo_name|>", false},     {248065, "<|file_sep|>", false},
    {248066, "<tool_response>", false},   {248067, "</tool_response>", false},
    {248068, "<think>", false},           {248069, "</think>", false},
    {248070, "<|audio_start|>", true},    {248071, "<|audio_end|>", true},
    {248072, "<tts_pad>", true},          {248073, "<tts_text_bos>", true},
    {248074, "<tts_text_eod>", true},     {248075, "<tts_text_bos_single>", true},
    {248076, "<|audio_pad|>", true},
};

// Words the synthetic BPE merges into one token each (UTF-8 text).
const char* const kWords[] = {"user", "assistant", "hi", "Hello", " world", "नमस्ते", "q\u0301"};

std::string symbols(std::string_view bytes) {
  std::string out;
  text::byte_level_encode(bytes, out);
  return out;
}

// One symbol per byte of `bytes` (the byte-level alphabet).
std::vector<std::string> byte_symbols(std::string_view bytes) {
  std::vector<std::string> out;
  for (unsigned char b : bytes) out.emplace_back(text::byte_level_utf8(b));
  return out;
}

// Byte-pair merges that turn each word of kWords into one token, in rank
// order: per word, the merges so far are applied as BPE does (lowest rank
// first, every occurrence), then the leftmost remaining pair is merged, until
// one symbol is left. Returns the merged tokens in the order they were made.
std::vector<std::string> make_merges(Json& merges) {
  std::vector<std::pair<std::string, std::string>> rules;
  std::vector<std::string> made;
  auto merge_all = [](std::vector<std::string>& seq, const std::pair<std::string, std::string>& r) {
    std::vector<std::string> out;
    for (size_t i = 0; i < seq.size(); ++i) {
      if (i + 1 < seq.size() && seq[i] == r.first && seq[i + 1] == r.second) {
        out.push_back(seq[i] + seq[i + 1]);
        ++i;
      } else {
        out.push_back(seq[i]);
      }
    }
    seq = std::move(out);
  };
  for (const char* w : kWords) {
    std::vector<std::string> seq = byte_symbols(w);
    while (seq.size() > 1) {
      size_t best = rules.size();
      for (size_t i = 0; i + 1 < seq.size(); ++i)
        for (size_t r = 0; r < best; ++r)
          if (rules[r].first == seq[i] && rules[r].second == seq[i + 1]) best = r;
      if (best == rules.size()) {  // nothing applies: a new rule for the leftmost pair
        rules.emplace_back(seq[0], seq[1]);
        merges.push_back(Json::array({seq[0], seq[1]}));
        made.push_back(seq[0] + seq[1]);
      }
      merge_all(seq, rules[best]);
    }
  }
  return made;
}

// The tokenizer.json: `split` as the Split regex; the merged tokens take the
// ids just below kFirstAdded. (The vocabulary is written as text: building a
// 248k-entry ordered_json is quadratic.)
std::string tokenizer_json(const char* split) {
  Json merges = Json::array();
  const std::vector<std::string> merged = make_merges(merges);
  std::string vocab = "{";
  auto entry = [&](const std::string& token, int32_t id) {
    if (vocab.size() > 1) vocab += ',';
    vocab += Json(token).dump();
    vocab += ':';
    vocab += std::to_string(id);
  };
  for (int b = 0; b < 256; ++b) entry(std::string(text::byte_level_utf8(uint8_t(b))), b);
  const int32_t first_merged = kFirstAdded - int32_t(merged.size());
  for (int32_t id = 256; id < first_merged; ++id) entry("<filler_" + std::to_string(id) + ">", id);
  for (size_t i = 0; i < merged.size(); ++i) entry(merged[i], first_merged + int32_t(i));
  vocab += '}';
  Json added = Json::array();
  for (const Added& a : kAdded)
    added.push_back({{"id", a.id},
                     {"content", a.content},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", a.special}});
  const Json byte_level = {{"type", "ByteLevel"},
                           {"add_prefix_space", false},
                           {"trim_offsets", false},
                           {"use_regex", false}};
  Json j = {{"version", "1.0"},
            {"truncation", nullptr},
            {"padding", nullptr},
            {"added_tokens", added},
            {"normalizer", {{"type", "NFC"}}},
            {"pre_tokenizer",
             {{"type", "Sequence"},
              {"pretokenizers", Json::array({{{"type", "Split"},
                                              {"pattern", {{"Regex", split}}},
                                              {"behavior", "Isolated"},
                                              {"invert", false}},
                                             byte_level})}}},
            {"post_processor", byte_level},
            {"decoder", byte_level},
            {"model",
             {{"type", "BPE"},
              {"dropout", nullptr},
              {"unk_token", nullptr},
              {"continuing_subword_prefix", ""},
              {"end_of_word_suffix", ""},
              {"fuse_unk", false},
              {"byte_fallback", false},
              {"ignore_merges", false},
              {"vocab", "@VOCAB@"},
              {"merges", merges}}}};
  std::string out = j.dump();
  out.replace(out.find("\"@VOCAB@\""), 9, vocab);
  return out;
}

// tokenizer_config.json as transformers 5 saves it for Qwen3.5 (no
// chat_template: it is in chat_template.jinja).
std::string tokenizer_config() {
  Json dec = Json::object();
  for (const Added& a : kAdded)
    dec[std::to_string(a.id)] = {{"content", a.content}, {"lstrip", false},
                                 {"normalized", false},  {"rstrip", false},
                                 {"single_word", false}, {"special", a.special}};
  return Json{{"add_prefix_space", false},     {"added_tokens_decoder", dec},
              {"bos_token", nullptr},          {"eos_token", "<|im_end|>"},
              {"pad_token", "<|endoftext|>"},  {"model_max_length", 262144},
              {"split_special_tokens", false}, {"tokenizer_class", "TokenizersBackend"},
              {"unk_token", nullptr}}
      .dump();
}

std::shared_ptr<Tokenizer> qwen35_tokenizer() {
  static std::shared_ptr<Tokenizer> tok = [] {
    auto t = Tokenizer::from_json(tokenizer_json(kQwen35Split), tokenizer_config());
    EXPECT_TRUE(t.is_ok()) << t.status().to_string();
    return t.is_ok() ? t.value() : nullptr;
  }();
  return tok;
}

int32_t id_of(const Tokenizer& t, std::string_view utf8) {
  auto id = t.token_to_id(symbols(utf8));
  EXPECT_TRUE(id.has_value()) << utf8;
  return id.value_or(-1);
}

TEST(Qwen35TextTest, LoadsTheLayout) {
  auto tok = qwen35_tokenizer();
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->vocab_size(), 248077);  // the model's 248,320 rows leave 243 unused
  EXPECT_LE(tok->vocab_size(), kModelVocab);
  for (const Added& a : kAdded) {
    EXPECT_EQ(tok->token_to_id(a.content), a.id) << a.content;
    EXPECT_EQ(tok->id_to_token(a.id), a.content);
    EXPECT_EQ(tok->is_special(a.id), a.special) << a.content;
    EXPECT_EQ(tok->encode(a.content), std::vector<int32_t>{a.id}) << a.content;
  }
  EXPECT_EQ(tok->eos_token(), "<|im_end|>");
  EXPECT_EQ(tok->pad_token(), "<|endoftext|>");
  // BPE output at the top of the vocabulary (above Qwen3's 151,643 rows).
  const int32_t hi = id_of(*tok, "hi");
  EXPECT_GT(hi, 240000);
  EXPECT_LT(hi, kFirstAdded);
  EXPECT_EQ(tok->encode("hi"), std::vector<int32_t>{hi});
}

// The \p{M} in the regex: a word with combining marks is one pre-token (so
// the merged word is one token); Qwen3's regex cuts it at every mark.
TEST(Qwen35TextTest, CombiningMarksStayWithTheirLetters) {
  auto tok = qwen35_tokenizer();
  ASSERT_TRUE(tok);
  auto qwen3_regex = Tokenizer::from_json(tokenizer_json(kQwen3Split), tokenizer_config());
  ASSERT_TRUE(qwen3_regex.is_ok());
  for (const char* word : {"नमस्ते", "q\u0301"}) {  // Devanagari virama + vowel sign; q + acute
    const int32_t id = id_of(*tok, word);
    EXPECT_EQ(tok->encode(word), std::vector<int32_t>{id}) << word;
    EXPECT_GT((*qwen3_regex)->encode(word).size(), size_t(1)) << word;
    EXPECT_EQ(tok->decode(tok->encode(word), true), word);
  }
  // Punctuation before a word joins its pre-token; the mark stays in the word.
  const std::vector<int32_t> got = tok->encode("!q\u0301");
  EXPECT_EQ(got, (std::vector<int32_t>{int32_t(uint8_t('!')), id_of(*tok, "q\u0301")}));
}

TEST(Qwen35TextTest, AddedTokensInTextAndDecode) {
  auto tok = qwen35_tokenizer();
  ASSERT_TRUE(tok);
  const std::string text = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n";
  const int32_t nl = int32_t(uint8_t('\n'));
  const std::vector<int32_t> want = {248045, id_of(*tok, "user"),
                                     nl,     id_of(*tok, "hi"),
                                     248046, nl,
                                     248045, id_of(*tok, "assistant"),
                                     nl,     248068,
                                     nl};
  EXPECT_EQ(tok->encode(text), want);
  EXPECT_EQ(tok->decode(want, false), text);
  // <think> is an added token but not special: skip_special_tokens keeps it.
  EXPECT_EQ(tok->decode(want, true), "user\nhi\nassistant\n<think>\n");
  EXPECT_EQ(tok->encode("<|vision_start|><|image_pad|><|vision_end|>"),
            (std::vector<int32_t>{248053, 248056, 248054}));
  EXPECT_EQ(tok->encode("<|audio_start|><|audio_pad|><|audio_end|>"),
            (std::vector<int32_t>{248070, 248076, 248071}));
  EXPECT_EQ(tok->token_bytes(248046), "<|im_end|>");
  EXPECT_EQ(tok->decode({248046, 248300, 248319}, false), "<|im_end|>");  // unused rows: skipped
}

// A model directory as published: tokenizer.json, tokenizer_config.json
// without chat_template, chat_template.jinja; rendered and tokenized.
TEST(Qwen35TextTest, ModelDirectoryWithChatTemplateJinja) {
  auto source = read_file(test::data_dir() + "/templates/qwen3_5.jinja");
  ASSERT_TRUE(source.is_ok());
  const std::string dir = testing::TempDir() + "qwen35_text_model";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/tokenizer.json") << tokenizer_json(kQwen35Split);
  std::ofstream(dir + "/tokenizer_config.json") << tokenizer_config();
  std::ofstream(dir + "/chat_template.jinja") << *source;
  auto mt = load_model_text(dir);
  ASSERT_TRUE(mt.is_ok()) << mt.status().to_string();
  ASSERT_TRUE(mt->tokenizer && mt->chat_template);
  EXPECT_EQ(mt->template_origin, dir + "/chat_template.jinja");

  ChatTemplateInputs in;
  in.eos_token = mt->eos_token;
  in.messages = Json::array({{{"role", "user"}, {"content", "hi"}}});
  in.add_generation_prompt = true;
  auto out = mt->chat_template->render(in);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(*out, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n");
  in.extra["enable_thinking"] = false;
  out = mt->chat_template->render(in);
  ASSERT_TRUE(out.is_ok());
  EXPECT_EQ(*out, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  const std::vector<int32_t> ids = mt->tokenizer->encode(*out);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 248068), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 248069), 1);

  // A tool call (arguments as a mapping: each one a <parameter=...> block, a
  // list argument as JSON), its response folded into a user turn.
  in.extra = Json::object();
  in.messages = Json::parse(R"([
    {"role": "user", "content": "weather?"},
    {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function":
      {"name": "get_weather", "arguments": {"city": "Hangzhou", "days": [1, 2]}}}]},
    {"role": "tool", "content": "{\"t\": 30}"}])");
  out = mt->chat_template->render(in);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(*out,
            "<|im_start|>user\nweather?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
            "<tool_call>\n<function=get_weather>\n<parameter=city>\nHangzhou\n</parameter>\n"
            "<parameter=days>\n[1, 2]\n</parameter>\n</function>\n</tool_call><|im_end|>\n"
            "<|im_start|>user\n<tool_response>\n{\"t\": 30}\n</tool_response><|im_end|>\n"
            "<|im_start|>assistant\n<think>\n");
  const std::vector<int32_t> tool_ids = mt->tokenizer->encode(*out);
  EXPECT_EQ(std::count(tool_ids.begin(), tool_ids.end(), 248058), 1);  // <tool_call>
  EXPECT_EQ(std::count(tool_ids.begin(), tool_ids.end(), 248066), 1);  // <tool_response>

  // Content lists with an image; an earlier turn's reasoning is dropped.
  in.add_generation_prompt = false;
  in.messages = Json::parse(R"([
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "what?"}]},
    {"role": "assistant", "content": "<think>\nlook\n</think>\n\nA cat."},
    {"role": "user", "content": "sure?"}])");
  out = mt->chat_template->render(in);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(*out,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n"
            "<|vision_start|><|image_pad|><|vision_end|>what?<|im_end|>\n"
            "<|im_start|>assistant\nA cat.<|im_end|>\n<|im_start|>user\nsure?<|im_end|>\n");
  const std::vector<int32_t> img = mt->tokenizer->encode(*out);
  const std::vector<int32_t> vision = {248053, 248056, 248054};
  EXPECT_NE(std::search(img.begin(), img.end(), vision.begin(), vision.end()), img.end());

  // The template's own errors come back as messages.
  in.messages =
      Json::parse(R"([{"role": "user", "content": "a"}, {"role": "system", "content": "b"}])");
  out = mt->chat_template->render(in);
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().message(), "System message must be at the beginning.");
}

}  // namespace
}  // namespace yun
