// The engine options table (cli/engine_flags.h) and `yun serve
// --models-config` (cli/models_config.h): the flag sets and --help come from
// the one table; a config file's entries, its engine options applied over
// the server's, and each kind of bad input as one line naming the key.
// Run: build/tests/yun_cli_tests
#include "yun/cli/models_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "yun/cli/engine_flags.h"

namespace yun::cli {
namespace {

TEST(EngineOptions, FlagSetsAndHelpComeFromTheTable) {
  size_t bools = 0, values = 0;
  const std::string help = engine_flags_help();
  for (const auto& o : engine_options()) {
    const std::string flag = std::string("--") + o.name;
    const bool is_bool = o.type == EngineOptionType::kBool;
    (is_bool ? bools : values)++;
    EXPECT_EQ(engine_bool_flags().count(flag), is_bool ? 1u : 0u) << flag;
    EXPECT_EQ(engine_value_flags().count(flag), is_bool ? 0u : 1u) << flag;
    EXPECT_NE(help.find("  " + flag + (is_bool ? " " : std::string(" ") + o.metavar)),
              std::string::npos)
        << flag;
    EXPECT_EQ(find_engine_option(o.name), &o);
  }
  EXPECT_EQ(engine_bool_flags().size(), bools);
  EXPECT_EQ(engine_value_flags().size(), values);
  EXPECT_EQ(find_engine_option("no-such-option"), nullptr);
  // Continuation lines start at the help column.
  EXPECT_NE(help.find("\n                              chunks (default 2048)\n"),
            std::string::npos);
}

TEST(EngineOptions, ParseEngineFlagsAppliesTheTable) {
  auto args = Args::parse({"--max-num-seqs", "8", "--kv-cache-memory", "64M", "--no-prefix-cache",
                           "--dtype", "bf16", "--threads", "3", "--device", "cpu"},
                          engine_value_flags(), engine_bool_flags());
  ASSERT_TRUE(args.is_ok()) << args.status().message();
  auto f = parse_engine_flags(*args);
  ASSERT_TRUE(f.is_ok()) << f.status().message();
  EXPECT_EQ(f->engine.max_num_seqs, 8);
  EXPECT_EQ(f->engine.kv_cache_memory, 64 << 20);
  EXPECT_FALSE(f->engine.enable_prefix_cache);
  EXPECT_TRUE(f->runner.cpu.bf16_activations);
  EXPECT_EQ(f->runner.cpu.num_threads, 3);
  EXPECT_EQ(f->runner.device, "cpu");
  EXPECT_TRUE(f->runner.cuda_graphs);  // absent bool: the default

  auto bad = Args::parse({"--max-num-seqs", "0"}, engine_value_flags(), engine_bool_flags());
  ASSERT_TRUE(bad.is_ok());
  auto e = parse_engine_flags(*bad);
  ASSERT_FALSE(e.is_ok());
  EXPECT_EQ(e.status().message(), "--max-num-seqs: must be >= 1");
  bad = Args::parse({"--quantize", "q9"}, engine_value_flags(), engine_bool_flags());
  EXPECT_EQ(parse_engine_flags(*bad).status().message(),
            "--quantize: must be q8_0, q4_0 or q4_k, not 'q9'");
}

constexpr const char* kGood = R"({"models": [
  {"name": "qwen", "path": "/m/qwen3", "aliases": ["chat", "default"], "keep_alive": "10m",
   "engine": {"max-num-seqs": 8, "kv-cache-memory": "512M", "threads": 2, "quantize": "q8_0",
              "no-prefix-cache": true, "gpu-memory-utilization": 0.5}},
  {"name": "small", "repo": "Qwen/Qwen3-0.6B@abc", "keep_alive": -1, "chat_template": "/t.jinja",
   "engine": {"num-kv-blocks": 64}},
  {"name": "plain", "path": "/m/plain", "keep_alive": 0, "engine": {"kv-cache-memory": 1048576}}
]})";

