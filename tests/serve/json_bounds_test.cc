// JSON bounds on what a model writes inside <tool_call> (serve/tool_parser.h,
// serve/tool_stream_parser.h): a block nested past JsonLimits::request() is not
// a call (it stays text) and never crashes; at the limit it is a call.
// Run: build/tests/yun_serve_tests --gtest_filter='JsonBounds*'
#include <gtest/gtest.h>

#include <string>

#include "yun/serve/tool_parser.h"
#include "yun/serve/tool_stream_parser.h"

namespace yun::serve {
namespace {

std::string deep_arrays(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string block(const std::string& args) {
  return std::string(kToolCallOpen) + R"({"name": "f", "arguments": )" + args + "}" +
         std::string(kToolCallClose);
}

TEST(JsonBounds, ToolCallBlocksAreBounded) {
  // The block object is one level: arguments 63 deep make 64.
  auto ok = parse_tool_calls(block(deep_arrays(63)));
  ASSERT_EQ(ok.calls.size(), 1u);
  EXPECT_EQ(ok.calls[0].arguments, deep_arrays(63));
  for (const std::string& args : {deep_arrays(64), deep_arrays(100000), std::string(100000, '[')}) {
    std::string text = "x" + block(args);
    auto r = parse_tool_calls(text);
    EXPECT_TRUE(r.calls.empty());
    EXPECT_EQ(r.content, text);
    EXPECT_FALSE(parse_tool_call_block(R"({"name": "f", "arguments": )" + args + "}"));

    StreamingToolParser stream;
    size_t heads = 0;
    auto count = [&](const ToolStreamDelta& d) {
      for (const auto& c : d.calls) heads += !c.name.empty();
    };
    for (size_t k = 0; k < text.size(); k += 4096) {
      count(stream.push(std::string_view(text).substr(k, 4096)));
    }
    count(stream.finish());
    // The streaming parser commits a call at its head and streams the
    // arguments as text (never parsing them): it must not crash.
    EXPECT_LE(heads, 1u);
    EXPECT_LE(stream.num_calls(), 1);
  }
  // A NUL after the object: not JSON, so not a call.
  EXPECT_FALSE(parse_tool_call_block(std::string(R"({"name": "f", "arguments": {}})") + '\0'));
}

}  // namespace
}  // namespace yun::serve
