// libFuzzer target: a whole model directory through the real loaders.
//
// The input is up to five files separated by the line "\n--yun-file--\n", in
// this order: config.json, generation_config.json, tokenizer.json,
// tokenizer_config.json, model.safetensors (a part that is absent leaves its
// file absent). They are written into one temporary directory, then
// load_model_config(), Tokenizer::load() and WeightStore::open_dir() read it.
// Any input must give a Status, never a crash, an exception or a hang; what
// loads is touched (encode/decode a short text, read every tensor byte).
// YUN_FUZZ_VERBOSE=1 prints each loader's Status (to check a seed).
//
//   build-fuzz/fuzz/fuzz_model_dir fuzz/corpus/model_dir -max_total_time=60
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "yun/model/config.h"
#include "yun/model/safetensors.h"
#include "yun/text/tokenizer.h"

namespace {

constexpr std::string_view kSeparator = "\n--yun-file--\n";
constexpr const char* kFiles[] = {"config.json", "generation_config.json", "tokenizer.json",
                                  "tokenizer_config.json", "model.safetensors"};

std::string& model_dir() {
  static std::string dir;
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Under $TMPDIR (scripts/fuzz.sh points it into build-fuzz/ and empties it:
  // libFuzzer ends without running atexit handlers).
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/yun-fuzz-model-XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    std::perror("fuzz_model_dir: mkdtemp");
    std::abort();
  }
  model_dir() = tmpl;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string& dir = model_dir();
  size_t pos = 0;
  for (const char* name : kFiles) {
    std::string path = dir + "/" + name;
    std::error_code ec;
    fs::remove(path, ec);
    if (pos > in.size()) continue;
    size_t end = in.find(kSeparator, pos);
    std::string_view part = in.substr(pos, end == std::string_view::npos ? in.npos : end - pos);
    pos = end == std::string_view::npos ? in.size() + 1 : end + kSeparator.size();
    std::ofstream(path, std::ios::binary).write(part.data(), std::streamsize(part.size()));
  }

  static const bool verbose = std::getenv("YUN_FUZZ_VERBOSE") != nullptr;
  auto report = [&](const char* what, const yun::Status& s) {
    if (verbose) std::fprintf(stderr, "%s: %s\n", what, s.to_string().c_str());
  };
  auto config = yun::load_model_config(dir);
  report("config", config.status());
  if (config.is_ok()) {
    volatile int64_t q = config->q_size() + config->kv_size();
    (void)q;
  }
  auto tok = yun::Tokenizer::load(dir);
  report("tokenizer", tok.status());
  if (tok.is_ok()) {
    auto ids = (*tok)->encode("Hello, world! 你好");
    volatile size_t n = (*tok)->decode(ids, /*skip_special_tokens=*/false).size();
    (void)n;
  }
  auto store = yun::WeightStore::open_dir(dir);
  report("weights", store.status());
  if (store.is_ok()) {
    volatile uint8_t sum = 0;
    for (const auto& f : (*store)->files) {
      for (const auto& [name, t] : f->tensors()) {
        const auto* p = static_cast<const uint8_t*>(t.data);
        for (size_t i = 0; i < t.nbytes; ++i) sum = sum + p[i];
      }
    }
    (void)sum;
  }
  return 0;
}