TEST(ModelsConfig, ParsesEntries) {
  auto r = parse_models_config(kGood);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->size(), 3u);
  const auto& q = (*r)[0];
  EXPECT_EQ(q.name, "qwen");
  EXPECT_EQ(q.source, "/m/qwen3");
  EXPECT_EQ(q.aliases, (std::vector<std::string>{"chat", "default"}));
  ASSERT_TRUE(q.keep_alive_s.has_value());
  EXPECT_EQ(*q.keep_alive_s, 600);
  ASSERT_EQ(q.engine.size(), 6u);
  EXPECT_STREQ(q.engine[0].option->name, "max-num-seqs");
  EXPECT_EQ(q.engine[0].value, "8");
  EXPECT_EQ(q.engine[4].value, "true");
  EXPECT_TRUE(q.own_kv_size());
  const auto& s = (*r)[1];
  EXPECT_EQ(s.source, "Qwen/Qwen3-0.6B@abc");
  EXPECT_EQ(*s.keep_alive_s, -1);
  EXPECT_EQ(s.chat_template_file, "/t.jinja");
  EXPECT_TRUE(s.own_kv_size());
  EXPECT_EQ(*(*r)[2].keep_alive_s, 0);
  EXPECT_EQ((*r)[2].engine[0].value, "1048576");
}

TEST(ModelsConfig, EngineOptionsOverrideTheServers) {
  auto r = parse_models_config(kGood);
  ASSERT_TRUE(r.is_ok());
  EngineFlags server;
  server.engine.max_num_seqs = 100;
  server.engine.max_model_len = 333;  // not in the entry: kept
  server.runner.device = "cpu";
  auto f = engine_flags_for((*r)[0], server);
  ASSERT_TRUE(f.is_ok()) << f.status().message();
  EXPECT_EQ(f->engine.max_num_seqs, 8);
  EXPECT_EQ(f->engine.max_model_len, 333);
  EXPECT_EQ(f->engine.kv_cache_memory, int64_t{512} << 20);
  EXPECT_EQ(f->runner.cpu.num_threads, 2);
  EXPECT_FALSE(f->engine.enable_prefix_cache);
  EXPECT_DOUBLE_EQ(f->runner.gpu_memory_utilization, 0.5);
  EXPECT_EQ(f->runner.device, "cpu");
  // An entry without engine options is the server's flags.
  ModelsConfigEntry none;
  none.name = "x";
  auto g = engine_flags_for(none, server);
  ASSERT_TRUE(g.is_ok());
  EXPECT_EQ(g->engine.max_num_seqs, 100);
  EXPECT_FALSE(none.own_kv_size());
}

struct BadCase {
  const char* json;
  const char* message;  // the whole one-line error
};

