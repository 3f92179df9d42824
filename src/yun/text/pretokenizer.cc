#include "yun/text/pretokenizer.h"

#include <nlohmann/json.hpp>

namespace yun::text {

namespace {

// The GPT-2 pattern used by ByteLevel when use_regex is true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

Result<PreTokenizer::Behavior> parse_behavior(const nlohmann::json& j) {
  using B = PreTokenizer::Behavior;
  if (!j.is_string()) return invalid_argument("pre_tokenizer: Split \"behavior\" must be a string");
  const std::string b = j.get<std::string>();
  if (b == "Removed") return B::kRemoved;
  if (b == "Isolated") return B::kIsolated;
  if (b == "MergedWithPrevious") return B::kMergedWithPrevious;
  if (b == "MergedWithNext") return B::kMergedWithNext;
  if (b == "Contiguous") return B::kContiguous;
  return invalid_argument("pre_tokenizer: unknown Split behavior \"" + b + "\"");
}

bool get_bool(const nlohmann::json& j, const char* key, bool def) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : def;
}

}  // namespace

Status PreTokenizer::add_steps(const nlohmann::json& j, std::vector<Step>& steps,
                               bool* byte_level) {
  if (j.is_null()) return Status::ok();
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return invalid_argument("pre_tokenizer: expected an object with a string \"type\"");
  }
  const std::string type = j["type"].get<std::string>();
  if (type == "Sequence") {
    if (!j.contains("pretokenizers") || !j["pretokenizers"].is_array()) {
      return invalid_argument("pre_tokenizer: Sequence without a \"pretokenizers\" array");
    }
    for (const auto& sub : j["pretokenizers"]) {
      YUN_RETURN_IF_ERROR(add_steps(sub, steps, byte_level));
    }
    return Status::ok();
  }
  Step s{};
  if (type == "Split") {
    if (!j.contains("pattern") || !j["pattern"].is_object()) {
      return invalid_argument("pre_tokenizer: Split without a \"pattern\" object");
    }
    const auto& p = j["pattern"];
    if (p.contains("Regex") && p["Regex"].is_string()) {
      s.type = Step::Type::kSplitRegex;
      auto re = Regex::compile(p["Regex"].get<std::string>());
      if (!re) return re.status().with_context("pre_tokenizer: Split");
      s.regex = std::move(re).value();
    } else if (p.contains("String") && p["String"].is_string()) {
      s.type = Step::Type::kSplitString;
      s.literal = p["String"].get<std::string>();
      if (s.literal.empty()) return invalid_argument("pre_tokenizer: Split with an empty String");
    } else {
      return invalid_argument("pre_tokenizer: Split pattern needs a \"Regex\" or \"String\"");
    }
    if (!j.contains("behavior")) {
      return invalid_argument("pre_tokenizer: Split without \"behavior\"");
    }
    YUN_ASSIGN_OR_RETURN(s.behavior, parse_behavior(j["behavior"]));
    s.invert = get_bool(j, "invert", false);
  } else if (type == "ByteLevel") {
    s.type = Step::Type::kByteLevel;
    s.add_prefix_space = get_bool(j, "add_prefix_space", true);
    s.use_regex = get_bool(j, "use_regex", true);
    if (s.use_regex) {
      auto re = Regex::compile(kGpt2Pattern);
      if (!re) return re.status();
      s.regex = std::move(re).value();
    }
    *byte_level = true;
  } else {
    return unimplemented("pre_tokenizer: unsupported type \"" + type + "\"");
  }
  steps.push_back(std::move(s));
  return Status::ok();
}

Result<PreTokenizer> PreTokenizer::from_json(const nlohmann::json& j) {
  PreTokenizer p;
  YUN_RETURN_IF_ERROR(add_steps(j, p.steps_, &p.byte_level_));
  return p;
}

void PreTokenizer::split_step(const Step& step, std::string_view buf, Span span,
                              std::vector<std::pair<size_t, size_t>>& scratch,
                              std::vector<Span>& out) {
  std::string_view sub = buf.substr(span.begin, span.end - span.begin);
  scratch.clear();
  if (step.type == Step::Type::kSplitString) {
    size_t pos = 0;
    while ((pos = sub.find(step.literal, pos)) != std::string_view::npos) {
      scratch.emplace_back(pos, pos + step.literal.size());
      pos += step.literal.size();
    }
  } else {
    step.regex.find_all(sub, scratch);
  }
  const Behavior behavior =
      step.type == Step::Type::kByteLevel ? Behavior::kIsolated : step.behavior;
  // Segments: alternating non-matches and matches (non-empty), then the behavior.
  struct Seg {
    uint32_t b, e;
    bool match;
  };
  thread_local std::vector<Seg> segs;
  segs.clear();
  auto add = [&](size_t b, size_t e, bool m) {
    if (e > b) segs.push_back({uint32_t(b), uint32_t(e), m != step.invert});
  };
  size_t prev = 0;
  for (auto [b, e] : scratch) {
    add(prev, b, false);
    add(b, e, true);
    prev = e;
  }
  add(prev, sub.size(), false);
  const uint32_t base = span.begin;
  const size_t first = out.size();
  bool prev_match = false;
  switch (behavior) {
    case Behavior::kIsolated:
      for (const Seg& g : segs) out.push_back({base + g.b, base + g.e});
      break;
    case Behavior::kRemoved:
      for (const Seg& g : segs) {
        if (!g.match) out.push_back({base + g.b, base + g.e});
      }
      break;
    case Behavior::kMergedWithPrevious:
      for (const Seg& g : segs) {
        if (g.match && !prev_match && out.size() > first) {
          out.back().end = base + g.e;
        } else {
          out.push_back({base + g.b, base + g.e});
        }
        prev_match = g.match;
      }
      break;
    case Behavior::kMergedWithNext:
      for (size_t i = 0; i < segs.size(); ++i) {
        const Seg& g = segs[i];
        if (g.match && i + 1 < segs.size() && !segs[i + 1].match) {
          out.push_back({base + g.b, base + segs[i + 1].e});
          ++i;
        } else {
          out.push_back({base + g.b, base + g.e});
        }
      }
      break;
    case Behavior::kContiguous:
      for (const Seg& g : segs) {
        if (g.match && prev_match && out.size() > first) {
          out.back().end = base + g.e;
        } else {
          out.push_back({base + g.b, base + g.e});
        }
        prev_match = g.match;
      }
      break;
  }
}

void PreTokenizer::split(std::string_view text, std::string& buf, std::vector<Span>& pieces) const {
  buf.assign(text.data(), text.size());
  pieces.clear();
  if (!buf.empty()) pieces.push_back({0, uint32_t(buf.size())});
  std::vector<Span> next;
  std::vector<std::pair<size_t, size_t>> scratch;
  for (const Step& step : steps_) {
    if (step.type == Step::Type::kByteLevel && step.add_prefix_space) {
      // Prepend a space to every piece that does not start with one.
      std::string nbuf;
      nbuf.reserve(buf.size() + pieces.size());
      for (Span& sp : pieces) {
        uint32_t nb = uint32_t(nbuf.size());
        if (buf[sp.begin] != ' ') nbuf += ' ';
        nbuf.append(buf, sp.begin, sp.end - sp.begin);
        sp = {nb, uint32_t(nbuf.size())};
      }
      buf.swap(nbuf);
    }
    if (step.type == Step::Type::kByteLevel && !step.use_regex) continue;
    next.clear();
    for (Span sp : pieces) split_step(step, buf, sp, scratch, next);
    pieces.swap(next);
  }
}

}  // namespace yun::text