TEST(ModelsConfig, BadInputIsOneLineNamingTheKey) {
  const BadCase cases[] = {
      {"", "malformed JSON at byte 0: unexpected end of input"},
      {"[]", "the file must be a JSON object {\"models\": [...]}"},
      {R"({"model": []})", "model: unknown key (the file has \"models\")"},
      {R"({"models": []})", "models: must be a non-empty array of models"},
      {R"({"models": [3]})", "models[0]: must be an object"},
      {R"({"models": [{"path": "/a"}]})", "models[0]: needs \"name\""},
      {R"({"models": [{"name": "", "path": "/a"}]})", "models[0].name: must be a non-empty string"},
      {R"({"models": [{"name": "a"}]})",
       "models[0] (\"a\"): needs exactly one of \"path\" and \"repo\""},
      {R"({"models": [{"name": "a", "path": "/a", "repo": "o/n"}]})",
       "models[0] (\"a\"): needs exactly one of \"path\" and \"repo\""},
      {R"({"models": [{"name": "a", "path": "/a", "size": 1}]})",
       "models[0] (\"a\").size: unknown key (name, path, repo, aliases, keep_alive, chat_template, "
       "engine)"},
      {R"({"models": [{"name": "a", "path": 7}]})",
       "models[0] (\"a\").path: must be a non-empty string"},
      {R"({"models": [{"name": "a", "path": "/a", "aliases": "b"}]})",
       "models[0] (\"a\").aliases: must be an array of names"},
      {R"({"models": [{"name": "a", "path": "/a", "aliases": [1]}]})",
       "models[0] (\"a\").aliases[0]: must be a non-empty string"},
      {R"({"models": [{"name": "a", "path": "/a", "engine": []}]})",
       "models[0] (\"a\").engine: must be an object of engine options"},
      {R"({"models": [{"name": "a", "path": "/a", "engine": {"max-num-seq": 8}}]})",
       "models[0] (\"a\").engine.max-num-seq: unknown engine option (the flags of yun serve "
       "--help, without --)"},
      {R"({"models": [{"name": "a", "path": "/a", "engine": {"--threads": 8}}]})",
       "models[0] (\"a\").engine.--threads: unknown engine option (the flags of yun serve --help, "
       "without --)"},
      {R"({"models": [{"name": "a", "path": "/a", "engine": {"threads": "8"}}]})",
       "models[0] (\"a\").engine.threads: must be an integer"},
      {R"({"models": [{"name": "a", "path": "/a", "engine": {"threads": 2.5}}]})",
       "models[0] (\"a\").engine.threads: must be an integer"},
      {R"({"models": [{"name": "a", "path": "/a", "engine": {"max-num-seqs": 0}}]})",
       "models[0] (\"a\").engine.max-num-seqs: must be >= 1"},
      {R"({"models": [{"name": "a", "path": "/a", "engine": {"no-mmap": 1}}]})",
       "models[0] (\"a\").engine.no-mmap: must be true or false"},
      {R"({"models": [{"name": "a", "path": "/a", "engine": {"kv-cache-memory": -5}}]})",
       "models[0] (\"a\").engine.kv-cache-memory: must be a size (a number of bytes, or a string "
       "such as \"512M\")"},
      {R"({"models": [{"name": "a", "path": "/a", "engine": {"kv-cache-memory": "5X"}}]})",
       "models[0] (\"a\").engine.kv-cache-memory: bad size unit in '5X' (use K, M or G)"},
      {R"({"models": [{"name": "a", "path": "/a", "engine": {"dtype": "int4"}}]})",
       "models[0] (\"a\").engine.dtype: must be float32 or bfloat16, not 'int4'"},
      {R"({"models": [{"name": "a", "path": "/a", "engine": {"gpu-memory-utilization": 2}}]})",
       "models[0] (\"a\").engine.gpu-memory-utilization: must be in (0, 1]"},
      {R"({"models": [{"name": "a", "path": "/a", "engine": {"gpu-memory-utilization": "x"}}]})",
       "models[0] (\"a\").engine.gpu-memory-utilization: must be a number"},
      {R"({"models": [{"name": "a", "path": "/a", "engine": {"device": 0}}]})",
       "models[0] (\"a\").engine.device: must be a string"},
      {R"({"models": [{"name": "a", "path": "/a", "keep_alive": true}]})", nullptr},
      {R"({"models": [{"name": "a", "path": "/a"}, {"name": "a", "path": "/b"}]})",
       "models[1] (\"a\"): the name \"a\" is used twice"},
      {R"({"models": [{"name": "a", "path": "/a", "aliases": ["b"]}, {"name": "c", "path": "/c", "aliases": ["b"]}]})",
       "models[1] (\"c\"): the name \"b\" is used twice"},
      {R"({"models": [{"name": "a", "path": "/a", "aliases": ["a"]}]})",
       "models[0] (\"a\"): the name \"a\" is used twice"},
      {R"({"models": [{"name": "a", "repo": "not a repo"}]})", nullptr},
      {R"({"models": [{"name": "a", "path": "/a"}]} x)", nullptr},
  };
  for (const auto& c : cases) {
    auto r = parse_models_config(c.json);
    ASSERT_FALSE(r.is_ok()) << c.json;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.json;
    const std::string m = r.status().message();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    if (c.message) {
      EXPECT_EQ(m, c.message) << c.json;
    } else {
      EXPECT_FALSE(m.empty()) << c.json;
    }
  }
}

TEST(ModelsConfig, LoadNamesTheFile) {
  const std::string path = std::filesystem::temp_directory_path() / "yun-models-config-test.json";
  {
    std::ofstream(path)
        << R"({"models": [{"name": "a", "path": "/a", "engine": {"threads": -1}}]})";
  }
  auto r = load_models_config(path);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(),
            "--models-config " + path + ": models[0] (\"a\").engine.threads: must be >= 0");
  std::remove(path.c_str());
  auto missing = load_models_config(path);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().message().rfind("--models-config " + path + ": ", 0), 0u)
      << missing.status().message();
}

}  // namespace
}  // namespace yun::cli
